package demo

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/fabu-team/fabu/mailflow/reply"
)

// Cast is the scripted people: on each delivery they look for fabu's mail
// that their script answers and reply through the SMTP server, from their
// mail client's style, at the scripted time. A reply holds the demo's clock
// until fabu has read it and the mail it must bring about is delivered.
type Cast struct {
	ctx   context.Context
	clock *Clock
	post  *PostOffice
	warn  func(string)

	mu      sync.Mutex
	cues    []cue
	played  []bool
	pending []*expectation
	wrote   map[string]*cue // reply Message-ID (bare, lower case) → its cue
	wg      sync.WaitGroup
}

// expectation is a reply waiting to be read and answered.
type expectation struct {
	who      string
	msgID    string
	recorded bool
	kinds    map[string]bool // fabu's mails still to come
	release  func()
}

// NewCast returns the demo's people playing script on post, with clock;
// warn reports what went wrong (a reply that could not be sent).
func NewCast(ctx context.Context, clock *Clock, post *PostOffice, warn func(string)) *Cast {
	cues := script()
	return &Cast{ctx: ctx, clock: clock, post: post, warn: warn, cues: cues, played: make([]bool, len(cues)), wrote: map[string]*cue{}}
}

// Delivered is told about every delivered mail (in order): fabu's mail may
// be what a pending reply waited for, and may prompt a person's reply.
func (c *Cast) Delivered(m *Mail) {
	if !m.FromFabu {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.pending {
		delete(e.kinds, m.Kind)
	}
	c.settleLocked()
	for _, box := range m.Mailboxes {
		p, ok := personByAddr(box)
		if !ok {
			continue
		}
		for i := range c.cues {
			q := &c.cues[i]
			if c.played[i] || q.who != p.Name || q.kind != m.Kind || (q.step != "" && q.step != m.Step) {
				continue
			}
			c.played[i] = true
			at, err := q.replyAt(m.At)
			if err != nil {
				c.warn(err.Error())
				continue
			}
			// The timer is set before the clock may move on.
			held := c.clock.HoldAt(at, p.Name+" replying to the "+m.Kind+" mail")
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				select {
				case release := <-held:
					c.perform(q, p, m, release)
				case <-c.ctx.Done():
				}
			}()
		}
	}
}

// Recorded is told about every mail fabu's watcher recorded (its
// Message-ID as the inbox keeps it).
func (c *Cast) Recorded(messageID string) {
	id := strings.ToLower(strings.Trim(strings.TrimSpace(messageID), "<>"))
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.pending {
		if e.msgID == id {
			e.recorded = true
		}
	}
	c.settleLocked()
}

// settleLocked lets go of the replies that fabu has read and answered.
func (c *Cast) settleLocked() {
	kept := c.pending[:0]
	for _, e := range c.pending {
		if e.recorded && len(e.kinds) == 0 {
			e.release()
			continue
		}
		kept = append(kept, e)
	}
	c.pending = kept
}

// Wrote returns the cue of a reply the cast sent (by Message-ID).
func (c *Cast) Wrote(messageID string) (who, does, body string, ok bool) {
	id := strings.ToLower(strings.Trim(strings.TrimSpace(messageID), "<>"))
	c.mu.Lock()
	defer c.mu.Unlock()
	q, ok := c.wrote[id]
	if !ok {
		return "", "", "", false
	}
	return q.who, q.does, q.body, true
}

// Problems lists what the script expected and did not see: cues never
// prompted, replies fabu never read or answered.
func (c *Cast) Problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for i, q := range c.cues {
		if !c.played[i] {
			what := q.kind
			if q.step != "" {
				what += " " + q.step
			}
			out = append(out, fmt.Sprintf("%s never got the %s mail they answer in the script", q.who, what))
		}
	}
	for _, e := range c.pending {
		switch {
		case !e.recorded:
			out = append(out, fmt.Sprintf("fabu never read %s's reply <%s>", e.who, e.msgID))
		default:
			var kinds []string
			for k := range e.kinds {
				kinds = append(kinds, k)
			}
			out = append(out, fmt.Sprintf("%s's reply <%s> did not bring fabu's %s mail", e.who, e.msgID, strings.Join(kinds, ", ")))
		}
	}
	return out
}

// Wait waits for the people's goroutines (after the context ended).
func (c *Cast) Wait() { c.wg.Wait() }

// perform plays one cue at its time (the clock stands still): write the
// reply, send it, and keep the clock held until fabu has read it
// and sent what it must.
func (c *Cast) perform(q *cue, p Person, m *Mail, release func()) {
	to := m.ReplyTo
	if to == "" {
		to = m.Msg.From.Addr
	}
	suffix, err := randomHex(8)
	if err != nil {
		release()
		c.warn(err.Error())
		return
	}
	id := fmt.Sprintf("%s.%s@%s", c.clock.Now().Format("20060102150405"), suffix, demoDomain)
	orig := original{From: m.Msg.From, To: m.Msg.To, Subject: m.Msg.Subject, Date: m.Msg.Date, MessageID: m.Msg.MessageID,
		Refs: m.Msg.References, Text: m.Msg.TextBody}
	if orig.Date.IsZero() {
		orig.Date = m.At
	}
	raw, err := composeReply(q.style, p, to, orig, q.body, c.clock.Now(), id)
	if err != nil {
		release()
		c.warn(fmt.Sprintf("%s could not write the reply: %v", p.Name, err))
		return
	}
	e := &expectation{who: p.Name, msgID: strings.ToLower(id), kinds: map[string]bool{}, release: release}
	for _, k := range q.expect {
		e.kinds[k] = true
	}
	c.mu.Lock()
	c.wrote[e.msgID] = q
	c.pending = append(c.pending, e)
	c.mu.Unlock()
	if err := c.post.Send(p.Email(), []string{to}, raw); err != nil {
		c.mu.Lock()
		for i, x := range c.pending {
			if x == e {
				c.pending = append(c.pending[:i], c.pending[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
		release()
		c.warn(fmt.Sprintf("%s could not send the reply: %v", p.Name, err))
	}
}

// newText is what the reply's author wrote (for the timeline), as one line.
func newText(body string) string {
	var parts []string
	for _, l := range strings.Split(body, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l == "--" {
			continue
		}
		parts = append(parts, l)
	}
	return strings.Join(parts, " · ")
}

// replyAddress is the Reply-To of a mail, else "".
func replyAddress(h reply.Header) string {
	v := strings.TrimSpace(h.Get("Reply-To"))
	if v == "" {
		return ""
	}
	if i := strings.LastIndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return v[i+1 : i+j]
		}
	}
	return v
}
