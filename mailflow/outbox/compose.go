package outbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"

	gomail "github.com/wneessen/go-mail"
)

// Address is a name and a mail address.
type Address struct {
	Name string
	Addr string
}

// Attachment is a file attached to a mail.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Header is an extra header field.
type Header struct {
	Name  string
	Value string
}

// Message is a mail to compose.
type Message struct {
	MessageID string // without angle brackets (see MailID)
	Date      time.Time
	From      Address
	ReplyTo   string // "" for none
	To        []Address
	Cc        []Address
	Subject   string
	Text      string
	HTML      string
	// Attachments are sent as multipart/mixed around the alternative parts.
	Attachments []Attachment
	InReplyTo   string   // Message-ID this mail answers, without brackets
	References  []string // Message-IDs, without brackets, oldest first
	// DecisionRequest lets out-of-office notices through (see package doc).
	DecisionRequest bool
	// Train, Release and Step fill the X-Fabu-* headers.
	Train, Release, Step string
	Headers              []Header
}

var hashEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// MailID derives the outbox key and the Message-ID of a mail from what it
// is: the train, release, step, a discriminator (e.g. the Message-ID of the
// reply a notice answers; "" for scheduled steps) and the recipients (order
// and case do not matter). domain is the From address's domain.
func MailID(train, release, step, discriminator string, recipients []string, domain string) (id, messageID string) {
	rs := make([]string, len(recipients))
	for i, r := range recipients {
		rs[i] = strings.ToLower(strings.TrimSpace(r))
	}
	slices.Sort(rs)
	rs = slices.Compact(rs)
	h := sha256.New()
	for _, part := range []string{"fabu-mail-v1", train, release, step, discriminator} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	for _, r := range rs {
		h.Write([]byte(r))
		h.Write([]byte{'\n'})
	}
	id = strings.ToLower(hashEnc.EncodeToString(h.Sum(nil)[:16]))
	if domain == "" {
		domain = "fabu.invalid"
	}
	return id, "fabu." + id + "@" + strings.ToLower(domain)
}

// Domain returns the domain of an address ("" when it has none).
func Domain(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.Trim(addr[i+1:], "> ")
	}
	return ""
}

// Clean replaces every control character (CR and LF included) and other
// line or paragraph separators in a header value with a space and trims it.
func Clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\u0085' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// Envelope returns the envelope recipients of m: To then Cc, each address
// once (case-insensitive).
func (m *Message) Envelope() []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range append(append([]Address(nil), m.To...), m.Cc...) {
		k := strings.ToLower(a.Addr)
		if a.Addr == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, a.Addr)
	}
	return out
}

// bracket returns <id>, or "<>" when id is no usable msg-id (blank,
// spaces inside, no @): such a value is left out.
func bracket(id string) string {
	id = strings.Trim(Clean(id), "<>")
	if id == "" || strings.ContainsAny(id, " <>") || !strings.Contains(id, "@") {
		return "<>"
	}
	return "<" + id + ">"
}

func checkAddr(what, addr string) (string, error) {
	addr = Clean(addr)
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr {
		return "", fmt.Errorf("compose: %s %q is not a plain mail address", what, addr)
	}
	return addr, nil
}

// Compose renders m as RFC 5322 bytes with CRLF line ends.
func Compose(m *Message) ([]byte, error) {
	if m.MessageID == "" {
		return nil, fmt.Errorf("compose: no Message-ID")
	}
	if len(m.To) == 0 && len(m.Cc) == 0 {
		return nil, fmt.Errorf("compose %s: no recipients", m.MessageID)
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	from, err := checkAddr("From", m.From.Addr)
	if err != nil {
		return nil, err
	}
	if err := msg.FromFormat(Clean(m.From.Name), from); err != nil {
		return nil, fmt.Errorf("compose: From: %w", err)
	}
	for _, list := range []struct {
		name string
		as   []Address
		add  func(name, addr string) error
	}{{"To", m.To, msg.AddToFormat}, {"Cc", m.Cc, msg.AddCcFormat}} {
		seen := map[string]bool{}
		for _, a := range list.as {
			addr, err := checkAddr(list.name, a.Addr)
			if err != nil {
				return nil, err
			}
			if seen[strings.ToLower(addr)] {
				continue
			}
			seen[strings.ToLower(addr)] = true
			if err := list.add(Clean(a.Name), addr); err != nil {
				return nil, fmt.Errorf("compose: %s %s: %w", list.name, addr, err)
			}
		}
	}
	if m.ReplyTo != "" {
		rt, err := checkAddr("Reply-To", m.ReplyTo)
		if err != nil {
			return nil, err
		}
		if err := msg.ReplyTo(rt); err != nil {
			return nil, fmt.Errorf("compose: Reply-To: %w", err)
		}
	}
	msg.Subject(Clean(m.Subject))
	msg.SetMessageIDWithValue(strings.Trim(Clean(m.MessageID), "<>"))
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	msg.SetDateWithValue(date)
	msg.SetGenHeader(gomail.HeaderUserAgent, "fabu")
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	if m.DecisionRequest {
		msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "DR, RN, NRN, AutoReply")
	} else {
		msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	}
	if b := bracket(m.InReplyTo); b != "<>" {
		msg.SetGenHeader(gomail.HeaderInReplyTo, b)
	}
	if len(m.References) > 0 {
		refs := make([]string, 0, len(m.References))
		for _, r := range m.References {
			if b := bracket(r); b != "<>" && !slices.Contains(refs, b) {
				refs = append(refs, b)
			}
		}
		if len(refs) > 0 {
			msg.SetGenHeader(gomail.HeaderReferences, strings.Join(refs, " "))
		}
	}
	for _, h := range []Header{{"X-Fabu-Train", m.Train}, {"X-Fabu-Release", m.Release}, {"X-Fabu-Step", m.Step}} {
		if h.Value != "" {
			msg.SetGenHeader(gomail.Header(h.Name), Clean(h.Value))
		}
	}
	for _, h := range m.Headers {
		name := Clean(h.Name)
		if name == "" || strings.ContainsAny(name, ": ") {
			return nil, fmt.Errorf("compose: bad header name %q", h.Name)
		}
		msg.SetGenHeader(gomail.Header(name), Clean(h.Value))
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		// Base64: the HTML part is the big one (tables, inline styles, CJK
		// text), and base64 is smaller and faster than quoted-printable for it.
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML, gomail.WithPartEncoding(gomail.EncodingB64))
	}
	for _, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if err := msg.AttachReader(Clean(a.Name), bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(ct))); err != nil {
			return nil, fmt.Errorf("compose: attach %s: %w", a.Name, err)
		}
	}
	var buf bytes.Buffer
	buf.Grow(len(m.Text) + len(m.HTML) + len(m.Attachments)*64<<10 + 4096)
	if _, err := msg.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("compose %s: %w", m.MessageID, err)
	}
	return buf.Bytes(), nil
}

// PossibleDuplicateHeader is prepended to a mail sent again after a crash
// or a lost connection in the window between DATA and its answer.
const PossibleDuplicateHeader = "X-Fabu-Possible-Duplicate: yes\r\n"
