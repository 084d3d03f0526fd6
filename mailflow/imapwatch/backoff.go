package imapwatch

import (
	"math/rand/v2"
	"time"
)

// backoff yields reconnect delays: doubling from min up to max, each with
// "equal jitter" (a random point in the upper half of the step, so
// watchers restarted together do not reconnect in lockstep), and back to
// min after Reset.
type backoff struct {
	min, max time.Duration
	rand     func() float64 // in [0, 1)
	n        int
}

func newBackoff(min, max time.Duration, rnd func() float64) *backoff {
	if rnd == nil {
		rnd = rand.Float64
	}
	return &backoff{min: min, max: max, rand: rnd}
}

// Next returns the next delay, in [step/2, step) where step = min·2ⁿ
// capped at max.
func (b *backoff) Next() time.Duration {
	step := b.min
	for i := 0; i < b.n && step < b.max; i++ {
		step *= 2
	}
	if step > b.max {
		step = b.max
	}
	if step < b.max {
		b.n++
	}
	half := step / 2
	return half + time.Duration(b.rand()*float64(step-half))
}

// Reset starts over at min (after a healthy connection).
func (b *backoff) Reset() { b.n = 0 }
