package demo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// maxMessageBytes bounds one message the demo's SMTP server accepts.
const maxMessageBytes = 25 << 20

// Account is a mailbox of the post office: one per person and one for
// fabu. Its IMAP login is the address.
type Account struct {
	Name     string // the person's name, e.g. 李经理
	Email    string
	Password string
	user     *imapmemserver.User
}

// Delivery is one message the SMTP server accepted and put into the
// mailboxes of its recipients.
type Delivery struct {
	Seq       int       // from 1, in the order the server accepted them
	At        time.Time // simulated time of delivery
	From      string    // envelope sender
	Rcpts     []string  // envelope recipients as given (plus-addresses kept)
	Mailboxes []string  // addresses of the accounts it was put into
	Raw       []byte
}

// PostOffice is the demo's mail servers on loopback: SMTP (go-smtp) that
// delivers every accepted message into the IMAP mailboxes (imapmemserver)
// of its recipients. Addresses with a +tag go to the mailbox without it
// (fabu+TOKEN@ is fabu@). It is plain text on loopback only: a toy post
// office for the demo, not a mail server.
type PostOffice struct {
	clock func() time.Time
	log   *slog.Logger

	mem     *imapmemserver.Server
	imapSrv *imapserver.Server
	imapLn  net.Listener
	smtpSrv *smtp.Server
	smtpLn  net.Listener
	served  sync.WaitGroup

	mu       sync.Mutex
	accounts map[string]*Account // lower-case address → account
	hooks    []func(Delivery)
	seq      int
	closed   bool

	deliverMu sync.Mutex // one delivery at a time, hooks in order
}

// NewPostOffice starts both servers on 127.0.0.1 on free ports. clock
// stamps each delivery (the IMAP INTERNALDATE too).
func NewPostOffice(clock func() time.Time, logger *slog.Logger) (*PostOffice, error) {
	if clock == nil {
		clock = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &PostOffice{clock: clock, log: logger, mem: imapmemserver.New(), accounts: map[string]*Account{}}
	var err error
	if p.imapLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("demo IMAP server: listen: %w", err)
	}
	if p.smtpLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		p.imapLn.Close()
		return nil, fmt.Errorf("demo SMTP server: listen: %w", err)
	}
	quiet := log.New(io.Discard, "", 0)
	p.imapSrv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return p.mem.NewSession(), &imapserver.GreetingData{PreAuth: false}, nil
		},
		Caps: imap.CapSet{
			imap.CapIMAP4rev1: {}, imap.CapNamespace: {}, imap.CapUIDPlus: {},
			imap.CapLiteralPlus: {}, imap.CapMove: {},
		},
		InsecureAuth: true, // plain IMAP, loopback only
		Logger:       quiet,
	})
	p.smtpSrv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{p: p}, nil
	}))
	p.smtpSrv.Domain = "fabu-demo.localhost"
	p.smtpSrv.AllowInsecureAuth = true // plain SMTP, loopback only
	p.smtpSrv.MaxMessageBytes = maxMessageBytes
	p.smtpSrv.MaxRecipients = 100
	p.smtpSrv.ReadTimeout = time.Minute
	p.smtpSrv.WriteTimeout = time.Minute
	p.smtpSrv.ErrorLog = quiet
	p.served.Add(2)
	go func() { defer p.served.Done(); p.imapSrv.Serve(p.imapLn) }()
	go func() { defer p.served.Done(); p.smtpSrv.Serve(p.smtpLn) }()
	return p, nil
}

// SMTPAddr is the SMTP server's host:port.
func (p *PostOffice) SMTPAddr() string { return p.smtpLn.Addr().String() }

// IMAPAddr is the IMAP server's host:port.
func (p *PostOffice) IMAPAddr() string { return p.imapLn.Addr().String() }

// AddAccount creates the mailbox of email (INBOX) with its IMAP password.
func (p *PostOffice) AddAccount(name, email, password string) (*Account, error) {
	key := strings.ToLower(strings.TrimSpace(email))
	if key == "" || !strings.Contains(key, "@") {
		return nil, fmt.Errorf("demo post office: %q is not a mail address", email)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.accounts[key]; ok {
		return nil, fmt.Errorf("demo post office: %s has a mailbox already", email)
	}
	u := imapmemserver.NewUser(key, password)
	if err := u.Create("INBOX", nil); err != nil {
		return nil, fmt.Errorf("demo post office: create INBOX of %s: %w", email, err)
	}
	p.mem.AddUser(u)
	a := &Account{Name: name, Email: key, Password: password, user: u}
	p.accounts[key] = a
	return a, nil
}

// Accounts lists the mailboxes by address.
func (p *PostOffice) Accounts() []*Account {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*Account, 0, len(p.accounts))
	for _, a := range p.accounts {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	return out
}

// OnDeliver adds a hook called after each delivery, in delivery order, on
// the SMTP session's goroutine before the server answers the client: keep
// it short (start goroutines for slow work).
func (p *PostOffice) OnDeliver(f func(Delivery)) {
	p.mu.Lock()
	p.hooks = append(p.hooks, f)
	p.mu.Unlock()
}

// account finds the mailbox of addr (its +tag ignored).
func (p *PostOffice) account(addr string) *Account {
	key := mailboxOf(addr)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accounts[key]
}

// mailboxOf lower-cases addr and drops a +tag from its local part.
func mailboxOf(addr string) string {
	a := strings.ToLower(strings.Trim(strings.TrimSpace(addr), "<>"))
	local, domain, ok := strings.Cut(a, "@")
	if !ok {
		return a
	}
	if i := strings.IndexByte(local, '+'); i >= 0 {
		local = local[:i]
	}
	return local + "@" + domain
}

// deliver puts raw into the mailboxes of rcpts and runs the hooks.
func (p *PostOffice) deliver(from string, rcpts []string, raw []byte) error {
	p.deliverMu.Lock()
	defer p.deliverMu.Unlock()
	at := p.clock()
	var boxes []string
	for _, r := range rcpts {
		a := p.account(r)
		if a == nil {
			return fmt.Errorf("no mailbox for %s", r) // checked at RCPT already
		}
		if containsStr(boxes, a.Email) {
			continue
		}
		if _, err := a.user.Append("INBOX", literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{Time: at}); err != nil {
			return fmt.Errorf("deliver to %s: %w", a.Email, err)
		}
		boxes = append(boxes, a.Email)
	}
	p.mu.Lock()
	p.seq++
	d := Delivery{Seq: p.seq, At: at, From: from, Rcpts: append([]string(nil), rcpts...), Mailboxes: boxes, Raw: raw}
	hooks := append([]func(Delivery){}, p.hooks...)
	p.mu.Unlock()
	for _, h := range hooks {
		h(d)
	}
	return nil
}

// Send submits raw over SMTP as a mail client would (the scripted people
// reply this way): from the envelope sender from to the recipients to.
func (p *PostOffice) Send(from string, to []string, raw []byte) error {
	c, err := smtp.Dial(p.SMTPAddr())
	if err != nil {
		return fmt.Errorf("send mail from %s: connect to SMTP %s: %w", from, p.SMTPAddr(), err)
	}
	defer c.Close()
	if err := c.Hello("client." + demoDomain); err != nil {
		return fmt.Errorf("send mail from %s: EHLO: %w", from, err)
	}
	if err := c.SendMail(from, to, bytes.NewReader(raw)); err != nil {
		return fmt.Errorf("send mail from %s over SMTP %s: %w", from, p.SMTPAddr(), err)
	}
	return c.Quit()
}

// Close stops both servers and closes every connection.
func (p *PostOffice) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	p.smtpSrv.Close()
	p.imapSrv.Close()
	p.smtpLn.Close()
	p.imapLn.Close()
	p.served.Wait()
}

// login checks an SMTP AUTH login against the mailboxes.
func (p *PostOffice) login(user, pass string) error {
	a := p.account(user)
	if a == nil || a.Password != pass {
		return smtp.ErrAuthFailed
	}
	return nil
}

// smtpSession is one SMTP session: AUTH is offered (PLAIN, LOGIN) but not
// required; recipients must have a mailbox here.
type smtpSession struct {
	p     *PostOffice
	from  string
	rcpts []string
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return smtp.ErrAuthFailed
			}
			return s.p.login(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: s.p.login}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.p.account(to) == nil {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
			Message: "no mailbox " + to + " in the fabu demo (only the demo's people have one)"}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(io.LimitReader(r, maxMessageBytes+1))
	if err != nil {
		return err
	}
	if len(raw) > maxMessageBytes {
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "message too big for the demo"}
	}
	if len(s.rcpts) == 0 {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "no valid recipients"}
	}
	if err := s.p.deliver(s.from, s.rcpts, raw); err != nil {
		s.p.log.Error("demo post office: delivery failed", "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "delivery failed: " + err.Error()}
	}
	return nil
}

func (s *smtpSession) Reset() { s.from, s.rcpts = "", nil }

func (s *smtpSession) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN (username, then password).
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if len(resp) > 0 { // initial response: the username
			l.user = string(resp)
			l.step = 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(resp)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, false, errors.New("unexpected AUTH LOGIN step")
}

// literal is an imap.LiteralReader over bytes.
type literal struct {
	io.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
