package schedule

import "time"

// Clock is the runner's time source. Production uses SystemClock; tests use
// a FakeClock that moves only when told; the demo uses a ScaledClock.
type Clock interface {
	// Now is the current time.
	Now() time.Time
	// After delivers the time on the channel once d has passed on this
	// clock. A d <= 0 delivers at once.
	After(d time.Duration) <-chan time.Time
}

// resolutioner is implemented by clocks whose timers may fire noticeably
// late in their own time (a ScaledClock: a millisecond of real timer slack
// is minutes of simulated time). The runner widens its lateness tolerance
// to at least this much.
type resolutioner interface {
	Resolution() time.Duration
}

// SystemClock is the machine's clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
