package maillab

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultDomain is the mail domain of a lab whose Options leave it empty.
// ".test" is reserved (RFC 2606): nothing outside can ever answer for it.
const DefaultDomain = "maillab.test"

// Options configures a lab.
type Options struct {
	// Dir holds all of the lab's state (configs, certificates, queue,
	// mailboxes, logs). Required for Start; StartT uses t.TempDir() when
	// empty. The folder and its parents must be searchable by the "mail"
	// and "postfix" users (StartT arranges that for its temp dir). A
	// second Start on the same Dir after Stop keeps the mailboxes.
	Dir string
	// Domain is the one mail domain the lab delivers to (default
	// DefaultDomain). Mail to other domains bounces.
	Domain string
	// Users are the mailbox owners; every Email must be in Domain. They
	// log in to IMAP and SMTP submission with Email and Password.
	Users []User
	// Mailboxes are created (and subscribed) for every user next to INBOX.
	Mailboxes []string
	// Logger receives the lab's own events (start, stop, faults, timings);
	// nil discards them. The servers log to files in Dir/log.
	Logger *slog.Logger
	// StartTimeout bounds each server start (default 20 s).
	StartTimeout time.Duration

	// pickPorts replaces freePorts in tests of the port-clash retry.
	pickPorts func(n int) ([]int, error)
}

// User is one mailbox owner.
type User struct {
	Email    string
	Password string
}

// Lab is a running private Dovecot + Postfix pair. Its methods are safe
// for concurrent use.
type Lab struct {
	domain    string
	users     map[string]string // email → password
	mailboxes []string
	log       *slog.Logger
	timeout   time.Duration
	paths     paths
	ports     ports
	tls       tlsFiles
	pool      *x509.CertPool
	postfix   string // daemon_directory of the installed Postfix
	pickPorts func(n int) ([]int, error)

	startTook time.Duration

	mu      sync.Mutex // guards the fields below; held across start/stop
	dovecot *proc
	master  *proc
	stopped bool
}

var (
	localPart = regexp.MustCompile(`^[A-Za-z0-9._+-]+$`)
	domainRE  = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)
	mailboxRE = regexp.MustCompile(`^[^"\\{}\x00-\x1f\x7f%*]+$`)
)

// validate checks the options and fills in defaults.
func (o *Options) validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("Options.Dir is empty: give a folder for the lab's state (StartT uses t.TempDir())"))
	} else if !filepath.IsAbs(o.Dir) {
		abs, err := filepath.Abs(o.Dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("Options.Dir %q: %w", o.Dir, err))
		}
		o.Dir = abs
	}
	if o.Domain == "" {
		o.Domain = DefaultDomain
	}
	o.Domain = strings.ToLower(o.Domain)
	if !domainRE.MatchString(o.Domain) {
		errs = append(errs, fmt.Errorf("Options.Domain %q: want a dotted domain name such as %s", o.Domain, DefaultDomain))
	}
	if len(o.Users) == 0 {
		errs = append(errs, errors.New("Options.Users is empty: give at least one User{Email, Password}"))
	}
	seen := map[string]bool{}
	users := make([]User, len(o.Users))
	for i, u := range o.Users {
		// Dovecot lowercases login names before the passwd-file lookup
		// (auth_username_format = %Lu), so the tables hold them lowercased.
		u.Email = strings.ToLower(u.Email)
		users[i] = u
		local, dom, ok := strings.Cut(u.Email, "@")
		switch {
		case !ok || !localPart.MatchString(local):
			errs = append(errs, fmt.Errorf("Options.Users[%d].Email %q: want local@%s with letters, digits and ._+- in the local part", i, u.Email, o.Domain))
		case !strings.EqualFold(dom, o.Domain):
			errs = append(errs, fmt.Errorf("Options.Users[%d].Email %q: not in the lab domain %s", i, u.Email, o.Domain))
		case seen[u.Email]:
			errs = append(errs, fmt.Errorf("Options.Users[%d].Email %q: listed twice", i, u.Email))
		}
		seen[u.Email] = true
		if u.Password == "" || strings.ContainsAny(u.Password, ":\r\n\x00") {
			errs = append(errs, fmt.Errorf("Options.Users[%d].Password: must be non-empty, without ':' or line breaks", i))
		}
	}
	for i, m := range o.Mailboxes {
		if !mailboxRE.MatchString(m) || strings.EqualFold(m, "INBOX") {
			errs = append(errs, fmt.Errorf("Options.Mailboxes[%d] %q: not a usable mailbox name (no quotes, braces, wildcards, control characters; not INBOX)", i, m))
		}
	}
	o.Users = users
	if o.StartTimeout <= 0 {
		o.StartTimeout = 20 * time.Second
	}
	return errors.Join(errs...)
}

// Start brings up a private Dovecot (IMAP, IMAPS, LMTP, SASL auth) and a
// private Postfix (SMTP and submission, delivering over LMTP into
// Dovecot) on free loopback ports, with state in opts.Dir. It returns
// when both answer on all their ports. Call Stop when done.
func Start(ctx context.Context, opts Options) (*Lab, error) {
	begin := time.Now()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("maillab: %w", err)
	}
	if err := Available(); err != nil {
		return nil, fmt.Errorf("maillab: %w", err)
	}
	daemonDir, err := postfixDaemonDir()
	if err != nil {
		return nil, fmt.Errorf("maillab: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l := &Lab{
		domain:    opts.Domain,
		users:     make(map[string]string, len(opts.Users)),
		mailboxes: opts.Mailboxes,
		log:       log,
		timeout:   opts.StartTimeout,
		paths:     newPaths(opts.Dir),
		postfix:   daemonDir,
		pickPorts: opts.pickPorts,
	}
	if l.pickPorts == nil {
		l.pickPorts = freePorts
	}
	for _, u := range opts.Users {
		l.users[strings.ToLower(u.Email)] = u.Password
	}
	if err := l.prepare(opts.Users); err != nil {
		l.removeShortDir()
		return nil, fmt.Errorf("maillab: prepare %s: %w", opts.Dir, err)
	}

	// Ports are free when picked but released before the servers bind
	// them; on the rare clash start again with new ones.
	const attempts = 3
	for attempt := 1; ; attempt++ {
		err = l.startAll(ctx)
		if err == nil {
			break
		}
		l.mu.Lock()
		_ = l.stopLocked()
		l.mu.Unlock()
		clash := l.portClash()
		releasePorts(l.ports.list())
		if attempt == attempts || !clash || ctx.Err() != nil {
			var pfErr *postfixStartError
			if !clash && errors.As(err, &pfErr) {
				err = fmt.Errorf("%w\n%s", err, l.postfixDiagnose(ctx))
			}
			l.removeShortDir()
			return nil, fmt.Errorf("maillab: start in %s: %w", opts.Dir, err)
		}
		log.Warn("maillab: port clash, starting again with new ports", "attempt", attempt, "err", err)
	}
	l.startTook = time.Since(begin)
	log.Info("maillab: started", "dir", opts.Dir, "took", l.startTook,
		"imap", l.IMAPAddr(), "imaps", l.IMAPSAddr(), "smtp", l.SMTPAddr(), "submission", l.SubmissionAddr())
	return l, nil
}

// prepare creates the folders, certificates and user tables.
func (l *Lab) prepare(users []User) error {
	p := &l.paths
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(p.Dir, 0o755); err != nil {
		return err
	}
	if err := searchableByOthers(p.Dir); err != nil {
		return err
	}
	mailUID, mailGID, err := lookupIDs("mail")
	if err != nil {
		return err
	}
	pfUID, pfGID, err := lookupIDs("postfix")
	if err != nil {
		return err
	}
	for _, d := range []string{p.TLS, filepath.Dir(p.DovecotConf), p.DovecotState, p.PostfixConf, p.PostfixQueue, p.Log} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if len(p.DovecotRun) > maxRunDirLen || len(p.PostfixQueue) > maxQueueDirLen {
		short, err := os.MkdirTemp(shortTempBase(), "maillab-")
		if err != nil {
			return fmt.Errorf("short folder for sockets: %w", err)
		}
		if err := os.Chmod(short, 0o755); err != nil {
			return err
		}
		p.Short = short
		if len(p.DovecotRun) > maxRunDirLen {
			p.DovecotRun = filepath.Join(short, "run")
		}
		if len(p.PostfixQueue) > maxQueueDirLen {
			p.PostfixQueueDir = filepath.Join(short, "q")
			if err := os.Symlink(p.PostfixQueue, p.PostfixQueueDir); err != nil {
				return fmt.Errorf("short link to the postfix queue: %w", err)
			}
		}
	}
	// Dovecot refuses a base_dir others can write to; keep it 0755.
	if err := os.MkdirAll(p.DovecotRun, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(p.DovecotRun, 0o755); err != nil {
		return err
	}
	// A master.pid left by a killed run makes Dovecot refuse to start if
	// the pid was reused; no Dovecot of ours is running at this point.
	_ = os.Remove(filepath.Join(p.DovecotRun, "master.pid"))

	for _, own := range []struct {
		dir      string
		uid, gid int
		mode     os.FileMode
	}{
		{p.Mail, mailUID, mailGID, 0o750},
		{filepath.Join(p.Mail, l.domain), mailUID, mailGID, 0o750},
		{p.PostfixData, pfUID, pfGID, 0o700},
	} {
		if err := os.MkdirAll(own.dir, own.mode); err != nil {
			return err
		}
		if err := os.Chown(own.dir, own.uid, own.gid); err != nil {
			return err
		}
	}

	tf, err := makeTLS(p.TLS, time.Now())
	if err != nil {
		return err
	}
	l.tls = tf
	l.pool = x509.NewCertPool()
	if !l.pool.AppendCertsFromPEM(tf.CAPEM) {
		return errors.New("load the lab CA into a pool: no certificate found")
	}
	return writeFiles(0o644, map[string]string{
		p.DovecotUsers:                           dovecotUsers(users),
		filepath.Join(p.PostfixConf, "vmailbox"): postfixVmailbox(users),
	})
}

// startAll picks ports, writes the configs and starts both servers.
func (l *Lab) startAll(ctx context.Context) error {
	free, err := l.pickPorts(6)
	if err != nil {
		return err
	}
	l.ports = ports{IMAP: free[0], IMAPS: free[1], LMTP: free[2], Auth: free[3], SMTP: free[4], Submission: free[5]}
	sum := sha256.Sum256([]byte(l.paths.Dir))
	instance := "maillab-" + hex.EncodeToString(sum[:4])
	if err := writeFiles(0o644, map[string]string{
		l.paths.DovecotConf:                             dovecotConf(l.paths, l.ports, l.tls, l.domain, instance, l.mailboxes),
		filepath.Join(l.paths.PostfixConf, "main.cf"):   postfixMain(l.paths, l.ports, l.tls, l.domain),
		filepath.Join(l.paths.PostfixConf, "master.cf"): postfixMaster(l.ports),
	}); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.startDovecotLocked(ctx); err != nil {
		return err
	}
	return l.startPostfixLocked(ctx)
}

// portClash reports whether the last failed start was a bind clash: one
// of the lab's ports (the servers are stopped now) is held by another
// socket. Probing beats reading logs: the Postfix master's early fatal
// errors go to syslog, which a test machine usually lacks.
func (l *Lab) portClash() bool { return len(portsInUse(l.ports.list())) > 0 }

// Stop stops both servers (SIGTERM, then SIGKILL for stragglers) and
// waits until their ports refuse connections. The state in Dir stays, so
// a later Start on the same Dir finds the mail again. Stop is idempotent.
func (l *Lab) Stop() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return nil
	}
	l.stopped = true
	err := l.stopLocked()
	releasePorts(l.ports.list())
	l.removeShortDir()
	l.log.Info("maillab: stopped", "dir", l.paths.Dir, "err", err)
	return err
}

func (l *Lab) stopLocked() error {
	return errors.Join(l.stopPostfixLocked(), l.stopDovecotLocked())
}

func (l *Lab) removeShortDir() {
	if l.paths.Short != "" {
		_ = os.RemoveAll(l.paths.Short)
	}
}

// Dir is the folder holding the lab's state.
func (l *Lab) Dir() string { return l.paths.Dir }

// Domain is the lab's mail domain.
func (l *Lab) Domain() string { return l.domain }

// Password returns the password of a lab user.
func (l *Lab) Password(email string) (string, bool) {
	pw, ok := l.users[strings.ToLower(email)]
	return pw, ok
}

// StartDuration is how long Start took (both servers answering).
func (l *Lab) StartDuration() time.Duration { return l.startTook }

// IMAPAddr is Dovecot's IMAP port (plain, offers STARTTLS), host:port.
func (l *Lab) IMAPAddr() string { return hostPort(l.ports.IMAP) }

// IMAPSAddr is Dovecot's IMAP port with implicit TLS.
func (l *Lab) IMAPSAddr() string { return hostPort(l.ports.IMAPS) }

// SubmissionAddr is Postfix's submission port: STARTTLS is required
// before AUTH (PLAIN or LOGIN, checked by Dovecot), AUTH before MAIL.
func (l *Lab) SubmissionAddr() string { return hostPort(l.ports.Submission) }

// SMTPAddr is Postfix's MX-like port: no AUTH, STARTTLS offered, accepts
// mail for the lab domain only ("mail from outside").
func (l *Lab) SMTPAddr() string { return hostPort(l.ports.SMTP) }

// LMTPAddr is Dovecot's LMTP port (what Postfix delivers to).
func (l *Lab) LMTPAddr() string { return hostPort(l.ports.LMTP) }

// ServerName is the name the lab's certificate is issued for (it also
// covers 127.0.0.1).
const ServerName = "localhost"

// CACertPEM is the PEM of the throw-away CA that signed the servers'
// certificate.
func (l *Lab) CACertPEM() []byte { return append([]byte(nil), l.tls.CAPEM...) }

// CertPool holds the lab CA, for tls.Config.RootCAs.
func (l *Lab) CertPool() *x509.CertPool { return l.pool.Clone() }

// TLSConfig is a client configuration that trusts the lab CA and checks
// the server name against the certificate.
func (l *Lab) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: l.CertPool(), ServerName: ServerName, MinVersion: tls.VersionTLS12}
}

// LogTail returns the last n lines of the Dovecot and Postfix logs, for
// test failure messages.
func (l *Lab) LogTail(n int) string {
	var b strings.Builder
	for _, f := range []string{l.paths.DovecotLog, l.paths.DovecotOut, l.paths.PostfixLog, l.paths.PostfixOut} {
		if t := tail(f, n); t != "" {
			fmt.Fprintf(&b, "==> %s <==\n%s\n", f, t)
		}
	}
	return b.String()
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// shortTempBase is where a too-long Dovecot socket folder goes instead.
func shortTempBase() string {
	if t := os.TempDir(); len(t) < 20 {
		return t
	}
	return "/tmp"
}
