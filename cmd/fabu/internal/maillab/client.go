package maillab

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message read back from a lab mailbox.
type Message struct {
	UID       uint32
	MessageID string // without the angle brackets
	Subject   string // decoded (RFC 2047, any charset go-message knows)
	Flags     []string
	Raw       []byte // the message as stored, including Received headers
}

// SMTPError is a failed SMTP dialogue step with its reply (or transport
// error). Temporary is true for 4xx replies and for connection failures:
// the kind a sender should retry.
type SMTPError struct {
	Step      string // "dial", "starttls", "auth", "mail", "rcpt", "data"
	Code      int    // SMTP reply code, 0 for transport errors
	Temporary bool
	Err       error
}

func (e *SMTPError) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	return fmt.Sprintf("smtp %s (%s): %v", e.Step, kind, e.Err)
}

func (e *SMTPError) Unwrap() error { return e.Err }

// IsTemporary reports whether err is a temporary SMTP failure.
func IsTemporary(err error) bool {
	var se *SMTPError
	return errors.As(err, &se) && se.Temporary
}

func smtpErr(step string, err error) error {
	se := &SMTPError{Step: step, Err: err}
	var reply *smtp.SMTPError
	var netErr net.Error
	switch {
	case errors.As(err, &reply):
		se.Code = reply.Code
		se.Temporary = reply.Code >= 400 && reply.Code < 500
	case errors.As(err, &netErr), errors.Is(err, net.ErrClosed):
		se.Temporary = true
	default:
		var opErr *net.OpError
		se.Temporary = errors.As(err, &opErr)
	}
	return se
}

// Submit sends raw as from to the recipients through the submission port
// the way a mail client does: STARTTLS (verified against the lab CA),
// AUTH PLAIN as from (a lab user), MAIL, RCPT, DATA. It returns once
// Postfix has queued the message; delivery into Dovecot is asynchronous
// (see WaitMessage). Errors are *SMTPError.
func (l *Lab) Submit(ctx context.Context, from string, to []string, raw []byte) error {
	pw, ok := l.Password(from)
	if !ok {
		return &SMTPError{Step: "auth", Err: fmt.Errorf("%q is not a lab user; use Deliver for mail from outside", from)}
	}
	return l.send(ctx, l.SubmissionAddr(), sasl.NewPlainClient("", from, pw), from, to, raw)
}

// Deliver sends raw through the MX-like port without AUTH, as mail from
// outside arrives (any sender; recipients must be lab users). STARTTLS is
// used, as real MTAs do.
func (l *Lab) Deliver(ctx context.Context, from string, to []string, raw []byte) error {
	return l.send(ctx, l.SMTPAddr(), nil, from, to, raw)
}

func (l *Lab) send(ctx context.Context, addr string, auth sasl.Client, from string, to []string, raw []byte) error {
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return smtpErr("dial", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(time.Minute))
	}
	c, err := smtp.NewClientStartTLS(conn, l.TLSConfig())
	if err != nil {
		conn.Close()
		return smtpErr("starttls", err)
	}
	defer c.Close()
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return smtpErr("auth", err)
		}
	}
	if err := c.Mail(from, nil); err != nil {
		return smtpErr("mail", err)
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return smtpErr("rcpt", fmt.Errorf("<%s>: %w", rcpt, err))
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr("data", err)
	}
	if _, err := w.Write(raw); err != nil {
		return smtpErr("data", err)
	}
	if err := w.Close(); err != nil {
		return smtpErr("data", err)
	}
	_ = c.Quit()
	return nil
}

// DialIMAP connects to the IMAPS port (implicit TLS, lab CA) and logs in
// as user. The caller closes the client. opts may be nil; its TLSConfig
// is replaced by the lab's.
func (l *Lab) DialIMAP(ctx context.Context, user string, opts *imapclient.Options) (*imapclient.Client, error) {
	pw, ok := l.Password(user)
	if !ok {
		return nil, fmt.Errorf("maillab: %q is not a lab user", user)
	}
	o := imapclient.Options{WordDecoder: wordDecoder()}
	if opts != nil {
		o = *opts
	}
	o.TLSConfig = l.TLSConfig()
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: o.TLSConfig}
	conn, err := d.DialContext(ctx, "tcp", l.IMAPSAddr())
	if err != nil {
		return nil, fmt.Errorf("maillab: dial imaps %s: %w", l.IMAPSAddr(), err)
	}
	c := imapclient.New(conn, &o)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(user, pw).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("maillab: imap login %s: %w", user, err)
	}
	return c, nil
}

// UIDValidity returns the mailbox's UIDVALIDITY as an IMAP client sees it.
func (l *Lab) UIDValidity(ctx context.Context, user, mailbox string) (uint32, error) {
	c, err := l.DialIMAP(ctx, user, nil)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return 0, fmt.Errorf("maillab: select %s of %s: %w", mailbox, user, err)
	}
	_ = c.Logout().Wait()
	return sel.UIDValidity, nil
}

// Messages reads every message of a user's mailbox over IMAPS, in UID
// order, without setting \Seen.
func (l *Lab) Messages(ctx context.Context, user, mailbox string) ([]Message, error) {
	c, err := l.DialIMAP(ctx, user, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("maillab: select %s of %s: %w", mailbox, user, err)
	}
	if sel.NumMessages == 0 {
		return nil, nil
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	msgs, err := fetch(c, all)
	if err != nil {
		return nil, fmt.Errorf("maillab: fetch %s of %s: %w", mailbox, user, err)
	}
	_ = c.Logout().Wait()
	return msgs, nil
}

var wholeBody = &imap.FetchItemBodySection{Peek: true}

func fetch(c *imapclient.Client, set imap.NumSet) ([]Message, error) {
	bufs, err := c.Fetch(set, &imap.FetchOptions{
		UID: true, Flags: true, Envelope: true,
		BodySection: []*imap.FetchItemBodySection{wholeBody},
	}).Collect()
	if err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(bufs))
	for _, b := range bufs {
		m := Message{UID: uint32(b.UID), Raw: b.FindBodySection(wholeBody)}
		if b.Envelope != nil {
			m.MessageID = b.Envelope.MessageID
			m.Subject = b.Envelope.Subject
		}
		if m.MessageID == "" || m.Subject == "" {
			// Fall back to the raw header (a missing envelope field).
			if hm, err := mail.ReadMessage(bytes.NewReader(m.Raw)); err == nil {
				if m.MessageID == "" {
					m.MessageID = strings.Trim(strings.TrimSpace(hm.Header.Get("Message-Id")), "<>")
				}
				if m.Subject == "" {
					if s, err := wordDecoder().DecodeHeader(hm.Header.Get("Subject")); err == nil {
						m.Subject = s
					}
				}
			}
		}
		for _, f := range b.Flags {
			m.Flags = append(m.Flags, string(f))
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out, nil
}

// wordDecoder decodes RFC 2047 words in any charset go-message knows
// (GBK, GB18030, Big5 and the like from Chinese mail clients included).
func wordDecoder() *mime.WordDecoder {
	return &mime.WordDecoder{CharsetReader: charset.Reader}
}

// WaitMessage waits until a message with the given Message-ID (with or
// without angle brackets) is in the user's mailbox and returns it. It
// logs in over IMAPS and IDLEs between checks, so it also exercises the
// path a push client uses; a check runs at least every second in case a
// notification is missed. Bound it with ctx.
func (l *Lab) WaitMessage(ctx context.Context, user, mailbox, messageID string) (Message, error) {
	want := strings.Trim(strings.TrimSpace(messageID), "<>")
	changed := make(chan struct{}, 1)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	c, err := l.DialIMAP(ctx, user, &imapclient.Options{
		WordDecoder: wordDecoder(),
		// Runs on the client's reader goroutine: only signal.
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(*imapclient.UnilateralDataMailbox) { notify() },
		},
	})
	if err != nil {
		return Message{}, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return Message{}, fmt.Errorf("maillab: select %s of %s: %w", mailbox, user, err)
	}
	recheck := time.NewTicker(time.Second)
	defer recheck.Stop()
	for {
		data, err := c.UIDSearch(&imap.SearchCriteria{
			Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: want}},
		}, nil).Wait()
		if err != nil {
			return Message{}, l.waitErr(ctx, user, mailbox, want, err)
		}
		if uids := data.AllUIDs(); len(uids) > 0 {
			msgs, err := fetch(c, imap.UIDSetNum(uids...))
			if err != nil {
				return Message{}, l.waitErr(ctx, user, mailbox, want, err)
			}
			for _, m := range msgs {
				if m.MessageID == want {
					return m, nil
				}
			}
		}
		idle, err := c.Idle()
		if err != nil {
			return Message{}, l.waitErr(ctx, user, mailbox, want, err)
		}
		select {
		case <-changed:
		case <-recheck.C:
		case <-ctx.Done():
		}
		_ = idle.Close()
		if err := idle.Wait(); err != nil {
			return Message{}, l.waitErr(ctx, user, mailbox, want, err)
		}
		if ctx.Err() != nil {
			return Message{}, l.waitErr(ctx, user, mailbox, want, ctx.Err())
		}
	}
}

func (l *Lab) waitErr(ctx context.Context, user, mailbox, id string, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("maillab: wait for <%s> in %s of %s: %w", id, mailbox, user, err)
}
