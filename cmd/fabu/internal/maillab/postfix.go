package maillab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// startPostfixLocked prepares the queue (first start only) and runs the
// Postfix master in the foreground as a child of this process, then waits
// until both smtpd ports greet.
func (l *Lab) startPostfixLocked(ctx context.Context) error {
	if l.master != nil {
		return errors.New("postfix is already running")
	}
	began := time.Now()
	if err := l.postfixCheck(); err != nil {
		return err
	}
	// master -s: stay in the foreground, keep stdout (no "postfix start",
	// whose shell script backgrounds master and would leave us without its
	// pid). The master calls setsid() itself, so no own process group here.
	p, err := startProc("postfix", l.paths.PostfixOut, false,
		filepath.Join(l.postfix, "master"), "-s", "-c", l.paths.PostfixConf)
	if err != nil {
		return err
	}
	l.master = p
	err = waitReady(ctx, p, l.timeout,
		greets(l.SMTPAddr(), "220 "),
		greets(l.SubmissionAddr(), "220 "),
	)
	if err != nil {
		return &postfixStartError{err: err, logs: tail(l.paths.PostfixLog, 20) + "\n" + tail(l.paths.PostfixOut, 20)}
	}
	p.ready = true
	l.log.Debug("maillab: postfix ready", "took", time.Since(began))
	return nil
}

// postfixStartError is a failed Postfix start. The master reports its
// own start-up errors only to syslog, which test machines usually lack,
// so Start adds what postconf says about main.cf and a list of the usual
// causes when the failure is not a port clash.
type postfixStartError struct {
	err  error
	logs string
}

func (e *postfixStartError) Error() string { return "postfix: " + e.err.Error() + "\n" + e.logs }
func (e *postfixStartError) Unwrap() error { return e.err }

// postfixDiagnose collects what can be learnt without syslog.
func (l *Lab) postfixDiagnose(ctx context.Context) string {
	var b strings.Builder
	b.WriteString("the Postfix master logs start-up failures only to syslog; usual causes: a port in use, " +
		"data_directory not owned by postfix, a queue folder with the wrong owner, a bad main.cf/master.cf line\n")
	if bin, err := lookPath("postconf"); err == nil {
		cmd := exec.CommandContext(ctx, bin, "-c", l.paths.PostfixConf, "-n")
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		fmt.Fprintf(&b, "postconf -c %s -n: err=%v warnings=%q\n", l.paths.PostfixConf, err, stderr.String())
	}
	if st, err := os.Stat(l.paths.PostfixData); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			fmt.Fprintf(&b, "%s: owner uid %d\n", l.paths.PostfixData, sys.Uid)
		}
	}
	return b.String()
}

// postfixQueueDirs are the queue folders with the owners and modes
// Postfix's postfix-files gives them; "postfix start" creates them with
// "post-install create-missing", which with the rest of its checks costs
// about 2.4 s, so the lab makes them itself.
var postfixQueueDirs = []struct {
	name  string
	owner string // "postfix" or "root"
	group string // "root" or "postdrop"
	mode  os.FileMode
}{
	{"active", "postfix", "root", 0o700},
	{"bounce", "postfix", "root", 0o700},
	{"corrupt", "postfix", "root", 0o700},
	{"defer", "postfix", "root", 0o700},
	{"deferred", "postfix", "root", 0o700},
	{"flush", "postfix", "root", 0o700},
	{"hold", "postfix", "root", 0o700},
	{"incoming", "postfix", "root", 0o700},
	{"private", "postfix", "root", 0o700},
	{"saved", "postfix", "root", 0o700},
	{"trace", "postfix", "root", 0o700},
	{"maildrop", "postfix", "postdrop", 0o730},
	{"public", "postfix", "postdrop", 0o710},
	{"pid", "root", "root", 0o755},
}

// postfixCheck creates the queue folders with the right owners.
func (l *Lab) postfixCheck() error {
	ids := map[string]int{"root": 0}
	pfUID, _, err := lookupIDs("postfix")
	if err != nil {
		return err
	}
	ids["postfix"] = pfUID
	g, err := user.LookupGroup("postdrop")
	if err != nil {
		return fmt.Errorf("group postdrop (made by the postfix package): %w", err)
	}
	if ids["postdrop"], err = strconv.Atoi(g.Gid); err != nil {
		return fmt.Errorf("group postdrop: %w", err)
	}
	if err := os.MkdirAll(l.paths.PostfixQueue, 0o755); err != nil {
		return err
	}
	for _, d := range postfixQueueDirs {
		path := filepath.Join(l.paths.PostfixQueue, d.name)
		if err := os.Mkdir(path, d.mode); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("postfix queue: %w", err)
		}
		if err := os.Chown(path, ids[d.owner], ids[d.group]); err != nil {
			return fmt.Errorf("postfix queue: %w", err)
		}
		if err := os.Chmod(path, d.mode); err != nil {
			return fmt.Errorf("postfix queue: %w", err)
		}
	}
	return nil
}

// stopPostfixLocked stops the Postfix master and all its daemons and
// waits until both smtpd ports refuse connections.
func (l *Lab) stopPostfixLocked() error {
	if l.master == nil {
		return nil
	}
	p := l.master
	l.master = nil
	if p.ready {
		l.drainQueue(3 * time.Second)
	}
	err := p.stop(5 * time.Second)
	if !p.ready {
		return err
	}
	if werr := waitReady(context.Background(), nil, 10*time.Second,
		refuses(l.SMTPAddr()), refuses(l.SubmissionAddr()),
	); werr != nil {
		err = errors.Join(err, fmt.Errorf("postfix stopped but: %w", werr))
	}
	return err
}

// inFlightQueues hold mail Postfix is still taking in or delivering;
// "deferred" and "hold" wait for a retry and can stay across a restart.
var inFlightQueues = []string{"maildrop", "incoming", "active"}

// drainQueue waits (up to max) until no mail is in flight. Stopping the
// master while a delivery's "250 Saved" is not yet recorded makes Postfix
// deliver that message again at the next start: real at-least-once
// behaviour, but not something a stop should inject by chance.
func (l *Lab) drainQueue(max time.Duration) {
	deadline := time.NewTimer(max)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if l.queuedInFlight() == 0 {
			return
		}
		select {
		case <-deadline.C:
			l.log.Warn("maillab: stopping postfix with mail still in flight", "files", l.queuedInFlight())
			return
		case <-tick.C:
		}
	}
}

// queuedInFlight counts queue files in the in-flight queues.
func (l *Lab) queuedInFlight() int {
	n := 0
	for _, q := range inFlightQueues {
		_ = filepath.WalkDir(filepath.Join(l.paths.PostfixQueue, q), func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				n++
			}
			return nil
		})
	}
	return n
}

// StopSMTP stops Postfix: both SMTP ports refuse connections (clients see
// a temporary failure) and queued mail waits. Mail being delivered is
// finished first (up to 3 s). Dovecot keeps running.
func (l *Lab) StopSMTP() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return errors.New("maillab: lab is stopped")
	}
	l.log.Info("maillab: fault: stopping postfix")
	if err := l.stopPostfixLocked(); err != nil {
		return fmt.Errorf("maillab: stop postfix: %w", err)
	}
	return nil
}

// StartSMTP starts Postfix again on the same ports after StopSMTP; mail
// left in its queue is delivered.
func (l *Lab) StartSMTP(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return errors.New("maillab: lab is stopped")
	}
	err := restartOnSamePorts(ctx, []int{l.ports.SMTP, l.ports.Submission}, l.startPostfixLocked, func() {
		if l.master != nil {
			_ = l.stopPostfixLocked()
		}
	})
	if err != nil {
		return fmt.Errorf("maillab: start postfix: %w\n%s", err, l.postfixDiagnose(ctx))
	}
	l.log.Info("maillab: postfix running again")
	return nil
}

// FlushQueue asks Postfix to retry all deferred mail now (postqueue -f),
// e.g. right after StartIMAP instead of waiting for the next retry.
func (l *Lab) FlushQueue(ctx context.Context) error {
	bin, err := lookPath("postqueue")
	if err != nil {
		return fmt.Errorf("maillab: flush queue: %w", err)
	}
	cmd := exec.CommandContext(ctx, bin, "-c", l.paths.PostfixConf, "-f")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("maillab: postqueue -f: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
