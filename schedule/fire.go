package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/robfig/cron/v3"
)

// auditActor is the actor of the audit records the runner writes.
const auditActor = "schedule"

// fire runs one step: it marks it running, calls its StepFunc through
// cron's Recover wrapper (retrying temporary failures with backoff), and
// records done or failed. The StepFunc commits its own mail; a crash
// before "done" leaves "running", and the step is run again at start.
// It returns the step's final state; the error is only for the store.
func (r *Runner) fire(ctx context.Context, rel *Release, s Slot, late Late, forced, manual bool) (ledger.StepState, error) {
	step := Step{
		Train: r.tt.train, Release: rel.Name, Name: s.Name, Kind: s.Kind, Env: s.Env, Note: s.Note,
		Scheduled: s.At, Nominal: s.Nominal, Late: late, Forced: forced, Manual: manual,
	}
	if s.Status == PlanShifted {
		step.ShiftReason = s.Reason
	}
	now := r.clock.Now()
	var st ledger.StepState
	err := r.store.Update(func(tx *ledger.Tx) error {
		states, err := tx.StepStates(rel.Name)
		if err != nil {
			return err
		}
		step.Skipped = collectSkipped(rel, s, states)
		st = states[s.Name]
		st.Status = ledger.StepRunning
		st.ScheduledAt = s.At
		st.FiredAt = now
		st.FinishedAt = time.Time{}
		st.Late, st.Reason = late.Late, late.Reason
		st.Attempts++
		st.Error = ""
		st.NoRelease = false
		st.Forced = forced
		step.Attempt = st.Attempts
		if err := tx.PutStepState(rel.Name, s.Name, st); err != nil {
			return err
		}
		return tx.Audit(ledger.AuditRecord{Actor: auditActor, Action: "step.started", Subject: s.Name, Release: rel.Name, Detail: late.Reason})
	})
	if err != nil {
		return st, stepError(s, fmt.Errorf("mark running: %w", err))
	}
	if s.Kind == KindCut {
		if step.SkippedReleases, err = r.skippedBefore(rel); err != nil {
			return st, stepError(s, err)
		}
	}
	fn := r.steps[s.Kind]
	for try := 1; ; try++ {
		r.log.Info("step runs", "release", rel.Name, "step", s.Name, "attempt", step.Attempt, "late", late.Late)
		serr := r.invoke(ctx, fn, step)
		if serr == nil || errors.Is(serr, ErrNoRelease) {
			return r.finish(s, func(st *ledger.StepState) {
				st.Status = ledger.StepDone
				if serr != nil {
					st.NoRelease = true
					st.Reason = strings.TrimSpace(st.Reason + "; no release this week")
					st.Reason = strings.TrimPrefix(st.Reason, "; ")
				}
			}, "step.done", "")
		}
		if ctx.Err() != nil {
			// Stopped mid-step: it stays "running" and runs again at start.
			return st, nil
		}
		if isTemporary(serr) && try < r.maxTry {
			wait := backoff(try, r.base, r.max)
			r.log.Warn("step failed; retrying", "release", rel.Name, "step", s.Name, "err", serr, "retry_in", wait)
			select {
			case <-ctx.Done():
				return st, nil
			case <-r.clock.After(wait):
			}
			err := r.store.Update(func(tx *ledger.Tx) error {
				cur, err := tx.StepState(rel.Name, s.Name)
				if err != nil {
					return err
				}
				cur.Attempts++
				cur.Error = serr.Error()
				step.Attempt = cur.Attempts
				return tx.PutStepState(rel.Name, s.Name, *cur)
			})
			if err != nil {
				return st, stepError(s, fmt.Errorf("count attempt: %w", err))
			}
			continue
		}
		r.log.Error("step failed", "release", rel.Name, "step", s.Name, "err", serr)
		return r.finish(s, func(st *ledger.StepState) {
			st.Status = ledger.StepFailed
			st.Error = serr.Error()
		}, "step.failed", serr.Error())
	}
}

// finish applies change to the step's state, stamps FinishedAt and audits.
func (r *Runner) finish(s Slot, change func(*ledger.StepState), action, detail string) (ledger.StepState, error) {
	now := r.clock.Now()
	var st ledger.StepState
	err := r.store.Update(func(tx *ledger.Tx) error {
		cur, err := tx.StepState(s.Release, s.Name)
		if err != nil {
			return err
		}
		change(cur)
		cur.FinishedAt = now
		st = *cur
		if err := tx.PutStepState(s.Release, s.Name, *cur); err != nil {
			return err
		}
		if detail == "" {
			detail = cur.Reason
		}
		return tx.Audit(ledger.AuditRecord{Actor: auditActor, Action: action, Subject: s.Name, Release: s.Release, Detail: detail})
	})
	if err != nil {
		return st, stepError(s, fmt.Errorf("record %s: %w", action, err))
	}
	if st.Status == ledger.StepDone {
		r.log.Info("step done", "release", s.Release, "step", s.Name, "no_release", st.NoRelease)
	}
	return st, nil
}

// invoke calls fn through cron's Recover wrapper. A panic is logged by
// cron.Recover (with its stack) and returned as a *PanicError.
func (r *Runner) invoke(ctx context.Context, fn StepFunc, step Step) (err error) {
	pc := &panicCatcher{next: r.cronLog}
	finished := false
	job := cron.NewChain(cron.Recover(pc)).Then(cron.FuncJob(func() {
		err = fn(ctx, step)
		finished = true
	}))
	job.Run()
	if !finished {
		perr := pc.err
		if perr == nil {
			perr = errors.New("panic without a value")
		}
		return &PanicError{Err: perr}
	}
	return err
}

// skip records a step as skipped with reason.
func (r *Runner) skip(s Slot, reason string, level slog.Level) error {
	now := r.clock.Now()
	err := r.store.Update(func(tx *ledger.Tx) error {
		st, err := tx.StepState(s.Release, s.Name)
		if errors.Is(err, ledger.ErrNotFound) {
			st, err = &ledger.StepState{}, nil
		}
		if err != nil {
			return err
		}
		st.Status = ledger.StepSkipped
		st.ScheduledAt = s.At
		st.FinishedAt = now
		st.Reason = reason
		if err := tx.PutStepState(s.Release, s.Name, *st); err != nil {
			return err
		}
		return tx.Audit(ledger.AuditRecord{Actor: auditActor, Action: "step.skipped", Subject: s.Name, Release: s.Release, Detail: reason})
	})
	if err != nil {
		return stepError(s, fmt.Errorf("record skipped: %w", err))
	}
	r.log.Log(context.Background(), level, "step skipped", "release", s.Release, "step", s.Name, "due", s.At, "reason", reason)
	return nil
}

// collectSkipped lists the steps of rel before s that were skipped since
// the last one that ran, for s's mail to mention.
func collectSkipped(rel *Release, s Slot, states map[string]ledger.StepState) []SkippedStep {
	var out []SkippedStep
	for _, p := range rel.Steps {
		if p.Index >= s.Index {
			break
		}
		st, ok := states[p.Name]
		switch {
		case ok && st.Status == ledger.StepSkipped:
			out = append(out, SkippedStep{Name: p.Name, Kind: p.Kind, Env: p.Env, Due: p.At, Reason: st.Reason})
		case !ok && p.Status == PlanSkipped:
			out = append(out, SkippedStep{Name: p.Name, Kind: p.Kind, Env: p.Env, Due: p.At, Reason: p.Reason})
		case ok && st.Status == ledger.StepDone:
			out = nil
		}
	}
	return out
}

// skippedBefore lists the releases just before rel that did not run: a
// release day off, or a cut that was skipped.
func (r *Runner) skippedBefore(rel *Release) ([]SkippedRelease, error) {
	prev := r.tt.Releases(rel.Day.AddDate(0, 0, -42), rel.Day)
	var out []SkippedRelease
	err := r.store.View(func(tx *ledger.Tx) error {
		for i := len(prev) - 1; i >= 0; i-- {
			p := prev[i]
			if p.Skipped {
				out = append(out, SkippedRelease{Release: p.Name, Reason: p.Reason})
				continue
			}
			st, err := tx.StepState(p.Name, p.Steps[0].Name)
			if errors.Is(err, ledger.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			if st.Status != ledger.StepSkipped {
				return nil
			}
			out = append(out, SkippedRelease{Release: p.Name, Reason: "the cut was skipped: " + st.Reason})
		}
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// TriggerResult says what Trigger did.
type TriggerResult struct {
	Release string
	Step    string
	// Ran is false when the step was already done and not forced.
	Ran bool
	// State is the step's state afterwards.
	State   ledger.StepState
	Message string
}

// Trigger runs the step called name of release now (`fabu trigger`, and
// the early report once every entry has passed the last environment).
// release "" means the step's current release: the latest one whose step
// was due and whose release day has not passed, else the next one. A step
// already done is left alone unless force is set (the step then gets
// Forced and may send its mail again); any other state runs it.
func (r *Runner) Trigger(ctx context.Context, name, release string, force bool) (TriggerResult, error) {
	if _, ok := r.tt.Step(name); !ok {
		return TriggerResult{}, fmt.Errorf("%w %q: the train's steps are %s", ErrUnknownStep, name, strings.Join(r.tt.StepNames(), ", "))
	}
	now := r.clock.Now()
	rel, err := r.releaseFor(name, release, now)
	if err != nil {
		return TriggerResult{}, err
	}
	s, _ := rel.Slot(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	res := TriggerResult{Release: rel.Name, Step: name}
	st, found, err := r.state(rel.Name, name)
	if err != nil {
		return res, err
	}
	if found && st.Status == ledger.StepDone && !force {
		res.State = st
		res.Message = fmt.Sprintf("%s of release %s is already done (at %s); nothing to do (force to run it again)", name, rel.Name, r.fmt(st.FinishedAt))
		return res, nil
	}
	late := Late{}
	if now.Sub(s.At) > r.tol {
		late = Late{Late: true, Due: s.At, Reason: "run by hand after it was due"}
		if found && st.Status == ledger.StepSkipped {
			late.Reason += " (it had been skipped: " + st.Reason + ")"
		}
	}
	st, err = r.fire(ctx, &rel, s, late, found && st.Status == ledger.StepDone && force, true)
	if err != nil {
		return res, err
	}
	res.Ran, res.State = true, st
	res.Message = fmt.Sprintf("%s of release %s: %s", name, rel.Name, st.Status)
	if st.Error != "" {
		res.Message += " (" + st.Error + ")"
	}
	r.Wake()
	return res, nil
}

// releaseFor finds the release Trigger acts on.
func (r *Runner) releaseFor(name, release string, now time.Time) (Release, error) {
	loc := r.tt.loc
	if release != "" {
		day, err := time.ParseInLocation(DateLayout, release, loc)
		if err != nil {
			return Release{}, fmt.Errorf("%w: %q is not a date written YYYY-MM-DD", ErrUnknownRelease, release)
		}
		rels := r.tt.Releases(day, day.AddDate(0, 0, 1))
		if len(rels) == 0 {
			near := r.tt.Releases(day.AddDate(0, 0, -7), day.AddDate(0, 0, 8))
			var names []string
			for _, n := range near {
				names = append(names, n.Name)
			}
			return Release{}, fmt.Errorf("%w %s: releases near it are %s", ErrUnknownRelease, release, strings.Join(names, ", "))
		}
		return rels[0], nil
	}
	today := r.tt.dayOf(now)
	rels := r.tt.Releases(today.AddDate(0, 0, -14), today.AddDate(0, 0, 60))
	var cur *Release
	for i := range rels {
		s, _ := rels[i].Slot(name)
		if !s.At.After(now) && !rels[i].Day.Before(today) {
			cur = &rels[i]
		}
	}
	if cur != nil {
		return *cur, nil
	}
	for i := range rels {
		if s, _ := rels[i].Slot(name); s.At.After(now) {
			return rels[i], nil
		}
	}
	return Release{}, fmt.Errorf("%w: no release of step %s within 60 days", ErrUnknownRelease, name)
}
