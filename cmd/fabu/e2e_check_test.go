package main

// What the end-to-end tests check once fabu has stopped: every mail the
// store says was delivered is in each recipient's mailbox exactly once
// (or once more, flagged, from the accept-then-crash window), nothing else
// from fabu is there, and every reply was acted on exactly once.

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
)

// storeSnapshot is the store as fabu left it (opened read-only after the
// daemon stopped).
type storeSnapshot struct {
	Outbox   []*ledger.OutboxMail
	Received map[string]ledger.Received
	Audit    []ledger.AuditRecord
}

func (e *e2eEnv) snapshot() (*storeSnapshot, error) {
	if e.running() {
		return nil, fmt.Errorf("snapshot: stop fabu first")
	}
	s, err := ledger.Open(e.dbPath, ledger.Options{Train: "e2e", ReadOnly: true, LockTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	snap := &storeSnapshot{Received: map[string]ledger.Received{}}
	err = s.View(func(tx *ledger.Tx) error {
		var err error
		if snap.Outbox, err = tx.OutboxMails(); err != nil {
			return err
		}
		rs, err := tx.ReceivedList(ledger.ReceivedFilter{})
		if err != nil {
			return err
		}
		for _, r := range rs {
			snap.Received[r.MessageID] = r
		}
		snap.Audit, err = tx.AuditLog("")
		return err
	})
	return snap, err
}

// releaseView is `fabu release show R --json`.
type releaseView struct {
	Name      string            `json:"name"`
	State     string            `json:"state"`
	Entries   []string          `json:"entries"`
	Decisions []ledger.Decision `json:"decisions"`
	Results   []ledger.Result   `json:"results"`
}

func (e *e2eEnv) showRelease(ctx context.Context) (*releaseView, error) {
	out, errOut, code := e.cli(ctx, "release", "show", e2eRelease, "--json")
	if code != 0 {
		return nil, fmt.Errorf("fabu release show %s --json: exit %d: %s", e2eRelease, code, errOut)
	}
	var rv releaseView
	if err := json.Unmarshal([]byte(out), &rv); err != nil {
		return nil, fmt.Errorf("fabu release show --json: %w\n%s", err, out)
	}
	return &rv, nil
}

// mailTally counts what the mailboxes hold against what fabu delivered.
type mailTally struct {
	Expected   int // (recipient, Message-ID) pairs the store says were delivered
	Exact      int // … found exactly once
	Lost       int // … not found
	CrashDups  int // second copies flagged X-Fabu-Possible-Duplicate (the accept-then-crash window)
	OtherDups  int // any other extra copy
	Unexpected int // fabu mail in a mailbox the store does not list for that recipient
	ByStep     map[string]int
	Problems   []string
}

func (m *mailTally) add(o mailTally) {
	m.Expected += o.Expected
	m.Exact += o.Exact
	m.Lost += o.Lost
	m.CrashDups += o.CrashDups
	m.OtherDups += o.OtherDups
	m.Unexpected += o.Unexpected
	m.Problems = append(m.Problems, o.Problems...)
}

func (m *mailTally) problem(format string, args ...any) {
	m.Problems = append(m.Problems, fmt.Sprintf(format, args...))
}

type expectedCopy struct {
	step string
	// resends is how often the mail was sent again, flagged, after a
	// crash in the DATA window (OutboxMail.DuplicateResends): each may
	// have left one more copy.
	resends int
}

// checkMailboxes compares every person's INBOX with the store's outbox.
// It waits (up to the ctx deadline) for mail still on its way through
// Postfix: every delivered pair present, and the flagged re-sends.
func (e *e2eEnv) checkMailboxes(ctx context.Context, snap *storeSnapshot) mailTally {
	tally := mailTally{ByStep: map[string]int{}}
	want := map[string]map[string]expectedCopy{} // recipient → Message-ID → copy
	for _, m := range snap.Outbox {
		if m.State != ledger.OutboxDone {
			tally.problem("mail %s (%s) is still %s in the outbox: pending %v, last error %q", m.MessageID, m.Step, m.State, m.Pending(), m.LastError)
		}
		for _, r := range m.Recipients {
			addr := strings.ToLower(r.Addr)
			switch r.State {
			case ledger.RcptSent:
				if want[addr] == nil {
					want[addr] = map[string]expectedCopy{}
				}
				want[addr][m.MessageID] = expectedCopy{step: m.Step, resends: m.DuplicateResends}
				tally.Expected++
				tally.ByStep[m.Step]++
			case ledger.RcptFailed:
				tally.problem("mail %s (%s) failed for %s: %d %s", m.MessageID, m.Step, addr, r.Code, r.Error)
			}
		}
	}
	boxes := map[string][]*e2eMail{}
	complete := func() (bool, error) {
		for _, p := range e2ePeople {
			ms, err := e.inbox(ctx, p.Email())
			if err != nil {
				return false, nil
			}
			boxes[p.Email()] = ms
		}
		for addr, mids := range want {
			for mid := range mids {
				if !slices.ContainsFunc(boxes[addr], func(m *e2eMail) bool { return m.MessageID == mid }) {
					return false, nil
				}
			}
		}
		// Every copy Postfix took is delivered: its queue is empty.
		return e.postfixQueueEmpty(), nil
	}
	if err := e2ePoll(ctx, 200*time.Millisecond, complete); err != nil {
		tally.problem("mailboxes still incomplete: %v", err)
	}
	for _, p := range e2ePeople {
		addr := p.Email()
		copies := map[string][]*e2eMail{}
		for _, m := range boxes[addr] {
			if m.Train == "" {
				continue // not fabu's mail
			}
			copies[m.MessageID] = append(copies[m.MessageID], m)
		}
		for mid, ex := range want[addr] {
			cs := copies[mid]
			flagged := 0
			for _, c := range cs {
				if c.PossibleDup {
					flagged++
				}
			}
			switch {
			case len(cs) == 0:
				tally.Lost++
				tally.problem("LOST: %s never got %s (%s)", addr, mid, ex.step)
			case len(cs)-flagged <= 1 && flagged <= ex.resends:
				// Once, plus at most one flagged copy per crash in the
				// DATA window (the server kept what fabu had not recorded).
				tally.Exact++
				tally.CrashDups += len(cs) - 1
			default:
				tally.Exact++
				tally.OtherDups += len(cs) - 1
				tally.problem("DUPLICATE: %s got %s (%s) %d times (%d flagged as possible duplicates; the store counts %d re-sends after a crash)",
					addr, mid, ex.step, len(cs), flagged, ex.resends)
			}
		}
		for mid, cs := range copies {
			if _, ok := want[addr][mid]; !ok {
				tally.Unexpected += len(cs)
				tally.problem("UNEXPECTED: %s got %s (%s) which the store does not list as delivered to it", addr, mid, cs[0].Step)
			}
		}
	}
	return tally
}

// postfixQueueEmpty reports whether the lab's Postfix holds no mail (the
// queue folders of maillab's layout: Dir/postfix/queue).
func (e *e2eEnv) postfixQueueEmpty() bool {
	for _, q := range []string{"maildrop", "incoming", "active", "deferred", "hold"} {
		found := false
		_ = filepath.WalkDir(filepath.Join(e.lab.Dir(), "postfix", "queue", q), func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				found = true
				return filepath.SkipAll
			}
			return nil
		})
		if found {
			return false
		}
	}
	return true
}

// decisionTally counts what became of the replies the people sent.
type decisionTally struct {
	Replies  int // replies submitted
	Lost     int // a reply with no record, or whose result or decision is missing
	Doubled  int // a reply handled more than once, or a decision recorded twice
	Problems []string
}

func (d *decisionTally) add(o decisionTally) {
	d.Replies += o.Replies
	d.Lost += o.Lost
	d.Doubled += o.Doubled
	d.Problems = append(d.Problems, o.Problems...)
}

func (d *decisionTally) problem(format string, args ...any) {
	d.Problems = append(d.Problems, fmt.Sprintf(format, args...))
}

// checkDecisions checks every submitted reply against the store and the
// release: each read once, each result and decision recorded once, the
// release approved once and released once.
func (e *e2eEnv) checkDecisions(ctx context.Context, snap *storeSnapshot, rv *releaseView, replies []replyRecord) decisionTally {
	var d decisionTally
	d.Replies = len(replies)
	handled := map[string]int{} // Message-ID → reply.* audit records
	for _, a := range snap.Audit {
		if strings.HasPrefix(a.Action, "reply.") {
			handled[a.Subject]++
		}
	}
	bare := func(s string) string { return strings.Trim(strings.TrimSpace(s), "<>") }
	decisionsBy := map[string][]ledger.Decision{}
	for _, dec := range rv.Decisions {
		decisionsBy[bare(dec.MessageID)] = append(decisionsBy[bare(dec.MessageID)], dec)
	}
	approvedBy := 0
	for _, r := range replies {
		rec, ok := snap.Received[r.MessageID]
		if !ok {
			d.Lost++
			d.problem("LOST: %s's reply %s to %s was never recorded", r.From.Name, r.MessageID, r.Answers)
			continue
		}
		if n := handled[r.MessageID]; n != 1 {
			if n > 1 {
				d.Doubled++
			}
			d.problem("reply %s (%s to %s) was handled %d times (verdict %s)", r.MessageID, r.From.Name, r.Answers, n, rec.Verdict)
		}
		decs := decisionsBy[bare(r.MessageID)]
		if len(decs) > 1 {
			d.Doubled++
			d.problem("DOUBLED: reply %s gave %d decisions", r.MessageID, len(decs))
		}
		switch r.Kind {
		case "results":
			if rec.Verdict != "results" {
				d.Lost++
				d.problem("%s's %s reply %s to %s: verdict %s (%s), want results", r.From.Name, r.Client, r.MessageID, r.Answers, rec.Verdict, rec.Reason)
				continue
			}
			for _, id := range r.Entries {
				i := slices.IndexFunc(rv.Results, func(res ledger.Result) bool { return res.Entry == id && res.Env == r.Env })
				if i < 0 || rv.Results[i].State != ledger.ResultPass {
					d.Lost++
					d.problem("LOST: %s's %s result for entry %s (reply %s) is not recorded as pass", r.From.Name, r.Env, id, r.MessageID)
				}
			}
		case "approve":
			switch {
			case rec.Verdict == "decided" && len(decs) == 1 && decs[0].Verdict == ledger.VerdictApprove:
				approvedBy++
			case rec.Verdict == "outdated":
				// answered a report whose results changed since; fabu mailed the current one
			default:
				d.Lost++
				d.problem("%s's approval %s to %s: verdict %s (%s), %d decisions", r.From.Name, r.MessageID, r.Answers, rec.Verdict, rec.Reason, len(decs))
			}
		case "done":
			if rec.Verdict != "decided" || len(decs) != 1 || decs[0].Verdict != ledger.VerdictDone {
				d.Lost++
				d.problem("%s's confirmation %s: verdict %s (%s), %d decisions", r.From.Name, r.MessageID, rec.Verdict, rec.Reason, len(decs))
			}
		}
	}
	if approvedBy != 1 {
		d.problem("%d approvals decided the release, want 1", approvedBy)
		if approvedBy > 1 {
			d.Doubled++
		}
	}
	count := map[string]int{}
	for _, dec := range rv.Decisions {
		count[dec.Verdict]++
	}
	if count[ledger.VerdictApprove] != 1 || count[ledger.VerdictDone] != 1 || len(rv.Decisions) != 2 {
		d.problem("release decisions %v, want one approve and one done", count)
		if count[ledger.VerdictApprove] > 1 || count[ledger.VerdictDone] > 1 {
			d.Doubled++
		}
	}
	if rv.State != string(ledger.ReleaseReleased) {
		d.problem("release %s is %s, want released", rv.Name, rv.State)
	}
	return d
}

// checkEntriesReleased checks the ledger: every entry of the release is
// marked released.
func (e *e2eEnv) checkEntriesReleased(ctx context.Context, rv *releaseView) []string {
	out := e.mustCLI(ctx, "ledger", "list", "--json")
	var entries []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		return []string{"ledger list --json: " + err.Error()}
	}
	var problems []string
	for _, id := range rv.Entries {
		i := slices.IndexFunc(entries, func(x struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}) bool {
			return x.ID == id
		})
		if i < 0 || entries[i].Status != "released" {
			problems = append(problems, fmt.Sprintf("entry %s of the release is not released in the ledger", id))
		}
	}
	return problems
}

// requireSteps checks that the mails every week must have reached whom
// they must.
// A reminder may be skipped — logged, and no mail sent — when its day has
// passed before fabu could run it; any other step must reach everyone.
func (e *e2eEnv) requireSteps(ctx context.Context, want []personSteps) (problems, skipped []string) {
	for _, r := range reminderSteps {
		if ok, _ := e.stepSkipped(r); ok {
			skipped = append(skipped, r)
		}
	}
	for _, ps := range want {
		p, steps := ps.p, ps.steps
		ms, err := e.inbox(ctx, p.Email())
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for _, s := range steps {
			got := slices.ContainsFunc(ms, func(m *e2eMail) bool { return m.Step == s && m.Release == e2eRelease })
			switch {
			case slices.Contains(skipped, s) && got:
				problems = append(problems, fmt.Sprintf("%s got the %s mail, which fabu logged as skipped", p.Name, s))
			case !slices.Contains(skipped, s) && !got:
				problems = append(problems, fmt.Sprintf("%s never got the %s mail", p.Name, s))
			}
		}
	}
	return problems, skipped
}

// reminderSteps are the reminders of the default config.
var reminderSteps = []string{"sit-1", "sit-2", "uat", "preprod"}

// weekSteps are the mails every week sends, whatever the timing.
var weekSteps = []personSteps{
	{pLinlin, []string{"testlist", "sit-1", "sit-2", "uat", "preprod", "report", "approved", "released"}},
	{pXiaozhou, []string{"testlist", "sit-1", "sit-2", "uat", "preprod", "approved", "released"}},
	{pWanggong, []string{"testlist", "approved", "released"}},
	{pManager, []string{"testlist", "report", "approved", "receipt", "released"}},
	{pOps, []string{"approved", "released"}},
}

type personSteps struct {
	p     e2ePerson
	steps []string
}

// forbiddenSteps must not appear in a week where every reply is clear.
var forbiddenSteps = []string{"clarify", "cannotuse", "rejected", "relay"}

// weekOutcome is one week's result after all checks.
type weekOutcome struct {
	Mail      mailTally
	Decisions decisionTally
	Problems  []string
	Hits      killHits // kill weeks only
	Skipped   []string // reminders fabu logged as skipped (their day had passed)
}

func (o weekOutcome) ok() bool {
	return len(o.Mail.Problems) == 0 && len(o.Decisions.Problems) == 0 && len(o.Problems) == 0
}

func (o weekOutcome) report(t *testing.T) {
	t.Helper()
	for _, p := range append(append(append([]string(nil), o.Problems...), o.Mail.Problems...), o.Decisions.Problems...) {
		t.Error(p)
	}
	steps := make([]string, 0, len(o.Mail.ByStep))
	for s, n := range o.Mail.ByStep {
		steps = append(steps, fmt.Sprintf("%s:%d", s, n))
	}
	sort.Strings(steps)
	t.Logf("mail: %d delivered copies expected, %d exact, %d lost, %d crash duplicates, %d other duplicates, %d unexpected; by step %s",
		o.Mail.Expected, o.Mail.Exact, o.Mail.Lost, o.Mail.CrashDups, o.Mail.OtherDups, o.Mail.Unexpected, strings.Join(steps, " "))
	t.Logf("replies: %d submitted, %d lost, %d doubled", o.Decisions.Replies, o.Decisions.Lost, o.Decisions.Doubled)
	if len(o.Skipped) > 0 {
		t.Logf("reminders skipped (logged, not mailed; the testers answered the test list instead): %v", o.Skipped)
	}
}

// finishWeek stops fabu (after a last run that sends whatever is still
// queued) and runs every check.
func (e *e2eEnv) finishWeek(ctx context.Context) weekOutcome {
	e.t.Helper()
	var out weekOutcome
	snap, err := e.drain(ctx)
	if err != nil {
		out.Problems = append(out.Problems, err.Error())
		return out
	}
	rv, err := e.showRelease(ctx)
	if err != nil {
		out.Problems = append(out.Problems, err.Error())
		return out
	}
	mctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	out.Mail = e.checkMailboxes(mctx, snap)
	out.Decisions = e.checkDecisions(ctx, snap, rv, e.replies.all())
	out.Problems = append(out.Problems, e.checkEntriesReleased(ctx, rv)...)
	problems, skipped := e.requireSteps(ctx, weekSteps)
	out.Problems = append(out.Problems, problems...)
	out.Skipped = skipped
	for _, m := range snap.Outbox {
		if slices.Contains(forbiddenSteps, m.Step) {
			out.Problems = append(out.Problems, fmt.Sprintf("fabu sent a %s mail (%s): a reply was not understood", m.Step, m.Subject))
		}
	}
	return out
}

// drain stops fabu and reads the store; while mail is still waiting in
// the outbox (the people's part can end before the last mail went out,
// e.g. right after a kill) it runs fabu again until that mail reached its
// recipients' mailboxes.
func (e *e2eEnv) drain(ctx context.Context) (*storeSnapshot, error) {
	for round := 1; ; round++ {
		if err := e.stop(); err != nil {
			return nil, err
		}
		snap, err := e.snapshot()
		if err != nil {
			return nil, err
		}
		type pair struct{ rcpt, mid string }
		var waiting []pair
		for _, m := range snap.Outbox {
			for _, r := range m.Pending() {
				waiting = append(waiting, pair{strings.ToLower(r), m.MessageID})
			}
		}
		if len(waiting) == 0 || round == 4 {
			return snap, nil
		}
		e.t.Logf("%d mail copies still in the outbox; running fabu again to send them", len(waiting))
		if err := e.start(); err != nil {
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = e2ePoll(wctx, 100*time.Millisecond, func() (bool, error) {
			if err := e.exitedEarly(); err != nil {
				return false, err
			}
			for _, w := range waiting {
				ms, err := e.inbox(wctx, w.rcpt)
				if err != nil || !slices.ContainsFunc(ms, func(m *e2eMail) bool { return m.MessageID == w.mid }) {
					return false, nil
				}
			}
			return true, nil
		})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("the outbox did not drain: %w", err)
		}
	}
}

// reliabilityRow is one line of RELIABILITY.md's table.
type reliabilityRow struct {
	Fault      string
	Trials     int
	Survived   int
	Lost       string
	Duplicates string
	Decisions  string
}

// reliabilityTable collects the rows of a run; TestE2E prints them.
type reliabilityTable struct {
	mu   sync.Mutex
	rows []reliabilityRow
}

func (r *reliabilityTable) add(row reliabilityRow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, row)
}

// log prints the rows in the form RELIABILITY.md uses, each line prefixed
// "RELIABILITY " so a run's output can be grepped into the file.
func (r *reliabilityTable) log(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Logf("RELIABILITY | fault | trials | survived | mails lost | duplicates | decisions lost / doubled |")
	for _, row := range r.rows {
		t.Logf("RELIABILITY | %s | %d | %d | %s | %s | %s |", row.Fault, row.Trials, row.Survived, row.Lost, row.Duplicates, row.Decisions)
	}
}

func lostSummary(m mailTally) string {
	return fmt.Sprintf("%d of %d", m.Lost, m.Expected)
}

func dupSummary(m mailTally) string {
	if m.CrashDups == 0 && m.OtherDups == 0 && m.Unexpected == 0 {
		return "0"
	}
	var parts []string
	if m.CrashDups > 0 {
		parts = append(parts, fmt.Sprintf("%d accept-then-crash (same Message-ID, flagged X-Fabu-Possible-Duplicate)", m.CrashDups))
	}
	if m.OtherDups > 0 {
		parts = append(parts, fmt.Sprintf("%d unexplained", m.OtherDups))
	}
	if m.Unexpected > 0 {
		parts = append(parts, fmt.Sprintf("%d unexpected mails", m.Unexpected))
	}
	return strings.Join(parts, "; ")
}

func decisionSummary(d decisionTally) string {
	return fmt.Sprintf("%d / %d (of %d replies)", d.Lost, d.Doubled, d.Replies)
}
