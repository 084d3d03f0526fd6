package demo

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"strings"
	"time"

	_ "github.com/emersion/go-message/charset" // GB18030 and other charsets in the readable copies
	gomail "github.com/emersion/go-message/mail"
	"github.com/fabu-team/fabu/mailflow/reply"
)

// Mail is one delivered message as the demo sees it.
type Mail struct {
	Seq       int
	At        time.Time // simulated delivery time
	Raw       []byte
	Msg       *reply.Message
	Mailboxes []string // who got it
	FromFabu  bool
	// fabu's mails: what it is (the outbox's kind, e.g. testlist, clarify),
	// its step and release (X-Fabu-* headers).
	Kind, Step, Release string
	ReplyTo             string

	// Set by the archive.
	Name        string       // file stem, e.g. 01-testlist
	EML, View   string       // paths relative to the output folder
	Attachments []attachment // saved attachments
}

type attachment struct {
	Name string // as in the mail
	File string // path relative to the output folder
	Data []byte `json:"-"`
}

// readMail parses a delivery. kindOf looks up the outbox kind of fabu's
// mail by its Message-ID ("" when unknown).
func readMail(d Delivery, kindOf func(messageID string) string) (*Mail, error) {
	msg, err := reply.Parse(bytes.NewReader(d.Raw), reply.Options{MaxBytes: maxMessageBytes})
	if err != nil {
		return nil, fmt.Errorf("read delivered mail %d: %w", d.Seq, err)
	}
	m := &Mail{Seq: d.Seq, At: d.At, Raw: d.Raw, Msg: msg, Mailboxes: d.Mailboxes}
	m.FromFabu = mailboxOf(msg.From.Addr) == fabuAddress
	if m.FromFabu {
		m.Step = msg.Header.Get("X-Fabu-Step")
		m.Release = msg.Header.Get("X-Fabu-Release")
		m.ReplyTo = replyAddress(msg.Header)
		if kindOf != nil {
			m.Kind = kindOf(msg.MessageID)
		}
		if m.Kind == "" {
			m.Kind = m.Step
		}
	}
	return m, nil
}

// stem is the file name of the mail without the number: what it is, and
// for replies who wrote it to what.
func (m *Mail) stem(answered *Mail) string {
	if m.FromFabu {
		switch m.Kind {
		case "reminder":
			return "reminder-" + safeName(m.Step)
		case "clarify", "cannotuse", "outdated", "receipt":
			if len(m.Mailboxes) == 1 {
				return m.Kind + "-" + loginOf(m.Mailboxes[0])
			}
		}
		return safeName(m.Kind)
	}
	s := "reply-" + loginOf(m.Msg.From.Addr)
	if answered != nil {
		what := answered.Kind
		if answered.Kind == "reminder" {
			what = answered.Step
		}
		s += "-to-" + safeName(what)
	}
	return s
}

func loginOf(addr string) string {
	local, _, _ := strings.Cut(mailboxOf(addr), "@")
	return safeName(local)
}

// safeName keeps ASCII letters, digits and - _ . of s.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "mail"
	}
	return b.String()
}

// parts splits the mail into its text part, HTML part and attachments
// (transfer encodings and charsets decoded).
func parts(raw []byte) (text, html string, atts []attachment, err error) {
	r, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return "", "", nil, err
	}
	defer r.Close()
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return text, html, atts, err
		}
		body, err := io.ReadAll(io.LimitReader(p.Body, maxMessageBytes))
		if err != nil {
			return text, html, atts, err
		}
		switch h := p.Header.(type) {
		case *gomail.InlineHeader:
			ct, _, _ := h.ContentType()
			switch {
			case ct == "text/html" && html == "":
				html = string(body)
			case strings.HasPrefix(ct, "text/") && text == "":
				text = string(body)
			}
		case *gomail.AttachmentHeader:
			name, _ := h.Filename()
			if name == "" {
				name = "attachment"
			}
			atts = append(atts, attachment{Name: name, Data: body})
		}
	}
	return text, html, atts, nil
}

// viewHeader is the bar above a mail's readable copy.
var viewHeader = template.Must(template.New("header").Parse(`<div style="font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;font-size:14px;background:#fff;color:#222;border-bottom:1px solid #ddd;padding:10px 20px;text-align:left">
<div style="font-size:13px;margin-bottom:6px"><a href="../index.html">← timeline</a> · <a href="{{.EML}}">{{.EML}}</a> (the mail as sent){{range .Attachments}} · attachment <a href="{{.File}}">{{.Name}}</a>{{end}}</div>
<table style="border-collapse:collapse;font-size:14px">
<tr><td style="color:#777;padding-right:10px">From</td><td>{{.From}}</td></tr>
<tr><td style="color:#777;padding-right:10px">To</td><td>{{.To}}</td></tr>
{{with .Cc}}<tr><td style="color:#777;padding-right:10px">Cc</td><td>{{.}}</td></tr>{{end}}
{{with .ReplyTo}}<tr><td style="color:#777;padding-right:10px">Reply-To</td><td>{{.}}</td></tr>{{end}}
<tr><td style="color:#777;padding-right:10px">Date</td><td>{{.Date}}</td></tr>
<tr><td style="color:#777;padding-right:10px">Subject</td><td><b>{{.Subject}}</b></td></tr>
<tr><td style="color:#777;padding-right:10px">Message-ID</td><td>{{.MessageID}}</td></tr>
{{with .InReplyTo}}<tr><td style="color:#777;padding-right:10px">In-Reply-To</td><td>{{.}}</td></tr>{{end}}
{{with .Charset}}<tr><td style="color:#777;padding-right:10px">Charset</td><td>{{.}}</td></tr>{{end}}
</table></div>
`))

// textPage is the readable copy of a mail without an HTML part.
var textPage = template.Must(template.New("text").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="margin:0;background:#f4f5f7">{{.Header}}
<pre style="margin:16px 20px;background:#fff;border:1px solid #ddd;padding:12px;white-space:pre-wrap;font-size:14px">{{.Text}}</pre>
</body></html>
`))

var bodyTag = regexp.MustCompile(`(?is)<body[^>]*>`)

// writeView renders the readable copy of m into w: fabu's HTML part with a
// header bar on top, or the text of a reply. Paths are relative to the
// view's folder.
func writeView(w io.Writer, m *Mail, emlName string, atts []attachment) error {
	text, htmlBody, _, err := parts(m.Raw)
	if err != nil && text == "" && htmlBody == "" {
		text = m.Msg.TextBody
	}
	addrs := func(list []reply.Address) string {
		s := make([]string, len(list))
		for i, a := range list {
			s[i] = a.String()
		}
		return strings.Join(s, ", ")
	}
	charset := ""
	if !strings.EqualFold(m.Msg.Charset, "utf-8") {
		charset = m.Msg.Charset
	}
	var hdr strings.Builder
	err = viewHeader.Execute(&hdr, map[string]any{
		"Subject": m.Msg.Subject, "From": m.Msg.From.String(), "To": addrs(m.Msg.To), "Cc": addrs(m.Msg.Cc),
		"ReplyTo": m.ReplyTo, "Date": m.At.Format("2006-01-02 15:04") + "（周" + weekdaysZh[m.At.Weekday()] + "）",
		"MessageID": m.Msg.MessageID, "InReplyTo": m.Msg.InReplyTo, "Charset": charset,
		"EML": emlName, "Attachments": atts,
	})
	if err != nil {
		return err
	}
	if htmlBody == "" {
		return textPage.Execute(w, map[string]any{"Subject": m.Msg.Subject, "Header": template.HTML(hdr.String()), "Text": text})
	}
	// fabu's own HTML (rendered from its templates, every value escaped)
	// with the bar after its <body> tag.
	page := htmlBody
	if loc := bodyTag.FindStringIndex(page); loc != nil {
		page = page[:loc[1]] + hdr.String() + page[loc[1]:]
	} else {
		page = hdr.String() + page
	}
	_, err = io.WriteString(w, page)
	return err
}
