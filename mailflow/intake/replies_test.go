package intake

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"mime"
	"mime/quotedprintable"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Replies are written from client templates in testdata/replies (Outlook
// in Chinese with GB2312 quoted-printable, Gmail in English, Thunderbird
// in Chinese, an Exchange out-of-office), filled at run time with the
// Message-IDs, tokens and subjects of the mails fabu actually sent.

// replySpec is a reply to write from a client template.
type replySpec struct {
	Template string // file in testdata/replies
	FromName string
	From     string
	Body     string

	To, Cc              string
	Subject             string
	MessageID           string
	InReplyTo           string
	References          string
	Extra               []string
	Date                time.Time
	OrigDate, OrigDateE string
	Quote               string
	Topic               string
}

// How a reply refers to the mail it answers.
type threading int

const (
	threadAll      threading = iota // In-Reply-To, References, plus-address, subject tag
	threadRefsOnly                  // only References (plain To, subject without tag)
	threadPlusOnly                  // only the plus-address in To
	threadTagOnly                   // only the subject tag
	threadNone                      // nothing: a new mail
	threadInReplyToOnly
)

// replyTo builds a reply to orig in the way of a real client.
func (f *fixture) replyTo(orig sentMail, tmpl, fromName, from, body string, th threading) *replySpec {
	n := f.seq.Add(1)
	subject := "回复: " + strings.TrimSpace(orig.Subject)
	if tmpl == "gmail-en.eml.tmpl" {
		subject = "Re: " + strings.TrimSpace(orig.Subject)
	}
	topic := subjectTag.ReplaceAllString(orig.Subject, "")
	topic = strings.TrimSpace(topic)
	s := &replySpec{Template: tmpl, FromName: fromName, From: from, Body: body,
		To: "fabu 发布 <" + orig.ReplyTo + ">", Subject: subject,
		MessageID: fmt.Sprintf("%s.%d.%d@mail.example.com", strings.ReplaceAll(strings.Split(from, "@")[0], ".", "-"), n, time.Now().UnixNano()),
		InReplyTo: orig.MessageID, References: orig.Refs + " <" + orig.MessageID + ">",
		Date: f.clock.Now().Add(time.Duration(n) * time.Minute), Quote: orig.Text, Topic: topic}
	if s.References == " <"+orig.MessageID+">" {
		s.References = "<" + orig.MessageID + ">"
	}
	switch th {
	case threadRefsOnly:
		s.InReplyTo, s.To, s.Subject = "", "fabu 发布 <"+mailUser+">", "回复: "+topic
	case threadPlusOnly:
		s.InReplyTo, s.References, s.Subject = "", "", "回复: "+topic
	case threadTagOnly:
		s.InReplyTo, s.References, s.To = "", "", "fabu 发布 <"+mailUser+">"
	case threadNone:
		s.InReplyTo, s.References, s.To, s.Subject = "", "", "fabu 发布 <"+mailUser+">", "回复: "+topic
	case threadInReplyToOnly:
		s.References, s.To, s.Subject = "", "fabu 发布 <"+mailUser+">", "回复: "+topic
	}
	return s
}

var replyFuncs = template.FuncMap{
	"encword": func(s string) string { return mime.BEncoding.Encode("UTF-8", s) },
	"html":    html.EscapeString,
	"quote": func(s string) string {
		lines := strings.Split(strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n"), "\n")
		for i, l := range lines {
			lines[i] = "> " + l
		}
		return strings.Join(lines, "\n")
	},
	"qp": func(s string) (string, error) { return qpEncode([]byte(s)) },
	"gbqp": func(s string) (string, error) {
		b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
		if err != nil {
			return "", err
		}
		return qpEncode(b)
	},
	"b64": func(s string) string {
		enc := base64.StdEncoding.EncodeToString([]byte(s))
		var b strings.Builder
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\n")
			enc = enc[76:]
		}
		b.WriteString(enc)
		return b.String()
	},
}

func qpEncode(b []byte) (string, error) {
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	if _, err := w.Write(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// bytes renders the reply with CRLF line ends.
func (s *replySpec) bytes(t testing.TB) []byte {
	t.Helper()
	tm, err := template.New(s.Template).Funcs(replyFuncs).ParseFiles(filepath.Join("testdata", "replies", s.Template))
	if err != nil {
		t.Fatal(err)
	}
	d := struct {
		*replySpec
		DateRFC, OrigDate, OrigDateEN string
	}{replySpec: s, DateRFC: s.Date.Format(time.RFC1123Z),
		OrigDate: s.Date.Add(-time.Hour).Format("2006年1月2日 15:04"), OrigDateEN: s.Date.Add(-time.Hour).Format("Mon, Jan 2, 2006 at 3:04 PM")}
	var b bytes.Buffer
	if err := tm.Execute(&b, d); err != nil {
		t.Fatal(err)
	}
	out := strings.ReplaceAll(b.String(), "\r\n", "\n")
	return []byte(strings.ReplaceAll(out, "\n", "\r\n"))
}
