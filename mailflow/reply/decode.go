package reply

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// gbLabels are the charset labels decoded as GB18030, a superset of GBK and
// GB2312: mail labelled gb2312 routinely carries GBK-only characters.
var gbLabels = map[string]bool{
	"gb2312": true, "gbk": true, "gb18030": true, "x-gbk": true, "cp936": true,
	"windows-936": true, "euc-cn": true, "csgb2312": true, "gb_2312-80": true,
	"x-euc-cn": true, "chinese": true, "ms936": true,
}

// big5Labels are decoded as Big5 (with the HKSCS extensions x/text includes).
var big5Labels = map[string]bool{
	"big5": true, "big5-hkscs": true, "x-big5": true, "cp950": true, "csbig5": true,
}

// lookupCharset returns the decoder for a MIME charset label and the label's
// canonical name. A nil encoding means UTF-8 (or plain ASCII).
func lookupCharset(label string) (encoding.Encoding, string, bool) {
	l := strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
	switch {
	case l == "" || l == "utf-8" || l == "utf8" || l == "us-ascii" || l == "ascii" || l == "unicode-1-1-utf-8":
		return nil, "utf-8", true
	case gbLabels[l]:
		return simplifiedchinese.GB18030, "gb18030", true
	case big5Labels[l]:
		return traditionalchinese.Big5, "big5", true
	case l == "hz-gb-2312":
		return simplifiedchinese.HZGB2312, "hz-gb-2312", true
	}
	if e, err := htmlindex.Get(l); err == nil {
		name, _ := htmlindex.Name(e)
		return e, name, true
	}
	if e, err := ianaindex.MIME.Encoding(l); err == nil && e != nil {
		return e, l, true
	}
	return nil, l, false
}

// decodeCharset converts body bytes in the given charset to UTF-8. Unknown
// labels and mislabelled 8-bit text fall back to UTF-8 when valid, else to
// GB18030 (the users of this package are Chinese teams). It returns the
// charset actually used.
func decodeCharset(b []byte, label string) (string, string) {
	enc, name, ok := lookupCharset(label)
	if enc == nil {
		if utf8.Valid(b) {
			if !ok {
				return string(b), "utf-8"
			}
			return string(b), name
		}
		enc, name = simplifiedchinese.GB18030, "gb18030"
	}
	if enc == unicode.UTF8 {
		return strings.ToValidUTF8(string(b), "\uFFFD"), name
	}
	return decodeWith(enc, b), name
}

// decodeWith decodes b into a builder sized for the worst case of the
// Chinese charsets (1.5 bytes of UTF-8 per input byte), through a small
// chunk buffer, so the text is allocated once.
func decodeWith(enc encoding.Encoding, b []byte) string {
	dec := enc.NewDecoder()
	var sb strings.Builder
	sb.Grow(len(b)*3/2 + 16)
	var chunk [4096]byte
	for {
		nDst, nSrc, err := dec.Transform(chunk[:], b, true)
		sb.Write(chunk[:nDst])
		b = b[nSrc:]
		switch {
		case err == nil:
			return sb.String()
		case errors.Is(err, transform.ErrShortDst) && (nDst > 0 || nSrc > 0):
		default:
			sb.WriteString(strings.ToValidUTF8(string(b), "\uFFFD"))
			return sb.String()
		}
	}
}

// wordDecoder decodes RFC 2047 encoded words with the same charset table as
// bodies. It is built per call; nothing global is registered.
func wordDecoder() *mime.WordDecoder {
	return &mime.WordDecoder{CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
		enc, _, ok := lookupCharset(charset)
		if !ok {
			return nil, fmt.Errorf("unknown charset %q", charset)
		}
		if enc == nil {
			return input, nil
		}
		b, err := io.ReadAll(io.LimitReader(input, 64<<10))
		if err != nil {
			return nil, err
		}
		out, err := enc.NewDecoder().Bytes(b)
		if err != nil {
			return nil, err
		}
		return bytes.NewReader(out), nil
	}}
}

// decodeHeaderText decodes a header value: RFC 2047 words, and raw 8-bit
// values that are not UTF-8 (sent by some Chinese clients) as GB18030.
func decodeHeaderText(v string) string {
	if !utf8.ValidString(v) {
		v, _ = decodeCharset([]byte(v), "gb18030")
	}
	if !strings.Contains(v, "=?") {
		return v
	}
	out, err := wordDecoder().DecodeHeader(v)
	if err != nil {
		return v
	}
	return out
}

// decodeTransfer undoes a Content-Transfer-Encoding leniently: broken input
// yields what could be decoded, never an error.
func decodeTransfer(b []byte, cte string) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return decodeBase64(b)
	case "quoted-printable":
		return decodeQP(b)
	}
	return b
}

// decodeBase64 decodes base64, skipping characters outside the alphabet.
// Padding ends a chunk, so concatenated encodings decode too.
func decodeBase64(b []byte) []byte {
	out := make([]byte, 0, len(b)*3/4+3)
	chunk := make([]byte, 0, 1024)
	flush := func() {
		if len(chunk)%4 == 1 {
			chunk = chunk[:len(chunk)-1]
		}
		buf := make([]byte, base64.RawStdEncoding.DecodedLen(len(chunk)))
		n, _ := base64.RawStdEncoding.Decode(buf, chunk)
		out = append(out, buf[:n]...)
		chunk = chunk[:0]
	}
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			chunk = append(chunk, c)
			if len(chunk) == cap(chunk) {
				flush()
			}
		case c == '=':
			flush()
		}
	}
	flush()
	return out
}

// decodeQP decodes quoted-printable in place (the output is never longer
// than the input); invalid escapes are kept literally.
func decodeQP(b []byte) []byte {
	out := b
	n := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '=' {
			out[n] = c
			n++
			continue
		}
		if i+2 < len(b) && hexVal[b[i+1]] < 16 && hexVal[b[i+2]] < 16 {
			out[n] = hexVal[b[i+1]]<<4 | hexVal[b[i+2]]
			n++
			i += 2
			continue
		}
		// soft line break: "=" then optional blanks then CRLF or LF
		j := i + 1
		for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
			j++
		}
		switch {
		case j < len(b) && b[j] == '\n':
			i = j
		case j+1 < len(b) && b[j] == '\r' && b[j+1] == '\n':
			i = j + 1
		case j == len(b):
			i = j
		default:
			out[n] = c
			n++
		}
	}
	return out[:n]
}

// hexVal maps a hex digit to its value and anything else to 255.
var hexVal = func() [256]byte {
	var t [256]byte
	for i := range t {
		t[i] = 255
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()

// decodeFlowed undoes format=flowed (RFC 3676): a line ending in a space is
// joined with the next line of the same quote depth; space-stuffing is
// removed; with delsp=yes the joining space is deleted.
func decodeFlowed(s string, delsp bool) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var out strings.Builder
	out.Grow(len(s))
	var para strings.Builder
	paraDepth := -1
	flush := func() {
		if paraDepth < 0 {
			return
		}
		if paraDepth > 0 {
			out.WriteString(strings.Repeat(">", paraDepth))
			out.WriteByte(' ')
		}
		out.WriteString(para.String())
		out.WriteByte('\n')
		para.Reset()
		paraDepth = -1
	}
	for _, ln := range lines {
		depth := 0
		for depth < len(ln) && ln[depth] == '>' {
			depth++
		}
		body := ln[depth:]
		body = strings.TrimPrefix(body, " ")
		if paraDepth >= 0 && depth != paraDepth {
			flush()
		}
		isSig := body == "-- "
		soft := !isSig && strings.HasSuffix(body, " ")
		if soft && delsp {
			body = body[:len(body)-1]
		}
		paraDepth = depth
		para.WriteString(body)
		if !soft {
			flush()
		}
	}
	flush()
	return strings.TrimSuffix(out.String(), "\n")
}

// looksLikeHTML tells whether a header-less file is an HTML document.
func looksLikeHTML(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n\ufeff")
	if len(t) == 0 || t[0] != '<' {
		return false
	}
	head := strings.ToLower(string(t[:min(len(t), 512)]))
	for _, p := range []string{"<!doctype html", "<html", "<?xml", "<div", "<p>", "<p ", "<body", "<head", "<table", "<span", "<blockquote"} {
		if strings.HasPrefix(head, p) {
			return true
		}
	}
	return false
}
