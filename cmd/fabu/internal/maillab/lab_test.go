package maillab

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// TestSubmitLandsInMailbox: a message submitted with AUTH PLAIN after
// STARTTLS goes Postfix → LMTP → Dovecot and reads back over IMAPS, whose
// capabilities include IDLE; the plain IMAP port offers STARTTLS.
func TestSubmitLandsInMailbox(t *testing.T) {
	t.Parallel()
	lab := StartT(t, labOptions())
	t.Logf("lab start took %v", lab.StartDuration())
	ctx := testCtx(t)

	raw, id := newMessage(t, alice, bob, "release train 42")
	if err := lab.Submit(ctx, alice, []string{bob}, raw); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	got, err := lab.WaitMessage(ctx, bob, "INBOX", id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "release train 42" {
		t.Errorf("Subject = %q, want %q", got.Subject, "release train 42")
	}
	if !bytes.HasSuffix(got.Raw, raw) {
		t.Errorf("stored message does not end with the submitted one:\n%s", got.Raw)
	}
	// Postfix records an authenticated TLS submission as ESMTPSA.
	if !bytes.Contains(got.Raw, []byte("with ESMTPSA")) {
		t.Errorf("no 'with ESMTPSA' Received header (AUTH over TLS):\n%s", got.Raw)
	}
	if !bytes.Contains(got.Raw, []byte("with LMTP")) {
		t.Errorf("no 'with LMTP' Received header (Dovecot LMTP delivery):\n%s", got.Raw)
	}

	msgs, err := lab.Messages(ctx, bob, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].MessageID != id || !bytes.Equal(msgs[0].Raw, got.Raw) {
		t.Fatalf("Messages = %+v, want exactly <%s>", ids(msgs), id)
	}
	if others, err := lab.Messages(ctx, alice, "INBOX"); err != nil || len(others) != 0 {
		t.Errorf("alice's INBOX = %v, %v; want empty", ids(others), err)
	}

	c, err := lab.DialIMAP(ctx, bob, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Caps().Has(imap.CapIdle) {
		t.Errorf("IMAPS capabilities %v lack IDLE", c.Caps())
	}

	// Mail from outside through the MX-like port: STARTTLS without AUTH
	// ("with ESMTPS"), a GBK subject as Chinese mail clients send it.
	gbk, err := simplifiedchinese.GBK.NewEncoder().String("回复：发布列车")
	if err != nil {
		t.Fatal(err)
	}
	outside, outsideID := newMessage(t, "carol@example.org", bob, "=?GBK?B?"+base64.StdEncoding.EncodeToString([]byte(gbk))+"?=")
	if err := lab.Deliver(ctx, "carol@example.org", []string{bob}, outside); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	fromOutside, err := lab.WaitMessage(ctx, bob, "INBOX", outsideID)
	if err != nil {
		t.Fatal(err)
	}
	if fromOutside.Subject != "回复：发布列车" {
		t.Errorf("GBK subject decoded as %q, want %q", fromOutside.Subject, "回复：发布列车")
	}
	if !bytes.Contains(fromOutside.Raw, []byte("with ESMTPS ")) {
		t.Errorf("mail from outside not received over STARTTLS without AUTH:\n%s", fromOutside.Raw)
	}

	plain, err := imapclient.DialStartTLS(lab.IMAPAddr(), &imapclient.Options{TLSConfig: lab.TLSConfig()})
	if err != nil {
		t.Fatalf("IMAP STARTTLS on %s: %v", lab.IMAPAddr(), err)
	}
	defer plain.Close()
	pw, _ := lab.Password(bob)
	if err := plain.Login(bob, pw).Wait(); err != nil {
		t.Fatalf("LOGIN after STARTTLS: %v", err)
	}
	if !plain.Caps().Has(imap.CapIdle) {
		t.Errorf("IMAP (STARTTLS) capabilities %v lack IDLE", plain.Caps())
	}
}

// TestSMTPRefusals: the submission port wants STARTTLS and AUTH, the
// MX-like port takes only lab recipients; each refusal is permanent.
func TestSMTPRefusals(t *testing.T) {
	t.Parallel()
	lab := StartT(t, labOptions())
	ctx := testCtx(t)
	raw, _ := newMessage(t, alice, bob, "refused")

	tests := []struct {
		name     string
		send     func() error
		wantStep string
		wantCode int
	}{
		{
			name: "submission without AUTH",
			send: func() error {
				return lab.send(ctx, lab.SubmissionAddr(), nil, alice, []string{bob}, raw)
			},
			wantStep: "rcpt", wantCode: 554,
		},
		{
			name: "submission with a wrong password",
			send: func() error {
				return lab.send(ctx, lab.SubmissionAddr(), sasl.NewPlainClient("", alice, "wrong"), alice, []string{bob}, raw)
			},
			wantStep: "auth", wantCode: 535,
		},
		{
			name:     "unknown lab recipient",
			send:     func() error { return lab.Deliver(ctx, "someone@example.org", []string{"nobody@maillab.test"}, raw) },
			wantStep: "rcpt", wantCode: 550,
		},
		{
			name:     "relay to another domain",
			send:     func() error { return lab.Deliver(ctx, "someone@example.org", []string{"x@example.org"}, raw) },
			wantStep: "rcpt", wantCode: 554,
		},
		{
			name:     "Submit as a non-user",
			send:     func() error { return lab.Submit(ctx, "mallory@example.org", []string{bob}, raw) },
			wantStep: "auth", wantCode: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.send()
			var se *SMTPError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SMTPError", err)
			}
			if se.Step != tc.wantStep || se.Code != tc.wantCode || se.Temporary {
				t.Errorf("err = %v (step %q code %d temporary %v), want step %q code %d permanent",
					err, se.Step, se.Code, se.Temporary, tc.wantStep, tc.wantCode)
			}
		})
	}

	// Without STARTTLS the submission port does not even offer AUTH.
	c, err := smtp.Dial(lab.SubmissionAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("submission port offers AUTH before STARTTLS")
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Error("submission port does not offer STARTTLS")
	}
}

// TestRestartIMAP: mail survives a Dovecot restart with the same UIDs
// and UIDVALIDITY; while Dovecot is down, AUTH fails temporarily and mail
// from outside waits in Postfix's queue, delivered once Dovecot is back.
func TestRestartIMAP(t *testing.T) {
	t.Parallel()
	lab := StartT(t, labOptions())
	ctx := testCtx(t)

	raw1, id1 := newMessage(t, alice, bob, "before restart")
	if err := lab.Submit(ctx, alice, []string{bob}, raw1); err != nil {
		t.Fatal(err)
	}
	before, err := lab.WaitMessage(ctx, bob, "INBOX", id1)
	if err != nil {
		t.Fatal(err)
	}
	uv1, err := lab.UIDValidity(ctx, bob, "INBOX")
	if err != nil {
		t.Fatal(err)
	}

	if err := lab.RestartIMAP(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := lab.Messages(ctx, bob, "INBOX")
	if err != nil {
		t.Fatalf("read after restart: %v", err)
	}
	if len(after) != 1 || after[0].UID != before.UID || !bytes.Equal(after[0].Raw, before.Raw) {
		t.Fatalf("after restart: %v, want the same message with UID %d", ids(after), before.UID)
	}
	if uv2, err := lab.UIDValidity(ctx, bob, "INBOX"); err != nil || uv2 != uv1 {
		t.Errorf("UIDVALIDITY after restart = %d, %v; want unchanged %d", uv2, err, uv1)
	}

	// Dovecot down: IMAP refuses, submission AUTH fails temporarily, and
	// the MX port still queues mail.
	if err := lab.StopIMAP(); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.DialIMAP(ctx, bob, nil); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("IMAP while Dovecot is down: %v, want connection refused", err)
	}
	raw2, id2 := newMessage(t, "carol@example.org", bob, "queued while dovecot is down")
	// Postfix's smtpd cannot reach its SASL backend: it answers 454, or
	// (no mechanisms to offer) dies and the client sees the connection
	// drop. Either way a sender must retry, not give up.
	err = lab.Submit(ctx, alice, []string{bob}, raw2)
	t.Logf("Submit while Dovecot is down: %v", err)
	if !IsTemporary(err) {
		t.Errorf("Submit while Dovecot (SASL) is down: %v, want a temporary error", err)
	}
	if err := lab.Deliver(ctx, "carol@example.org", []string{bob}, raw2); err != nil {
		t.Fatalf("Deliver while Dovecot is down should queue: %v", err)
	}
	if err := lab.StartIMAP(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lab.FlushQueue(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.WaitMessage(ctx, bob, "INBOX", id2); err != nil {
		t.Fatalf("queued message after Dovecot came back: %v", err)
	}
}

// TestStopSMTP: with Postfix stopped a submission fails with a temporary
// error (connection refused); after StartSMTP it works again.
func TestStopSMTP(t *testing.T) {
	t.Parallel()
	lab := StartT(t, labOptions())
	ctx := testCtx(t)

	if err := lab.StopSMTP(); err != nil {
		t.Fatal(err)
	}
	raw, id := newMessage(t, alice, bob, "after the outage")
	err := lab.Submit(ctx, alice, []string{bob}, raw)
	if !IsTemporary(err) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Submit with Postfix stopped: %v, want a temporary connection-refused error", err)
	}
	// IMAP is unaffected.
	if _, err := lab.Messages(ctx, bob, "INBOX"); err != nil {
		t.Errorf("IMAP while Postfix is down: %v", err)
	}
	if err := lab.StartSMTP(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lab.Submit(ctx, alice, []string{bob}, raw); err != nil {
		t.Fatalf("Submit after StartSMTP: %v", err)
	}
	if _, err := lab.WaitMessage(ctx, bob, "INBOX", id); err != nil {
		t.Fatal(err)
	}
}

// TestRecreateMailbox: recreating a mailbox empties it and changes its
// UIDVALIDITY, for INBOX and for another mailbox.
func TestRecreateMailbox(t *testing.T) {
	t.Parallel()
	lab := StartT(t, labOptions())
	ctx := testCtx(t)

	for _, mailbox := range []string{"INBOX", "Archive"} {
		t.Run(mailbox, func(t *testing.T) {
			raw, id := newMessage(t, alice, bob, "to be dropped from "+mailbox)
			if err := appendMessage(ctx, lab, bob, mailbox, raw); err != nil {
				t.Fatal(err)
			}
			if _, err := lab.WaitMessage(ctx, bob, mailbox, id); err != nil {
				t.Fatal(err)
			}
			uv1, err := lab.UIDValidity(ctx, bob, mailbox)
			if err != nil {
				t.Fatal(err)
			}
			if err := lab.RecreateMailbox(ctx, bob, mailbox); err != nil {
				t.Fatal(err)
			}
			uv2, err := lab.UIDValidity(ctx, bob, mailbox)
			if err != nil {
				t.Fatal(err)
			}
			if uv1 == uv2 {
				t.Errorf("UIDVALIDITY of %s unchanged (%d) after RecreateMailbox", mailbox, uv1)
			}
			if msgs, err := lab.Messages(ctx, bob, mailbox); err != nil || len(msgs) != 0 {
				t.Errorf("%s after RecreateMailbox = %v, %v; want empty", mailbox, ids(msgs), err)
			}
			// The mailbox still takes new mail.
			raw2, id2 := newMessage(t, alice, bob, "after recreate")
			if err := appendMessage(ctx, lab, bob, mailbox, raw2); err != nil {
				t.Fatal(err)
			}
			if _, err := lab.WaitMessage(ctx, bob, mailbox, id2); err != nil {
				t.Fatal(err)
			}
		})
	}
	if err := lab.RecreateMailbox(ctx, "nobody@maillab.test", "INBOX"); err == nil {
		t.Error("RecreateMailbox for a non-user: no error")
	}
}

// TestParallelLabs: two labs at once get their own ports and mailboxes.
func TestParallelLabs(t *testing.T) {
	t.Parallel()
	Require(t)
	ctx := testCtx(t)
	labs := make([]*Lab, 2)
	var wg sync.WaitGroup
	errs := make([]error, len(labs))
	for i := range labs {
		opts := labOptions()
		opts.Dir = t.TempDir()
		if err := os.Chmod(filepath.Dir(opts.Dir), 0o711); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			labs[i], errs[i] = Start(ctx, opts)
		})
	}
	wg.Wait()
	for i, lab := range labs {
		if lab != nil {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("lab %d logs:\n%s", i, lab.LogTail(40))
				}
				if err := lab.Stop(); err != nil {
					t.Errorf("stop lab %d: %v", i, err)
				}
			})
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, lab := range labs {
		for _, a := range []string{lab.IMAPAddr(), lab.IMAPSAddr(), lab.LMTPAddr(), lab.SMTPAddr(), lab.SubmissionAddr()} {
			if seen[a] {
				t.Errorf("address %s used twice", a)
			}
			seen[a] = true
		}
	}
	sent := make([]string, len(labs))
	for i, lab := range labs {
		raw, id := newMessage(t, alice, bob, fmt.Sprintf("lab %d", i))
		if err := lab.Submit(ctx, alice, []string{bob}, raw); err != nil {
			t.Fatalf("lab %d: %v", i, err)
		}
		sent[i] = id
	}
	for i, lab := range labs {
		if _, err := lab.WaitMessage(ctx, bob, "INBOX", sent[i]); err != nil {
			t.Fatalf("lab %d: %v", i, err)
		}
		msgs, err := lab.Messages(ctx, bob, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].MessageID != sent[i] {
			t.Errorf("lab %d INBOX = %v, want only <%s>", i, ids(msgs), sent[i])
		}
	}
}

// TestStartAgainInSameDir: Stop frees the ports, and a second Start on
// the same Dir works and still has the mail.
func TestStartAgainInSameDir(t *testing.T) {
	t.Parallel()
	Require(t)
	ctx := testCtx(t)
	opts := labOptions()
	opts.Dir = t.TempDir()
	if err := os.Chmod(filepath.Dir(opts.Dir), 0o711); err != nil {
		t.Fatal(err)
	}

	first, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, id := newMessage(t, alice, bob, "kept across restarts")
	if err := first.Submit(ctx, alice, []string{bob}, raw); err != nil {
		first.Stop()
		t.Fatal(err)
	}
	if _, err := first.WaitMessage(ctx, bob, "INBOX", id); err != nil {
		t.Logf("logs:\n%s", first.LogTail(40))
		first.Stop()
		t.Fatal(err)
	}
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := first.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	for _, addr := range []string{first.IMAPAddr(), first.IMAPSAddr(), first.SMTPAddr(), first.SubmissionAddr(), first.LMTPAddr()} {
		if err := refuses(addr)(ctx); err != nil {
			t.Errorf("after Stop: %v", err)
		}
	}
	if err := first.StartSMTP(ctx); err == nil {
		t.Error("StartSMTP on a stopped lab: no error")
	}

	second := StartT(t, opts)
	msgs, err := second.Messages(ctx, bob, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].MessageID != id {
		t.Fatalf("INBOX after the second Start = %v, want <%s>", ids(msgs), id)
	}
	raw2, id2 := newMessage(t, alice, bob, "second run")
	if err := second.Submit(ctx, alice, []string{bob}, raw2); err != nil {
		t.Fatal(err)
	}
	if _, err := second.WaitMessage(ctx, bob, "INBOX", id2); err != nil {
		t.Fatal(err)
	}
}

// appendMessage stores raw in a mailbox over IMAP (APPEND), the way a
// client files a message; Submit only reaches INBOX.
func appendMessage(ctx context.Context, lab *Lab, user, mailbox string, raw []byte) error {
	c, err := lab.DialIMAP(ctx, user, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		return fmt.Errorf("append to %s: %w", mailbox, err)
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("append to %s: %w", mailbox, err)
	}
	if _, err := cmd.Wait(); err != nil {
		return fmt.Errorf("append to %s: %w", mailbox, err)
	}
	return nil
}

func ids(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = fmt.Sprintf("%d:<%s>", m.UID, m.MessageID)
	}
	return out
}

// TestPortClashRetry: when a picked port is taken before a server binds
// it, Start tries again with new ports instead of failing.
func TestPortClashRetry(t *testing.T) {
	t.Parallel()
	Require(t)
	for _, tc := range []struct {
		name  string
		index int // which of the six ports clashes
	}{
		{name: "dovecot IMAP port", index: 0},
		{name: "postfix submission port", index: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			taken, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer taken.Close()
			takenPort := taken.Addr().(*net.TCPAddr).Port
			calls := 0
			opts := labOptions()
			opts.pickPorts = func(n int) ([]int, error) {
				calls++
				ps, err := freePorts(n)
				if err == nil && calls == 1 {
					ps[tc.index] = takenPort
				}
				return ps, err
			}
			lab := StartT(t, opts)
			if calls < 2 {
				t.Errorf("ports picked %d time(s), want a retry", calls)
			}
			for _, p := range lab.ports.list() {
				if p == takenPort {
					t.Errorf("lab uses the taken port %d", p)
				}
			}
			raw, id := newMessage(t, alice, bob, "after a port clash")
			ctx := testCtx(t)
			if err := lab.Submit(ctx, alice, []string{bob}, raw); err != nil {
				t.Fatal(err)
			}
			if _, err := lab.WaitMessage(ctx, bob, "INBOX", id); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLongDir: a Dir too long for Unix socket paths still works (Dovecot's
// sockets and a link to Postfix's queue go to a short folder that Stop
// removes; the queue itself stays in Dir).
func TestLongDir(t *testing.T) {
	t.Parallel()
	Require(t)
	base := t.TempDir()
	if err := os.Chmod(filepath.Dir(base), 0o711); err != nil {
		t.Fatal(err)
	}
	opts := labOptions()
	opts.Dir = filepath.Join(base, "a-rather-long-folder-name-for-the-lab", "and-one-more-level-of-nesting-for-good-measure")
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	lab, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	short := lab.paths.Short
	if short == "" || strings.HasPrefix(lab.paths.DovecotRun, opts.Dir) || strings.HasPrefix(lab.paths.PostfixQueueDir, opts.Dir) {
		lab.Stop()
		t.Fatalf("short folder %q: dovecot sockets in %s, postfix queue_directory %s; want both outside the long Dir",
			short, lab.paths.DovecotRun, lab.paths.PostfixQueueDir)
	}
	raw, id := newMessage(t, alice, bob, "long dir")
	err = lab.Submit(ctx, alice, []string{bob}, raw)
	if err == nil {
		_, err = lab.WaitMessage(ctx, bob, "INBOX", id)
	}
	if stopErr := lab.Stop(); stopErr != nil {
		t.Error(stopErr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(short); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("short folder %s left behind after Stop: %v", short, err)
	}
	if _, err := os.Stat(filepath.Join(lab.paths.PostfixQueue, "active")); err != nil {
		t.Errorf("postfix queue gone from Dir after Stop: %v", err)
	}
}
