package imaptest

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func TestServerCapabilities(t *testing.T) {
	tests := []struct {
		name           string
		o              Options
		idle, move, tl bool
	}{
		{"plain", Options{}, true, true, false},
		{"no IDLE", Options{NoIdle: true}, false, true, false},
		{"no MOVE", Options{NoMove: true}, true, false, false},
		{"implicit TLS without IDLE", Options{TLS: TLSImplicit, NoIdle: true}, false, true, true},
		{"STARTTLS", Options{TLS: TLSStartTLS}, true, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Start(t, tc.o)
			s.AddUser("u", "p")
			c, err := s.Dial("u")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			caps, err := c.Capability().Wait()
			if err != nil {
				t.Fatal(err)
			}
			if caps.Has(imap.CapIdle) != tc.idle || caps.Has(imap.CapMove) != tc.move {
				t.Fatalf("caps = %v: want IDLE %v, MOVE %v", caps, tc.idle, tc.move)
			}
			if (s.ClientTLSConfig() != nil) != tc.tl {
				t.Fatalf("ClientTLSConfig present = %v, want %v", s.ClientTLSConfig() != nil, tc.tl)
			}
		})
	}
	if _, err := NewServer(Options{TLS: TLSStartTLS, NoIdle: true}); err == nil {
		t.Fatal("NoIdle with STARTTLS accepted")
	}
}

func TestAppendMessagesAndBodyFetchLog(t *testing.T) {
	s := Start(t, Options{})
	s.AddUser("u", "p", "Archive")
	raw := Mail{From: "a@x", To: "b@x", Subject: "hi", MessageID: "m1@x", Body: "line1\nline2"}.Bytes()
	if !strings.Contains(string(raw), "Message-ID: <m1@x>\r\n") || !strings.HasSuffix(string(raw), "line1\r\nline2\r\n") {
		t.Fatalf("Mail.Bytes() = %q", raw)
	}
	uid, err := s.Append("u", "INBOX", raw)
	if err != nil || uid != 1 {
		t.Fatalf("Append = %d, %v", uid, err)
	}
	if s.BodyFetched("u", "INBOX", uid) {
		t.Fatal("body logged as fetched before any fetch")
	}
	msgs, err := s.Messages("u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || string(msgs[0].Raw) != string(raw) || msgs[0].HasFlag(`\Seen`) {
		t.Fatalf("Messages = %+v", msgs)
	}
	if !s.BodyFetched("u", "INBOX", uid) || s.BodyFetched("u", "Archive", uid) {
		t.Fatal("body fetch log wrong")
	}
	if _, err := s.Append("u", "Nope", raw); err == nil {
		t.Fatal("append to a missing mailbox succeeded")
	}
}

func TestDropConnectionsAndRecreateMailbox(t *testing.T) {
	s := Start(t, Options{})
	s.AddUser("u", "p")
	c, err := s.Dial("u")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	before, _ := s.UIDValidity("u", "INBOX")
	if _, err := s.Append("u", "INBOX", Mail{Subject: "x"}.Bytes()); err != nil {
		t.Fatal(err)
	}
	after, err := s.RecreateMailbox("u", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Fatalf("UIDVALIDITY %d → %d, want it to grow", before, after)
	}
	select {
	case <-c.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("client connection not dropped")
	}
	msgs, err := s.Messages("u", "INBOX")
	if err != nil || len(msgs) != 0 {
		t.Fatalf("recreated INBOX = %v, %v; want empty", msgs, err)
	}
}

func TestLoginsPasswordsAndXOAUTH2(t *testing.T) {
	s := Start(t, Options{})
	s.AddUser("u", "p")
	s.AddToken("u", "tok")
	dial := func() *imapclient.Client {
		c, err := imapclient.DialInsecure(s.Addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	if err := dial().Login("u", "wrong").Wait(); err == nil {
		t.Fatal("wrong password accepted")
	}
	s.SetPassword("u", "new")
	if err := dial().Login("u", "new").Wait(); err != nil {
		t.Fatalf("new password refused: %v", err)
	}
	if err := dial().Authenticate(&xoauth2{"u", "tok"}); err != nil {
		t.Fatalf("XOAUTH2 with a good token: %v", err)
	}
	if err := dial().Authenticate(&xoauth2{"u", "bad"}); err == nil {
		t.Fatal("XOAUTH2 with a bad token accepted")
	}
	if n := s.Logins(); n != 2 {
		t.Fatalf("Logins = %d, want 2", n)
	}
}

type xoauth2 struct{ user, token string }

func (x *xoauth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

func (x *xoauth2) Next([]byte) ([]byte, error) { return []byte{}, nil }

func TestFilterCapLines(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"untagged", "* CAPABILITY IMAP4rev1 IDLE MOVE\r\n", "* CAPABILITY IMAP4rev1 MOVE\r\n"},
		{"last token", "* CAPABILITY IMAP4rev1 IDLE\r\n", "* CAPABILITY IMAP4rev1\r\n"},
		{"response code", "T1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n", "T1 OK [CAPABILITY IMAP4rev1] Logged in\r\n"},
		{"other lines untouched", "* 3 EXISTS\r\nIDLE IDLE\r\n", "* 3 EXISTS\r\nIDLE IDLE\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(filterCapLines([]byte(tc.in))); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if p := Percentile(d, 0.5); p != 100*time.Millisecond {
		t.Fatalf("p50 = %v", p)
	}
	if p := Percentile(d, 0.99); p != 198*time.Millisecond {
		t.Fatalf("p99 = %v", p)
	}
	if p := Percentile(nil, 0.5); p != 0 {
		t.Fatalf("empty p50 = %v", p)
	}
}
