package imaptest

import (
	"fmt"
	"sort"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Message is a message as a client sees it in a mailbox.
type Message struct {
	UID   uint32
	Flags []string
	Raw   []byte
}

// HasFlag reports whether the message carries flag (case-insensitive).
func (m Message) HasFlag(flag string) bool {
	for _, f := range m.Flags {
		if equalFold(f, flag) {
			return true
		}
	}
	return false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Dial opens a logged-in client session as user, over the server's TLS
// mode. The caller closes it.
func (s *Server) Dial(user string) (*imapclient.Client, error) {
	a, err := s.user(user)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	password := a.password
	s.mu.Unlock()
	opts := &imapclient.Options{TLSConfig: s.ClientTLSConfig()}
	var c *imapclient.Client
	switch s.opts.TLS {
	case TLSImplicit:
		c, err = imapclient.DialTLS(s.Addr, opts)
	case TLSStartTLS:
		c, err = imapclient.DialStartTLS(s.Addr, opts)
	default:
		c, err = imapclient.DialInsecure(s.Addr, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("imaptest: dial: %w", err)
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imaptest: login: %w", err)
	}
	return c, nil
}

// Messages lists user's mailbox over IMAP (read-only, bodies peeked), in
// UID order.
func (s *Server) Messages(user, mailbox string) ([]Message, error) {
	c, err := s.Dial(user)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("imaptest: select %s: %w", mailbox, err)
	}
	if sel.NumMessages == 0 {
		return nil, nil
	}
	bufs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID:         true,
		Flags:       true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil {
		return nil, fmt.Errorf("imaptest: fetch %s: %w", mailbox, err)
	}
	out := make([]Message, 0, len(bufs))
	for _, b := range bufs {
		m := Message{UID: uint32(b.UID)}
		for _, f := range b.Flags {
			m.Flags = append(m.Flags, string(f))
		}
		for _, sec := range b.BodySection {
			m.Raw = sec.Bytes
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	c.Logout().Wait()
	return out, nil
}
