package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/imaptest"
	"github.com/fabu-team/fabu/mailflow/smtptest"
)

// daemonConfig writes a config for a daemon on the loopback test servers.
// imapAddr "" turns the watcher off.
func daemonConfig(t *testing.T, sink *smtptest.Sink, imapAddr, imapPassword string) string {
	t.Helper()
	t.Setenv("FABU_TOKEN_SECRET", "daemon-test-secret")
	t.Setenv("FABU_IMAP_PASSWORD", imapPassword)
	imap := "imap:\n  enabled: false\n"
	if imapAddr != "" {
		host, port, _ := net.SplitHostPort(imapAddr)
		imap = fmt.Sprintf("imap:\n  host: %s\n  port: %s\n  tls: none\n  username: fabu@example.com\n  idle_restart: 30s\n  poll_interval: 1s\n", host, port)
	}
	cfg := fmt.Sprintf(`http:
  listen: 127.0.0.1:0
people:
  - {name: 琳琳, email: linlin@example.com, roles: [tester, test_lead]}
  - {name: 李经理, email: limanager@example.com, roles: [manager]}
  - {name: 运维组, email: ops@example.com, roles: [ops]}
smtp:
  host: 127.0.0.1
  port: %d
  tls: none
  auth: none
  from: fabu@example.com
  timeout: 5s
%s`, sink.Port(), imap)
	p := filepath.Join(t.TempDir(), "fabu.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func loadTestConfig(t *testing.T, path string) *config.Config {
	t.Helper()
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c.ReadSecrets(os.Getenv)
	if errs := c.Validate().Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	return c
}

// waitFor polls cond every 20 ms until it holds or the deadline passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		<-tick.C
	}
}

func httpGet(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestDaemonMetricsAndHealth(t *testing.T) {
	sink := smtptest.Start(t, smtptest.Options{})
	imapSrv := imaptest.Start(t, imaptest.Options{})
	imapSrv.AddUser("fabu@example.com", "pw")
	cfg := loadTestConfig(t, daemonConfig(t, sink, imapSrv.Addr, "pw"))

	addrc := make(chan net.Addr, 1)
	d, err := newDaemon(cfg, filepath.Join(t.TempDir(), "fabu.db"), daemonOptions{
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		HTTPReady: func(a net.Addr) { addrc <- a },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("daemon stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no HTTP listener")
	}

	waitFor(t, "/healthz ok with IMAP connected", 10*time.Second, func() bool {
		code, body, err := httpGet(base + "/healthz")
		return err == nil && code == 200 && strings.Contains(body, `"connected (idle)`)
	})
	code, body, err := httpGet(base + "/metrics")
	if err != nil || code != 200 {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	for _, want := range []string{"fabu_imap_connected 1", "fabu_outbox_depth 0", "go_goroutines", "fabu_next_step_timestamp_seconds"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// The IMAP server goes away: /healthz says so with 503.
	imapSrv.Close()
	waitFor(t, "/healthz 503 after the IMAP server left", 10*time.Second, func() bool {
		code, body, err := httpGet(base + "/healthz")
		return err == nil && code == 503 && strings.Contains(body, "disconnected")
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not stop within 10 s of its context ending")
	}
}

// fabuBinary builds the fabu binary once per test (into the test's temp dir).
func fabuBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fabu")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startFabu starts the binary and returns it with a channel of its stderr lines.
func startFabu(t *testing.T, bin string, args ...string) (*exec.Cmd, <-chan string, <-chan error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := make(chan string, 1000)
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	return cmd, lines, exited
}

func waitLine(t *testing.T, lines <-chan string, substr string, within time.Duration) string {
	t.Helper()
	timeout := time.After(within)
	var seen []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("fabu exited before printing %q; it printed:\n%s", substr, strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			if strings.Contains(l, substr) {
				return l
			}
		case <-timeout:
			t.Fatalf("no %q within %s; fabu printed:\n%s", substr, within, strings.Join(seen, "\n"))
		}
	}
}

func TestRunBinary(t *testing.T) {
	bin := fabuBinary(t)
	sink := smtptest.Start(t, smtptest.Options{})
	imapSrv := imaptest.Start(t, imaptest.Options{})
	imapSrv.AddUser("fabu@example.com", "pw")

	t.Run("SIGTERM stops it within 10 s", func(t *testing.T) {
		cfg := daemonConfig(t, sink, imapSrv.Addr, "pw")
		db := filepath.Join(t.TempDir(), "fabu.db")
		cmd, lines, exited := startFabu(t, bin, "--config", cfg, "--db", db, "run")
		waitLine(t, lines, "fabu running", 20*time.Second)
		began := time.Now()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v", err)
			}
			t.Logf("stopped in %s", time.Since(began).Round(time.Millisecond))
		case <-time.After(10 * time.Second):
			t.Fatal("fabu did not stop within 10 s of SIGTERM")
		}
	})

	t.Run("bad IMAP credentials at start", func(t *testing.T) {
		cfg := daemonConfig(t, sink, imapSrv.Addr, "wrong")
		db := filepath.Join(t.TempDir(), "fabu.db")
		_, lines, exited := startFabu(t, bin, "--config", cfg, "--db", db, "run")
		var all []string
		select {
		case err := <-exited:
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("exit = %v, want non-zero", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("fabu kept running with a wrong IMAP password")
		}
		for l := range lines {
			all = append(all, l)
		}
		if out := strings.Join(all, "\n"); !strings.Contains(strings.ToLower(out), "imap") {
			t.Errorf("the error does not say what failed:\n%s", out)
		}
	})

	t.Run("second fabu on the same store", func(t *testing.T) {
		cfg := daemonConfig(t, sink, "", "")
		db := filepath.Join(t.TempDir(), "fabu.db")
		s, err := ledger.Open(db, ledger.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		began := time.Now()
		_, lines, exited := startFabu(t, bin, "--config", cfg, "--db", db, "run")
		select {
		case err := <-exited:
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit = %v, want 1", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("second fabu hangs on a locked store")
		}
		if el := time.Since(began); el > 5*time.Second {
			t.Logf("took %s (the lock timeout is 1.5 s; a loaded machine adds start-up time)", el)
		}
		var out []string
		for l := range lines {
			out = append(out, l)
		}
		if !strings.Contains(strings.Join(out, "\n"), "in use by another fabu") {
			t.Errorf("no clear message:\n%s", strings.Join(out, "\n"))
		}
	})

	t.Run("bad config exits 2 with every problem", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "bad.yaml")
		os.WriteFile(p, []byte("train:\n  timezone: Mars/Base\n  schedule:\n    cut: \"0 17 * * FRYDAY\"\n"), 0o600)
		_, lines, exited := startFabu(t, bin, "--config", p, "run")
		err := <-exited
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Fatalf("exit = %v, want 2", err)
		}
		var out []string
		for l := range lines {
			out = append(out, l)
		}
		text := strings.Join(out, "\n")
		for _, want := range []string{"train.timezone (line 2)", "train.schedule.cut (line 4)", "FRYDAY"} {
			if !strings.Contains(text, want) {
				t.Errorf("output lacks %q:\n%s", want, text)
			}
		}
	})
}
