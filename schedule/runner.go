package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/robfig/cron/v3"
)

// Store is what the runner needs of *ledger.Store.
type Store interface {
	View(fn func(tx *ledger.Tx) error) error
	Update(fn func(tx *ledger.Tx) error) error
}

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	Timetable *Timetable
	Store     Store
	// Steps maps every Kind to the function that does it.
	Steps map[Kind]StepFunc
	// Clock is the time source (default SystemClock).
	Clock  Clock
	Logger *slog.Logger
	// Tolerance: a step that runs at most this long after it was due is
	// on time (default 2m; a ScaledClock widens it to its resolution).
	Tolerance time.Duration
	// MaxWait caps each wait, so that a clock that jumps (suspend and
	// resume, a time change) is noticed within it (default 1m).
	MaxWait time.Duration
	// MaxAttempts bounds the calls of a step whose failures are temporary
	// (default 3); RetryBase and RetryMax shape the capped, jittered
	// backoff between them (default 5s and 1m).
	MaxAttempts int
	RetryBase   time.Duration
	RetryMax    time.Duration
	// Idle, if set, is called each time the runner is about to wait, with
	// the clock's time and when the wait ends at the latest; the runner's
	// timer is already set. Tests use it to step a FakeClock.
	Idle func(now, until time.Time)
}

// Runner fires the train's steps on time, once each, and catches up
// after downtime. See the package documentation for the rules.
type Runner struct {
	tt      *Timetable
	store   Store
	steps   map[Kind]StepFunc
	clock   Clock
	log     *slog.Logger
	cronLog cron.Logger
	tol     time.Duration
	maxWait time.Duration
	maxTry  int
	base    time.Duration
	max     time.Duration
	idle    func(now, until time.Time)

	wake chan struct{}

	mu    sync.Mutex // one step at a time, scheduled or triggered
	epoch time.Time  // the train's first start: slots before it are not caught up
}

// NewRunner checks the options and builds a runner. It does not touch the
// store until Run or Trigger.
func NewRunner(o RunnerOptions) (*Runner, error) {
	if o.Timetable == nil {
		return nil, errors.New("schedule runner: no timetable")
	}
	if o.Store == nil {
		return nil, errors.New("schedule runner: no store")
	}
	for _, k := range Kinds {
		if o.Steps[k] == nil {
			return nil, fmt.Errorf("schedule runner: no step function for kind %q", k)
		}
	}
	r := &Runner{
		tt: o.Timetable, store: o.Store, steps: o.Steps, clock: o.Clock, log: o.Logger,
		tol: o.Tolerance, maxWait: o.MaxWait, maxTry: o.MaxAttempts, base: o.RetryBase, max: o.RetryMax,
		idle: o.Idle, wake: make(chan struct{}, 1),
	}
	if r.clock == nil {
		r.clock = SystemClock{}
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.log = r.log.With("train", r.tt.train)
	r.cronLog = CronLogger(r.log)
	if r.tol <= 0 {
		r.tol = 2 * time.Minute
	}
	if r.maxWait <= 0 {
		r.maxWait = time.Minute
	}
	if rc, ok := r.clock.(resolutioner); ok {
		r.tol = max(r.tol, rc.Resolution())
		r.maxWait = max(r.maxWait, 5*rc.Resolution())
	}
	if r.maxTry <= 0 {
		r.maxTry = 3
	}
	if r.base <= 0 {
		r.base = 5 * time.Second
	}
	if r.max <= 0 {
		r.max = time.Minute
	}
	return r, nil
}

// Wake makes a running Run look at the plan again at once.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// passMode says why a pass may find missed steps.
type passMode struct {
	kind     int // passStartup, passJump, passNormal
	from, to time.Time
}

const (
	passStartup = iota
	passJump
	passNormal
)

// why explains a missed slot for its Late.Reason or skip reason.
func (r *Runner) why(m passMode, now time.Time) string {
	switch m.kind {
	case passStartup:
		return fmt.Sprintf("fabu was not running when it was due (it started at %s)", r.fmt(m.to))
	case passJump:
		return fmt.Sprintf("the clock jumped from %s to %s (the machine was suspended or its time changed)", r.fmt(m.from), r.fmt(m.to))
	}
	return fmt.Sprintf("fabu was busy until %s", r.fmt(now))
}

func (r *Runner) fmt(t time.Time) string { return fmtTime(t.In(r.tt.loc)) }

// Run fires steps until ctx ends. At start it catches up what was missed
// while fabu was down; a step interrupted by a crash ("running") is run
// again. It returns nil when ctx ends, or an error if the store cannot
// record the first start.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.start(); err != nil {
		return err
	}
	if w := r.tt.CoverageWarning(r.clock.Now()); w != "" {
		r.log.Warn(w)
	}
	mode := passMode{kind: passStartup, to: r.clock.Now()}
	failures := 0
	for {
		now := r.clock.Now()
		r.mu.Lock()
		next, err := r.pass(ctx, now, mode)
		r.mu.Unlock()
		if ctx.Err() != nil {
			return nil
		}
		now = r.clock.Now()
		wait := r.maxWait
		if err != nil {
			failures++
			wait = backoff(failures, r.base, r.max)
			r.log.Error("schedule pass failed; retrying", "err", err, "retry_in", wait)
		} else {
			failures = 0
			if !next.IsZero() && next.Sub(now) < wait {
				wait = next.Sub(now)
			}
		}
		until := now.Add(wait)
		timer := r.clock.After(wait)
		if r.idle != nil {
			r.idle(now, until)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-timer:
		case <-r.wake:
		}
		after := r.clock.Now()
		if after.Sub(until) > r.tol {
			mode = passMode{kind: passJump, from: now, to: after}
			r.log.Warn("the clock jumped; catching up", "from", now, "to", after)
		} else {
			mode = passMode{kind: passNormal}
		}
	}
}

// start records (or reads) the train's first start.
func (r *Runner) start() error {
	now := r.clock.Now()
	return r.store.Update(func(tx *ledger.Tx) error {
		at, ok, err := tx.FirstStart()
		if err != nil {
			return fmt.Errorf("schedule: read first start: %w", err)
		}
		if !ok {
			at = now
			if err := tx.SetFirstStart(now); err != nil {
				return fmt.Errorf("schedule: record first start: %w", err)
			}
			r.log.Info("train starts", "at", now)
		}
		r.epoch = at
		return nil
	})
}

// The window of releases a pass looks at, by release day: far enough back
// for a report that may still run late (until the next release day), far
// enough ahead for a cut several days before its release.
const (
	passBack  = 10 * 24 * time.Hour
	passAhead = 42 * 24 * time.Hour
)

// pass handles every slot due at now that is not final yet, in time order,
// and returns when the next one is due (zero if none in the window).
func (r *Runner) pass(ctx context.Context, now time.Time, mode passMode) (time.Time, error) {
	rels := r.tt.Releases(now.Add(-passBack), now.Add(passAhead))
	type item struct {
		rel  *Release
		slot Slot
	}
	var items []item
	for i := range rels {
		for _, s := range rels[i].Steps {
			items = append(items, item{&rels[i], s})
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].slot.At.Before(items[j].slot.At) })
	states := map[string]map[string]ledger.StepState{}
	err := r.store.View(func(tx *ledger.Tx) error {
		for _, rel := range rels {
			m, err := tx.StepStates(rel.Name)
			if err != nil {
				return err
			}
			states[rel.Name] = m
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("read step states: %w", err)
	}
	var next time.Time
	for _, it := range items {
		if st, ok := states[it.rel.Name][it.slot.Name]; ok && st.Status.Final() {
			continue
		}
		if it.slot.At.After(now) {
			if next.IsZero() || it.slot.At.Before(next) {
				next = it.slot.At
			}
			continue
		}
		if it.slot.At.Before(r.epoch) {
			continue
		}
		if err := r.handle(ctx, it.rel, it.slot, mode); err != nil {
			return time.Time{}, err
		}
		if ctx.Err() != nil {
			return time.Time{}, nil
		}
	}
	return next, nil
}

// handle decides what to do with one slot that is due: run it (on time or
// late) or skip it, and records the outcome.
func (r *Runner) handle(ctx context.Context, rel *Release, s Slot, mode passMode) error {
	st, found, err := r.state(s.Release, s.Name)
	if err != nil {
		return err
	}
	if found && st.Status.Final() {
		return nil
	}
	now := r.clock.Now()
	lateBy := now.Sub(s.At)
	if found && st.Status == ledger.StepRunning {
		late := Late{}
		if lateBy > r.tol {
			late = Late{Late: true, Due: s.At, Reason: "fabu stopped while this step was running; it is finished after the restart"}
		}
		r.log.Warn("step was interrupted; running it again", "release", s.Release, "step", s.Name, "attempts", st.Attempts)
		_, err := r.fire(ctx, rel, s, late, false, false)
		return err
	}
	if s.Status == PlanSkipped {
		return r.skip(s, s.Reason, slog.LevelInfo)
	}
	if reason, err := r.blocked(rel, s); err != nil {
		return err
	} else if reason != "" {
		return r.skip(s, reason, slog.LevelInfo)
	}
	if lateBy <= r.tol {
		_, err := r.fire(ctx, rel, s, Late{}, false, false)
		return err
	}
	why := r.why(mode, now)
	run, reason, err := r.catchUp(rel, s, now, lateBy)
	if err != nil {
		return err
	}
	if !run {
		return r.skip(s, fmt.Sprintf("missed: %s; %s", why, reason), slog.LevelWarn)
	}
	r.log.Warn("step runs late", "release", s.Release, "step", s.Name, "due", s.At, "why", why)
	_, err = r.fire(ctx, rel, s, Late{Late: true, Due: s.At, Reason: why}, false, false)
	return err
}

// state reads one step's state.
func (r *Runner) state(release, step string) (ledger.StepState, bool, error) {
	var st ledger.StepState
	found := false
	err := r.store.View(func(tx *ledger.Tx) error {
		s, err := tx.StepState(release, step)
		if errors.Is(err, ledger.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		st, found = *s, true
		return nil
	})
	return st, found, err
}

// backoff is a capped, jittered exponential backoff for attempt n (1, 2, …).
func backoff(n int, base, limit time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}
