package train

import (
	"fmt"
	"slices"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/outbox"
	"github.com/fabu-team/fabu/templates"
)

// Approve records the manager's decision d (verdict approve) on release
// and approves it, in the intake's transaction tx: entries with a failed
// test are taken out of the release (back to failed, for a later train),
// the others move to approved; ops get the release mail (managers, testers
// and tech leads in copy) and the approver a receipt. The release must be
// awaiting approval, else the error wraps ErrState and nothing changes.
// With a quorum rule the intake records the earlier approvals itself
// (Release.AddDecision) and calls Approve with the one that completes it.
func (t *Train) Approve(tx *ledger.Tx, release string, d ledger.Decision) error {
	_, err := t.approveTx(tx, release, d, false)
	return err
}

func (t *Train) approveTx(tx *ledger.Tx, release string, d ledger.Decision, preview bool) ([]*queued, error) {
	r, err := tx.Release(release)
	if err != nil {
		return nil, fmt.Errorf("approve: %w", err)
	}
	if r.State != ledger.ReleaseAwaitingApproval && !preview {
		return nil, fmt.Errorf("approve release %s: it is %s, not awaiting approval: %w", release, r.State, ErrState)
	}
	d.Verdict = ledger.VerdictApprove
	v, err := t.loadView(tx, r, r.Entries)
	if err != nil {
		return nil, err
	}
	var excluded []*ledger.Entry
	for _, e := range v.entries {
		if v.failed[e.ID] {
			excluded = append(excluded, e)
		}
	}
	if !preview {
		r.AddDecision(d)
		ids := make([]string, len(excluded))
		for i, e := range excluded {
			ids[i] = e.ID
		}
		if err := tx.ExcludeEntries(r, ids, ledger.StatusFailed, "train", "a test failed; not approved for release "+release); err != nil {
			return nil, err
		}
		for _, id := range r.Entries {
			if err := advance(tx, id, d.Who, "approved by "+d.Who); err != nil {
				return nil, err
			}
		}
		if v, err = t.loadView(tx, r, r.Entries); err != nil {
			return nil, err
		}
	} else {
		v.entries = slices.DeleteFunc(slices.Clone(v.entries), func(e *ledger.Entry) bool { return v.failed[e.ID] })
	}
	data := t.baseData(r.Name, StepApproved, LateInfo{})
	data.Changes = t.changes(tx, r)
	data.Expect = expectFor(RoleOps)
	data.Decision = t.decision(d)
	t.fill(data, v, false)
	for _, e := range excluded {
		data.Excluded = append(data.Excluded, t.entry(v, e, true))
	}
	cc := append(append(t.withRole(RoleManager), t.withRole(RoleTester, RoleTestLead)...), t.withRole(RoleTechLead)...)
	ops, err := t.enqueue(tx, mailSpec{kind: templates.Approved, step: StepApproved, release: r, to: t.withRole(RoleOps), cc: cc,
		role: RoleOps, digest: r.Digest, data: data})
	if ops, err = t.skipNobody(tx, ops, err, release); err != nil {
		return nil, err
	}
	r.MarkAnnounced(StepApproved)
	rc, err := t.receipt(tx, r, v, d)
	if err != nil {
		return nil, err
	}
	if preview {
		return list(ops, rc), nil
	}
	return list(ops, rc), tx.SetReleaseState(r, ledger.ReleaseApproved, d.Who, "approved: "+d.Words)
}

// advance moves an entry of an approved release to approved through the
// lifecycle (in test → passed → approved).
func advance(tx *ledger.Tx, id, actor, detail string) error {
	e, err := tx.Entry(id)
	if err != nil {
		return err
	}
	for _, step := range []ledger.Status{ledger.StatusInTest, ledger.StatusPassed, ledger.StatusApproved} {
		switch {
		case e.Status == ledger.StatusApproved:
			return nil
		case e.Status == ledger.StatusPassed && step == ledger.StatusInTest:
			continue
		case e.Status == ledger.StatusFailed && step == ledger.StatusInTest:
			continue
		}
		if e, err = tx.MoveEntry(id, step, actor, detail); err != nil {
			return err
		}
	}
	return nil
}

// receipt queues the note to the person who decided.
func (t *Train) receipt(tx *ledger.Tx, r *ledger.Release, v *view, d ledger.Decision) (*queued, error) {
	if d.Email == "" {
		return nil, nil
	}
	data := t.baseData(r.Name, StepReceipt, LateInfo{})
	data.Decision = t.decision(d)
	data.Recipient = d.Who
	data.Count = len(v.entries)
	return t.enqueue(tx, mailSpec{kind: templates.Receipt, step: StepReceipt, disc: d.MessageID, release: r,
		to: []outbox.Address{{Name: d.Who, Addr: d.Email}}, data: data, inReplyTo: d.MessageID})
}

// VoteRecorded answers, in the intake's transaction tx, the manager (or
// deputy) whose decision d on release was recorded as one vote of an
// N-of-M rule that it does not meet yet: the vote receipt says it counts,
// that have of need approvals (or rejections, by d.Verdict) of the current
// report are in, and what happens when need is reached. Nothing else
// changes. The release must be awaiting approval (ErrState otherwise);
// have must be at least 1 and below need (else the vote decided, and
// Approve or Reject answer it). A decision without an address (d.Email)
// is recorded without a receipt.
func (t *Train) VoteRecorded(tx *ledger.Tx, release string, d ledger.Decision, have, need int) error {
	_, err := t.voteTx(tx, release, d, have, need, false)
	return err
}

func (t *Train) voteTx(tx *ledger.Tx, release string, d ledger.Decision, have, need int, preview bool) ([]*queued, error) {
	r, err := tx.Release(release)
	if err != nil {
		return nil, fmt.Errorf("vote receipt: %w", err)
	}
	if r.State != ledger.ReleaseAwaitingApproval && !preview {
		return nil, fmt.Errorf("vote receipt for release %s: it is %s, not awaiting approval: %w", release, r.State, ErrState)
	}
	if d.Verdict != ledger.VerdictApprove && d.Verdict != ledger.VerdictReject {
		return nil, fmt.Errorf("vote receipt for release %s: the verdict %q is neither approve nor reject", release, d.Verdict)
	}
	if have < 1 || have >= need {
		return nil, fmt.Errorf("vote receipt for release %s: %d of %d is not a vote that waits for others (the rule is met, or no vote is counted)", release, have, need)
	}
	if d.Email == "" {
		return nil, nil
	}
	data := t.baseData(r.Name, StepVote, LateInfo{})
	data.Decision = t.decision(d)
	data.Recipient = d.Who
	data.Tally = &templates.Tally{Have: have, Need: need}
	q, err := t.enqueue(tx, mailSpec{kind: templates.Vote, step: StepVote, disc: d.MessageID, release: r,
		to: []outbox.Address{{Name: d.Who, Addr: d.Email}}, data: data, inReplyTo: d.MessageID})
	if err != nil || preview {
		return list(q), err
	}
	return list(q), tx.PutRelease(r)
}

func (t *Train) decision(d ledger.Decision) *templates.Decision {
	return &templates.Decision{Who: d.Who, Email: d.Email, At: t.fmtTime(d.At), Words: d.Words, Verdict: d.Verdict, Reason: d.Reason}
}

// Reject records the manager's decision d (verdict reject, d.Reason the
// reason) and rejects release in tx: every entry goes back to the ledger
// as dev_done (development finished) for a later train, testers and tech
// leads get a notice with the reason (managers in copy), and the manager a
// receipt. The release must be awaiting approval (ErrState otherwise).
func (t *Train) Reject(tx *ledger.Tx, release string, d ledger.Decision) error {
	_, err := t.rejectTx(tx, release, d, false)
	return err
}

func (t *Train) rejectTx(tx *ledger.Tx, release string, d ledger.Decision, preview bool) ([]*queued, error) {
	r, err := tx.Release(release)
	if err != nil {
		return nil, fmt.Errorf("reject: %w", err)
	}
	if r.State != ledger.ReleaseAwaitingApproval && !preview {
		return nil, fmt.Errorf("reject release %s: it is %s, not awaiting approval: %w", release, r.State, ErrState)
	}
	d.Verdict = ledger.VerdictReject
	v, err := t.loadView(tx, r, r.Entries)
	if err != nil {
		return nil, err
	}
	data := t.baseData(r.Name, StepRejected, LateInfo{})
	data.Changes = t.changes(tx, r)
	data.Decision = t.decision(d)
	t.fill(data, v, false)
	notice, err := t.enqueue(tx, mailSpec{kind: templates.Rejected, step: StepRejected, release: r,
		to: t.withRole(RoleTester, RoleTestLead, RoleTechLead), cc: t.withRole(RoleManager), data: data})
	if notice, err = t.skipNobody(tx, notice, err, release); err != nil {
		return nil, err
	}
	r.MarkAnnounced(StepRejected)
	rc, err := t.receipt(tx, r, v, d)
	if err != nil || preview {
		return list(notice, rc), err
	}
	r.AddDecision(d)
	if err := tx.ReturnEntries(r, ledger.StatusDevDone, d.Who, "release "+release+" rejected: "+d.Reason); err != nil {
		return nil, err
	}
	return list(notice, rc), tx.SetReleaseState(r, ledger.ReleaseRejected, d.Who, "rejected: "+d.Reason)
}

// Released records ops' confirmation d (verdict done) and closes release
// in tx: its entries move to released with today's date, and the team gets
// a note (ops in copy). The release must be approved (ErrState otherwise).
func (t *Train) Released(tx *ledger.Tx, release string, d ledger.Decision) error {
	_, err := t.releasedTx(tx, release, d, false)
	return err
}

func (t *Train) releasedTx(tx *ledger.Tx, release string, d ledger.Decision, preview bool) ([]*queued, error) {
	r, err := tx.Release(release)
	if err != nil {
		return nil, fmt.Errorf("released: %w", err)
	}
	if r.State != ledger.ReleaseApproved && !preview {
		return nil, fmt.Errorf("mark release %s released: it is %s, not approved: %w", release, r.State, ErrState)
	}
	d.Verdict = ledger.VerdictDone
	if !preview {
		r.AddDecision(d)
		day := ledger.DateOf(t.now().In(t.loc()))
		for _, id := range r.Entries {
			e, err := tx.Entry(id)
			if err != nil {
				return nil, err
			}
			if e.Status != ledger.StatusApproved {
				t.log().Warn("train: entry of a released release is not approved; left as it is", "release", release, "entry", id, "status", e.Status.String())
				continue
			}
			if e, err = tx.MoveEntry(id, ledger.StatusReleased, d.Who, "released with "+release); err != nil {
				return nil, err
			}
			e.ReleasedOn = day
			if err := tx.PutEntry(e); err != nil {
				return nil, err
			}
		}
	}
	v, err := t.loadView(tx, r, r.Entries)
	if err != nil {
		return nil, err
	}
	data := t.baseData(r.Name, StepReleased, LateInfo{})
	data.Decision = t.decision(d)
	t.fill(data, v, false)
	note, err := t.enqueue(tx, mailSpec{kind: templates.Released, step: StepReleased, release: r,
		to: t.withRole(RoleTester, RoleTestLead, RoleTechLead, RoleManager), cc: t.withRole(RoleOps), data: data, inReplyTo: d.MessageID})
	if note, err = t.skipNobody(tx, note, err, release); err != nil || preview {
		return list(note), err
	}
	return list(note), tx.SetReleaseState(r, ledger.ReleaseReleased, d.Who, "released: "+d.Words)
}
