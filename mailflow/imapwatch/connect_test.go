package imapwatch

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fabu-team/fabu/mailflow/imaptest"
)

func TestTLSModesAndAuth(t *testing.T) {
	tests := []struct {
		name string
		tls  string
		mode TLSMode
		auth AuthMode
	}{
		{"implicit TLS + LOGIN", imaptest.TLSImplicit, TLSImplicit, AuthLogin},
		{"STARTTLS + LOGIN", imaptest.TLSStartTLS, TLSStartTLS, AuthLogin},
		{"STARTTLS + XOAUTH2", imaptest.TLSStartTLS, TLSStartTLS, AuthXOAUTH2},
		{"plain loopback + XOAUTH2", imaptest.TLSNone, TLSNone, AuthXOAUTH2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, imaptest.Options{TLS: tc.tls})
			e.srv.AddToken(testUser, "ya29.token")
			o := e.options()
			o.TLS, o.Auth, o.TLSConfig = tc.mode, tc.auth, e.srv.ClientTLSConfig()
			if tc.auth == AuthXOAUTH2 {
				o.Password = ""
				o.Token = func(context.Context) (string, error) { return "ya29.token", nil }
			}
			e.start(t, o)
			e.deliver(t, testMail("tls@example.com", "approve"))
			e.probe.waitMail(t, "<tls@example.com>", 1)
		})
	}
}

func TestPermanentStartupErrors(t *testing.T) {
	tests := []struct {
		name   string
		so     imaptest.Options
		mutate func(o *Options, e *env)
		want   string
	}{
		{"wrong password", imaptest.Options{}, func(o *Options, _ *env) { o.Password = "wrong" }, "login"},
		{"unknown user", imaptest.Options{}, func(o *Options, _ *env) { o.Username = "nobody@example.com" }, "login"},
		{"refused XOAUTH2 token", imaptest.Options{}, func(o *Options, _ *env) { o.Auth, o.Password = AuthXOAUTH2, "expired" }, "XOAUTH2"},
		{"no such mailbox", imaptest.Options{}, func(o *Options, _ *env) { o.Mailbox = "Replies" }, "select mailbox"},
		{"untrusted certificate", imaptest.Options{TLS: imaptest.TLSImplicit}, func(o *Options, _ *env) { o.TLS = TLSImplicit }, "certificate"},
		{"server without STARTTLS", imaptest.Options{}, func(o *Options, _ *env) { o.TLS = TLSStartTLS }, "STARTTLS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.so)
			o := e.options()
			tc.mutate(&o, e)
			r := e.start(t, o)
			err := r.result(t)
			if !isPermanentErr(err) {
				t.Fatalf("Run = %v, want a *PermanentError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			if st := r.w.Status(); st.LastError == "" {
				t.Fatalf("status has no last error: %+v", st)
			}
		})
	}
}

func TestNetworkErrorAtStartIsRetried(t *testing.T) {
	e := newEnv(t, imaptest.Options{})
	o := e.options()
	o.Addr = "127.0.0.1:1" // nothing listens there
	r := e.start(t, o)
	e.probe.wait(t, "two retries", func() bool { return len(e.probe.retries) >= 2 })
	select {
	case err := <-r.done:
		t.Fatalf("Run returned %v on a network error, want it to keep retrying", err)
	default:
	}
	var te *TemporaryError
	e.probe.mu.Lock()
	first := e.probe.retries[0]
	e.probe.mu.Unlock()
	if !errors.As(first, &te) {
		t.Fatalf("retry error %v is not a *TemporaryError", first)
	}
}

func TestBadCredentialsAfterAGoodStartAreRetried(t *testing.T) {
	e := newEnv(t, imaptest.Options{})
	r := e.start(t, e.options())
	e.probe.waitIdle(t, 1)

	e.srv.SetPassword(testUser, "rotated")
	e.srv.DropConnections()
	e.probe.wait(t, "a failed login retried", func() bool {
		for _, err := range e.probe.retries {
			if IsPermanent(err) && strings.Contains(err.Error(), "login") {
				return true
			}
		}
		return false
	})
	select {
	case err := <-r.done:
		t.Fatalf("Run returned %v; after a good start it must keep retrying", err)
	default:
	}
	e.deliver(t, testMail("after@example.com", "approve"))
	e.srv.SetPassword(testUser, testPass)
	e.probe.waitMail(t, "<after@example.com>", 1)
}

func TestNewRejectsBadOptions(t *testing.T) {
	base := Options{Addr: "127.0.0.1:143", TLS: TLSNone, Username: "u", Password: "p"}
	tests := []struct {
		name   string
		mutate func(o *Options)
		want   string // "" = accepted
	}{
		{"plain to loopback IPv4", func(o *Options) {}, ""},
		{"plain to localhost", func(o *Options) { o.Addr = "localhost:143" }, ""},
		{"plain to loopback IPv6", func(o *Options) { o.Addr = "[::1]:143" }, ""},
		{"plain to a remote host", func(o *Options) { o.Addr = "imap.example.com:143" }, "loopback"},
		{"plain to a LAN address", func(o *Options) { o.Addr = "10.0.0.5:143" }, "in clear"},
		{"TLS to a remote host", func(o *Options) { o.Addr, o.TLS = "imap.example.com:993", TLSImplicit }, ""},
		{"no port", func(o *Options) { o.Addr = "imap.example.com" }, "host:port"},
		{"bad port", func(o *Options) { o.Addr = "127.0.0.1:99999" }, "port"},
		{"unknown TLS mode", func(o *Options) { o.TLS = "ssl" }, "not one of"},
		{"unknown auth", func(o *Options) { o.Auth = "cram-md5" }, "not one of"},
		{"no password", func(o *Options) { o.Password = "" }, "password"},
		{"xoauth2 without token", func(o *Options) { o.Auth, o.Password = AuthXOAUTH2, "" }, "token"},
		{"IDLE restart too long", func(o *Options) { o.IdleRestart = 29 * 60e9 }, "29 minutes"},
		{"processed folder is the mailbox", func(o *Options) { o.ProcessedFolder = "inbox" }, "watched mailbox"},
		{"bad keyword", func(o *Options) { o.ProcessedKeyword = "$Fabu Done" }, "keyword"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.mutate(&o)
			_, err := New(o, nopStore{}, HandlerFunc(nil), nil, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v, want accepted", err)
			case tc.want != "" && err == nil:
				t.Fatalf("New accepted the options, want an error about %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("New: %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
