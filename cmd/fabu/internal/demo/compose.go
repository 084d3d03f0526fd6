package demo

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"

	"github.com/fabu-team/fabu/mailflow/reply"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// style is how a person's mail client writes a reply: the quote header
// above the original, how the original is quoted, the charset.
type style string

// The clients the scripted people use (see the shared reply-patterns notes).
const (
	styleQQ      style = "qq"      // QQ Mail: ------------------ 原始邮件 ------------------ block
	styleGmail   style = "gmail"   // Gmail zh-CN: "… 于2026年11月30日周一 09:00写道：" and "> " lines
	styleIPhone  style = "iphone"  // iOS Mail: 发自我的iPhone, "在 …，… 写道：", "> " lines
	styleOutlook style = "outlook" // Outlook zh-CN desktop: -----邮件原件----- block, GB18030
	styleNetEase style = "netease" // 163 web: 在 2026-12-03 11:40:00，"…" <…> 写道： and "> " lines
)

var mailers = map[style]string{
	styleQQ:      "QQMail 2.x",
	styleGmail:   "",
	styleIPhone:  "iPhone Mail (22B91)",
	styleOutlook: "Microsoft Outlook 16.0",
	styleNetEase: "Coremail Webmail Server Version 2023.2",
}

var weekdaysZh = [...]string{"日", "一", "二", "三", "四", "五", "六"}

// original is the mail a person answers, as their client shows it.
type original struct {
	From      reply.Address
	To        []reply.Address
	Subject   string
	Date      time.Time
	MessageID string
	Refs      []string
	Text      string // decoded text body
}

// composeReply writes the reply of from (a demo person) with body to to,
// answering orig, as the client of st would, at date. It returns the raw
// mail and its Message-ID (without angle brackets).
func composeReply(st style, from Person, to string, orig original, body string, date time.Time, id string) ([]byte, error) {
	subject := "回复: " + orig.Subject
	if st == styleGmail || st == styleIPhone || st == styleNetEase {
		subject = "Re: " + orig.Subject
	}
	text := body + "\n\n" + quoteBlock(st, orig)
	charset := "UTF-8"
	enc := func(s string) string { return mime.BEncoding.Encode("UTF-8", s) }
	bodyBytes := []byte(text)
	if st == styleOutlook {
		charset = "gb18030"
		gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
		if err != nil {
			return nil, fmt.Errorf("encode the reply in GB18030: %w", err)
		}
		bodyBytes = []byte(gb)
		enc = encodeGB18030Word
	}
	var b bytes.Buffer
	h := func(name, value string) { fmt.Fprintf(&b, "%s: %s\r\n", name, value) }
	h("From", enc(from.Name)+" <"+from.Email()+">")
	h("To", to)
	h("Subject", enc(subject))
	h("Date", date.Format(time.RFC1123Z))
	h("Message-ID", "<"+id+">")
	h("In-Reply-To", "<"+orig.MessageID+">")
	refs := make([]string, 0, len(orig.Refs)+1)
	for _, r := range append(append([]string(nil), orig.Refs...), orig.MessageID) {
		refs = append(refs, "<"+r+">")
	}
	h("References", strings.Join(refs, "\r\n "))
	if m := mailers[st]; m != "" {
		h("X-Mailer", m)
	}
	h("MIME-Version", "1.0")
	h("Content-Type", fmt.Sprintf("text/plain; charset=%q", charset))
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write(crlf(bodyBytes)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

// quoteBlock is the quoted original under the reply, in the client's way.
func quoteBlock(st style, o original) string {
	var b strings.Builder
	from := o.From.Name + " <" + o.From.Addr + ">"
	d := o.Date
	switch st {
	case styleQQ:
		b.WriteString("------------------ 原始邮件 ------------------\n")
		fmt.Fprintf(&b, "发件人: \"%s\"<%s>;\n", o.From.Name, o.From.Addr)
		fmt.Fprintf(&b, "发送时间: %d年%d月%d日(星期%s) %s\n", d.Year(), int(d.Month()), d.Day(), weekdaysZh[d.Weekday()], clock12(d))
		var to []string
		for _, a := range o.To {
			to = append(to, fmt.Sprintf("\"%s\"<%s>;", a.Name, a.Addr))
		}
		fmt.Fprintf(&b, "收件人: %s\n", strings.Join(to, ""))
		fmt.Fprintf(&b, "主题: %s\n\n", o.Subject)
		b.WriteString(o.Text)
	case styleOutlook:
		b.WriteString("-----邮件原件-----\n")
		fmt.Fprintf(&b, "发件人: %s\n", from)
		fmt.Fprintf(&b, "发送时间: %d年%d月%d日 %s\n", d.Year(), int(d.Month()), d.Day(), d.Format("15:04"))
		var to []string
		for _, a := range o.To {
			to = append(to, a.Name+" <"+a.Addr+">")
		}
		fmt.Fprintf(&b, "收件人: %s\n", strings.Join(to, "; "))
		fmt.Fprintf(&b, "主题: %s\n\n", o.Subject)
		b.WriteString(o.Text)
	case styleGmail:
		fmt.Fprintf(&b, "%s 于%d年%d月%d日周%s %s写道：\n\n", from, d.Year(), int(d.Month()), d.Day(), weekdaysZh[d.Weekday()], d.Format("15:04"))
		b.WriteString(quoteLines(o.Text))
	case styleIPhone:
		b.WriteString("发自我的iPhone\n\n")
		fmt.Fprintf(&b, "> 在 %d年%d月%d日，%s，%s 写道：\n>\n", d.Year(), int(d.Month()), d.Day(), d.Format("15:04"), from)
		b.WriteString(quoteLines(o.Text))
	case styleNetEase:
		fmt.Fprintf(&b, "在 %s，\"%s\" <%s> 写道：\n", d.Format("2006-01-02 15:04:05"), o.From.Name, o.From.Addr)
		b.WriteString(quoteLines(o.Text))
	}
	return b.String()
}

// clock12 is QQ Mail's time of day: 上午9:00, 下午2:30, 晚上10:40.
func clock12(t time.Time) string {
	h := t.Hour()
	word := "上午"
	switch {
	case h < 6:
		word = "凌晨"
	case h >= 12 && h < 18:
		word = "下午"
	case h >= 18:
		word = "晚上"
	}
	if h > 12 {
		h -= 12
	}
	return fmt.Sprintf("%s%d:%02d", word, h, t.Minute())
}

func quoteLines(text string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if l == "" {
			b.WriteString(">\n")
			continue
		}
		b.WriteString("> " + l + "\n")
	}
	return b.String()
}

// crlf turns LF line ends into CRLF.
func crlf(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// encodeGB18030Word encodes s as RFC 2047 words in GB18030, never
// splitting a character between two words (as Outlook does).
func encodeGB18030Word(s string) string {
	if isASCII(s) {
		return s
	}
	enc := simplifiedchinese.GB18030.NewEncoder()
	var words []string
	var chunk []byte
	flush := func() {
		if len(chunk) > 0 {
			words = append(words, "=?gb18030?B?"+base64.StdEncoding.EncodeToString(chunk)+"?=")
			chunk = nil
		}
	}
	for _, r := range s {
		gb, err := enc.String(string(r))
		if err != nil {
			gb = "?"
		}
		if len(chunk)+len(gb) > 42 {
			flush()
		}
		chunk = append(chunk, gb...)
	}
	flush()
	return strings.Join(words, "\r\n ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
