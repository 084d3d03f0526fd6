package maillab

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wneessen/go-mail"
)

// goMailClient is configured the way the fabu daemon sends: go-mail,
// STARTTLS mandatory, AUTH PLAIN, to the submission port.
func goMailClient(t *testing.T, lab *Lab, tlsConfig *tls.Config) *mail.Client {
	t.Helper()
	host, portText, err := net.SplitHostPort(lab.SubmissionAddr())
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := lab.Password(alice)
	c, err := mail.NewClient(host,
		mail.WithPort(port),
		mail.WithTLSPolicy(mail.TLSMandatory),
		mail.WithTLSConfig(tlsConfig),
		mail.WithSMTPAuth(mail.SMTPAuthPlain),
		mail.WithUsername(alice),
		mail.WithPassword(pw),
		mail.WithHELO("fabu.maillab.test"),
		mail.WithTimeout(10*time.Second),
	)
	if err != nil {
		t.Fatalf("mail.NewClient: %v", err)
	}
	return c
}

func goMailMessage(t *testing.T, subject string) (*mail.Msg, string) {
	t.Helper()
	id := strings.ReplaceAll(t.Name(), "/", ".") + "." + strconv.FormatInt(time.Now().UnixNano(), 10) + "@maillab.test"
	m := mail.NewMsg()
	if err := m.From("Release Train <" + alice + ">"); err != nil {
		t.Fatal(err)
	}
	if err := m.To(bob); err != nil {
		t.Fatal(err)
	}
	m.Subject(subject)
	m.SetMessageIDWithValue(id)
	m.SetDate()
	m.SetBodyString(mail.TypeTextPlain, "本周发布列车：请回复 yes 或 no。\n")
	return m, id
}

// TestGoMailThroughSubmission: go-mail v0.8.1 (what fabu sends with)
// delivers through the lab's submission port with STARTTLS + PLAIN when
// given the lab CA, and refuses the lab's certificate without it.
func TestGoMailThroughSubmission(t *testing.T) {
	t.Parallel()
	lab := StartT(t, labOptions())
	ctx := testCtx(t)
	const subject = "发布列车 第 42 周 / release train week 42"

	tests := []struct {
		name      string
		tlsConfig *tls.Config
		wantErr   string // substring; empty means delivered
	}{
		{name: "lab CA", tlsConfig: &tls.Config{RootCAs: lab.CertPool(), ServerName: ServerName, MinVersion: tls.VersionTLS12}},
		{name: "system roots only", tlsConfig: &tls.Config{ServerName: ServerName, MinVersion: tls.VersionTLS12}, wantErr: "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := goMailClient(t, lab, tc.tlsConfig)
			m, id := goMailMessage(t, subject)
			err := c.DialAndSendWithContext(ctx, m)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("DialAndSend = %v, want an error about %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DialAndSend: %v", err)
			}
			if !m.IsDelivered() {
				t.Error("go-mail does not mark the message delivered")
			}
			got, err := lab.WaitMessage(ctx, bob, "INBOX", id)
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != subject {
				t.Errorf("Subject = %q, want %q", got.Subject, subject)
			}
			// go-mail uses SMTPUTF8 when offered: Postfix writes
			// "with UTF8SMTPSA" (S = TLS, A = authenticated).
			if !bytes.Contains(got.Raw, []byte("with UTF8SMTPSA")) {
				t.Errorf("not an authenticated TLS submission:\n%s", got.Raw)
			}
		})
	}
}

// TestGoMailWhileSMTPDown shows what the daemon's sender sees from
// go-mail when the mail server is down: an error that wraps
// ECONNREFUSED (retry later), and success once it is back.
func TestGoMailWhileSMTPDown(t *testing.T) {
	t.Parallel()
	lab := StartT(t, labOptions())
	ctx := testCtx(t)
	if err := lab.StopSMTP(); err != nil {
		t.Fatal(err)
	}
	c := goMailClient(t, lab, lab.TLSConfig())
	m, id := goMailMessage(t, "retry me")
	err := c.DialAndSendWithContext(ctx, m)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("DialAndSend with Postfix down = %v, want an error wrapping ECONNREFUSED", err)
	}
	if m.IsDelivered() {
		t.Error("message marked delivered while Postfix was down")
	}
	if err := lab.StartSMTP(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		t.Fatalf("DialAndSend after StartSMTP: %v", err)
	}
	if _, err := lab.WaitMessage(ctx, bob, "INBOX", id); err != nil {
		t.Fatal(err)
	}
}
