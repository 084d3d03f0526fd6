package train

import (
	"context"
	"errors"
	"fmt"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/outbox"
	"github.com/fabu-team/fabu/templates"
)

// update runs fn in one store transaction and kicks the outbox worker when
// it committed.
func (t *Train) update(ctx context.Context, fn func(tx *ledger.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := t.Store.Update(fn); err != nil {
		return err
	}
	t.kick()
	return nil
}

// Cut cuts release (YYYY-MM-DD) and queues the test list — to testers and
// test leads, with tech leads and managers in copy, the .xlsx checklist
// attached — in the same transaction. A cut with nothing to test stores
// the release as skipped and, if EmptyWeekNote, queues the empty-week
// note. Cutting a release that exists changes nothing and queues nothing.
func (t *Train) Cut(ctx context.Context, release string, late LateInfo) (*ledger.Release, error) {
	var out *ledger.Release
	err := t.update(ctx, func(tx *ledger.Tx) error {
		r, _, err := t.cutTx(tx, release, late)
		out = r
		return err
	})
	return out, err
}

func (t *Train) cutTx(tx *ledger.Tx, release string, late LateInfo) (*ledger.Release, []*queued, error) {
	r, created, err := tx.CutRelease(release, "train")
	if err != nil || !created {
		return r, nil, err
	}
	var q *queued
	if len(r.Entries) == 0 {
		if !t.Options.EmptyWeekNote {
			return r, nil, nil
		}
		q, err = t.emptyMail(tx, r, late)
	} else {
		q, err = t.testListMail(tx, r, late)
	}
	if q, err = t.skipNobody(tx, q, err, release); err != nil {
		return nil, nil, err
	}
	return r, list(q), tx.PutRelease(r)
}

func list(qs ...*queued) []*queued {
	var out []*queued
	for _, q := range qs {
		if q != nil {
			out = append(out, q)
		}
	}
	return out
}

// testListMail queues the test list of r as it stands.
func (t *Train) testListMail(tx *ledger.Tx, r *ledger.Release, late LateInfo) (*queued, error) {
	v, err := t.loadView(tx, r, r.Entries)
	if err != nil {
		return nil, err
	}
	d := t.baseData(r.Name, StepTestList, late)
	d.Changes = t.changes(tx, r)
	d.Expect = expectFor(RoleTester)
	t.fill(d, v, false)
	xlsx, err := Checklist(t.lang(), t.envs(), v.entries)
	if err != nil {
		return nil, err
	}
	to := t.withRole(RoleTester, RoleTestLead)
	cc := append(t.withRole(RoleTechLead), t.withRole(RoleManager)...)
	for _, e := range v.entries {
		if p, ok := t.byName(e.TestLead); ok {
			to = addAddr(to, outbox.Address{Name: p.Name, Addr: p.Email})
		}
		if p, ok := t.byName(e.TechLead); ok {
			cc = addAddr(cc, outbox.Address{Name: p.Name, Addr: p.Email})
		}
	}
	q, err := t.enqueue(tx, mailSpec{kind: templates.TestList, step: StepTestList, release: r, to: to, cc: cc,
		role: RoleTester, digest: r.Digest, data: d,
		attach: []outbox.Attachment{{Name: checklistName(t.lang(), r.Name), ContentType: xlsxContentType, Data: xlsx}}})
	if err == nil {
		r.MarkAnnounced(StepTestList)
	}
	return q, err
}

// EmptyWeek queues the note that release has nothing to test, storing the
// release as skipped when it does not exist yet.
func (t *Train) EmptyWeek(ctx context.Context, release string, late LateInfo) error {
	return t.update(ctx, func(tx *ledger.Tx) error {
		r, err := tx.Release(release)
		if errors.Is(err, ledger.ErrNotFound) {
			if err := ledger.ValidReleaseName(release); err != nil {
				return err
			}
			r = &ledger.Release{Name: release, State: ledger.ReleaseSkipped, Digest: ledger.ListDigest(nil), CutAt: tx.Now(), CutBy: "train"}
		} else if err != nil {
			return err
		}
		q, err := t.emptyMail(tx, r, late)
		if _, err := t.skipNobody(tx, q, err, release); err != nil {
			return err
		}
		return tx.PutRelease(r)
	})
}

func (t *Train) emptyMail(tx *ledger.Tx, r *ledger.Release, late LateInfo) (*queued, error) {
	d := t.baseData(r.Name, StepEmpty, late)
	to := t.withRole(RoleTester, RoleTestLead, RoleTechLead)
	cc := t.withRole(RoleManager)
	return t.enqueue(tx, mailSpec{kind: templates.Empty, step: StepEmpty, release: r, to: to, cc: cc, data: d})
}

// Remind queues the reminder of step (e.g. sit-1) for env: what is still
// not passed there, per test lead, to the testers. note is the configured
// extra line. A release that is not open any more gets no reminder.
func (t *Train) Remind(ctx context.Context, release, step, env, note string, late LateInfo) error {
	return t.update(ctx, func(tx *ledger.Tx) error {
		_, err := t.remindTx(tx, release, step, env, note, late, false)
		return err
	})
}

func (t *Train) remindTx(tx *ledger.Tx, release, step, env, note string, late LateInfo, force bool) ([]*queued, error) {
	r, err := tx.Release(release)
	if err != nil {
		return nil, fmt.Errorf("reminder %s: %w", step, err)
	}
	if r.State != ledger.ReleaseOpen && !force {
		t.log().Info("train: no reminder: the release is not open", "release", release, "step", step, "state", r.State)
		return nil, nil
	}
	v, err := t.loadView(tx, r, r.Entries)
	if err != nil {
		return nil, err
	}
	d := t.baseData(r.Name, step, late)
	d.Changes = t.changes(tx, r)
	d.Expect = expectFor(RoleTester)
	d.Env, d.Note = env, note
	t.fill(d, v, true)
	d.Leads, d.Untested = t.leadGroups(v, env)
	q, err := t.enqueue(tx, mailSpec{kind: templates.Reminder, step: step, release: r, to: t.withRole(RoleTester, RoleTestLead),
		role: RoleTester, digest: r.Digest, data: d})
	if q, err = t.skipNobody(tx, q, err, release); err != nil {
		return nil, err
	}
	r.MarkAnnounced(step)
	return list(q), tx.PutRelease(r)
}

// Report queues the test-complete report to the managers (test leads in
// copy) and moves the release to awaiting approval, binding the reply
// token to the report's digest. A release already reported (or not open)
// is left as it is.
func (t *Train) Report(ctx context.Context, release string, late LateInfo) error {
	return t.update(ctx, func(tx *ledger.Tx) error {
		_, err := t.reportTx(tx, release, late, false)
		return err
	})
}

func (t *Train) reportTx(tx *ledger.Tx, release string, late LateInfo, force bool) ([]*queued, error) {
	r, err := tx.Release(release)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if r.State != ledger.ReleaseOpen && !force {
		t.log().Info("train: no report: the release is not open", "release", release, "state", r.State)
		return nil, nil
	}
	v, err := t.loadView(tx, r, r.Entries)
	if err != nil {
		return nil, err
	}
	d := t.reportData(tx, r, v, StepReport, late)
	r.ReportDigest = t.reportDigest(v)
	q, err := t.enqueue(tx, mailSpec{kind: templates.Report, step: StepReport, release: r, to: t.withRole(RoleManager),
		cc: t.withRole(RoleTestLead), role: RoleManager, digest: r.ReportDigest, data: d, decision: true})
	if q, err = t.skipNobody(tx, q, err, release); err != nil {
		return nil, err
	}
	r.MarkAnnounced(StepReport)
	if r.State == ledger.ReleaseOpen {
		return list(q), tx.SetReleaseState(r, ledger.ReleaseAwaitingApproval, "train", "test-complete report sent")
	}
	return list(q), tx.PutRelease(r)
}

func (t *Train) reportData(tx *ledger.Tx, r *ledger.Release, v *view, step string, late LateInfo) *templates.Data {
	d := t.baseData(r.Name, step, late)
	d.Changes = t.changes(tx, r)
	d.Expect = expectFor(RoleManager)
	t.fill(d, v, true)
	d.Early = late.Early && v.allPass
	return d
}

// Escalate reminds the managers (and deputies) that the release waits for
// their decision, and tells the team the release is on hold. Only a
// release awaiting approval is escalated.
func (t *Train) Escalate(ctx context.Context, release string, late LateInfo) error {
	return t.update(ctx, func(tx *ledger.Tx) error {
		_, err := t.escalateTx(tx, release, late, false)
		return err
	})
}

func (t *Train) escalateTx(tx *ledger.Tx, release string, late LateInfo, force bool) ([]*queued, error) {
	r, err := tx.Release(release)
	if err != nil {
		return nil, fmt.Errorf("escalate: %w", err)
	}
	if r.State != ledger.ReleaseAwaitingApproval && !force {
		t.log().Info("train: no escalation: the release is not awaiting approval", "release", release, "state", r.State)
		return nil, nil
	}
	v, err := t.loadView(tx, r, r.Entries)
	if err != nil {
		return nil, err
	}
	d := t.reportData(tx, r, v, StepEscalate, late)
	d.ForManagers = true
	digest := r.ReportDigest
	if digest == "" {
		digest = t.reportDigest(v)
	}
	mgr, err := t.enqueue(tx, mailSpec{kind: templates.Escalate, step: StepEscalate, release: r, to: t.withRole(RoleManager, RoleDeputy),
		role: RoleManager, digest: digest, data: d, decision: true})
	if mgr, err = t.skipNobody(tx, mgr, err, release); err != nil {
		return nil, err
	}
	team := t.baseData(r.Name, StepEscalate, late)
	team.Count = len(v.entries)
	tq, err := t.enqueue(tx, mailSpec{kind: templates.Escalate, step: StepEscalate, disc: "team", release: r,
		to: minus(t.withRole(RoleTester, RoleTestLead, RoleTechLead), t.withRole(RoleManager, RoleDeputy)), data: team})
	if tq, err = t.skipNobody(tx, tq, err, release); err != nil {
		return nil, err
	}
	r.MarkAnnounced(StepEscalate)
	return list(mgr, tq), tx.PutRelease(r)
}

// CurrentReportDigest is the digest a report of release would carry now;
// the intake compares a reply token's digest with it to refuse answers to
// an outdated report.
func (t *Train) CurrentReportDigest(tx *ledger.Tx, release string) (string, error) {
	r, err := tx.Release(release)
	if err != nil {
		return "", err
	}
	v, err := t.loadView(tx, r, r.Entries)
	if err != nil {
		return "", err
	}
	return t.reportDigest(v), nil
}
