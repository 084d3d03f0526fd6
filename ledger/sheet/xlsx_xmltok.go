package sheet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// xmlTok is a streaming XML tokenizer for the worksheet and shared-string
// parts of an .xlsx, the fast path under the .xlsx reader. For every input
// it either returns the tokens encoding/xml's Decoder (Strict, as excelize
// uses it) returns, one for one — start and end elements with the same
// names and attribute values, the same character data (entities and
// character references replaced, CR LF and lone CR as LF, CDATA sections
// as text) — or it stops with a *scanError: errSyntax where encoding/xml
// also fails at that point, errUnsupported where the input may be valid
// XML the tokenizer does not vouch for (non-ASCII names, DOCTYPE and other
// directives, a non-UTF-8 encoding declaration, a token over maxTokBytes).
// Comments and processing instructions are checked and skipped. The
// fuzz tests hold it to encoding/xml on arbitrary bytes.
//
// Byte slices it returns (names, attribute values, text) are valid until
// the next call to next.
type xmlTok struct {
	r    io.Reader
	buf  []byte
	pos  int   // next unread byte
	end  int   // end of the valid data in buf
	eof  bool  // r is exhausted: buf[pos:end] is all that is left
	base int64 // stream offset of buf[0]
	keep int64 // stream offset compaction must keep (rawSince), or -1
	max  int   // buffer size cap

	kind   tokKind
	tokOff int64 // stream offset where the current token began
	name   []byte
	local  []byte
	attrs  []xattr
	text   []byte

	scratch    []byte // decoded attribute values and text
	pendingEnd bool   // the last start element was self-closing
	names      []byte // the names of the open elements, back to back
	nameOffs   []openName
	err        *scanError
}

type openName struct{ off, local int }

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokStart
	tokEnd
	tokText
	tokErr
	tokSkip // internal: a comment or processing instruction
	tokShort
)

// xattr is one attribute of a start element.
type xattr struct {
	name  []byte // as written, prefix included
	local []byte // without the prefix, as encoding/xml's Name.Local
	value []byte // entities replaced
}

type scanErrKind uint8

const (
	errSyntax      scanErrKind = iota + 1 // encoding/xml rejects the input here too
	errUnsupported                        // the fast reader does not handle it
)

// scanError is why the tokenizer (or a reader over it) stopped.
type scanError struct {
	kind   scanErrKind
	offset int64 // byte offset in the part
	msg    string
}

func (e *scanError) Error() string {
	k := "not well-formed XML"
	if e.kind == errUnsupported {
		k = "not supported by the fast reader"
	}
	return fmt.Sprintf("%s at byte %d: %s", k, e.offset, e.msg)
}

const (
	tokInitialBuf = 1 << 20
	maxTokBytes   = 64 << 20 // one token (or kept raw element) at most
)

// newXMLTok tokenizes a stream.
func newXMLTok(r io.Reader) *xmlTok { return newXMLTokSize(r, tokInitialBuf, maxTokBytes) }

// newXMLTokSize tokenizes a stream with a buffer of size bytes that may
// grow to max.
func newXMLTokSize(r io.Reader, size, max int) *xmlTok {
	return &xmlTok{r: r, buf: make([]byte, size), keep: -1, max: max}
}

// newXMLTokBytes tokenizes data in place; data is never written to.
func newXMLTokBytes(data []byte) *xmlTok {
	return &xmlTok{buf: data, end: len(data), eof: true, keep: -1, max: maxTokBytes}
}

func (t *xmlTok) fail(kind scanErrKind, off int, format string, args ...any) tokKind {
	t.err = &scanError{kind: kind, offset: t.base + int64(off), msg: fmt.Sprintf(format, args...)}
	t.kind = tokErr
	return tokErr
}

// fill reads more input, keeping buf[from:] (and the kept raw element).
// At the end of the input it sets t.eof; it returns false only on an
// error (t.err set).
func (t *xmlTok) fill(from int) bool {
	if t.eof {
		return true
	}
	if t.keep >= 0 && int(t.keep-t.base) < from {
		from = int(t.keep - t.base)
	}
	if from > 0 {
		n := copy(t.buf, t.buf[from:t.end])
		t.pos -= from
		t.end = n
		t.base += int64(from)
	}
	if t.end == len(t.buf) {
		if len(t.buf) >= t.max {
			t.fail(errUnsupported, t.end, "a single token or element is over %d MiB", t.max>>20)
			return false
		}
		nb := make([]byte, min(2*len(t.buf), t.max))
		copy(nb, t.buf[:t.end])
		t.buf = nb
	}
	for {
		n, err := t.r.Read(t.buf[t.end:])
		t.end += n
		if errors.Is(err, io.EOF) {
			t.eof = true
			return true
		}
		if err != nil {
			t.fail(errUnsupported, t.end, "reading the part: %v", err)
			return false
		}
		if n > 0 {
			return true
		}
	}
}

// keepFrom makes the input from stream offset off stay readable through
// rawSince until release.
func (t *xmlTok) keepFrom(off int64) { t.keep = off }
func (t *xmlTok) release()           { t.keep = -1 }

// rawSince returns the input from the kept offset to the current position.
func (t *xmlTok) rawSince(off int64) []byte { return t.buf[off-t.base : t.pos] }

// depth is the number of open elements.
func (t *xmlTok) depth() int { return len(t.nameOffs) }

// next reads the next token: tokStart (name, local, attrs), tokEnd (name,
// local), tokText (text), tokEOF, or tokErr (err).
func (t *xmlTok) next() tokKind {
	if t.err != nil {
		return tokErr
	}
	if t.pendingEnd {
		t.pendingEnd = false
		t.popName()
		t.kind = tokEnd
		return tokEnd
	}
	for {
		start := t.pos
		t.tokOff = t.base + int64(start)
		t.scratch = t.scratch[:0]
		k := t.token()
		switch k {
		case tokSkip:
			continue
		case tokShort:
			t.pos = start
			if t.eof {
				// token reports tokShort only while more input may come.
				return t.fail(errUnsupported, start, "internal: incomplete token at the end of the input")
			}
			if !t.fill(start) {
				return tokErr
			}
			continue
		}
		t.kind = k
		return k
	}
}

// token reads one token at t.pos; tokShort asks for more input.
func (t *xmlTok) token() tokKind {
	if t.pos >= t.end {
		if !t.eof {
			return tokShort
		}
		if len(t.nameOffs) > 0 {
			return t.fail(errSyntax, t.pos, "unexpected EOF")
		}
		return tokEOF
	}
	if t.buf[t.pos] != '<' {
		return t.charData()
	}
	i := t.pos + 1
	if i >= t.end {
		return t.short(i)
	}
	switch t.buf[i] {
	case '/':
		return t.endElement(i + 1)
	case '?':
		return t.procInst(i + 1)
	case '!':
		return t.bang(i + 1)
	}
	return t.startElement(i)
}

// short is tokShort while more input may come, else the syntax error of
// input ending inside a token.
func (t *xmlTok) short(at int) tokKind {
	if !t.eof {
		return tokShort
	}
	return t.fail(errSyntax, at, "unexpected EOF")
}

// isNameByte is encoding/xml's isNameByte.
func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

// scanName reads an XML name at i. It returns the index after it and the
// name without its prefix (as encoding/xml's nsname splits it), or a token
// kind to return (tokShort, tokErr) with ok false.
func (t *xmlTok) scanName(i int, what string) (int, []byte, tokKind, bool) {
	j, colon, colons := i, -1, 0
	buf := t.buf[:t.end]
	for j < len(buf) {
		switch nameBytes[buf[j]] {
		case nameChar:
			j++
			continue
		case nameColon:
			colon = j
			colons++
			j++
			continue
		case nameNonASCII:
			return 0, nil, t.fail(errUnsupported, j, "a name with non-ASCII characters"), false
		}
		break
	}
	if j == t.end {
		return 0, nil, t.short(j), false
	}
	if j == i {
		return 0, nil, t.fail(errSyntax, i, "expected %s", what), false
	}
	if c := t.buf[i]; c >= '0' && c <= '9' || c == '.' || c == '-' {
		return 0, nil, t.fail(errSyntax, i, "invalid XML name: %s", t.buf[i:j]), false
	}
	switch {
	case colons > 1:
		return 0, nil, t.fail(errSyntax, i, "expected %s", what), false
	case colons == 0 || colon == i || colon == j-1:
		return j, t.buf[i:j], 0, true
	}
	return j, t.buf[colon+1 : j], 0, true
}

const (
	nameOther = iota
	nameChar
	nameColon
	nameNonASCII
)

// nameBytes classifies the bytes of names as encoding/xml's readName does.
var nameBytes = func() (tab [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= utf8.RuneSelf:
			tab[c] = nameNonASCII
		case c == ':':
			tab[c] = nameColon
		case isNameByte(byte(c)):
			tab[c] = nameChar
		}
	}
	return tab
}()

func isSpace(c byte) bool { return c == ' ' || c == '\r' || c == '\n' || c == '\t' }

func (t *xmlTok) skipSpace(i int) int {
	for i < t.end && isSpace(t.buf[i]) {
		i++
	}
	return i
}

func (t *xmlTok) startElement(i int) tokKind {
	j, local, k, ok := t.scanName(i, "element name after <")
	if !ok {
		return k
	}
	name := t.buf[i:j]
	t.attrs = t.attrs[:0]
	i = j
	empty := false
	for {
		i = t.skipSpace(i)
		if i >= t.end {
			return t.short(i)
		}
		c := t.buf[i]
		if c == '/' {
			if i+1 >= t.end {
				return t.short(i + 1)
			}
			if t.buf[i+1] != '>' {
				return t.fail(errSyntax, i, "expected /> in element")
			}
			i += 2
			empty = true
			break
		}
		if c == '>' {
			i++
			break
		}
		j, al, k, ok := t.scanName(i, "attribute name in element")
		if !ok {
			return k
		}
		an := t.buf[i:j]
		i = t.skipSpace(j)
		if i >= t.end {
			return t.short(i)
		}
		if t.buf[i] != '=' {
			return t.fail(errSyntax, i, "attribute name without = in element")
		}
		i = t.skipSpace(i + 1)
		if i >= t.end {
			return t.short(i)
		}
		q := t.buf[i]
		if q != '"' && q != '\'' {
			return t.fail(errSyntax, i, "unquoted or missing attribute value in element")
		}
		// The value: plain bytes are taken as they are; anything else
		// (entities, CR, non-ASCII, control characters, <) goes to decode.
		v, plain := i+1, true
		for v < t.end && t.buf[v] != q {
			if c := t.buf[v]; c < 0x20 || c >= utf8.RuneSelf || c == '&' || c == '<' {
				plain = false
			}
			v++
		}
		if v >= t.end {
			if lt := bytes.IndexByte(t.buf[i+1:t.end], '<'); lt >= 0 {
				return t.fail(errSyntax, i+1+lt, "unescaped < inside quoted string")
			}
			return t.short(t.end)
		}
		raw := t.buf[i+1 : v]
		val := raw
		if !plain {
			var bad int
			var msg string
			if val, bad, msg = t.decode(raw, true); msg != "" {
				return t.fail(errSyntax, i+1+bad, "%s", msg)
			}
		}
		t.attrs = append(t.attrs, xattr{name: an, local: al, value: val})
		i = v + 1
	}
	t.name, t.local = name, local
	t.pushName(name, len(name)-len(local))
	t.pendingEnd = empty
	t.pos = i
	return tokStart
}

// pushName records an open element: its name and where its local part
// starts.
func (t *xmlTok) pushName(name []byte, localAt int) {
	t.nameOffs = append(t.nameOffs, openName{len(t.names), localAt})
	t.names = append(t.names, name...)
}

// popName pops the innermost open element into t.name and t.local.
func (t *xmlTok) popName() {
	last := len(t.nameOffs) - 1
	o := t.nameOffs[last]
	t.name = t.names[o.off:]
	t.local = t.name[o.local:]
	t.names = t.names[:o.off]
	t.nameOffs = t.nameOffs[:last]
}

func (t *xmlTok) endElement(i int) tokKind {
	// Fast path: the name of the innermost open element, then >.
	if n := len(t.nameOffs); n > 0 {
		top := t.names[t.nameOffs[n-1].off:]
		if e := i + len(top); e < t.end && t.buf[e] == '>' && bytes.Equal(t.buf[i:e], top) {
			t.popName()
			t.pos = e + 1
			return tokEnd
		}
	}
	j, _, k, ok := t.scanName(i, "element name after </")
	if !ok {
		return k
	}
	name := t.buf[i:j]
	e := t.skipSpace(j)
	if e >= t.end {
		return t.short(e)
	}
	if t.buf[e] != '>' {
		return t.fail(errSyntax, e, "invalid characters between </%s and >", name)
	}
	if len(t.nameOffs) == 0 {
		return t.fail(errSyntax, i, "unexpected end element </%s>", name)
	}
	if top := t.names[t.nameOffs[len(t.nameOffs)-1].off:]; !bytes.Equal(top, name) {
		return t.fail(errSyntax, i, "element <%s> closed by </%s>", top, name)
	}
	t.popName()
	t.pos = e + 1
	return tokEnd
}

func (t *xmlTok) procInst(i int) tokKind {
	// The target is a plain name (colons allowed), then spaces, then
	// anything up to ?>.
	j := i
	for j < t.end && (isNameByte(t.buf[j]) || t.buf[j] >= utf8.RuneSelf) {
		if t.buf[j] >= utf8.RuneSelf {
			return t.fail(errUnsupported, j, "a processing instruction target with non-ASCII characters")
		}
		j++
	}
	if j == t.end {
		return t.short(j)
	}
	if j == i {
		return t.fail(errSyntax, i, "expected target name after <?")
	}
	if c := t.buf[i]; c >= '0' && c <= '9' || c == '.' || c == '-' {
		return t.fail(errSyntax, i, "invalid XML name: %s", t.buf[i:j])
	}
	target := t.buf[i:j]
	c := t.skipSpace(j)
	if c >= t.end {
		return t.short(c)
	}
	e := bytes.Index(t.buf[c:t.end], []byte("?>"))
	if e < 0 {
		return t.short(t.end)
	}
	if string(target) == "xml" {
		content := string(t.buf[c : c+e])
		if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
			return t.fail(errSyntax, i, "unsupported XML version %q", ver)
		}
		if enc := procInstParam("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
			return t.fail(errUnsupported, i, "the part is declared in encoding %q", enc)
		}
	}
	t.pos = c + e + 2
	return tokSkip
}

// bang reads what follows <!: a comment, a CDATA section, or a directive.
func (t *xmlTok) bang(i int) tokKind {
	if i >= t.end {
		return t.short(i)
	}
	switch t.buf[i] {
	case '-':
		if i+1 >= t.end {
			return t.short(i + 1)
		}
		if t.buf[i+1] != '-' {
			return t.fail(errSyntax, i, "invalid sequence <!- not part of <!--")
		}
		c := i + 2
		e := bytes.Index(t.buf[c:t.end], []byte("--"))
		if e < 0 || c+e+2 >= t.end {
			return t.short(t.end)
		}
		if t.buf[c+e+2] != '>' {
			return t.fail(errSyntax, c+e, `invalid sequence "--" not allowed in comments`)
		}
		t.pos = c + e + 3
		return tokSkip
	case '[':
		const cdata = "CDATA["
		for k := 0; k < len(cdata); k++ {
			if i+1+k >= t.end {
				return t.short(i + 1 + k)
			}
			if t.buf[i+1+k] != cdata[k] {
				return t.fail(errSyntax, i, "invalid <![ sequence")
			}
		}
		c := i + 1 + len(cdata)
		e := bytes.Index(t.buf[c:t.end], []byte("]]>"))
		if e < 0 {
			if !t.eof {
				return tokShort
			}
			return t.fail(errSyntax, t.end, "unexpected EOF in CDATA section")
		}
		text, bad, msg := t.decodeCDATA(t.buf[c : c+e])
		if msg != "" {
			return t.fail(errSyntax, c+bad, "%s", msg)
		}
		t.text = text
		t.pos = c + e + 3
		return tokText
	}
	return t.fail(errUnsupported, i, "a <! directive (DOCTYPE or ENTITY)")
}
