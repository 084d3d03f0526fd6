package reply

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func parseString(t *testing.T, s string) *Message {
	t.Helper()
	m, err := Parse(strings.NewReader(s), Options{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func TestParseEnvelope(t *testing.T) {
	m := parseString(t, "From: =?gb18030?B?1cW+rcDt?= <zhang@x.cn>\r\n"+
		"To: a@x.cn, \"B\" <b@x.cn>\r\nCc: c@x.cn\r\n"+
		"Subject: =?GB2312?B?u9i4tDog?= =?UTF-8?B?5a6h5om5?=\r\n"+
		"Message-ID: <m1@x.cn>\r\nIn-Reply-To: <r1@fabu>\r\nReferences: <a@fabu>\r\n\t<r1@fabu>\r\n"+
		"Date: Thu, 03 Dec 2026 19:00:00 +0800\r\n\r\n同意\r\n")
	if m.From != (Address{Name: "张经理", Addr: "zhang@x.cn"}) {
		t.Errorf("From = %+v", m.From)
	}
	if len(m.To) != 2 || m.To[1].Name != "B" || len(m.Cc) != 1 {
		t.Errorf("To/Cc = %+v %+v", m.To, m.Cc)
	}
	if m.Subject != "回复: 审批" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if m.MessageID != "m1@x.cn" || m.InReplyTo != "r1@fabu" || strings.Join(m.References, " ") != "a@fabu r1@fabu" {
		t.Errorf("ids = %q %q %q", m.MessageID, m.InReplyTo, m.References)
	}
	if !m.Date.Equal(time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("Date = %v", m.Date)
	}
	if m.TextBody != "同意\r\n" || m.Charset != "utf-8" || !m.HasHeaders {
		t.Errorf("body %q charset %q", m.TextBody, m.Charset)
	}
}

func TestParseBodies(t *testing.T) {
	cases := []struct {
		name, mail, body, charset string
		html                      bool
	}{
		{"headerless text", "同意\n\n在 2026/12/3 18:00, fabu 写道:\n> x\n", "同意\n\n在 2026/12/3 18:00, fabu 写道:\n> x\n", "utf-8", false},
		{"headerless gb18030", "\xcd\xac\xd2\xe2\n", "同意\n", "gb18030", false},
		{"qp gb2312", "Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=CD=AC=D2=E2=\r\n=B7=A2=B2=BC\r\n", "同意发布\r\n", "gb18030", false},
		{"base64 big5", "Content-Type: text/plain; charset=big5\r\nContent-Transfer-Encoding: base64\r\n\r\nsUil8w==\r\n", "寄件", "big5", false},
		{"flowed", "Content-Type: text/plain; charset=utf-8; format=flowed\r\n\r\n同意， \r\n发布\r\n> a \r\n> b\r\n", "同意， 发布\n> a b\n", "utf-8", false},
		{"flowed delsp", "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\r\n\r\nab \r\ncd\r\n", "abcd\n", "utf-8", false},
		{"html only", "Content-Type: text/html; charset=utf-8\r\n\r\n<div>OK</div><div id=divRplyFwdMsg>同意</div>", "OK\n", "utf-8", true},
		{"empty plain falls back to html", "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n \r\n--b\r\nContent-Type: text/html\r\n\r\n<p>OK</p>\r\n--b--\r\n", "OK\n", "utf-8", true},
		{"attachment skipped", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; name=a.txt\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\n同意\r\n--b\r\nContent-Type: text/plain\r\n\r\n驳回\r\n--b--\r\n", "驳回", "utf-8", false},
		{"rfc822 skipped", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\n同意\r\n--b--\r\n", "", "", false},
		{"unknown charset", "Content-Type: text/plain; charset=x-unknown\r\n\r\nOK", "OK", "utf-8", false},
		{"broken multipart", "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n同意", "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := parseString(t, c.mail)
			if m.TextBody != c.body || m.Charset != c.charset || m.FromHTML != c.html {
				t.Errorf("body %q charset %q html %v; want %q %q %v", m.TextBody, m.Charset, m.FromHTML, c.body, c.charset, c.html)
			}
		})
	}
}

// endless yields a mail header and then an endless body, counting what is
// read: a parser that buffers the whole mail would never stop.
type endless struct {
	head []byte
	read int64
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	if len(e.head) > 0 {
		n = copy(p, e.head)
		e.head = e.head[n:]
	}
	for ; n < len(p); n++ {
		p[n] = 'A'
	}
	e.read += int64(n)
	return n, nil
}

func TestParseTooLarge(t *testing.T) {
	src := &endless{head: []byte("Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n")}
	_, err := Parse(src, Options{MaxBytes: 11 << 20})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if src.read > 11<<20+256<<10 {
		t.Errorf("read %d bytes before failing; the limit is %d", src.read, 11<<20)
	}
}

func TestParseLimitExact(t *testing.T) {
	mail := "Subject: x\r\n\r\n" + strings.Repeat("a", 100)
	if _, err := Parse(strings.NewReader(mail), Options{MaxBytes: int64(len(mail))}); err != nil {
		t.Errorf("a mail of exactly MaxBytes: %v", err)
	}
	if _, err := Parse(strings.NewReader(mail), Options{MaxBytes: int64(len(mail) - 1)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("one byte over: %v", err)
	}
}

// TestElevenMBDefault: an 11 MB mail fails under the default 10 MB limit.
func TestElevenMBDefault(t *testing.T) {
	head := "Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n同意\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=x.bin\r\n\r\n"
	r := io.MultiReader(strings.NewReader(head), io.LimitReader(&endless{}, 11<<20), strings.NewReader("\r\n--b--\r\n"))
	if _, err := Parse(r, Options{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestParseTextTruncated(t *testing.T) {
	m, err := Parse(bytes.NewReader([]byte("Subject: x\r\n\r\n同意\r\n"+strings.Repeat("x", 2000))), Options{MaxTextBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Truncated || len(m.TextBody) != 100 || !strings.HasPrefix(m.TextBody, "同意") {
		t.Errorf("truncated %v len %d", m.Truncated, len(m.TextBody))
	}
}
