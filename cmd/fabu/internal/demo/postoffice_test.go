package demo

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

func newTestPostOffice(t *testing.T) *PostOffice {
	t.Helper()
	p, err := NewPostOffice(func() time.Time { return DemoStart() }, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	for _, a := range []struct{ name, email, pw string }{
		{"fabu", fabuAddress, "fabu-pw"}, {"李经理", "limanager@example.com", "li-pw"}, {"琳琳", "linlin@example.com", "lin-pw"},
	} {
		if _, err := p.AddAccount(a.name, a.email, a.pw); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// fetchInbox logs in over IMAP and returns the bodies in INBOX.
func fetchInbox(t *testing.T, p *PostOffice, user, pw string) [][]byte {
	t.Helper()
	c, err := imapclient.DialInsecure(p.IMAPAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, pw).Wait(); err != nil {
		t.Fatalf("IMAP login %s: %v", user, err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, sel.NumMessages), &imap.FetchOptions{
		BodySection:  []*imap.FetchItemBodySection{{Peek: true}},
		InternalDate: true,
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range msgs {
		if !m.InternalDate.Equal(DemoStart()) {
			t.Errorf("INTERNALDATE %s, want the simulated delivery time %s", m.InternalDate, DemoStart())
		}
		for _, b := range m.BodySection {
			out = append(out, b.Bytes)
		}
	}
	return out
}

func TestPostOfficeDeliversToEveryMailboxOverIMAP(t *testing.T) {
	p := newTestPostOffice(t)
	var mu sync.Mutex
	var got []Delivery
	p.OnDeliver(func(d Delivery) {
		mu.Lock()
		got = append(got, d)
		mu.Unlock()
	})
	raw := []byte("From: 琳琳 <linlin@example.com>\r\nTo: fabu+tok123@example.com\r\nCc: limanager@example.com\r\nSubject: hi\r\nMessage-ID: <a@example.com>\r\n\r\n20 通过\r\n")
	if err := p.Send("linlin@example.com", []string{"fabu+tok123@example.com", "LiManager@Example.com"}, raw); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1", len(got))
	}
	d := got[0]
	mu.Unlock()
	if d.Seq != 1 || !bytes.Equal(d.Raw, raw) {
		t.Errorf("delivery %d, raw %q", d.Seq, d.Raw)
	}
	if strings.Join(d.Mailboxes, ",") != "fabu@example.com,limanager@example.com" {
		t.Errorf("delivered to %v", d.Mailboxes)
	}
	for _, box := range []struct{ user, pw string }{{"fabu@example.com", "fabu-pw"}, {"limanager@example.com", "li-pw"}} {
		msgs := fetchInbox(t, p, box.user, box.pw)
		if len(msgs) != 1 || !bytes.Equal(msgs[0], raw) {
			t.Errorf("%s's INBOX holds %d messages, want the one sent", box.user, len(msgs))
		}
	}
	if msgs := fetchInbox(t, p, "linlin@example.com", "lin-pw"); len(msgs) != 0 {
		t.Errorf("the sender's own INBOX got %d messages", len(msgs))
	}
}

func TestPostOfficeRefusesUnknownRecipients(t *testing.T) {
	p := newTestPostOffice(t)
	err := p.Send("linlin@example.com", []string{"stranger@example.org"}, []byte("Subject: x\r\n\r\nx\r\n"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("sending to a stranger: %v, want a 550", err)
	}
}

func TestPostOfficeSMTPAuth(t *testing.T) {
	p := newTestPostOffice(t)
	tests := []struct {
		name   string
		client sasl.Client
		ok     bool
	}{
		{"plain right password", sasl.NewPlainClient("", "limanager@example.com", "li-pw"), true},
		{"plain wrong password", sasl.NewPlainClient("", "limanager@example.com", "nope"), false},
		{"plain unknown user", sasl.NewPlainClient("", "who@example.com", "li-pw"), false},
		{"login right password", sasl.NewLoginClient("fabu@example.com", "fabu-pw"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := smtp.Dial(p.SMTPAddr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.Auth(tc.client)
			if (err == nil) != tc.ok {
				t.Fatalf("AUTH: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestPostOfficeIMAPLoginChecksPassword(t *testing.T) {
	p := newTestPostOffice(t)
	c, err := imapclient.DialInsecure(p.IMAPAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("limanager@example.com", "wrong").Wait(); err == nil {
		t.Fatal("IMAP login with a wrong password succeeded")
	}
}

func TestPostOfficeAccountErrors(t *testing.T) {
	p := newTestPostOffice(t)
	if _, err := p.AddAccount("x", "limanager@example.com", "x"); err == nil {
		t.Error("a second mailbox for the same address was created")
	}
	if _, err := p.AddAccount("x", "not-an-address", "x"); err == nil {
		t.Error("a mailbox without an @ was created")
	}
}

func TestMailboxOf(t *testing.T) {
	for in, want := range map[string]string{
		"fabu+v1.abc@example.com": "fabu@example.com",
		"<LiManager@Example.COM>": "limanager@example.com",
		" linlin@example.com ":    "linlin@example.com",
		"no-at-sign":              "no-at-sign",
		"a+b+c@example.com":       "a@example.com",
	} {
		if got := mailboxOf(in); got != want {
			t.Errorf("mailboxOf(%q) = %q, want %q", in, got, want)
		}
	}
}
