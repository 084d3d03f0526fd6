package main

// Mail for the end-to-end tests: reading fabu's mail back from the lab's
// mailboxes, and answering it the way the clients these teams use do
// (templates in testdata/e2e, filled with the Message-ID, Reply-To and
// subject of the mail answered).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset"
	gomail "github.com/emersion/go-message/mail"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/fabu-team/fabu/cmd/fabu/internal/maillab"
)

// e2eMail is one message read back from a lab mailbox.
type e2eMail struct {
	UID         uint32
	MessageID   string // without angle brackets
	Subject     string // decoded
	Train       string // X-Fabu-Train ("" for mail fabu did not send)
	Release     string
	Step        string
	PossibleDup bool   // X-Fabu-Possible-Duplicate: yes
	ReplyTo     string // address only
	From        string
	FromName    string
	To, Cc      []*gomail.Address
	References  []string
	Date        time.Time
	Text        string // the text/plain body, decoded
}

func parseE2EMail(m maillab.Message) (*e2eMail, error) {
	mr, err := gomail.CreateReader(bytes.NewReader(m.Raw))
	if err != nil && !message.IsUnknownCharset(err) {
		return nil, fmt.Errorf("parse mail uid %d: %w", m.UID, err)
	}
	defer mr.Close()
	h := mr.Header
	out := &e2eMail{UID: m.UID, MessageID: m.MessageID, Subject: m.Subject,
		Train: h.Get("X-Fabu-Train"), Release: h.Get("X-Fabu-Release"), Step: h.Get("X-Fabu-Step"),
		PossibleDup: strings.EqualFold(strings.TrimSpace(h.Get("X-Fabu-Possible-Duplicate")), "yes")}
	if s, err := h.Subject(); err == nil {
		out.Subject = s
	}
	if rt, err := h.AddressList("Reply-To"); err == nil && len(rt) > 0 {
		out.ReplyTo = rt[0].Address
	}
	if f, err := h.AddressList("From"); err == nil && len(f) > 0 {
		out.From, out.FromName = f[0].Address, f[0].Name
	}
	out.To, _ = h.AddressList("To")
	out.Cc, _ = h.AddressList("Cc")
	out.References, _ = h.MsgIDList("References")
	out.Date, _ = h.Date()
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return out, nil // a body we cannot walk: headers are enough
		}
		if ih, ok := p.Header.(*gomail.InlineHeader); ok {
			if ct, _, _ := ih.ContentType(); ct == "text/plain" && out.Text == "" {
				b, _ := io.ReadAll(p.Body)
				out.Text = strings.ReplaceAll(string(b), "\r\n", "\n")
			}
		}
	}
	return out, nil
}

// inbox reads and parses every message of user's INBOX.
func (e *e2eEnv) inbox(ctx context.Context, user string) ([]*e2eMail, error) {
	msgs, err := e.lab.Messages(ctx, user, "INBOX")
	if err != nil {
		return nil, err
	}
	out := make([]*e2eMail, 0, len(msgs))
	for _, m := range msgs {
		pm, err := parseE2EMail(m)
		if err != nil {
			return nil, err
		}
		out = append(out, pm)
	}
	return out, nil
}

// errSkipped: fabu logged that it skipped the step (a reminder whose day
// had passed when it could run it) and sent no mail for it.
var errSkipped = errors.New("step skipped")

// waitStep waits (up to 90 s) until user's INBOX holds fabu's mail of step
// for the week's release and returns the first such mail. It returns an
// error wrapping errSkipped when the daemon logged the step as skipped.
func (e *e2eEnv) waitStep(ctx context.Context, user e2ePerson, step string) (*e2eMail, error) {
	var found *e2eMail
	var lastErr error
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	p := e.poller(user.Email())
	err := e2ePoll(ctx, 100*time.Millisecond, func() (bool, error) {
		ms, err := p.find(ctx, step)
		if err != nil {
			lastErr = err
			return false, nil
		}
		if len(ms) > 0 {
			found = ms[0]
			return true, nil
		}
		if skipped, line := e.stepSkipped(step); skipped {
			return false, fmt.Errorf("%s: %w: %s", step, errSkipped, line)
		}
		return false, nil
	})
	if errors.Is(err, errSkipped) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("wait for the %s mail in %s's INBOX (simulated time %s): %w (last IMAP error: %v)",
			step, user.Name, e.simNow().Format("Mon 01-02 15:04"), err, lastErr)
	}
	return found, nil
}

// Reply clients: the templates in testdata/e2e.
const (
	clientOutlook  = "outlook-zh"  // Outlook 2016 zh-CN desktop: GB2312 text + HTML, -----邮件原件----- block
	clientQQ       = "qq-zh"       // QQ Mail web: GB18030 base64, ------------------ 原始邮件 ------------------
	clientIPhone   = "iphone-zh"   // iOS Mail: UTF-8 QP, 发自我的iPhone above "> 在 …写道："
	clientCoremail = "coremail-zh" // Coremail webmail: UTF-8, -----原始邮件----- block, 发送时间:YYYY-MM-DD
)

// replyData fills a reply template.
type replyData struct {
	From, FromName string // the person replying
	To, ToName     string // where the reply goes: the Reply-To of the mail answered
	Subject        string // the subject answered (the template adds its client's prefix)
	MessageID      string // the reply's own Message-ID, without brackets
	InReplyTo      string // the Message-ID answered, without brackets
	References     string // header value: the answered mail's References and Message-ID
	Date           time.Time
	Boundary       string
	Body           string // the new text
	OrigFrom       string
	OrigFromName   string
	OrigTo         string // the answered mail's To, formatted like the client shows it
	OrigCc         string
	OrigDate       time.Time
	Quote          string // the answered mail's text
}

var replyTemplates = struct {
	once sync.Once
	set  map[string]*template.Template
	err  error
}{}

// loadReplyTemplates parses testdata/e2e/*.eml.tmpl once.
func loadReplyTemplates() (map[string]*template.Template, error) {
	replyTemplates.once.Do(func() {
		files, err := filepath.Glob(filepath.Join("testdata", "e2e", "*.eml.tmpl"))
		if err != nil || len(files) == 0 {
			replyTemplates.err = fmt.Errorf("no reply templates in testdata/e2e (%v)", err)
			return
		}
		replyTemplates.set = map[string]*template.Template{}
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".eml.tmpl")
			src, err := os.ReadFile(f)
			if err != nil {
				replyTemplates.err = err
				return
			}
			t := template.New(name)
			t.Funcs(replyFuncs(t))
			if _, err := t.Parse(string(src)); err != nil {
				replyTemplates.err = fmt.Errorf("%s: %w", f, err)
				return
			}
			replyTemplates.set[name] = t
		}
	})
	return replyTemplates.set, replyTemplates.err
}

var weekdaysZH = []string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}

func replyFuncs(t *template.Template) template.FuncMap {
	return template.FuncMap{
		// include renders a named template to a string (to encode it).
		"include": func(name string, data any) (string, error) {
			var b strings.Builder
			err := t.ExecuteTemplate(&b, name, data)
			return b.String(), err
		},
		"b64gb":   func(s string) (string, error) { return e2eB64GB(s) },
		"b64utf8": func(s string) string { return e2eWrap76(base64.StdEncoding.EncodeToString([]byte(e2eCRLF(s)))) },
		"qp":      e2eQPUTF8,
		"qpgb":    e2eQPGB,
		"wordUTF8": func(s string) string {
			// One encoded word per folded line, as mail clients write them.
			return strings.ReplaceAll(mime.BEncoding.Encode("UTF-8", s), "?= =?", "?=\n =?")
		},
		"wordGB": e2eWordGB,
		"quote": func(s string) string {
			lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
			for i, l := range lines {
				if l == "" {
					lines[i] = ">"
				} else {
					lines[i] = "> " + l
				}
			}
			return strings.Join(lines, "\n")
		},
		"lines": func(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") },
		"html":  html.EscapeString,
		"rfc2822": func(t time.Time) string {
			return t.In(e2eZone).Format("Mon, 2 Jan 2006 15:04:05 -0700")
		},
		// Outlook zh-CN: 2026年12月3日 14:50
		"outlookTime": func(t time.Time) string {
			t = t.In(e2eZone)
			return fmt.Sprintf("%d年%d月%d日 %02d:%02d", t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute())
		},
		// QQ Mail: 2026年12月3日(星期四) 下午2:50
		"qqTime": func(t time.Time) string {
			t = t.In(e2eZone)
			h, word := t.Hour(), "上午"
			switch {
			case h < 6:
				word = "凌晨"
			case h < 12:
			case h < 13:
				word = "中午"
			case h < 18:
				word, h = "下午", h-12
			default:
				word, h = "晚上", h-12
			}
			return fmt.Sprintf("%d年%d月%d日(%s) %s%d:%02d", t.Year(), t.Month(), t.Day(), weekdaysZH[t.Weekday()], word, h, t.Minute())
		},
		// iOS Mail, 24-hour clock: 2026年12月3日，14:50
		"iphoneTime": func(t time.Time) string {
			t = t.In(e2eZone)
			return fmt.Sprintf("%d年%d月%d日，%02d:%02d", t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute())
		},
		// Coremail: 2026-12-03 14:50:03 (星期四)
		"coremailTime": func(t time.Time) string {
			t = t.In(e2eZone)
			return t.Format("2006-01-02 15:04:05") + " (" + weekdaysZH[t.Weekday()] + ")"
		},
	}
}

func e2eCRLF(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

func e2eWrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76])
		b.WriteString("\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

func e2eGB18030(s string) ([]byte, error) {
	return simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
}

func e2eB64GB(s string) (string, error) {
	b, err := e2eGB18030(e2eCRLF(s))
	if err != nil {
		return "", err
	}
	return e2eWrap76(base64.StdEncoding.EncodeToString(b)), nil
}

func e2eQPUTF8(s string) (string, error) { return e2eQP([]byte(e2eCRLF(s))) }

// e2eQPGB is quoted-printable GB18030, what Outlook on Chinese Windows sends.
func e2eQPGB(s string) (string, error) {
	b, err := e2eGB18030(e2eCRLF(s))
	if err != nil {
		return "", err
	}
	return e2eQP(b)
}

func e2eQP(data []byte) (string, error) {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return strings.ReplaceAll(b.String(), "\r\n", "\n"), nil
}

// e2eWordGB encodes s as RFC 2047 words in GB18030, the way QQ Mail and
// Chinese Outlook write subjects and names: at most 45 bytes per word.
func e2eWordGB(s string) (string, error) {
	var words []string
	for s != "" {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > 30 { // 30 UTF-8 bytes are ≤ 45 base64 chars of GB18030
				break
			}
			n += size
		}
		b, err := e2eGB18030(s[:n])
		if err != nil {
			return "", err
		}
		words = append(words, "=?gb18030?B?"+base64.StdEncoding.EncodeToString(b)+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\n "), nil
}

func e2eRandHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// replyRecord is a reply the test submitted, for the decision checks.
type replyRecord struct {
	MessageID string // with angle brackets, as the inbox keys it
	From      e2ePerson
	Client    string
	Answers   string // the step answered
	Kind      string // results | approve | done
	Entries   []string
	Env       string
}

// replyBook records the replies a scenario submitted.
type replyBook struct {
	mu   sync.Mutex
	list []replyRecord
}

func newReplyBook() *replyBook { return &replyBook{} }

func (b *replyBook) add(r replyRecord) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.list = append(b.list, r)
}

func (b *replyBook) all() []replyRecord {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.list)
}

// e2eFormatAddrs writes addresses the way a client shows them in a quote.
func e2eFormatAddrs(list []*gomail.Address, qq bool) string {
	parts := make([]string, 0, len(list))
	for _, a := range list {
		switch {
		case qq:
			parts = append(parts, fmt.Sprintf("\"%s\"<%s>;", a.Name, a.Address))
		case a.Name != "":
			parts = append(parts, fmt.Sprintf("%s <%s>", a.Name, a.Address))
		default:
			parts = append(parts, a.Address)
		}
	}
	if qq {
		return strings.Join(parts, " ")
	}
	return strings.Join(parts, "; ")
}

// renderReply fills client's template to answer orig as from with body.
func (e *e2eEnv) renderReply(from e2ePerson, orig *e2eMail, client, body string) (raw []byte, messageID string, err error) {
	if orig.ReplyTo == "" {
		return nil, "", fmt.Errorf("the %s mail %s has no Reply-To", orig.Step, orig.MessageID)
	}
	id := e2eRandHex(8)
	switch client {
	case clientOutlook:
		messageID = fmt.Sprintf("HK0PR01MB%s@HK0PR01MB2721.apcprd01.prod.exchangelabs.com", strings.ToUpper(id))
	case clientQQ:
		messageID = fmt.Sprintf("tencent_%s@qq.com", strings.ToUpper(id))
	case clientIPhone:
		messageID = fmt.Sprintf("%s-%s@%s", strings.ToUpper(id[:8]), strings.ToUpper(id[8:]), e2eDomain)
	default:
		messageID = fmt.Sprintf("%s.%s.Coremail.%s", id[:8], id[8:], from.Email())
	}
	d := replyFor(from, orig, client, body, messageID, e.simNow(), e2eRandHex(12))
	raw, err = renderReplyTemplate(client, d)
	return raw, messageID, err
}

// replyFor is the data of a reply to orig.
func replyFor(from e2ePerson, orig *e2eMail, client, body, messageID string, date time.Time, boundary string) replyData {
	refs := append(slices.Clone(orig.References), orig.MessageID)
	for i, r := range refs {
		refs[i] = "<" + r + ">"
	}
	return replyData{
		From: from.Email(), FromName: from.Name,
		To: orig.ReplyTo, ToName: orig.FromName,
		Subject:   orig.Subject,
		MessageID: messageID, InReplyTo: orig.MessageID,
		References: strings.Join(refs, "\n "),
		Date:       date, Boundary: boundary,
		Body:     body,
		OrigFrom: orig.From, OrigFromName: orig.FromName,
		OrigTo: e2eFormatAddrs(orig.To, client == clientQQ), OrigCc: e2eFormatAddrs(orig.Cc, client == clientQQ),
		OrigDate: orig.Date, Quote: strings.TrimRight(orig.Text, "\n"),
	}
}

// renderReplyTemplate renders testdata/e2e/<client>.eml.tmpl with d.
func renderReplyTemplate(client string, d replyData) ([]byte, error) {
	set, err := loadReplyTemplates()
	if err != nil {
		return nil, err
	}
	t, ok := set[client]
	if !ok {
		return nil, fmt.Errorf("no reply template %q in testdata/e2e", client)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("render %s reply: %w", client, err)
	}
	return b.Bytes(), nil
}

// reply answers orig as from through the lab's submission port (STARTTLS,
// AUTH PLAIN as the person, to the Reply-To address), the way the person's
// mail client would, and records it. Temporary SMTP failures are retried
// until ctx ends.
func (e *e2eEnv) reply(ctx context.Context, from e2ePerson, orig *e2eMail, client, body string, rec replyRecord) (string, error) {
	raw, mid, err := e.renderReply(from, orig, client, body)
	if err != nil {
		return "", err
	}
	err = e2ePoll(ctx, 200*time.Millisecond, func() (bool, error) {
		err := e.lab.Submit(ctx, from.Email(), []string{orig.ReplyTo}, raw)
		if err == nil {
			return true, nil
		}
		if maillab.IsTemporary(err) {
			return false, nil
		}
		return false, err
	})
	if err != nil {
		return "", fmt.Errorf("submit %s's %s reply to the %s mail: %w", from.Name, client, orig.Step, err)
	}
	rec.MessageID, rec.From, rec.Client, rec.Answers = "<"+mid+">", from, client, orig.Step
	e.replies.add(rec)
	e.t.Logf("sim %s: %s replied (%s) to the %s mail: %s", e.simNow().Format("Mon 15:04"), from.Name, client, orig.Step, strings.ReplaceAll(body, "\n", " / "))
	return mid, nil
}
