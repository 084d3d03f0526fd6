package reply

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	nettextproto "net/textproto"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"
)

// ErrTooLarge is returned when a mail is larger than Options.MaxBytes. The
// limit is checked while reading; the mail is never read in whole first.
var ErrTooLarge = errors.New("reply: mail is larger than the size limit")

const (
	defaultMaxBytes     = 10 << 20
	defaultMaxTextBytes = 1 << 20
	maxDepth            = 16   // nesting of multiparts
	maxParts            = 1000 // parts looked at in one mail
	maxHeaderIDs        = 200  // Message-IDs kept from References
)

// Options bounds the work done on one mail. The zero value is usable.
type Options struct {
	// MaxBytes is the largest mail accepted, in raw bytes (default 10 MB).
	// A larger mail fails with ErrTooLarge.
	MaxBytes int64
	// MaxTextBytes caps the decoded text kept from one body part (default
	// 1 MB); the rest is dropped and Message.Truncated is set. A reply's own
	// text is at its top, so nothing that counts is lost.
	MaxTextBytes int
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = defaultMaxBytes
	}
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = defaultMaxTextBytes
	}
	return o
}

// Address is a mailbox: display name (decoded) and address.
type Address struct {
	Name string `json:"name,omitempty"`
	Addr string `json:"addr"`
}

// String formats the address as `Name <addr>`, or just the address.
func (a Address) String() string {
	switch {
	case a.Name == "":
		return a.Addr
	case a.Addr == "":
		return a.Name
	}
	return a.Name + " <" + a.Addr + ">"
}

// Header holds a mail's top-level header fields, keyed by canonical name
// (textproto.CanonicalMIMEHeaderKey), values raw and unfolded.
type Header map[string][]string

// Get returns the first value of the field named k, or "".
func (h Header) Get(k string) string {
	v := h[canonicalKey(k)]
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// Values returns all values of the field named k.
func (h Header) Values(k string) []string { return h[canonicalKey(k)] }

// Has tells whether the field named k is present.
func (h Header) Has(k string) bool { _, ok := h[canonicalKey(k)]; return ok }

// Message is what Parse extracts from a mail. Message-IDs are kept without
// their angle brackets.
type Message struct {
	From       Address
	To         []Address
	Cc         []Address
	Subject    string // RFC 2047 decoded
	MessageID  string
	InReplyTo  string
	References []string
	Date       time.Time // zero when absent or unreadable
	Header     Header    // top-level fields, raw (for auto-reply checks, Authentication-Results, ...)

	// TextBody is the best text of the mail: the text/plain part when it has
	// text, else the HTML part cut at the clients' quote markers and then
	// converted to text. It still holds quotes and signatures; see Trim.
	TextBody   string
	FromHTML   bool   // TextBody was converted from HTML
	HTMLCut    string // the HTML quote marker the HTML was cut at, if any
	Charset    string // charset TextBody was decoded from
	HasHeaders bool   // false when the input had no mail header (read as plain text)
	Truncated  bool   // a body part was longer than Options.MaxTextBytes
}

// limitReader fails with ErrTooLarge as soon as more than max bytes can be
// read from r. It remembers the overflow, so a caller that loses the error
// inside a parser still learns of it.
type limitReader struct {
	r         io.Reader
	remaining int64
	exceeded  bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.exceeded {
		return 0, ErrTooLarge
	}
	if l.remaining <= 0 {
		var probe [1]byte
		n, err := l.r.Read(probe[:])
		if n > 0 {
			l.exceeded = true
			return 0, ErrTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.remaining {
		p = p[:l.remaining]
	}
	n, err := l.r.Read(p)
	l.remaining -= int64(n)
	return n, err
}

// headerLine matches a first line that can start a mail header.
var headerLine = regexp.MustCompile(`^[!-9;-~]{1,76}[ \t]*:`)

// knownHeader matches a header field that only mail has at its top.
var knownHeader = regexp.MustCompile(`(?im)^(from|to|cc|subject|date|message-id|mime-version|content-type|received|return-path|delivered-to|reply-to|in-reply-to|references|sender|x-[a-z0-9-]+|auto-submitted|precedence|dkim-signature|authentication-results|thread-topic|thread-index)[ \t]*:`)

// Parse reads one mail from r. Its body walk skips attachments and forwarded
// messages (message/rfc822) without buffering them. A file without a mail
// header is read as a plain-text (or, when it is one, HTML) body.
func Parse(r io.Reader, opts Options) (*Message, error) {
	opts = opts.withDefaults()
	lr := &limitReader{r: r, remaining: opts.MaxBytes}
	br := bufio.NewReaderSize(lr, 8<<10)
	m, err := parse(br, opts)
	if lr.exceeded || errors.Is(err, ErrTooLarge) {
		return nil, fmt.Errorf("reading mail (limit %d bytes): %w", opts.MaxBytes, ErrTooLarge)
	}
	if err != nil {
		return nil, err
	}
	// Read to the end so that an oversize mail is always reported.
	if _, err := io.Copy(io.Discard, br); err != nil {
		if lr.exceeded || errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("reading mail (limit %d bytes): %w", opts.MaxBytes, ErrTooLarge)
		}
		return nil, fmt.Errorf("reading mail: %w", err)
	}
	return m, nil
}

func parse(br *bufio.Reader, opts Options) (*Message, error) {
	skipMboxFrom(br)
	peek, err := br.Peek(4 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("reading mail: %w", err)
	}
	peek = bytes.TrimPrefix(peek, []byte("\ufeff"))
	if !headerLine.Match(firstLine(peek)) || !knownHeader.Match(headerPart(peek)) {
		return parseHeaderless(br, opts)
	}
	th, err := textproto.ReadHeader(br)
	if err != nil && th.Len() == 0 {
		if errors.Is(err, ErrTooLarge) {
			return nil, err
		}
		return parseHeaderless(br, opts)
	}
	m := &Message{HasHeaders: true, Header: copyHeader(th)}
	fillEnvelope(m)
	w := &walker{opts: opts}
	if err := w.walk(m.Header, br, 0); err != nil {
		return nil, err
	}
	w.finish(m)
	return m, nil
}

// skipMboxFrom drops an mbox "From " separator line at the very start.
func skipMboxFrom(br *bufio.Reader) {
	if p, err := br.Peek(5); err == nil && string(p) == "From " {
		_, _ = br.ReadSlice('\n')
	}
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}

// headerPart returns b up to its first empty line.
func headerPart(b []byte) []byte {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		rest := b[i+1:]
		if len(rest) > 0 && rest[0] == '\n' || len(rest) > 1 && rest[0] == '\r' && rest[1] == '\n' {
			return b[:i]
		}
	}
	return b
}

func parseHeaderless(br *bufio.Reader, opts Options) (*Message, error) {
	b, trunc, err := readCapped(br, opts.MaxTextBytes)
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	m := &Message{Header: Header{}, Truncated: trunc}
	if looksLikeHTML(b) {
		text, cs := decodeCharset(b, "")
		m.TextBody, m.HTMLCut = htmlToText(text)
		m.FromHTML, m.Charset = true, cs
		return m, nil
	}
	m.TextBody, m.Charset = decodeCharset(b, "")
	return m, nil
}

// readCapped reads up to max bytes of r and discards the rest.
func readCapped(r io.Reader, max int) ([]byte, bool, error) {
	buf := make([]byte, 0, min(max+1, 16<<10))
	for len(buf) <= max {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), max+1)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, false, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, false, err
	}
	return buf[:max], true, nil
}

func copyHeader(th textproto.Header) Header {
	h := Header{}
	fields := th.Fields()
	for n := 0; fields.Next() && n < 2000; n++ {
		h[fields.Key()] = append(h[fields.Key()], fields.Value())
	}
	return h
}

func canonicalKey(k string) string { return nettextproto.CanonicalMIMEHeaderKey(k) }

func fillEnvelope(m *Message) {
	h := m.Header
	m.Subject = strings.TrimSpace(decodeHeaderText(h.Get("Subject")))
	if from := parseAddresses(h.Get("From")); len(from) > 0 {
		m.From = from[0]
	}
	m.To = parseAddresses(h.Get("To"))
	m.Cc = parseAddresses(h.Get("Cc"))
	if ids := msgIDs(h.Get("Message-Id")); len(ids) > 0 {
		m.MessageID = ids[0]
	}
	if ids := msgIDs(h.Get("In-Reply-To")); len(ids) > 0 {
		m.InReplyTo = ids[0]
	}
	m.References = msgIDs(h.Get("References"))
	if d, err := mail.ParseDate(h.Get("Date")); err == nil {
		m.Date = d
	}
}

// parseAddresses parses an address list leniently: what net/mail rejects is
// kept as a name.
func parseAddresses(v string) []Address {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if !strings.Contains(v, "=?") {
		v = decodeHeaderText(v) // raw 8-bit only
	}
	p := mail.AddressParser{WordDecoder: wordDecoder()}
	list, err := p.ParseList(v)
	if err == nil {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			out = append(out, Address{Name: a.Name, Addr: a.Address})
		}
		return out
	}
	var out []Address
	for _, part := range strings.Split(v, ",") {
		if a, err := p.Parse(part); err == nil {
			out = append(out, Address{Name: a.Name, Addr: a.Address})
		} else if s := strings.TrimSpace(decodeHeaderText(part)); s != "" {
			out = append(out, Address{Name: s})
		}
	}
	return out
}

// msgIDs returns the Message-IDs in a header value, without angle brackets.
func msgIDs(v string) []string {
	var ids []string
	for rest := v; len(ids) < maxHeaderIDs; {
		a := strings.IndexByte(rest, '<')
		if a < 0 {
			break
		}
		b := strings.IndexByte(rest[a+1:], '>')
		if b < 0 {
			break
		}
		id := rest[a+1 : a+1+b]
		rest = rest[a+1+b+1:]
		if id != "" && len(id) <= 998 && !strings.ContainsAny(id, " \t<") {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		for _, f := range strings.Fields(v) {
			if strings.Contains(f, "@") && len(ids) < maxHeaderIDs {
				ids = append(ids, strings.Trim(f, "<>"))
			}
		}
	}
	return ids
}

// walker visits the body parts of a mail and keeps its first text and HTML.
type walker struct {
	opts      Options
	parts     int
	plain     string
	plainCS   string
	html      []byte // raw, decoded only when there is no plain text
	htmlCTE   string
	htmlLabel string
	truncated bool
}

// walk reads one entity's body from body. Everything not kept is drained.
func (w *walker) walk(h Header, body io.Reader, depth int) error {
	w.parts++
	mt, params := mediaType(h.Get("Content-Type"))
	disp, dparams := mediaType(h.Get("Content-Disposition"))
	attachment := disp == "attachment" || (dparams["filename"] != "" && !strings.HasPrefix(mt, "multipart/"))
	switch {
	case w.parts > maxParts || depth > maxDepth || attachment:
	case strings.HasPrefix(mt, "multipart/"):
		if b := params["boundary"]; b != "" {
			return w.walkMultipart(b, body, depth)
		}
	case mt == "text/plain" && w.plain == "":
		s, cs, err := w.readText(h, params, body)
		if err != nil {
			return err
		}
		if strings.EqualFold(params["format"], "flowed") {
			s = decodeFlowed(s, strings.EqualFold(params["delsp"], "yes"))
		}
		if strings.TrimSpace(s) != "" {
			w.plain, w.plainCS = s, cs
		}
	case mt == "text/html" && w.html == nil && w.plain == "":
		raw, trunc, err := readCapped(body, w.opts.MaxTextBytes)
		if err != nil {
			return fmt.Errorf("reading html part: %w", err)
		}
		w.truncated = w.truncated || trunc
		w.html, w.htmlCTE, w.htmlLabel = raw, h.Get("Content-Transfer-Encoding"), params["charset"]
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		return fmt.Errorf("skipping %s part: %w", mt, err)
	}
	return nil
}

func (w *walker) walkMultipart(boundary string, body io.Reader, depth int) error {
	mr := textproto.NewMultipartReader(body, boundary)
	for {
		p, err := mr.NextPart()
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return err
			}
			return nil // end, or a broken multipart: keep what was found
		}
		if err := w.walk(copyHeader(p.Header), p, depth+1); err != nil {
			if errors.Is(err, ErrTooLarge) {
				return err
			}
			return nil
		}
	}
}

func (w *walker) readText(h Header, params map[string]string, body io.Reader) (string, string, error) {
	raw, trunc, err := readCapped(body, w.opts.MaxTextBytes)
	if err != nil {
		return "", "", fmt.Errorf("reading text part: %w", err)
	}
	w.truncated = w.truncated || trunc
	decoded := decodeTransfer(raw, h.Get("Content-Transfer-Encoding"))
	s, cs := decodeCharset(decoded, params["charset"])
	return s, cs, nil
}

func (w *walker) finish(m *Message) {
	m.Truncated = w.truncated
	if w.plain != "" {
		m.TextBody, m.Charset = w.plain, w.plainCS
		return
	}
	if w.html != nil {
		s, cs := decodeCharset(decodeTransfer(w.html, w.htmlCTE), w.htmlLabel)
		m.TextBody, m.HTMLCut = htmlToText(s)
		m.FromHTML, m.Charset = true, cs
	}
}

// mediaType parses a Content-Type or Content-Disposition value leniently.
// A missing Content-Type means text/plain.
func mediaType(v string) (string, map[string]string) {
	if strings.TrimSpace(v) == "" {
		return "text/plain", map[string]string{}
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(v, ";", 2)[0]))
		params = looseParams(v)
	}
	return mt, params
}

var looseParam = regexp.MustCompile(`(?i)\b(boundary|charset|format|delsp|filename|name)\s*=\s*("([^"]*)"|[^;\s]+)`)

// looseParams salvages parameters from a header mime.ParseMediaType rejects.
func looseParams(v string) map[string]string {
	p := map[string]string{}
	for _, m := range looseParam.FindAllStringSubmatch(v, 20) {
		val := m[2]
		if m[3] != "" || strings.HasPrefix(val, `"`) {
			val = m[3]
		}
		p[strings.ToLower(m[1])] = val
	}
	return p
}
