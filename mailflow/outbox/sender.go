package outbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Sender opens SMTP sessions. SMTPSender is the real one; tests use it
// against the smtptest sink.
type Sender interface {
	Open(ctx context.Context) (Session, error)
}

// Session is one SMTP connection.
type Session interface {
	// Send runs one transaction: MAIL FROM:<from>, one RCPT TO per
	// recipient, and — if at least one was accepted and beforeData (may be
	// nil) returns nil — DATA with raw. The Result says what became of each
	// recipient. An error means the session is unusable (connection lost);
	// the Result then still holds what is known.
	Send(ctx context.Context, from string, rcpts []string, raw []byte, beforeData func(accepted []string) error) (*Result, error)
	Close() error
}

// Outcome of one recipient.
type Outcome int

const (
	// Delivered: the server accepted the message for the recipient.
	Delivered Outcome = iota + 1
	// Temporary: try again later (4xx, connection trouble before DATA).
	Temporary
	// Permanent: the server refused the recipient or the message for good (5xx).
	Permanent
	// Unknown: the connection was lost after DATA; the server may have it.
	Unknown
)

func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Temporary:
		return "temporary"
	case Permanent:
		return "permanent"
	case Unknown:
		return "unknown"
	}
	return "none"
}

// RcptResult is the outcome for one recipient.
type RcptResult struct {
	Addr    string
	Outcome Outcome
	Code    int    // SMTP reply code, 0 for network errors
	Message string // server's text or the error
}

// Result is the outcome of one transaction, per recipient in the order given.
type Result struct {
	Rcpts    []RcptResult
	DataSent bool // DATA was started
}

// TemporaryError is a failure worth retrying (4xx, network, timeout).
type TemporaryError struct {
	Code int
	Err  error
}

func (e *TemporaryError) Error() string { return "temporary SMTP failure: " + e.Err.Error() }
func (e *TemporaryError) Unwrap() error { return e.Err }

// PermanentError is a failure that retrying will not fix (5xx).
type PermanentError struct {
	Code int
	Err  error
}

func (e *PermanentError) Error() string { return "permanent SMTP failure: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Classify wraps err as *TemporaryError or *PermanentError by its SMTP
// code (5xx permanent; 4xx and anything without a code temporary).
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var te *TemporaryError
	var pe *PermanentError
	if errors.As(err, &te) || errors.As(err, &pe) {
		return err
	}
	code := replyCode(err)
	if code >= 500 {
		return &PermanentError{Code: code, Err: err}
	}
	return &TemporaryError{Code: code, Err: err}
}

func replyCode(err error) int {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		return se.ErrorCode()
	}
	return 0
}

// IsTemporary reports whether err is worth retrying.
func IsTemporary(err error) bool {
	var pe *PermanentError
	return err != nil && !errors.As(Classify(err), &pe)
}

// SMTPOptions configure the real sender.
type SMTPOptions struct {
	Host string
	Port int
	// TLS: "starttls" (required), "opportunistic", "implicit" (TLS from
	// the first byte, usually port 465) or "none" (loopback only).
	TLS string
	// Auth: "none", "plain", "login", "cram-md5" or "xoauth2" (Password is
	// then the OAuth2 access token).
	Auth     string
	Username string
	Password string
	// Timeout bounds the dial and every command (default 30 s).
	Timeout time.Duration
	// HELO is the name given in EHLO (default: this host's name).
	HELO string
	// TLSConfig overrides the TLS settings (e.g. RootCAs in tests);
	// ServerName defaults to Host.
	TLSConfig *tls.Config
}

// SMTPSender sends with go-mail v0.8.1.
type SMTPSender struct {
	opts   SMTPOptions
	client *gomail.Client
}

// NewSMTPSender checks the options and builds the go-mail client.
func NewSMTPSender(o SMTPOptions) (*SMTPSender, error) {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Host == "" {
		return nil, errors.New("smtp: no host")
	}
	opts := []gomail.Option{gomail.WithPort(o.Port), gomail.WithTimeout(o.Timeout), gomail.WithoutNoop()}
	if o.HELO != "" {
		opts = append(opts, gomail.WithHELO(o.HELO))
	}
	switch o.TLS {
	case "starttls", "":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "opportunistic":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case "implicit":
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "none":
		if !isLoopback(o.Host) {
			return nil, fmt.Errorf("smtp: tls none is allowed only for a loopback host, not %s", o.Host)
		}
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		return nil, fmt.Errorf("smtp: unknown TLS mode %q (starttls, opportunistic, implicit, none)", o.TLS)
	}
	tc := &tls.Config{ServerName: o.Host, MinVersion: tls.VersionTLS12}
	if o.TLSConfig != nil {
		tc = o.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = o.Host
		}
	}
	opts = append(opts, gomail.WithTLSConfig(tc))
	noEnc := o.TLS == "none"
	var mech gomail.SMTPAuthType
	switch o.Auth {
	case "none", "":
	case "plain":
		mech = gomail.SMTPAuthPlain
		if noEnc {
			mech = gomail.SMTPAuthPlainNoEnc
		}
	case "login":
		mech = gomail.SMTPAuthLogin
		if noEnc {
			mech = gomail.SMTPAuthLoginNoEnc
		}
	case "cram-md5":
		mech = gomail.SMTPAuthCramMD5
	case "xoauth2":
		mech = gomail.SMTPAuthXOAUTH2
	default:
		return nil, fmt.Errorf("smtp: unknown AUTH mechanism %q (none, plain, login, cram-md5, xoauth2)", o.Auth)
	}
	if mech != "" {
		opts = append(opts, gomail.WithSMTPAuth(mech), gomail.WithUsername(o.Username), gomail.WithPassword(o.Password))
	}
	c, err := gomail.NewClient(o.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return &SMTPSender{opts: o, client: c}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Open dials, greets, negotiates TLS and authenticates. Failures are
// *TemporaryError (a server that is down, a timeout) or *PermanentError
// (e.g. 535 authentication failed).
func (s *SMTPSender) Open(ctx context.Context) (Session, error) {
	c, err := s.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return nil, Classify(fmt.Errorf("connect to %s:%d: %w", s.opts.Host, s.opts.Port, err))
	}
	return &smtpSession{c: c, timeout: s.opts.Timeout, addr: fmt.Sprintf("%s:%d", s.opts.Host, s.opts.Port)}, nil
}

type smtpSession struct {
	c       *smtp.Client
	timeout time.Duration
	addr    string
	broken  bool
}

func (ss *smtpSession) deadline() {
	_ = ss.c.UpdateDeadline(ss.timeout)
}

func (ss *smtpSession) Send(ctx context.Context, from string, rcpts []string, raw []byte, beforeData func([]string) error) (*Result, error) {
	if ss.broken {
		return nil, &TemporaryError{Err: errors.New("connection lost")}
	}
	stop := context.AfterFunc(ctx, func() { ss.c.Close() })
	defer stop()
	res := &Result{Rcpts: make([]RcptResult, len(rcpts))}
	for i, r := range rcpts {
		res.Rcpts[i] = RcptResult{Addr: r}
	}
	setAll := func(idx []int, o Outcome, err error) {
		for _, i := range idx {
			res.Rcpts[i].Outcome, res.Rcpts[i].Code, res.Rcpts[i].Message = o, replyCode(err), oneLine(err)
		}
	}
	all := make([]int, len(rcpts))
	for i := range all {
		all[i] = i
	}
	ss.deadline()
	if err := ss.c.Mail("<" + from + ">"); err != nil {
		return res, ss.fail(err, all, setAll)
	}
	var accepted []int
	for i, r := range rcpts {
		ss.deadline()
		err := ss.c.Rcpt("<" + r + ">")
		switch {
		case err == nil:
			accepted = append(accepted, i)
		case replyCode(err) >= 500:
			setAll([]int{i}, Permanent, err)
		case replyCode(err) >= 400:
			setAll([]int{i}, Temporary, err)
		default: // connection trouble: nothing was sent
			for j := range res.Rcpts {
				if res.Rcpts[j].Outcome == 0 {
					setAll([]int{j}, Temporary, err)
				}
			}
			ss.broken = true
			return res, &TemporaryError{Err: err}
		}
	}
	if len(accepted) == 0 {
		ss.deadline()
		if err := ss.c.Reset(); err != nil {
			ss.broken = true
			return res, Classify(err)
		}
		return res, nil
	}
	if beforeData != nil {
		addrs := make([]string, len(accepted))
		for k, i := range accepted {
			addrs[k] = rcpts[i]
		}
		if err := beforeData(addrs); err != nil {
			ss.c.Reset()
			setAll(accepted, Temporary, err)
			return res, fmt.Errorf("before DATA: %w", err)
		}
	}
	ss.deadline()
	w, err := ss.c.Data()
	if err != nil {
		return res, ss.fail(err, accepted, setAll)
	}
	res.DataSent = true
	_, werr := w.Write(raw)
	cerr := w.Close()
	if werr == nil {
		werr = cerr
	}
	if werr != nil {
		if code := replyCode(werr); code >= 400 {
			o := Temporary
			if code >= 500 {
				o = Permanent
			}
			setAll(accepted, o, werr)
			return res, nil
		}
		// No answer to DATA: the server may or may not have the message.
		setAll(accepted, Unknown, werr)
		ss.broken = true
		return res, &TemporaryError{Err: fmt.Errorf("no answer to DATA from %s: %w", ss.addr, werr)}
	}
	for _, i := range accepted {
		res.Rcpts[i].Outcome, res.Rcpts[i].Code = Delivered, 250
	}
	return res, nil
}

// fail records err for the recipients idx; a reply code means the session
// goes on (after RSET), none means it is lost.
func (ss *smtpSession) fail(err error, idx []int, setAll func([]int, Outcome, error)) error {
	code := replyCode(err)
	switch {
	case code >= 500:
		setAll(idx, Permanent, err)
	default:
		setAll(idx, Temporary, err)
	}
	if code == 0 || code == 421 {
		ss.broken = true
		return Classify(err)
	}
	ss.deadline()
	if rerr := ss.c.Reset(); rerr != nil {
		ss.broken = true
		return Classify(rerr)
	}
	return nil
}

func (ss *smtpSession) Close() error {
	if ss.broken {
		return ss.c.Close()
	}
	ss.deadline()
	if err := ss.c.Quit(); err != nil {
		ss.c.Close()
		return err
	}
	return nil
}

func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}
