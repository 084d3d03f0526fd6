package main

// Watching the people's mailboxes cheaply while the week runs: one IMAP
// session per mailbox kept open, a server-side SEARCH for fabu's
// X-Fabu-Step header, and only the matches fetched. (Fetching whole
// mailboxes several times a second costs the loaded CI machine CPU the
// daemon under test needs.)

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/fabu-team/fabu/cmd/fabu/internal/maillab"
)

// mailboxPoller is an IMAP session on one user's INBOX, reopened after
// any error (a Dovecot restart).
type mailboxPoller struct {
	lab  *maillab.Lab
	user string

	mu     sync.Mutex
	c      *imapclient.Client
	parsed map[uint32]*e2eMail // by UID, for this session's UIDVALIDITY
}

func (p *mailboxPoller) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.c != nil {
		p.c.Close()
		p.c = nil
	}
}

// find returns fabu's mails of the week's release whose X-Fabu-Step is
// one of steps, in UID order.
func (p *mailboxPoller) find(ctx context.Context, steps ...string) ([]*e2eMail, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.c == nil {
		c, err := p.lab.DialIMAP(ctx, p.user, nil)
		if err != nil {
			return nil, err
		}
		if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			c.Close()
			return nil, err
		}
		p.c, p.parsed = c, map[uint32]*e2eMail{}
	}
	out, err := p.findLocked(ctx, steps)
	if err != nil {
		p.c.Close()
		p.c = nil
	}
	return out, err
}

func (p *mailboxPoller) findLocked(ctx context.Context, steps []string) ([]*e2eMail, error) {
	stop := context.AfterFunc(ctx, func() { p.c.Close() })
	defer stop()
	var uids []imap.UID
	for _, step := range steps {
		data, err := p.c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{
			{Key: "X-Fabu-Step", Value: step}, {Key: "X-Fabu-Release", Value: e2eRelease},
		}}, nil).Wait()
		if err != nil {
			return nil, err
		}
		uids = append(uids, data.AllUIDs()...)
	}
	var missing []imap.UID
	for _, u := range uids {
		if p.parsed[uint32(u)] == nil {
			missing = append(missing, u)
		}
	}
	if len(missing) > 0 {
		section := &imap.FetchItemBodySection{Peek: true}
		bufs, err := p.c.Fetch(imap.UIDSetNum(missing...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			return nil, err
		}
		for _, b := range bufs {
			raw := b.FindBodySection(section)
			m, err := parseE2EMail(maillab.Message{UID: uint32(b.UID), Raw: raw, MessageID: e2eHeaderMessageID(raw)})
			if err != nil {
				return nil, err
			}
			p.parsed[uint32(b.UID)] = m
		}
	}
	var out []*e2eMail
	seen := map[uint32]bool{}
	for _, u := range uids {
		m := p.parsed[uint32(u)]
		if m == nil || seen[m.UID] {
			continue
		}
		seen[m.UID] = true
		for _, step := range steps {
			if m.Step == step && m.Release == e2eRelease { // SEARCH HEADER matches substrings
				out = append(out, m)
				break
			}
		}
	}
	e2eSortByUID(out)
	return out, nil
}

func e2eSortByUID(ms []*e2eMail) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].UID < ms[j-1].UID; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// e2eHeaderMessageID reads the Message-ID header of a raw mail, without the
// angle brackets.
func e2eHeaderMessageID(raw []byte) string {
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Message-ID") {
			return strings.Trim(strings.TrimSpace(v), "<>")
		}
	}
	return ""
}

// poller returns the (shared) poller of user's INBOX.
func (e *e2eEnv) poller(user string) *mailboxPoller {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pollers == nil {
		e.pollers = map[string]*mailboxPoller{}
		e.t.Cleanup(func() {
			e.mu.Lock()
			defer e.mu.Unlock()
			for _, p := range e.pollers {
				p.close()
			}
		})
	}
	p := e.pollers[user]
	if p == nil {
		p = &mailboxPoller{lab: e.lab, user: user}
		e.pollers[user] = p
	}
	return p
}

// stepSkipped reports whether a daemon run logged that it skipped step of
// the week's release (a reminder whose day had passed when fabu could
// run it).
func (e *e2eEnv) stepSkipped(step string) (bool, string) {
	e.mu.Lock()
	n := e.runs
	e.mu.Unlock()
	for i := 1; i <= n; i++ {
		b, _ := os.ReadFile(fmt.Sprintf("%s/run-%03d.log", e.dir, i))
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, `msg="step skipped"`) && strings.Contains(l, "release="+e2eRelease+" step="+step+" ") {
				return true, l
			}
		}
	}
	return false, ""
}
