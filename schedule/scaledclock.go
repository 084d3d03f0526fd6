package schedule

import (
	"fmt"
	"time"
)

// ScaledClock runs faster than real time from a chosen start, for demos and
// end-to-end runs: with speed 100000 one simulated week passes in about six
// real seconds. Timers wait the scaled real duration.
type ScaledClock struct {
	start     time.Time // simulated time at realStart
	realStart time.Time // carries the monotonic reading
	speed     float64
}

// NewScaledClock returns a clock that stands at start now and then moves
// speed times faster than real time. speed must be > 0.
func NewScaledClock(start time.Time, speed float64) (*ScaledClock, error) {
	if !(speed > 0) {
		return nil, fmt.Errorf("scaled clock: speed must be greater than 0, not %v", speed)
	}
	return &ScaledClock{start: start, realStart: time.Now(), speed: speed}, nil
}

// Speed is the factor simulated time runs faster than real time.
func (c *ScaledClock) Speed() float64 { return c.speed }

// Now returns the simulated time, in start's location.
func (c *ScaledClock) Now() time.Time {
	el := time.Since(c.realStart)
	return c.start.Add(time.Duration(float64(el) * c.speed))
}

// After delivers the simulated time once d of simulated time has passed.
func (c *ScaledClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.Now()
		return ch
	}
	real := time.Duration(float64(d) / c.speed)
	time.AfterFunc(real, func() { ch <- c.Now() })
	return ch
}

// Resolution is how late, in simulated time, a timer may fire because of
// real timer slack (taken as 200 ms of real time, generous for a loaded
// machine). The runner does not call a step "late" within this margin.
func (c *ScaledClock) Resolution() time.Duration {
	return time.Duration(float64(200*time.Millisecond) * c.speed)
}
