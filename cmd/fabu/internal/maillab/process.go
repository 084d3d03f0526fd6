package maillab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// proc is one server master process started by the lab: the Dovecot
// master or the Postfix master. It is a direct child of the test process,
// leads its own process group (so the whole tree can be signalled), and
// gets SIGTERM if the test process dies (Pdeathsig), so a crashed test
// leaves no servers behind. (Pdeathsig fires when the forking OS thread
// ends; Go ends a thread only when a goroutine locked to it exits without
// unlocking, which nothing in these tests does — see go.dev/issue/27505.)
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *os.File
	done chan struct{} // closed when the process has exited
	err  error         // exit status, valid after done
	// ready is set once the server answered on all its ports: only then
	// are they known to be its own, so only then does a stop wait for
	// them to close (after a failed bind they may belong to someone else).
	ready bool
}

// startProc starts argv with stdout and stderr appended to outPath.
// ownGroup puts the child in a new process group; leave it false for a
// program that calls setsid() itself (the Postfix master does, and setsid
// fails for a process group leader).
func startProc(name, outPath string, ownGroup bool, argv ...string) (*proc, error) {
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: open output file: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: ownGroup, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("%s: start %s: %w", name, argv[0], err)
	}
	p := &proc{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended, and how.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// stop sends SIGTERM to the process group, waits up to grace for the
// master to exit, then SIGKILLs whatever is left of the group (children
// that were slow to follow their master hold the listening sockets).
func (p *proc) stop(grace time.Duration) error {
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
	}
	// Stragglers (or everything, after the grace time).
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = p.cmd.Process.Kill()
	kill := time.NewTimer(5 * time.Second)
	defer kill.Stop()
	select {
	case <-p.done:
		return nil
	case <-kill.C:
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, pid)
	}
}

// waitReady polls until every check passes, the process exits, or the
// deadline passes. A ticker with a deadline, not sleeps: the servers give
// no readiness signal other than answering on their ports.
func waitReady(ctx context.Context, p *proc, deadline time.Duration, checks ...func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	if p != nil {
		// A check blocked on a port someone else holds ends as soon as the
		// server exits.
		var cancelOnExit context.CancelFunc
		ctx, cancelOnExit = context.WithCancel(ctx)
		defer cancelOnExit()
		go func() {
			select {
			case <-p.done:
				cancelOnExit()
			case <-ctx.Done():
			}
		}()
	}
	tick := time.NewTicker(15 * time.Millisecond)
	defer tick.Stop()
	pending := checks
	var last error
	for {
		var still []func(context.Context) error
		for _, c := range pending {
			if err := c(ctx); err != nil {
				last = err
				still = append(still, c)
			}
		}
		pending = still
		if len(pending) == 0 {
			return nil
		}
		if p != nil {
			if done, err := p.exited(); done {
				return fmt.Errorf("%s exited during start-up (%v); last check: %w", p.name, err, last)
			}
		}
		select {
		case <-ctx.Done():
			if p != nil {
				if done, err := p.exited(); done {
					return fmt.Errorf("%s exited during start-up (%v); last check: %w", p.name, err, last)
				}
			}
			return fmt.Errorf("%s not ready within %s: %w", nameOf(p), deadline, last)
		case <-tick.C:
		}
	}
}

func nameOf(p *proc) string {
	if p == nil {
		return "server"
	}
	return p.name
}

// greets returns a readiness check that connects to addr and reads the
// first line, which must start with prefix ("220 " for SMTP, "* OK" for
// IMAP). A bare accept is not enough: the master listens before the
// serving process is ready.
func greets(addr, prefix string) func(context.Context) error {
	return func(ctx context.Context) error {
		d := net.Dialer{Timeout: time.Second}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		defer context.AfterFunc(ctx, func() { conn.Close() })()
		_ = conn.SetDeadline(time.Now().Add(time.Second))
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			return fmt.Errorf("%s: read greeting: %w", addr, err)
		}
		if !strings.HasPrefix(line, prefix) {
			return fmt.Errorf("%s: unexpected greeting %q", addr, strings.TrimSpace(line))
		}
		return nil
	}
}

// accepts returns a readiness check that only connects.
func accepts(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		d := net.Dialer{Timeout: time.Second}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
}

// refuses returns a check that passes once nothing accepts on addr any
// more (the port is free for the next start, and clients see the outage).
func refuses(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		d := net.Dialer{Timeout: 500 * time.Millisecond}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
			return fmt.Errorf("%s still accepts connections", addr)
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil
		}
		return err
	}
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
