// Package imaptest starts go-imap's in-memory IMAP server (imapmemserver)
// on loopback for tests of every fabu package that reads mail: users with
// passwords or XOAUTH2 tokens, mailboxes, delivering a message, dropping
// every connection (a server restart), recreating a mailbox (a new
// UIDVALIDITY), implicit TLS or STARTTLS with a throw-away certificate,
// hiding IDLE or MOVE from the capabilities, and a log of which UIDs had
// their bodies fetched.
//
// It is not a mock: clients speak real IMAP over TCP to it. It is not for
// production and not a mail store: everything lives in memory and is gone
// when the test ends.
package imaptest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// TLS modes of the listener.
const (
	TLSNone     = "none"     // plain IMAP (login allowed without TLS)
	TLSImplicit = "implicit" // TLS from the first byte (like port 993)
	TLSStartTLS = "starttls" // plain, upgraded with STARTTLS
)

// Options shape the server.
type Options struct {
	// TLS is TLSNone (default), TLSImplicit or TLSStartTLS.
	TLS string
	// NoIdle hides IDLE from CAPABILITY (not with TLSStartTLS).
	NoIdle bool
	// NoMove hides MOVE, so clients fall back to COPY+STORE+EXPUNGE.
	NoMove bool
	// SilentIdle makes IDLE report nothing (like a server or proxy that
	// loses IDLE notifications); updates arrive with the next command.
	SilentIdle bool
	// Debug receives the raw protocol (credentials included), if set.
	Debug io.Writer
}

// Server is a running in-memory IMAP server on 127.0.0.1.
type Server struct {
	// Addr is host:port to dial.
	Addr string

	opts      Options
	srv       *imapserver.Server
	ln        net.Listener
	clientTLS *tls.Config

	mu          sync.Mutex
	users       map[string]*account
	conns       map[net.Conn]struct{}
	bodyFetches []bodyFetch
	logins      int
	closed      bool
}

type account struct {
	mem      *imapmemserver.User
	password string
	tokens   map[string]bool
}

type bodyFetch struct {
	user, mailbox string
	uids          imap.UIDSet
}

// Start runs a server until the test ends.
func Start(tb testing.TB, o Options) *Server {
	tb.Helper()
	s, err := NewServer(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// NewServer runs a server until Close (for benchmarks and helpers that
// manage the lifetime themselves).
func NewServer(o Options) (*Server, error) {
	if o.TLS == "" {
		o.TLS = TLSNone
	}
	if o.NoIdle && o.TLS == TLSStartTLS {
		return nil, fmt.Errorf("imaptest: NoIdle cannot be combined with STARTTLS")
	}
	s := &Server{opts: o, users: map[string]*account{}, conns: map[net.Conn]struct{}{}}

	caps := imap.CapSet{
		imap.CapIMAP4rev1:   {},
		imap.CapNamespace:   {},
		imap.CapUIDPlus:     {},
		imap.CapLiteralPlus: {},
	}
	if !o.NoMove {
		caps[imap.CapMove] = struct{}{}
	}
	so := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &session{srv: s}, nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
		DebugWriter:  o.Debug,
	}

	var ln net.Listener
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("imaptest: listen: %w", err)
	}
	ln = &trackingListener{Listener: raw, srv: s}
	if o.TLS != TLSNone {
		serverTLS, clientTLS, err := selfSigned()
		if err != nil {
			raw.Close()
			return nil, err
		}
		s.clientTLS = clientTLS
		switch o.TLS {
		case TLSImplicit:
			ln = tls.NewListener(ln, serverTLS)
		case TLSStartTLS:
			so.TLSConfig = serverTLS
		default:
			raw.Close()
			return nil, fmt.Errorf("imaptest: unknown TLS mode %q", o.TLS)
		}
	}
	if o.NoIdle {
		ln = &capFilterListener{Listener: ln}
	}
	s.ln = ln
	s.Addr = raw.Addr().String()
	s.srv = imapserver.New(so)
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server and closes every connection.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.srv.Close()
}

// ClientTLSConfig trusts the server's throw-away certificate (nil for TLSNone).
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// AddUser adds a user with INBOX and the given extra mailboxes.
func (s *Server) AddUser(name, password string, mailboxes ...string) {
	u := imapmemserver.NewUser(name, password)
	for _, mb := range append([]string{"INBOX"}, mailboxes...) {
		if err := u.Create(mb, nil); err != nil {
			panic(fmt.Sprintf("imaptest: create %s: %v", mb, err))
		}
	}
	s.mu.Lock()
	s.users[name] = &account{mem: u, password: password, tokens: map[string]bool{}}
	s.mu.Unlock()
}

// SetPassword changes a user's password (existing sessions stay).
func (s *Server) SetPassword(name, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.users[name]; a != nil {
		a.password = password
	}
}

// AddToken accepts token as an XOAUTH2 bearer token for the user.
func (s *Server) AddToken(name, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.users[name]; a != nil {
		a.tokens[token] = true
	}
}

// Logins counts successful logins (LOGIN or AUTHENTICATE) so far.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

func (s *Server) user(name string) (*account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.users[name]
	if a == nil {
		return nil, fmt.Errorf("imaptest: no user %q", name)
	}
	return a, nil
}

// CreateMailbox creates a mailbox for user.
func (s *Server) CreateMailbox(user, name string) error {
	a, err := s.user(user)
	if err != nil {
		return err
	}
	return a.mem.Create(name, nil)
}

// Append delivers raw into user's mailbox with the current time as its
// INTERNALDATE and returns its UID.
func (s *Server) Append(user, mailbox string, raw []byte) (uint32, error) {
	return s.AppendAt(user, mailbox, raw, time.Now())
}

// AppendAt delivers raw with the given INTERNALDATE.
func (s *Server) AppendAt(user, mailbox string, raw []byte, at time.Time) (uint32, error) {
	a, err := s.user(user)
	if err != nil {
		return 0, err
	}
	data, err := a.mem.Append(mailbox, literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{Time: at})
	if err != nil {
		return 0, fmt.Errorf("imaptest: append to %s: %w", mailbox, err)
	}
	return uint32(data.UID), nil
}

// DropConnections closes every client connection, as a server restart or
// a network cut would; the server keeps listening. It returns how many
// connections it closed.
func (s *Server) DropConnections() int {
	s.mu.Lock()
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	return len(conns)
}

// RecreateMailbox deletes and recreates user's mailbox (so it gets a new,
// higher UIDVALIDITY and no messages) and drops every connection, so
// clients see the change on their next SELECT. It returns the new
// UIDVALIDITY.
func (s *Server) RecreateMailbox(user, name string) (uint32, error) {
	a, err := s.user(user)
	if err != nil {
		return 0, err
	}
	if err := a.mem.Delete(name); err != nil {
		return 0, fmt.Errorf("imaptest: delete %s: %w", name, err)
	}
	if err := a.mem.Create(name, nil); err != nil {
		return 0, fmt.Errorf("imaptest: create %s: %w", name, err)
	}
	s.DropConnections()
	st, err := a.mem.Status(name, &imap.StatusOptions{UIDValidity: true})
	if err != nil {
		return 0, err
	}
	return st.UIDValidity, nil
}

// UIDValidity returns the mailbox's current UIDVALIDITY.
func (s *Server) UIDValidity(user, mailbox string) (uint32, error) {
	a, err := s.user(user)
	if err != nil {
		return 0, err
	}
	st, err := a.mem.Status(mailbox, &imap.StatusOptions{UIDValidity: true})
	if err != nil {
		return 0, err
	}
	return st.UIDValidity, nil
}

// BodyFetched reports whether any client fetched the body (any BODY[...]
// section) of uid in user's mailbox.
func (s *Server) BodyFetched(user, mailbox string, uid uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.bodyFetches {
		if f.user == user && f.mailbox == mailbox && f.uids.Contains(imap.UID(uid)) {
			return true
		}
	}
	return false
}

func (s *Server) recordBodyFetch(f bodyFetch) {
	s.mu.Lock()
	s.bodyFetches = append(s.bodyFetches, f)
	s.mu.Unlock()
}

// literal is an imap.LiteralReader over bytes.
type literal struct {
	io.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

// trackingListener remembers accepted connections for DropConnections.
type trackingListener struct {
	net.Listener
	srv *Server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, srv: l.srv}
	l.srv.mu.Lock()
	l.srv.conns[tc] = struct{}{}
	l.srv.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	srv  *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.srv.mu.Lock()
		delete(c.srv.conns, c)
		c.srv.mu.Unlock()
	})
	err := c.Conn.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
