package maillab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// InstallHint tells a developer how to enable the end-to-end tests.
const InstallHint = "set FABU_E2E=1 and install dovecot-imapd dovecot-lmtpd postfix (see .ci/install-maillab)"

// binaries the lab runs.
var binaries = []string{"dovecot", "doveadm", "postfix", "postconf", "postqueue"}

// Available reports why a lab cannot start on this machine: a missing
// server binary, a missing system user, or not running as root (the
// Postfix master must start as root; Dovecot switches to the "mail" user
// for mailboxes). nil means Start can work.
func Available() error {
	var errs []error
	for _, b := range binaries {
		if _, err := lookPath(b); err != nil {
			errs = append(errs, fmt.Errorf("%s not installed", b))
		}
	}
	for _, u := range []string{"mail", "postfix", "dovecot", "dovenull"} {
		if _, _, err := lookupIDs(u); err != nil {
			errs = append(errs, err)
		}
	}
	if os.Geteuid() != 0 {
		errs = append(errs, errors.New("not running as root (Postfix's master and Dovecot must start as root)"))
	}
	return errors.Join(errs...)
}

// lookPath finds a server binary in PATH or in the sbin folders, which a
// non-login root shell may not have in PATH.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH or /usr/sbin", name)
}

// Enabled reports whether end-to-end tests should run: FABU_E2E=1 or
// CI=true (in CI they must run).
func Enabled() bool { return os.Getenv("FABU_E2E") == "1" || inCI() }

func inCI() bool { return strings.EqualFold(os.Getenv("CI"), "true") }

// Require gates an end-to-end test. Without FABU_E2E=1 (and not in CI)
// it skips with InstallHint. When enabled but the servers cannot run, it
// skips locally and FAILS in CI (CI=true), so a broken CI setup is never
// mistaken for a pass.
func Require(tb testing.TB) {
	tb.Helper()
	if !Enabled() {
		tb.Skip("end-to-end mail test: " + InstallHint)
	}
	if err := Available(); err != nil {
		if inCI() {
			tb.Fatalf("end-to-end mail servers unavailable in CI (CI=true): %v\nrun .ci/install-maillab before the tests", err)
		}
		tb.Skipf("end-to-end mail servers unavailable: %v; %s", err, InstallHint)
	}
}

// StartT is Start for tests: it gates the test with Require, uses
// t.TempDir() when opts.Dir is empty, logs the lab's events to the test
// log, registers Stop with t.Cleanup, and on a failed test prints the
// tail of the server logs.
func StartT(tb testing.TB, opts Options) *Lab {
	tb.Helper()
	Require(tb)
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
		// The testing package makes the per-test temp folder 0700; the
		// mail and postfix users must be able to pass through it.
		if err := os.Chmod(filepath.Dir(opts.Dir), 0o711); err != nil {
			tb.Fatalf("maillab: open up %s for the mail user: %v", filepath.Dir(opts.Dir), err)
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lab, err := Start(ctx, opts)
	if err != nil {
		tb.Fatalf("%v\n%s", err, tailAll(newPaths(opts.Dir), 40))
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("maillab logs:\n%s", lab.LogTail(60))
		}
		if err := lab.Stop(); err != nil {
			tb.Errorf("maillab stop: %v", err)
		}
	})
	return lab
}

func tailAll(p paths, n int) string {
	l := &Lab{paths: p}
	return l.LogTail(n)
}

// testWriter sends log lines to t.Log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// searchableByOthers checks that dir and every parent let other users
// pass (x bit for others): the "mail" user opens mailboxes and the
// "postfix" user its data folder by absolute path.
func searchableByOthers(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s (mode %v) is not searchable by other users; the mail and postfix users need to pass through it: chmod o+x it or choose a Dir elsewhere", d, st.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

var idCache sync.Map // user name → [2]int

// lookupIDs returns the uid and gid of a system user.
func lookupIDs(name string) (int, int, error) {
	if v, ok := idCache.Load(name); ok {
		ids := v.([2]int)
		return ids[0], ids[1], nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, fmt.Errorf("system user %q missing (installed by the dovecot/postfix packages): %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("system user %q: %w", name, err)
	}
	idCache.Store(name, [2]int{uid, gid})
	return uid, gid, nil
}

var daemonDir struct {
	once sync.Once
	dir  string
	err  error
}

// postfixDaemonDir asks postconf where the Postfix daemons live
// (/usr/lib/postfix/sbin on Debian).
func postfixDaemonDir() (string, error) {
	daemonDir.once.Do(func() {
		postconf, err := lookPath("postconf")
		if err != nil {
			daemonDir.err = err
			return
		}
		out, err := exec.Command(postconf, "-d", "-h", "daemon_directory").Output()
		if err != nil {
			daemonDir.err = fmt.Errorf("postconf -d -h daemon_directory: %w", err)
			return
		}
		daemonDir.dir = strings.TrimSpace(string(out))
	})
	return daemonDir.dir, daemonDir.err
}
