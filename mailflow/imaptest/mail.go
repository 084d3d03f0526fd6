package imaptest

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Mail is a minimal RFC 5322 message for tests. Empty headers are left
// out (MessageID "" makes a mail without Message-ID).
type Mail struct {
	From, To, Subject string
	MessageID         string // with or without angle brackets
	InReplyTo         string
	Date              time.Time // zero: a fixed date
	Headers           []string  // extra "Name: value" lines
	Body              string
}

// Bytes renders m with CRLF line ends.
func (m Mail) Bytes() []byte {
	var b bytes.Buffer
	line := func(name, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", name, v)
		}
	}
	line("From", m.From)
	line("To", m.To)
	line("Subject", m.Subject)
	if m.MessageID != "" {
		line("Message-ID", angle(m.MessageID))
	}
	if m.InReplyTo != "" {
		line("In-Reply-To", angle(m.InReplyTo))
	}
	d := m.Date
	if d.IsZero() {
		d = time.Date(2026, 12, 3, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	}
	line("Date", d.Format(time.RFC1123Z))
	for _, h := range m.Headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n"))
	if !strings.HasSuffix(m.Body, "\n") {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func angle(id string) string {
	if strings.HasPrefix(id, "<") {
		return id
	}
	return "<" + id + ">"
}
