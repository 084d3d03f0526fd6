package maillab

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// startDovecotLocked starts the Dovecot master in the foreground (-F) as a
// child of this process and waits until IMAP, IMAPS, LMTP and auth answer.
func (l *Lab) startDovecotLocked(ctx context.Context) error {
	if l.dovecot != nil {
		return errors.New("dovecot is already running")
	}
	bin, err := lookPath("dovecot")
	if err != nil {
		return err
	}
	began := time.Now()
	p, err := startProc("dovecot", l.paths.DovecotOut, true, bin, "-F", "-c", l.paths.DovecotConf)
	if err != nil {
		return err
	}
	l.dovecot = p
	err = waitReady(ctx, p, l.timeout,
		greets(l.IMAPAddr(), "* OK"),
		tlsGreets(l.IMAPSAddr(), "* OK", l.TLSConfig()),
		greets(l.LMTPAddr(), "220 "),
		greets(hostPort(l.ports.Auth), "VERSION\t"),
	)
	if err != nil {
		return fmt.Errorf("dovecot: %w\n%s", err, tail(l.paths.DovecotLog, 20)+"\n"+tail(l.paths.DovecotOut, 20))
	}
	p.ready = true
	l.log.Debug("maillab: dovecot ready", "took", time.Since(began))
	return nil
}

// stopDovecotLocked stops Dovecot and waits until its ports are closed.
func (l *Lab) stopDovecotLocked() error {
	if l.dovecot == nil {
		return nil
	}
	p := l.dovecot
	l.dovecot = nil
	err := p.stop(5 * time.Second)
	if !p.ready {
		return err
	}
	if werr := waitReady(context.Background(), nil, 10*time.Second,
		refuses(l.IMAPAddr()), refuses(l.IMAPSAddr()), refuses(l.LMTPAddr()), refuses(hostPort(l.ports.Auth)),
	); werr != nil {
		err = errors.Join(err, fmt.Errorf("dovecot stopped but: %w", werr))
	}
	return err
}

// StopIMAP stops Dovecot: IMAP logins, LMTP delivery and SMTP AUTH all
// fail until StartIMAP. Mail submitted meanwhile waits in Postfix's queue.
func (l *Lab) StopIMAP() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return errors.New("maillab: lab is stopped")
	}
	l.log.Info("maillab: fault: stopping dovecot")
	if err := l.stopDovecotLocked(); err != nil {
		return fmt.Errorf("maillab: stop dovecot: %w", err)
	}
	return nil
}

// StartIMAP starts Dovecot again on the same ports after StopIMAP.
func (l *Lab) StartIMAP(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return errors.New("maillab: lab is stopped")
	}
	err := restartOnSamePorts(ctx, l.dovecotPorts(), l.startDovecotLocked, func() {
		if l.dovecot != nil {
			_ = l.stopDovecotLocked()
		}
	})
	if err != nil {
		return fmt.Errorf("maillab: start dovecot: %w", err)
	}
	l.log.Info("maillab: dovecot running again")
	return nil
}

func (l *Lab) dovecotPorts() []int {
	return []int{l.ports.IMAP, l.ports.IMAPS, l.ports.LMTP, l.ports.Auth}
}

// RestartIMAP stops and starts Dovecot (a server restart as clients see
// it: connections drop, IDLE ends, the next login works).
func (l *Lab) RestartIMAP(ctx context.Context) error {
	if err := l.StopIMAP(); err != nil {
		return err
	}
	return l.StartIMAP(ctx)
}

// doveadm runs a doveadm command against the lab's Dovecot.
func (l *Lab) doveadm(ctx context.Context, args ...string) (string, error) {
	bin, err := lookPath("doveadm")
	if err != nil {
		return "", err
	}
	argv := append([]string{"-c", l.paths.DovecotConf}, args...)
	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("doveadm %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// RecreateMailbox deletes a user's mailbox and creates it again, empty,
// with a new UIDVALIDITY (what a client sees after a server migration or
// a mailbox rebuild). INBOX cannot be deleted in Dovecot: it is emptied
// and given a new UIDVALIDITY instead, which clients see the same way.
func (l *Lab) RecreateMailbox(ctx context.Context, user, mailbox string) error {
	if _, ok := l.Password(user); !ok {
		return fmt.Errorf("maillab: recreate mailbox: %q is not a lab user", user)
	}
	if strings.EqualFold(mailbox, "INBOX") {
		old, err := l.doveadmUIDValidity(ctx, user, "INBOX")
		if err != nil {
			return fmt.Errorf("maillab: recreate INBOX of %s: %w", user, err)
		}
		if _, err := l.doveadm(ctx, "expunge", "-u", user, "mailbox", "INBOX", "all"); err != nil {
			return fmt.Errorf("maillab: recreate INBOX of %s: %w", user, err)
		}
		next := uint32(time.Now().Unix())
		if next <= old {
			next = old + 1
		}
		if _, err := l.doveadm(ctx, "mailbox", "update", "-u", user, "--uid-validity", strconv.FormatUint(uint64(next), 10), "INBOX"); err != nil {
			return fmt.Errorf("maillab: recreate INBOX of %s: %w", user, err)
		}
		l.log.Info("maillab: fault: INBOX emptied with new UIDVALIDITY", "user", user, "old", old, "new", next)
		return nil
	}
	if _, err := l.doveadm(ctx, "mailbox", "delete", "-u", user, mailbox); err != nil {
		return fmt.Errorf("maillab: recreate %s of %s: %w", mailbox, user, err)
	}
	if _, err := l.doveadm(ctx, "mailbox", "create", "-s", "-u", user, mailbox); err != nil {
		return fmt.Errorf("maillab: recreate %s of %s: %w", mailbox, user, err)
	}
	l.log.Info("maillab: fault: mailbox recreated", "user", user, "mailbox", mailbox)
	return nil
}

// doveadmUIDValidity reads a mailbox's UIDVALIDITY without IMAP.
func (l *Lab) doveadmUIDValidity(ctx context.Context, user, mailbox string) (uint32, error) {
	out, err := l.doveadm(ctx, "-f", "flow", "mailbox", "status", "-u", user, "uidvalidity", mailbox)
	if err != nil {
		return 0, err
	}
	_, v, ok := strings.Cut(strings.TrimSpace(out), "uidvalidity=")
	if !ok {
		return 0, fmt.Errorf("doveadm mailbox status: unexpected output %q", out)
	}
	n, err := strconv.ParseUint(strings.Fields(v)[0], 10, 32)
	if err != nil {
		return 0, fmt.Errorf("doveadm mailbox status: uidvalidity %q: %w", v, err)
	}
	return uint32(n), nil
}

// tlsGreets is greets over implicit TLS, verifying the lab certificate.
func tlsGreets(addr, prefix string, cfg *tls.Config) func(context.Context) error {
	return func(ctx context.Context) error {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: time.Second}, Config: cfg}
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
