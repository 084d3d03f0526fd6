package intake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/imapwatch"
	"github.com/fabu-team/fabu/mailflow/reply"
	"github.com/fabu-team/fabu/mailflow/train"
)

// Verdicts the handler records in the inbox (ledger.Received.Verdict) and
// in the audit log (action "reply.<verdict>").
const (
	VerdictDecided  = "decided"  // approved, rejected or confirmed released
	VerdictVote     = "vote"     // an approval or rejection counted toward the rule, not yet deciding
	VerdictResults  = "results"  // test results recorded
	VerdictUnclear  = "unclear"  // nothing decided; the sender got a clarification mail
	VerdictRelayed  = "relayed"  // a manager's out-of-office, relayed to the others
	VerdictOutdated = "outdated" // answered an outdated report; the current one was mailed
	VerdictRefused  = "refused"  // a known person's reply that could not be used
	VerdictIgnored  = "ignored"  // matched nothing, or from someone or something that never decides
)

// processed lists the verdicts whose mail goes to the processed folder.
var processed = map[string]bool{VerdictDecided: true, VerdictVote: true, VerdictResults: true,
	VerdictUnclear: true, VerdictRelayed: true, VerdictOutdated: true}

// Handler is the imapwatch.Handler of the reply intake. Build it with New.
type Handler struct {
	dir *Directory
	tr  *train.Train
	o   Options

	mu      sync.Mutex
	pending map[string]postCommit // by inbox key (Incoming.MessageID)
}

// postCommit is what to do once a handled mail's transaction committed.
type postCommit struct {
	verdict   string
	kick      bool
	allPassed string
	at        time.Time
}

// maxPending bounds the post-commit actions kept for transactions that
// never reported a commit (rolled back for good).
const maxPending = 10000

// New returns the reply intake over the people of dir and the mail steps
// of tr (whose Store, People and Options must describe the same train).
func New(dir *Directory, tr *train.Train, o Options) (*Handler, error) {
	var errs []error
	if dir == nil {
		errs = append(errs, errors.New("no directory of people"))
	}
	if tr == nil {
		errs = append(errs, errors.New("no train"))
	}
	if err := o.check(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("reply intake: %w", err)
	}
	return &Handler{dir: dir, tr: tr, o: o, pending: map[string]postCommit{}}, nil
}

// Handling is everything the handler made of one mail: the outcome the
// watcher records, and the trail behind it (for logs and `fabu reply
// explain`).
type Handling struct {
	Outcome     imapwatch.Outcome  `json:"outcome"`
	MessageID   string             `json:"message_id"`
	From        string             `json:"from"`
	Explanation *reply.Explanation `json:"-"`
	Match       *Match             `json:"match,omitempty"`
	Sender      *Person            `json:"sender,omitempty"`
	// MayAnswer tells whether the sender holds the role the matched mail
	// asked an answer of; Authority says why (or why not).
	MayAnswer bool   `json:"may_answer"`
	Authority string `json:"authority,omitempty"`
	// Intent is what the reply was taken to say (for testers after
	// reading environment names).
	Intent  string          `json:"intent,omitempty"`
	Actions []string        `json:"actions"`
	Results []ledger.Result `json:"results,omitempty"`
	// Mailed: mail was queued (the outbox worker is kicked after commit).
	Mailed bool `json:"mailed"`
	// AllPassed names the open release whose entries all passed the last
	// environment after this reply (OnAllPassed after commit).
	AllPassed string `json:"all_passed,omitempty"`
}

func (hd *Handling) act(format string, args ...any) {
	hd.Actions = append(hd.Actions, fmt.Sprintf(format, args...))
}

// HandleMail implements imapwatch.Handler: it decides what m means and
// records it (and the mails it causes) through tx. The actions that must
// wait for the commit (waking the outbox, the early report) run when the
// watcher reports the mail recorded: wire Observer into the watcher.
func (h *Handler) HandleMail(ctx context.Context, tx *ledger.Tx, m *imapwatch.Incoming) (imapwatch.Outcome, error) {
	hd, err := h.Handle(ctx, tx, m)
	if err != nil {
		return imapwatch.Outcome{}, err
	}
	h.remember(m.MessageID, hd)
	h.o.Logger.Debug("reply handled", "message_id", m.MessageID, "from", hd.From, "verdict", hd.Outcome.Verdict,
		"release", hd.Outcome.Release, "step", hd.Outcome.Step, "reason", hd.Outcome.Reason)
	return hd.Outcome, nil
}

// Handle is HandleMail without the post-commit bookkeeping: it does all
// the work in tx and returns the whole trail. `fabu reply explain` runs it
// in a transaction it rolls back (a dry run).
func (h *Handler) Handle(ctx context.Context, tx *ledger.Tx, m *imapwatch.Incoming) (*Handling, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hd := &Handling{MessageID: m.MessageID, From: m.From, Actions: []string{}}
	verdict, reason, err := h.handle(tx, m, hd)
	if err != nil {
		return nil, err
	}
	hd.Outcome.Verdict, hd.Outcome.Reason, hd.Outcome.Processed = verdict, reason, processed[verdict]
	if hd.Match != nil {
		hd.Outcome.Release, hd.Outcome.Step = hd.Match.Release, hd.Match.Step
	}
	actor := hd.From
	if hd.Sender != nil {
		actor = hd.Sender.Name
	}
	detail := reason
	if hd.Match != nil && hd.Match.Via != "" {
		detail += "; matched by " + hd.Match.Via
	}
	if m.RawHash != "" {
		detail += "; sha256 " + m.RawHash
	}
	if err := tx.Audit(ledger.AuditRecord{Actor: clip(actor, 200), Action: "reply." + verdict, Subject: m.MessageID,
		Detail: clip(detail, 2000), Release: hd.Outcome.Release}); err != nil {
		return nil, fmt.Errorf("audit reply %s: %w", m.MessageID, err)
	}
	return hd, nil
}

// handle is the decision procedure; it returns the verdict and its reason.
func (h *Handler) handle(tx *ledger.Tx, in *imapwatch.Incoming, hd *Handling) (string, string, error) {
	if len(in.Raw) == 0 {
		return VerdictIgnored, "no mail body to read", nil
	}
	msg, err := reply.Parse(bytes.NewReader(in.Raw), h.o.Parse)
	if err != nil {
		return VerdictIgnored, clip("the mail cannot be read: "+err.Error(), 300), nil
	}
	from := strings.ToLower(strings.TrimSpace(msg.From.Addr))
	hd.From = from
	if from == "" {
		return VerdictIgnored, "the mail has no From address", nil
	}
	if h.dir.IsOwn(from) {
		return VerdictIgnored, "fabu's own mail came back (From " + from + ")", nil
	}
	e := reply.ExplainMessage(msg, h.o.Words)
	hd.Explanation, hd.Intent = e, e.Intent
	now := tx.Now()
	if h.o.Clock != nil {
		now = h.o.Clock()
	}
	match, ref, err := h.match(tx, msg, now)
	if err != nil {
		return "", "", fmt.Errorf("match reply %s: %w", in.MessageID, err)
	}
	hd.Match = match
	p := h.dir.Lookup(from)
	hd.Sender = p
	if p == nil {
		return VerdictIgnored, fmt.Sprintf("unknown sender %s: not a configured person; nothing decided and no mail sent to it", from), nil
	}
	if err := h.o.Auth.Check(textproto.MIMEHeader(msg.Header), domainOf(from)); err != nil {
		return VerdictIgnored, "the sender's address is not authenticated: " + err.Error() + "; nothing decided, no mail sent", nil
	}
	c := &call{h: h, tx: tx, in: in, msg: msg, e: e, p: p, m: match, hd: hd}
	if match == nil && ref == nil {
		return c.unmatched()
	}
	if ref != nil {
		return c.refuse(ref)
	}
	if e.AutoReply {
		return c.autoReply()
	}
	return c.dispatch()
}

// call is one mail on its way through the decision.
type call struct {
	h   *Handler
	tx  *ledger.Tx
	in  *imapwatch.Incoming
	msg *reply.Message
	e   *reply.Explanation
	p   *Person
	m   *Match
	hd  *Handling
	rel *ledger.Release
}

// actionable reports whether the reply tried to decide or report something
// (as opposed to a "thanks" or a question).
func actionable(intent string) bool {
	switch reply.Kind(intent) {
	case reply.IntentApprove, reply.IntentReject, reply.IntentPartial, reply.IntentDone, reply.IntentResults:
		return true
	}
	return false
}

func (c *call) unmatched() (string, string, error) {
	reason := "matches no mail fabu sent (no In-Reply-To or References to a sent mail, no reply token): ignored, nothing guessed"
	if actionable(c.e.Intent) && !c.e.AutoReply {
		problem := c.h.say("无法确定您回复的是哪一期、哪封邮件；请直接回复 fabu 发出的邮件（保留邮件标题中的 [#…] 标记）",
			"fabu could not tell which release and mail you answered; please reply to the mail fabu sent (keep the [#…] tag in the subject)")
		if err := c.notify("", problem); err != nil {
			return "", "", err
		}
		return VerdictRefused, reason + "; the sender was told how to reply", nil
	}
	return VerdictIgnored, reason, nil
}

func (c *call) refuse(r *refusal) (string, string, error) {
	if r.notify && r.problem != "" && actionable(c.e.Intent) && !c.e.AutoReply {
		release := ""
		if c.m != nil {
			release = c.m.Release
		}
		if err := c.notify(release, r.problem); err != nil {
			return "", "", err
		}
		return r.verdict, r.reason + "; the sender was told why", nil
	}
	return r.verdict, r.reason, nil
}

// ref is the reply as the train's steps need it.
func (c *call) ref() train.ReplyRef {
	date := c.msg.Date
	if date.IsZero() {
		date = c.in.InternalDate
	}
	r := train.ReplyRef{From: c.p.Addresses[0], Name: c.p.Name, Subject: c.msg.Subject, Date: date,
		MessageID: bareID(c.in.MessageID), Excerpt: clip(strings.TrimSpace(c.e.NewText), 500)}
	if c.m != nil {
		r.Step, r.Role = c.m.Step, c.m.Role
	}
	return r
}

// notify tells the (known) sender that the reply was not used and why.
func (c *call) notify(release, problem string) error {
	err := c.h.tr.NotifyCannotUse(c.tx, release, c.ref(), problem)
	if errors.Is(err, train.ErrUnknownPerson) {
		c.h.o.Logger.Warn("reply intake: the train does not know a person the directory knows; no notice sent", "from", c.hd.From)
		return nil
	}
	if err != nil {
		return stepError("tell the sender the reply was not used", err)
	}
	c.hd.Mailed = true
	c.hd.act("mailed %s that the reply was not used: %s", c.p.Name, problem)
	return nil
}

// clarify mails the sender what was understood and how to reply.
func (c *call) clarify(understood string) (string, string, error) {
	err := c.h.tr.Clarify(c.tx, c.m.Release, c.ref(), understood)
	if errors.Is(err, train.ErrUnknownPerson) {
		return VerdictIgnored, "unclear reply from " + c.p.Name + ", whom the train cannot mail", nil
	}
	if err != nil {
		return "", "", stepError("mail a clarification", err)
	}
	c.hd.Mailed = true
	c.hd.act("mailed %s a clarification: %s", c.p.Name, understood)
	return VerdictUnclear, "unclear (" + c.e.Why + "): " + understood + "; the sender was asked to reply again", nil
}

// stepError marks a failure of a train step as permanent for this mail: a
// template or a configuration problem does not go away by retrying, and
// retrying would hold up every later reply. The mail is recorded as failed.
func stepError(what string, err error) error {
	return imapwatch.Permanent(fmt.Errorf("%s: %w", what, err))
}

// remember keeps the post-commit actions of a handled mail.
func (h *Handler) remember(key string, hd *Handling) {
	pc := postCommit{verdict: hd.Outcome.Verdict, kick: hd.Mailed, allPassed: hd.AllPassed, at: time.Now()}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !pc.kick && pc.allPassed == "" {
		delete(h.pending, key)
		return
	}
	if len(h.pending) >= maxPending {
		for k, v := range h.pending {
			if time.Since(v.at) > time.Hour {
				delete(h.pending, k)
			}
		}
	}
	h.pending[key] = pc
}

// Committed runs the post-commit actions of a recorded mail: it wakes the
// outbox worker when the reply queued mail and calls OnAllPassed when the
// reply completed the tests of an open release. The Observer calls it.
func (h *Handler) Committed(r ledger.Received) {
	if r.Verdict == ledger.VerdictDuplicate {
		return // the handler was not called for this delivery
	}
	h.mu.Lock()
	pc, ok := h.pending[r.MessageID]
	delete(h.pending, r.MessageID)
	h.mu.Unlock()
	if !ok || pc.verdict != r.Verdict {
		return // a failure recorded instead, or a mail that needs nothing
	}
	if pc.kick && h.o.Kick != nil {
		h.o.Kick()
	}
	if pc.allPassed != "" && h.o.OnAllPassed != nil {
		h.o.OnAllPassed(pc.allPassed)
	}
}

// Observer returns the watcher observer that runs the post-commit actions
// (Committed) and passes every event on to next (may be nil).
func (h *Handler) Observer(next imapwatch.Observer) imapwatch.Observer {
	return &observer{h: h, next: next}
}

type observer struct {
	h    *Handler
	next imapwatch.Observer
}

func (o *observer) Connected(up bool) {
	if o.next != nil {
		o.next.Connected(up)
	}
}

func (o *observer) Idling(on bool) {
	if o.next != nil {
		o.next.Idling(on)
	}
}

func (o *observer) Event(at time.Time) {
	if o.next != nil {
		o.next.Event(at)
	}
}

func (o *observer) Mail(r ledger.Received) {
	o.h.Committed(r)
	if o.next != nil {
		o.next.Mail(r)
	}
}

func (o *observer) Retrying(err error, in time.Duration) {
	if o.next != nil {
		o.next.Retrying(err, in)
	}
}

// say picks the Chinese or English words by the templates' language.
func (h *Handler) say(zh, en string) string {
	lang := h.tr.Options.Lang
	if h.tr.Templates != nil {
		lang = h.tr.Templates.Lang()
	}
	if lang == "en" {
		return en
	}
	return zh
}

func (h *Handler) fmtTime(t time.Time) string {
	loc := h.tr.Options.Location
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

// bareID strips the angle brackets of an inbox key.
func bareID(id string) string { return strings.Trim(strings.TrimSpace(id), "<>") }

// clip cuts s to at most n runes.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
