package schedule

import (
	"fmt"
	"time"

	"github.com/fabu-team/fabu/ledger"
)

// blocked returns why a step other than the cut cannot run because of its
// release's cut ("" when it can), and, for the escalation, its report.
func (r *Runner) blocked(rel *Release, s Slot) (string, error) {
	if s.Kind == KindCut {
		return "", nil
	}
	cut := rel.Steps[0]
	st, found, err := r.state(rel.Name, cut.Name)
	if err != nil {
		return "", err
	}
	switch {
	case !found && cut.At.Before(r.epoch):
		return fmt.Sprintf("no release this week: fabu started (%s) after this release's cut was due (%s)", r.fmt(r.epoch), r.fmt(cut.At)), nil
	case !found:
		return "no release this week: the cut has not run", nil
	case st.Status == ledger.StepSkipped:
		return fmt.Sprintf("no release this week: the cut was skipped (%s)", st.Reason), nil
	case st.Status == ledger.StepDone && st.NoRelease:
		return "no release this week", nil
	case st.Status == ledger.StepFailed:
		return fmt.Sprintf("the cut failed (%s); run `fabu trigger cut --release %s` once the cause is fixed", st.Error, rel.Name), nil
	case st.Status != ledger.StepDone:
		return fmt.Sprintf("the cut has not finished (it is %s)", st.Status), nil
	}
	if s.Kind == KindEscalate {
		rep, ok := rel.Slot("report")
		if !ok {
			return "", nil
		}
		rst, found, err := r.state(rel.Name, rep.Name)
		if err != nil {
			return "", err
		}
		if !found || rst.Status != ledger.StepDone {
			status := "has not run"
			if found {
				status = "is " + string(rst.Status)
			}
			return fmt.Sprintf("the report %s, so no decision is awaited", status), nil
		}
	}
	return "", nil
}

// catchUp decides whether a step found lateBy after it was due still runs
// (the rules are in the package documentation). reason says why not.
func (r *Runner) catchUp(rel *Release, s Slot, now time.Time, lateBy time.Duration) (run bool, reason string, err error) {
	grace := r.tt.grace
	today := r.tt.dayOf(now)
	switch s.Kind {
	case KindRemind:
		if !today.Equal(r.tt.dayOf(s.At)) {
			return false, "a reminder for a day that has passed is not sent", nil
		}
		if lateBy > grace {
			return false, fmt.Sprintf("it is more than the grace period (%s) late", grace), nil
		}
		return true, "", nil
	case KindCut:
		if lateBy <= grace || today.Before(rel.Day) {
			return true, "", nil
		}
		return false, fmt.Sprintf("it is more than the grace period (%s) late and the release day %s has come; its entries wait for the next train", grace, rel.Name), nil
	case KindReport:
		if lateBy <= grace {
			return true, "", nil
		}
		next := r.nextReleaseDay(rel)
		if next.IsZero() || now.Before(next) {
			return true, "", nil
		}
		return false, fmt.Sprintf("it is more than the grace period (%s) late and the next release day %s has come; run `fabu trigger report --release %s` to have this release decided", grace, next.Format(DateLayout), rel.Name), nil
	case KindEscalate:
		if rep, ok := rel.Slot("report"); ok {
			rst, _, err := r.state(rel.Name, rep.Name)
			if err != nil {
				return false, "", err
			}
			if rst.FiredAt.After(s.At) {
				return false, fmt.Sprintf("the report went out only at %s, after the decision deadline, so the managers get time to answer it first", r.fmt(rst.FiredAt)), nil
			}
		}
		if lateBy > grace {
			return false, fmt.Sprintf("it is more than the grace period (%s) late", grace), nil
		}
		return true, "", nil
	}
	return false, "unknown step kind " + string(s.Kind), nil
}

// nextReleaseDay is the release day after rel's (zero if none is found
// within six weeks).
func (r *Runner) nextReleaseDay(rel *Release) time.Time {
	for _, n := range r.tt.Releases(rel.Day.AddDate(0, 0, 1), rel.Day.AddDate(0, 0, 42)) {
		return n.Day
	}
	return time.Time{}
}
