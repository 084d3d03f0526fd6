// Package smtptest is a real SMTP server on loopback for tests (go-smtp):
// it records every message with its envelope and can be switched to
// misbehave the way mail servers do — refuse sessions, answer 421/451/550
// for chosen recipients or for DATA, drop the connection after DATA, or be
// stopped and restarted on the same port. It offers STARTTLS or implicit
// TLS with a throw-away certificate and AUTH PLAIN, LOGIN, CRAM-MD5 and
// XOAUTH2, so the client's real protocol paths are exercised.
//
// It is for tests of every package; it is not a mail server to run.
package smtptest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the sink accepted (or received before dropping
// the connection).
type Message struct {
	From      string
	To        []string
	Data      []byte
	MessageID string // Message-ID header without angle brackets
	Subject   string // raw Subject header (may be RFC 2047 encoded)
	Header    mail.Header
	Conn      int  // connection number, from 1
	Dropped   bool // the connection was dropped after DATA: the client got no answer
	Seq       int  // order of arrival, from 1
}

// EventKind says what happened in a session.
type EventKind string

const (
	EvConnect  EventKind = "connect"  // a client connected (at EHLO)
	EvMail     EventKind = "mail"     // MAIL FROM
	EvRcpt     EventKind = "rcpt"     // RCPT TO (Arg: address)
	EvData     EventKind = "data"     // DATA started (message not yet read)
	EvAccepted EventKind = "accepted" // message stored; the 250 is about to be written
	EvQuit     EventKind = "quit"     // session ended
)

// Event is reported to the OnEvent hook, in order, from the session's
// goroutine, before the sink answers the command.
type Event struct {
	Kind EventKind
	Conn int
	Arg  string
	Seq  int // counts every event, from 1
}

// Options configure a Sink.
type Options struct {
	// TLS enables STARTTLS (or, with Implicit, TLS from the first byte).
	// Use SelfSigned for a certificate.
	TLS      *tls.Config
	Implicit bool
	// Username and Password enable AUTH (PLAIN, LOGIN, CRAM-MD5; XOAUTH2
	// takes Password as the bearer token). RequireAuth refuses MAIL before
	// AUTH.
	Username    string
	Password    string
	RequireAuth bool
	// Mechanisms limits the AUTH mechanisms offered (default all four).
	Mechanisms []string
}

// Sink is the server. Its methods are safe for concurrent use.
type Sink struct {
	opts Options
	addr string

	mu        sync.Mutex
	cond      *sync.Cond
	srv       *smtp.Server
	ln        net.Listener
	msgs      []Message
	conns     int
	events    int
	authLog   []string
	rejects   map[string]*rule // lower-case address → rule
	dataRule  *rule
	dropAfter int // drop the next n connections after DATA
	refuse    bool
	onEvent   func(Event)
	served    chan struct{}
}

type rule struct {
	code  int
	times int // > 0: that many more times; 0: always; -1: spent
}

// Start starts a sink on 127.0.0.1 (a free port) and stops it when the
// test ends.
func Start(t testing.TB, opts Options) *Sink {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// New starts a sink on 127.0.0.1 on a free port.
func New(opts Options) (*Sink, error) {
	s := &Sink{opts: opts, rejects: map[string]*rule{}}
	s.cond = sync.NewCond(&s.mu)
	if err := s.listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Sink) listen(addr string) error {
	var ln net.Listener
	var err error
	if s.opts.Implicit {
		if s.opts.TLS == nil {
			return errors.New("smtptest: implicit TLS needs Options.TLS")
		}
		ln, err = tls.Listen("tcp", addr, s.opts.TLS)
	} else {
		ln, err = net.Listen("tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("smtptest: listen %s: %w", addr, err)
	}
	srv := smtp.NewServer(&backend{s: s})
	srv.Domain = "sink.localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 64 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if !s.opts.Implicit {
		srv.TLSConfig = s.opts.TLS
	}
	served := make(chan struct{})
	s.mu.Lock()
	s.srv, s.ln, s.addr, s.served = srv, ln, ln.Addr().String(), served
	s.mu.Unlock()
	go func() {
		defer close(served)
		srv.Serve(ln)
	}()
	return nil
}

// Addr is host:port.
func (s *Sink) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Host is the listening host (127.0.0.1).
func (s *Sink) Host() string {
	h, _, _ := net.SplitHostPort(s.Addr())
	return h
}

// Port is the listening port.
func (s *Sink) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr())
	var n int
	fmt.Sscan(p, &n)
	return n
}

// Stop closes the listener and every connection: new connections are
// refused at the TCP level until Restart. Messages are kept.
func (s *Sink) Stop() {
	s.mu.Lock()
	srv, ln, served := s.srv, s.ln, s.served
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
		// Serve registers its listener only once it runs: close it here too,
		// or a Stop right after listen leaves Serve accepting forever.
		ln.Close()
		<-served
	}
}

// Restart listens again on the same port after Stop.
func (s *Sink) Restart() error {
	s.mu.Lock()
	running := s.srv != nil
	addr := s.addr
	s.mu.Unlock()
	if running {
		return nil
	}
	var err error
	for range 50 { // the port may linger for a moment after Close
		if err = s.listen(addr); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return err
}

// Refuse makes the sink answer every new session with 421 (on) or serve
// again (off).
func (s *Sink) Refuse(on bool) {
	s.mu.Lock()
	s.refuse = on
	s.mu.Unlock()
}

// RejectRcpt answers RCPT TO:<addr> with code (e.g. 421, 451, 550) the
// next times times, or always when times <= 0. Code 0 removes the rule.
func (s *Sink) RejectRcpt(addr string, code, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.rejects, strings.ToLower(addr))
		return
	}
	s.rejects[strings.ToLower(addr)] = &rule{code: code, times: max(times, 0)}
}

// FailData answers the end of DATA with code (e.g. 451, 554) the next
// times times (always when times <= 0); the message is not stored.
// Code 0 removes the rule.
func (s *Sink) FailData(code, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		s.dataRule = nil
		return
	}
	s.dataRule = &rule{code: code, times: max(times, 0)}
}

// DropAfterData makes the next n sessions store the message and then close
// the connection without answering the DATA: the client cannot know
// whether the message went through.
func (s *Sink) DropAfterData(n int) {
	s.mu.Lock()
	s.dropAfter = n
	s.mu.Unlock()
}

// OnEvent sets a hook called for every event before the sink answers.
func (s *Sink) OnEvent(fn func(Event)) {
	s.mu.Lock()
	s.onEvent = fn
	s.mu.Unlock()
}

// Messages returns a copy of the messages received so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Reset forgets the messages received so far.
func (s *Sink) Reset() {
	s.mu.Lock()
	s.msgs = nil
	s.mu.Unlock()
}

// WaitMessages waits until n messages have arrived or timeout passes, and
// returns the messages.
func (s *Sink) WaitMessages(n int, timeout time.Duration) ([]Message, error) {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer timer.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.msgs) < n {
		if !time.Now().Before(deadline) {
			return append([]Message(nil), s.msgs...), fmt.Errorf("smtptest: %d of %d messages after %s", len(s.msgs), n, timeout)
		}
		s.cond.Wait()
	}
	return append([]Message(nil), s.msgs...), nil
}

// ByMessageID counts the messages received with each Message-ID.
func (s *Sink) ByMessageID() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]int{}
	for _, msg := range s.msgs {
		m[msg.MessageID]++
	}
	return m
}

// Connections is the number of sessions so far.
func (s *Sink) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// AuthLog lists "MECHANISM user" for every successful AUTH.
func (s *Sink) AuthLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.authLog...)
}

// emit reports an event; the hook runs without the lock held.
func (s *Sink) emit(kind EventKind, conn int, arg string) {
	s.mu.Lock()
	s.events++
	ev := Event{Kind: kind, Conn: conn, Arg: arg, Seq: s.events}
	fn := s.onEvent
	s.mu.Unlock()
	if fn != nil {
		fn(ev)
	}
}

func (r *rule) fire() (int, bool) {
	if r == nil {
		return 0, false
	}
	if r.times > 0 {
		r.times--
		if r.times == 0 {
			r.times = -1 // spent
		}
	} else if r.times < 0 {
		return 0, false
	}
	return r.code, true
}

type backend struct{ s *Sink }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s := b.s
	s.mu.Lock()
	s.conns++
	n := s.conns
	refuse := s.refuse
	s.mu.Unlock()
	s.emit(EvConnect, n, "")
	if refuse {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service not available (smtptest refuses)"}
	}
	return &session{s: s, c: c, n: n}, nil
}

type session struct {
	s        *Sink
	c        *smtp.Conn
	n        int
	from     string
	to       []string
	authDone bool
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error {
	ss.s.emit(EvQuit, ss.n, "")
	return nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.RequireAuth && !ss.authDone {
		return smtp.ErrAuthRequired
	}
	ss.s.emit(EvMail, ss.n, from)
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.emit(EvRcpt, ss.n, to)
	ss.s.mu.Lock()
	code, hit := ss.s.rejects[strings.ToLower(to)].fire()
	ss.s.mu.Unlock()
	if hit {
		return &smtp.SMTPError{Code: code, EnhancedCode: enhanced(code), Message: fmt.Sprintf("smtptest rejects %s", to)}
	}
	ss.to = append(ss.to, to)
	return nil
}

func enhanced(code int) smtp.EnhancedCode {
	switch {
	case code == 550:
		return smtp.EnhancedCode{5, 1, 1}
	case code >= 500:
		return smtp.EnhancedCode{5, 0, 0}
	case code == 421:
		return smtp.EnhancedCode{4, 3, 2}
	default:
		return smtp.EnhancedCode{4, 3, 0}
	}
}

func (ss *session) Data(r io.Reader) error {
	ss.s.emit(EvData, ss.n, "")
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.s
	s.mu.Lock()
	code, fail := s.dataRule.fire()
	drop := s.dropAfter > 0
	if drop {
		s.dropAfter--
	}
	s.mu.Unlock()
	if fail {
		return &smtp.SMTPError{Code: code, EnhancedCode: enhanced(code), Message: "smtptest fails DATA"}
	}
	msg := Message{From: ss.from, To: append([]string(nil), ss.to...), Data: data, Conn: ss.n, Dropped: drop}
	if m, err := mail.ReadMessage(bytes.NewReader(data)); err == nil {
		msg.Header = m.Header
		msg.MessageID = strings.Trim(strings.TrimSpace(m.Header.Get("Message-Id")), "<>")
		msg.Subject = m.Header.Get("Subject")
	}
	s.mu.Lock()
	msg.Seq = len(s.msgs) + 1
	s.msgs = append(s.msgs, msg)
	s.cond.Broadcast()
	s.mu.Unlock()
	s.emit(EvAccepted, ss.n, msg.MessageID)
	if drop {
		ss.c.Conn().Close()
		return errors.New("smtptest dropped the connection")
	}
	return nil
}

// AuthMechanisms implements smtp.AuthSession.
func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" && ss.s.opts.Password == "" {
		return nil
	}
	if len(ss.s.opts.Mechanisms) > 0 {
		return ss.s.opts.Mechanisms
	}
	return []string{sasl.Plain, sasl.Login, "CRAM-MD5", "XOAUTH2"}
}

// Auth implements smtp.AuthSession.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	o := ss.s.opts
	ok := func(user string) error {
		ss.authDone = true
		ss.s.mu.Lock()
		ss.s.authLog = append(ss.s.authLog, mech+" "+user)
		ss.s.mu.Unlock()
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if user != o.Username || pass != o.Password {
				return smtp.ErrAuthFailed
			}
			return ok(user)
		}), nil
	case sasl.Login:
		return &loginServer{check: func(user, pass string) error {
			if user != o.Username || pass != o.Password {
				return smtp.ErrAuthFailed
			}
			return ok(user)
		}}, nil
	case "CRAM-MD5":
		return newCRAMServer(o.Username, o.Password, ok), nil
	case "XOAUTH2":
		return &xoauth2Server{check: func(user, token string) error {
			if user != o.Username || token != o.Password {
				return smtp.ErrAuthFailed
			}
			return ok(user)
		}}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}
