package demo

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// minTimerDelay is the least real time before a timer made by After fires:
// fabu's outbox worker and scheduler wait on the clock in a loop (the
// worker at least every simulated minute), and at the demo's speed they
// would otherwise spin.
const minTimerDelay = 20 * time.Millisecond

// Clock is the demo's fast clock: a schedule.Clock whose simulated time
// runs Speed times faster than real time and stands still while anything
// holds it. The demo holds it while fabu is at work on something that
// happens "at once" in the story: a step and its mail, a scripted person's
// reply being read and answered. So a slow or loaded machine makes the
// demo take longer; it never changes what happens at which simulated time.
//
// A moment can be made a barrier (HoldAt): simulated time never passes it
// before it fired, it fires at exactly that moment, and the clock is held
// there until the one who asked lets go. The demo puts a barrier at every
// step of the week, so fabu's scheduler runs each step at its very minute.
// Timers made by After (fabu's own waits) are loose: they fire once their
// moment has come, but never sooner than minTimerDelay of real time.
//
// Every hold is let go by itself after maxHold of real time, with a
// warning: a demo that waits for something that never comes goes on, and
// reports what was missing at the end.
type Clock struct {
	maxHold time.Duration
	log     *slog.Logger

	mu       sync.Mutex
	speed    float64
	warn     func(string)
	simBase  time.Time // simulated time at realBase
	realBase time.Time
	started  bool
	auto     bool // start at the first After
	stopped  bool
	holds    map[int]*hold
	nextID   int
	barriers []*barrier
	timers   []*timer
	rt       *time.Timer
	gen      int
}

type barrier struct {
	at  time.Time
	why string
	got chan func() // the hold's release, once
}

type timer struct {
	at        time.Time
	notBefore time.Time // real time
	ch        chan time.Time
}

type hold struct {
	why      string
	watchdog *time.Timer
}

// NewClock returns a clock standing at start, stopped until Start (or the
// first After, with StartOnFirstTimer). maxHold bounds every hold in real
// time (0: 30 s).
func NewClock(start time.Time, speed float64, maxHold time.Duration, log *slog.Logger) (*Clock, error) {
	if !(speed > 0) {
		return nil, fmt.Errorf("demo clock: speed must be greater than 0, not %v", speed)
	}
	if maxHold <= 0 {
		maxHold = 30 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Clock{speed: speed, maxHold: maxHold, log: log, simBase: start, realBase: time.Now(), holds: map[int]*hold{}}, nil
}

// OnWarning sets where the clock reports a hold it let go by itself.
func (c *Clock) OnWarning(f func(string)) {
	c.mu.Lock()
	c.warn = f
	c.mu.Unlock()
}

// Speed is how many times faster than real time the clock runs.
func (c *Clock) Speed() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.speed
}

// SetSpeed changes the speed from now on (1 is real time).
func (c *Clock) SetSpeed(speed float64) {
	if !(speed > 0) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rebase(time.Now())
	c.speed = speed
	c.arm()
}

// Start lets the clock run (when nothing holds it).
func (c *Clock) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.startLocked()
}

func (c *Clock) startLocked() {
	if c.started || c.stopped {
		return
	}
	c.started = true
	c.realBase = time.Now()
	c.arm()
}

// StartOnFirstTimer makes the clock start when the first timer is asked
// for (After): fabu's scheduler then stands at the start time, having
// recorded its first start, before any time passes.
func (c *Clock) StartOnFirstTimer() {
	c.mu.Lock()
	c.auto = true
	c.mu.Unlock()
}

// Started reports whether the clock has started.
func (c *Clock) Started() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started
}

// running reports whether simulated time moves now.
func (c *Clock) running() bool { return c.started && !c.stopped && len(c.holds) == 0 }

// free is the simulated time without the barriers.
func (c *Clock) free(real time.Time) time.Time {
	if !c.running() {
		return c.simBase
	}
	return c.simBase.Add(time.Duration(float64(real.Sub(c.realBase)) * c.speed))
}

// nowLocked is the simulated time: never past the earliest barrier.
func (c *Clock) nowLocked(real time.Time) time.Time {
	t := c.free(real)
	if b := c.firstBarrier(); b != nil && t.After(b.at) {
		t = b.at
	}
	if t.Before(c.simBase) {
		t = c.simBase
	}
	return t
}

// rebase makes the current simulated time the new base.
func (c *Clock) rebase(real time.Time) {
	c.simBase = c.nowLocked(real)
	c.realBase = real
}

// Now returns the simulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked(time.Now())
}

// After delivers the simulated time once d of it has passed (and at least
// minTimerDelay of real time).
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.auto {
		c.startLocked()
	}
	real := time.Now()
	t := &timer{at: c.nowLocked(real).Add(max(d, 0)), notBefore: real.Add(minTimerDelay), ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	c.arm()
	return t.ch
}

// Resolution is how late, in simulated time, a timer made by After may
// fire: the runner does not take that for a clock jump.
func (c *Clock) Resolution() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(float64(200*time.Millisecond) * c.speed)
}

// HoldAt makes at a barrier and returns a channel that delivers, once
// simulated time reaches it, the release of a hold taken at exactly that
// moment: the caller acts at at while the clock stands still, then calls
// release. The barrier is in place when HoldAt returns; an at that is not
// in the future holds at once.
func (c *Clock) HoldAt(at time.Time, why string) <-chan func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := make(chan func(), 1)
	if real := time.Now(); !at.After(c.nowLocked(real)) {
		got <- c.holdLocked(why, real)
		return got
	}
	c.barriers = append(c.barriers, &barrier{at: at, why: why, got: got})
	c.arm()
	return got
}

// Hold stops simulated time until release is called (or maxHold passed).
func (c *Clock) Hold(why string) (release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holdLocked(why, time.Now())
}

// holdLocked holds the clock at its time at real.
func (c *Clock) holdLocked(why string, real time.Time) func() {
	c.rebase(real)
	c.nextID++
	id := c.nextID
	h := &hold{why: why}
	c.holds[id] = h
	h.watchdog = time.AfterFunc(c.maxHold, func() {
		c.mu.Lock()
		_, held := c.holds[id]
		if !held || c.stopped {
			c.mu.Unlock()
			return
		}
		warn := c.warn
		c.releaseLocked(id)
		c.mu.Unlock()
		msg := fmt.Sprintf("waited %s (real time) for %s; going on without it", c.maxHold, why)
		c.log.Warn("demo clock: " + msg)
		if warn != nil {
			warn(msg)
		}
	})
	c.arm()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.releaseLocked(id)
	}
}

func (c *Clock) releaseLocked(id int) {
	h, ok := c.holds[id]
	if !ok {
		return
	}
	h.watchdog.Stop()
	delete(c.holds, id)
	if len(c.holds) == 0 {
		c.realBase = time.Now() // time moves on from where it stood
	}
	c.arm()
}

// Stop ends the clock: simulated time stands still from now on, holds
// and timers are forgotten.
func (c *Clock) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rebase(time.Now())
	c.stopped = true
	for id, h := range c.holds {
		h.watchdog.Stop()
		delete(c.holds, id)
	}
	c.stopTimer()
}

// Holding lists the reasons the clock is held for, sorted.
func (c *Clock) Holding() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holdingLocked()
}

func (c *Clock) holdingLocked() []string {
	out := make([]string, 0, len(c.holds))
	for _, h := range c.holds {
		out = append(out, h.why)
	}
	sort.Strings(out)
	return out
}

// String describes the clock for logs and errors.
func (c *Clock) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	state := "running"
	switch {
	case c.stopped:
		state = "stopped"
	case !c.started:
		state = "not started"
	case len(c.holds) > 0:
		state = "held for " + strings.Join(c.holdingLocked(), ", ")
	}
	return fmt.Sprintf("%s ×%g, %s", c.nowLocked(time.Now()).Format(time.RFC3339), c.speed, state)
}

func (c *Clock) firstBarrier() *barrier {
	var e *barrier
	for _, b := range c.barriers {
		if e == nil || b.at.Before(e.at) {
			e = b
		}
	}
	return e
}

func (c *Clock) stopTimer() {
	if c.rt != nil {
		c.rt.Stop()
		c.rt = nil
	}
	c.gen++
}

// holdSlack is how far ahead of a held clock a timer made by After may be
// and still fire: the scheduler reads the time and asks for its timer a
// moment apart, and at the demo's speed that moment is simulated minutes,
// so its timer for a step lands just after the barrier that holds the
// clock at the step's minute. Firing early only makes fabu look again.
func (c *Clock) holdSlack() time.Duration {
	return time.Duration(3*float64(minTimerDelay)*c.speed) + time.Minute
}

// timerDue reports whether a timer for at may fire at simulated time now.
func (c *Clock) timerDue(at, now time.Time) bool {
	if !at.After(now) {
		return true
	}
	return c.started && len(c.holds) > 0 && !at.After(now.Add(c.holdSlack()))
}

// realDelay is how long in real time until simulated time reaches at
// (-1: not while the clock stands still).
func (c *Clock) realDelay(at time.Time, real time.Time) time.Duration {
	now := c.nowLocked(real)
	if !at.After(now) {
		return 0
	}
	if !c.running() {
		return -1
	}
	return time.Duration(float64(at.Sub(c.free(real))) / c.speed)
}

// arm sets the real timer for the next barrier or timer that can fire.
func (c *Clock) arm() {
	c.stopTimer()
	if c.stopped || !c.started {
		return
	}
	real := time.Now()
	next := time.Duration(-1)
	consider := func(d time.Duration) {
		if d >= 0 && (next < 0 || d < next) {
			next = d
		}
	}
	if b := c.firstBarrier(); b != nil && c.running() {
		consider(c.realDelay(b.at, real))
	}
	now := c.nowLocked(real)
	for _, t := range c.timers {
		d := c.realDelay(t.at, real)
		if c.timerDue(t.at, now) {
			d = 0
		}
		if d >= 0 {
			consider(max(d, t.notBefore.Sub(real)))
		}
	}
	if next < 0 {
		return
	}
	gen := c.gen
	c.rt = time.AfterFunc(next, func() { c.fire(gen) })
}

// fire delivers what is due: a barrier at exactly its moment (the clock is
// then held there), and the timers whose moment has come.
func (c *Clock) fire(gen int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || c.stopped {
		return
	}
	real := time.Now()
	if b := c.firstBarrier(); b != nil && c.running() && !c.free(real).Before(b.at) {
		at := b.at
		c.simBase, c.realBase = at, real
		var due []*barrier
		kept := c.barriers[:0]
		for _, x := range c.barriers {
			if x.at.After(at) {
				kept = append(kept, x)
			} else {
				due = append(due, x)
			}
		}
		c.barriers = kept
		for _, x := range due {
			x.got <- c.holdLocked(x.why, real)
		}
	}
	now := c.nowLocked(real)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if c.timerDue(t.at, now) && !real.Before(t.notBefore) {
			t.ch <- now
			continue
		}
		kept = append(kept, t)
	}
	c.timers = kept
	c.arm()
}
