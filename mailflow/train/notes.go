package train

import (
	"errors"
	"fmt"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/outbox"
	"github.com/fabu-team/fabu/templates"
)

// person returns the configured person who sent a reply; fabu answers only
// people it knows (never a stranger: no backscatter).
func (t *Train) person(r ReplyRef) (Person, error) {
	p, ok := t.byAddr(r.From)
	if !ok {
		return Person{}, fmt.Errorf("reply %s from %q: %w", r.MessageID, r.From, ErrUnknownPerson)
	}
	return p, nil
}

func (t *Train) reply(r ReplyRef, name string) *templates.Reply {
	return &templates.Reply{From: r.From, Name: name, Subject: r.Subject, Date: t.fmtTime(r.Date), MessageID: r.MessageID, Excerpt: r.Excerpt}
}

// releaseOrNil reads the release a note is about ("" or unknown: nil).
func releaseOrNil(tx *ledger.Tx, name string) (*ledger.Release, error) {
	if name == "" {
		return nil, nil
	}
	r, err := tx.Release(name)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, nil
	}
	return r, err
}

// Clarify answers a reply whose intent was unclear, in tx: it tells the
// sender what was understood (understood, plain words) and how to reply,
// and carries a fresh token for the same step and role as the reply
// (r.Step, r.Role), so the answer to it counts. Nothing else changes.
func (t *Train) Clarify(tx *ledger.Tx, release string, r ReplyRef, understood string) error {
	_, err := t.clarifyTx(tx, release, r, understood)
	return err
}

func (t *Train) clarifyTx(tx *ledger.Tx, release string, r ReplyRef, understood string) ([]*queued, error) {
	p, err := t.person(r)
	if err != nil {
		return nil, err
	}
	rel, err := releaseOrNil(tx, release)
	if err != nil {
		return nil, err
	}
	d := t.baseData(release, StepClarify, LateInfo{})
	d.Reply = t.reply(r, p.Name)
	d.Recipient = p.Name
	d.Understood = understood
	d.Expect = expectFor(r.Role)
	digest := ""
	if rel != nil {
		digest = rel.Digest
		if r.Role == RoleManager || r.Role == RoleDeputy {
			if digest, err = t.CurrentReportDigest(tx, release); err != nil {
				return nil, err
			}
		}
	}
	step := r.Step
	if step == "" {
		step = StepClarify
	}
	q, err := t.enqueue(tx, mailSpec{kind: templates.Clarify, step: step, disc: "clarify " + r.MessageID, release: rel, relName: release,
		to: []outbox.Address{{Name: p.Name, Addr: p.Email}}, role: r.Role, digest: digest, data: d, inReplyTo: r.MessageID,
		decision: r.Role == RoleManager || r.Role == RoleDeputy})
	if err != nil {
		return nil, err
	}
	return list(q), putIf(tx, rel)
}

func putIf(tx *ledger.Tx, r *ledger.Release) error {
	if r == nil {
		return nil
	}
	return tx.PutRelease(r)
}

// NotifyCannotUse tells the sender of a reply, in tx, that it was not used
// and why (problem, plain words: "the release was already decided", "your
// address may not approve" …). Only configured people are answered; for
// anyone else it returns an error wrapping ErrUnknownPerson and queues
// nothing. release may be "" when the reply matched none.
func (t *Train) NotifyCannotUse(tx *ledger.Tx, release string, r ReplyRef, problem string) error {
	_, err := t.cannotUseTx(tx, release, r, problem)
	return err
}

func (t *Train) cannotUseTx(tx *ledger.Tx, release string, r ReplyRef, problem string) ([]*queued, error) {
	p, err := t.person(r)
	if err != nil {
		return nil, err
	}
	rel, err := releaseOrNil(tx, release)
	if err != nil {
		return nil, err
	}
	d := t.baseData(release, StepCannotUse, LateInfo{})
	d.Reply = t.reply(r, p.Name)
	d.Recipient = p.Name
	d.Problem = problem
	q, err := t.enqueue(tx, mailSpec{kind: templates.CannotUse, step: StepCannotUse, disc: r.MessageID, release: rel, relName: release,
		to: []outbox.Address{{Name: p.Name, Addr: p.Email}}, data: d, inReplyTo: r.MessageID})
	if err != nil {
		return nil, err
	}
	return list(q), putIf(tx, rel)
}

// RelayOutOfOffice passes the test-complete report of release to the
// deputies (or, without deputies, to the other managers) when a manager's
// mailbox answered with an out-of-office notice (r; text is its shortened
// text), so the release does not silently wait. The test leads (the
// people with role test_lead and the test leads the release's entries
// name) and the admins are in copy; the mail names the test leads it
// informs. The relayed report carries a token for role deputy (or
// manager) bound to the current report. With no deputy and no other
// manager, the test leads and admins are told that the release waits for
// the away manager (the mail asks for no answer and carries no token). A
// release not awaiting approval is left alone.
func (t *Train) RelayOutOfOffice(tx *ledger.Tx, release string, r ReplyRef, text string) error {
	_, err := t.relayTx(tx, release, r, text, false)
	return err
}

func (t *Train) relayTx(tx *ledger.Tx, release string, r ReplyRef, text string, preview bool) ([]*queued, error) {
	away, err := t.person(r)
	if err != nil {
		return nil, err
	}
	rel, err := tx.Release(release)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	if rel.State != ledger.ReleaseAwaitingApproval && !preview {
		t.log().Info("train: out-of-office not relayed: the release is not awaiting approval", "release", release, "state", rel.State)
		return nil, nil
	}
	self := []outbox.Address{{Addr: away.Email}}
	to := minus(t.withRole(RoleDeputy), self)
	role := RoleDeputy
	if len(to) == 0 {
		to, role = minus(t.withRole(RoleManager), self), RoleManager
	}
	v, err := t.loadView(tx, rel, rel.Entries)
	if err != nil {
		return nil, err
	}
	leads := minus(t.testLeads(v), append(self, to...))
	d := t.reportData(tx, rel, v, StepRelay, LateInfo{})
	d.Away = &templates.Away{Name: away.Name, Email: away.Email, Text: text, Nobody: len(to) == 0}
	digest := t.reportDigest(v)
	if d.Away.Nobody {
		// Nobody else may decide: the test leads and admins are told that
		// the release waits; the mail asks for no answer (no token).
		role, digest = "", ""
		t.log().Warn("train: a manager is away and nobody else may decide (no deputy, no other manager); the test leads and admins are told",
			"release", release, "manager", away.Name)
	} else {
		for _, a := range leads {
			d.Away.Informed = append(d.Away.Informed, a.Name)
		}
	}
	cc := minus(append(leads, t.withRole(RoleAdmin)...), self)
	q, err := t.enqueue(tx, mailSpec{kind: templates.OutOfOff, step: StepRelay, disc: away.Email, release: rel, to: to,
		cc: cc, role: role, digest: digest, data: d, decision: !d.Away.Nobody, inReplyTo: r.MessageID})
	if q, err = t.skipNobody(tx, q, err, release); err != nil {
		return nil, err
	}
	return list(q), tx.PutRelease(rel)
}

// testLeads returns the people with role test_lead, then the configured
// people the view's entries name as test lead, each once.
func (t *Train) testLeads(v *view) []outbox.Address {
	out := t.withRole(RoleTestLead)
	for _, e := range v.entries {
		if p, ok := t.byName(e.TestLead); ok {
			out = addAddr(out, outbox.Address{Name: p.Name, Addr: p.Email})
		}
	}
	return out
}

// RefuseOutdated answers a manager who replied to an earlier report of
// release (the token's digest no longer matches): nothing is decided; the
// manager gets the current report with a fresh token bound to it, and the
// release's ReportDigest becomes the current one.
func (t *Train) RefuseOutdated(tx *ledger.Tx, release string, r ReplyRef) error {
	_, err := t.outdatedTx(tx, release, r)
	return err
}

func (t *Train) outdatedTx(tx *ledger.Tx, release string, r ReplyRef) ([]*queued, error) {
	p, err := t.person(r)
	if err != nil {
		return nil, err
	}
	rel, err := tx.Release(release)
	if err != nil {
		return nil, fmt.Errorf("refuse outdated reply: %w", err)
	}
	v, err := t.loadView(tx, rel, rel.Entries)
	if err != nil {
		return nil, err
	}
	d := t.reportData(tx, rel, v, StepOutdated, LateInfo{})
	d.Reply = t.reply(r, p.Name)
	d.Recipient = p.Name
	digest := t.reportDigest(v)
	role := r.Role
	if role == "" {
		role = RoleManager
	}
	q, err := t.enqueue(tx, mailSpec{kind: templates.Outdated, step: StepOutdated, disc: r.MessageID, release: rel,
		to: []outbox.Address{{Name: p.Name, Addr: p.Email}}, role: role, digest: digest, data: d, decision: true, inReplyTo: r.MessageID})
	if err != nil {
		return nil, err
	}
	rel.ReportDigest = digest
	return list(q), tx.PutRelease(rel)
}

// EnqueueAlert implements outbox.Alerter: it queues, in tx, the mail that
// tells the admins (role admin) that m could not be delivered to every
// recipient. It returns false when nobody has the admin role.
func (t *Train) EnqueueAlert(tx *ledger.Tx, m *ledger.OutboxMail) (bool, error) {
	admins := t.withRole(RoleAdmin)
	if len(admins) == 0 {
		return false, nil
	}
	d := t.baseData(m.Release, StepAlert, LateInfo{})
	a := &templates.Alert{MessageID: "<" + m.MessageID + ">", Subject: m.Subject, Release: m.Release, Step: m.Step,
		Queued: t.fmtTime(m.Created), Attempts: m.Attempts, LastError: m.LastError, Pending: m.Pending()}
	for _, f := range m.Failed() {
		a.Failed = append(a.Failed, templates.AlertRecipient{Addr: f.Addr, Code: f.Code, Error: f.Error})
	}
	d.Alert = a
	_, err := t.enqueue(tx, mailSpec{kind: templates.OutboxAlert, step: StepAlert, disc: m.ID, relName: m.Release, to: admins, data: d, alertOf: m.ID})
	return err == nil, err
}
