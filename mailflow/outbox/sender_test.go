package outbox

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fabu-team/fabu/mailflow/smtptest"
)

func TestSMTPSenderTLSAndAuth(t *testing.T) {
	serverTLS, pool, err := smtptest.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	clientTLS := &tls.Config{RootCAs: pool}
	cases := []struct {
		name     string
		sink     smtptest.Options
		opts     SMTPOptions
		wantAuth string // "" = no AUTH expected
		wantErr  string // "" = delivered
		wantPerm bool   // the error is permanent
	}{
		{name: "starttls plain", sink: smtptest.Options{TLS: serverTLS, Username: "fabu", Password: "pw"},
			opts: SMTPOptions{TLS: "starttls", Auth: "plain", Username: "fabu", Password: "pw"}, wantAuth: "PLAIN fabu"},
		{name: "starttls login", sink: smtptest.Options{TLS: serverTLS, Username: "fabu", Password: "pw"},
			opts: SMTPOptions{TLS: "starttls", Auth: "login", Username: "fabu", Password: "pw"}, wantAuth: "LOGIN fabu"},
		{name: "starttls cram-md5", sink: smtptest.Options{TLS: serverTLS, Username: "fabu", Password: "pw"},
			opts: SMTPOptions{TLS: "starttls", Auth: "cram-md5", Username: "fabu", Password: "pw"}, wantAuth: "CRAM-MD5 fabu"},
		{name: "starttls xoauth2", sink: smtptest.Options{TLS: serverTLS, Username: "fabu@example.com", Password: "ya29.token"},
			opts: SMTPOptions{TLS: "starttls", Auth: "xoauth2", Username: "fabu@example.com", Password: "ya29.token"}, wantAuth: "XOAUTH2 fabu@example.com"},
		{name: "implicit TLS login", sink: smtptest.Options{TLS: serverTLS, Implicit: true, Username: "fabu", Password: "pw"},
			opts: SMTPOptions{TLS: "implicit", Auth: "login", Username: "fabu", Password: "pw"}, wantAuth: "LOGIN fabu"},
		{name: "opportunistic with TLS offered", sink: smtptest.Options{TLS: serverTLS},
			opts: SMTPOptions{TLS: "opportunistic", Auth: "none"}},
		{name: "opportunistic without TLS", sink: smtptest.Options{},
			opts: SMTPOptions{TLS: "opportunistic", Auth: "none"}},
		{name: "none with plain (loopback)", sink: smtptest.Options{Username: "fabu", Password: "pw", RequireAuth: true},
			opts: SMTPOptions{TLS: "none", Auth: "plain", Username: "fabu", Password: "pw"}, wantAuth: "PLAIN fabu"},
		{name: "none with login (loopback)", sink: smtptest.Options{Username: "fabu", Password: "pw", RequireAuth: true},
			opts: SMTPOptions{TLS: "none", Auth: "login", Username: "fabu", Password: "pw"}, wantAuth: "LOGIN fabu"},
		{name: "starttls required but not offered", sink: smtptest.Options{},
			opts: SMTPOptions{TLS: "starttls", Auth: "none"}, wantErr: "STARTTLS"},
		{name: "wrong password", sink: smtptest.Options{TLS: serverTLS, Username: "fabu", Password: "pw"},
			opts: SMTPOptions{TLS: "starttls", Auth: "plain", Username: "fabu", Password: "wrong"}, wantErr: "535", wantPerm: true},
		{name: "server requires auth", sink: smtptest.Options{Username: "fabu", Password: "pw", RequireAuth: true},
			opts: SMTPOptions{TLS: "none", Auth: "none"}, wantErr: "502"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := smtptest.Start(t, tc.sink)
			o := tc.opts
			o.Host, o.Port, o.Timeout, o.TLSConfig = sink.Host(), sink.Port(), 5*time.Second, clientTLS
			snd, err := NewSMTPSender(o)
			if err != nil {
				t.Fatal(err)
			}
			err = sendOne(snd)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %s", err, tc.wantErr)
				}
				var pe *PermanentError
				if errors.As(err, &pe) != tc.wantPerm {
					t.Errorf("permanent = %v, want %v (%v)", !tc.wantPerm, tc.wantPerm, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(sink.Messages()) != 1 {
				t.Fatal("not delivered")
			}
			got := strings.Join(sink.AuthLog(), ",")
			if got != tc.wantAuth {
				t.Errorf("auth = %q, want %q", got, tc.wantAuth)
			}
		})
	}
}

// sendOne sends one small mail; a refused recipient or DATA is an error.
func sendOne(snd Sender) error {
	sess, err := snd.Open(context.Background())
	if err != nil {
		return err
	}
	defer sess.Close()
	res, err := sess.Send(context.Background(), "fabu@example.com", []string{"a@example.com"}, []byte("Subject: x\r\n\r\nhi\r\n"), nil)
	if err != nil {
		return err
	}
	if r := res.Rcpts[0]; r.Outcome != Delivered {
		return Classify(errors.New(r.Message))
	}
	return nil
}

func TestNewSMTPSenderRefusesBadOptions(t *testing.T) {
	cases := []SMTPOptions{
		{Host: "smtp.example.com", Port: 25, TLS: "none"},
		{Host: "127.0.0.1", Port: 25, TLS: "ssl"},
		{Host: "127.0.0.1", Port: 25, TLS: "none", Auth: "ntlm"},
		{Host: "", Port: 25},
	}
	for _, o := range cases {
		if _, err := NewSMTPSender(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestClassify(t *testing.T) {
	if IsTemporary(nil) {
		t.Error("nil is temporary")
	}
	if !IsTemporary(errors.New("dial tcp: connection refused")) {
		t.Error("a network error is not temporary")
	}
	var pe *PermanentError
	if !errors.As(Classify(&PermanentError{Code: 550, Err: errors.New("x")}), &pe) {
		t.Error("Classify lost a PermanentError")
	}
}
