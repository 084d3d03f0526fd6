package imapwatch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// TLSMode is how the connection is protected.
type TLSMode string

// TLS modes.
const (
	TLSImplicit TLSMode = "implicit" // TLS from the first byte (port 993)
	TLSStartTLS TLSMode = "starttls" // plain, upgraded with STARTTLS (port 143)
	TLSNone     TLSMode = "none"     // plain IMAP: loopback hosts only
)

// AuthMode is how the watcher logs in.
type AuthMode string

// Auth modes.
const (
	AuthLogin   AuthMode = "login"   // IMAP LOGIN with Username and Password
	AuthXOAUTH2 AuthMode = "xoauth2" // SASL XOAUTH2 with an OAuth 2 access token
)

// Defaults for zero Options fields.
const (
	DefaultMailbox          = "INBOX"
	DefaultPollInterval     = 60 * time.Second
	DefaultIdleRestart      = 5 * time.Minute
	DefaultMaxSize          = 10 << 20
	DefaultProcessedKeyword = "$FabuProcessed"
	DefaultRescanWindow     = 14 * 24 * time.Hour
	DefaultBatchSize        = 200
	DefaultBatchBytes       = 8 << 20
	DefaultBackoffMin       = time.Second
	DefaultBackoffMax       = 2 * time.Minute
	DefaultCommandTimeout   = 2 * time.Minute
	DefaultDialTimeout      = 30 * time.Second

	// maxIdleRestart keeps IDLE well inside the 29 minutes after which
	// RFC 2177 lets servers drop an idle client.
	maxIdleRestart = 25 * time.Minute
)

// Options configure a Watcher. Zero fields take the defaults above.
type Options struct {
	Addr      string      // host:port of the IMAP server
	TLS       TLSMode     // default TLSImplicit
	TLSConfig *tls.Config // e.g. RootCAs for a private CA; ServerName defaults to the host
	Auth      AuthMode    // default AuthLogin
	Username  string
	// Password is the LOGIN password, or for XOAUTH2 the access token when
	// Token is nil.
	Password string
	// Token returns a fresh XOAUTH2 access token at each connect.
	Token func(ctx context.Context) (string, error)

	Mailbox string // default INBOX
	// Train is the ledger train whose inbox and cursor are used (default:
	// the store's train).
	Train string
	// CursorKey names the cursor in the ledger; default
	// "<username>@<addr>/<mailbox>".
	CursorKey string

	PollInterval time.Duration // re-check period without IDLE; default 60 s
	IdleRestart  time.Duration // IDLE is restarted (and the mailbox re-checked) this often; default 5 min, at most 25 min
	DisableIdle  bool          // poll even when the server offers IDLE

	MaxSize int64 // mails larger than this are recorded as too_large, never downloaded; default 10 MiB

	ProcessedFolder  string // where handled mail goes ("" leaves it in Mailbox)
	IgnoredFolder    string // where ignored, duplicate and too-large mail goes ("" leaves it)
	ProcessedKeyword string // flag set on every mail read; default $FabuProcessed (\Seen when keywords are refused)

	// RescanWindow is how far back (by INTERNALDATE) the first start and a
	// UIDVALIDITY change look; default 14 days. RescanAll looks at all mail.
	RescanWindow time.Duration
	RescanAll    bool

	BatchSize  int   // UIDs per FETCH; default 200
	BatchBytes int64 // bodies held for one transaction; default 8 MiB (a single larger mail up to MaxSize still goes alone)

	BackoffMin     time.Duration // first reconnect delay; default 1 s
	BackoffMax     time.Duration // reconnect delay cap; default 2 min
	CommandTimeout time.Duration // a command without an answer this long drops the connection; default 2 min
	DialTimeout    time.Duration // default 30 s

	// Observer gets connection, IDLE and per-mail events (metrics); may be nil.
	Observer Observer
}

func (o *Options) setDefaults() {
	if o.TLS == "" {
		o.TLS = TLSImplicit
	}
	if o.Auth == "" {
		o.Auth = AuthLogin
	}
	if o.Mailbox == "" {
		o.Mailbox = DefaultMailbox
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.IdleRestart <= 0 {
		o.IdleRestart = DefaultIdleRestart
	}
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.ProcessedKeyword == "" {
		o.ProcessedKeyword = DefaultProcessedKeyword
	}
	if o.RescanWindow <= 0 {
		o.RescanWindow = DefaultRescanWindow
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = DefaultBackoffMin
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = o.BackoffMin
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = DefaultCommandTimeout
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.CursorKey == "" {
		o.CursorKey = o.Username + "@" + o.Addr + "/" + o.Mailbox
	}
}

// validate reports every problem with the options at once.
func (o *Options) validate() error {
	var errs []error
	host, port, err := net.SplitHostPort(o.Addr)
	switch {
	case o.Addr == "":
		errs = append(errs, fmt.Errorf("imap address is empty: set host and port (e.g. imap.example.com:993)"))
	case err != nil:
		errs = append(errs, fmt.Errorf("imap address %q is not host:port: %v", o.Addr, err))
	default:
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("imap address %q: port %q is not a number from 1 to 65535", o.Addr, port))
		}
	}
	switch o.TLS {
	case TLSImplicit, TLSStartTLS:
	case TLSNone:
		if host != "" && !isLoopback(host) {
			errs = append(errs, fmt.Errorf("imap tls \"none\" refused for %s: the password and the replies would cross the network in clear; use tls: implicit (port 993) or starttls (port 143); plain IMAP is only allowed to loopback (127.0.0.1, ::1, localhost)", host))
		}
	default:
		errs = append(errs, fmt.Errorf("imap tls %q is not one of implicit, starttls, none", o.TLS))
	}
	switch o.Auth {
	case AuthLogin:
		if o.Password == "" {
			errs = append(errs, fmt.Errorf("imap password is empty (auth login)"))
		}
	case AuthXOAUTH2:
		if o.Password == "" && o.Token == nil {
			errs = append(errs, fmt.Errorf("imap xoauth2 needs an access token (the password field or a token source)"))
		}
	default:
		errs = append(errs, fmt.Errorf("imap auth %q is not one of login, xoauth2", o.Auth))
	}
	if o.Username == "" {
		errs = append(errs, fmt.Errorf("imap username is empty"))
	}
	if o.IdleRestart > maxIdleRestart {
		errs = append(errs, fmt.Errorf("imap idle_restart %s is too long: servers may drop an idle client after 29 minutes; use at most %s", o.IdleRestart, maxIdleRestart))
	}
	for _, f := range []struct{ name, v string }{{"processed_folder", o.ProcessedFolder}, {"ignored_folder", o.IgnoredFolder}} {
		if f.v != "" && strings.EqualFold(f.v, o.Mailbox) {
			errs = append(errs, fmt.Errorf("imap %s %q is the watched mailbox itself; choose another folder or leave it empty", f.name, f.v))
		}
		if strings.ContainsAny(f.v, "*%\r\n") {
			errs = append(errs, fmt.Errorf("imap %s %q contains a wildcard or line break", f.name, f.v))
		}
	}
	if strings.ContainsAny(o.ProcessedKeyword, " ()[]{}%*\"\\\r\n") {
		errs = append(errs, fmt.Errorf("imap processed keyword %q is not a valid IMAP keyword (atom characters only)", o.ProcessedKeyword))
	}
	return errors.Join(errs...)
}

// isLoopback reports whether host names this machine without DNS: a
// loopback IP literal or "localhost".
func isLoopback(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}
