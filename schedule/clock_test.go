package schedule

import (
	"testing"
	"time"
)

func TestFakeClock(t *testing.T) {
	start := at(t, "2026-09-11 16:00")
	c := NewFakeClock(start)
	now := c.After(0)
	select {
	case got := <-now:
		if !got.Equal(start) {
			t.Errorf("After(0) delivered %s", got)
		}
	default:
		t.Fatal("After(0) did not fire at once")
	}
	hour := c.After(time.Hour)
	day := c.After(24 * time.Hour)
	if n, _ := c.Next(); !n.Equal(start.Add(time.Hour)) || c.Waiters() != 2 {
		t.Errorf("next %s, waiters %d", n, c.Waiters())
	}
	c.Advance(59 * time.Minute)
	select {
	case <-hour:
		t.Fatal("fired early")
	default:
	}
	c.Advance(time.Minute)
	select {
	case got := <-hour:
		if !got.Equal(start.Add(time.Hour)) {
			t.Errorf("delivered %s", got)
		}
	default:
		t.Fatal("did not fire at its deadline")
	}
	// A jump past the deadline fires it with the new time.
	jump := start.Add(72 * time.Hour)
	c.Set(jump)
	if got := <-day; !got.Equal(jump) {
		t.Errorf("delivered %s after the jump", got)
	}
	if _, ok := c.Next(); ok || c.Waiters() != 0 {
		t.Error("timers left")
	}
	// The clock may go back.
	c.Set(start)
	if !c.Now().Equal(start) {
		t.Errorf("now %s", c.Now())
	}
}

func TestScaledClock(t *testing.T) {
	if _, err := NewScaledClock(time.Now(), 0); err == nil {
		t.Error("speed 0 accepted")
	}
	start := at(t, "2026-09-11 16:00")
	c, err := NewScaledClock(start, 3600*1000) // an hour per real millisecond
	if err != nil {
		t.Fatal(err)
	}
	if c.Now().Before(start) || c.Now().Location() != start.Location() {
		t.Errorf("now %s", c.Now())
	}
	want := start.Add(24 * time.Hour)
	select {
	case got := <-c.After(24 * time.Hour):
		if got.Before(want) {
			t.Errorf("a simulated day ended at %s, before %s", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a simulated day did not pass")
	}
	if c.Resolution() < time.Hour {
		t.Errorf("resolution %s: the runner would call a step late for real timer slack", c.Resolution())
	}
}

// TestRunnerOnScaledClock runs a whole simulated week on a ScaledClock, as
// the demo does: every step fires once, in order. (Whether a step counts
// as late depends on real timer slack, so it is not asserted here.)
func TestRunnerOnScaledClock(t *testing.T) {
	h := newHarness(t, "2026-09-11 16:00", nil)
	// A simulated week in about 2.4 s of real time.
	sc, err := NewScaledClock(at(t, "2026-09-11 16:00"), 250000)
	if err != nil {
		t.Fatal(err)
	}
	h.opts = func(o *RunnerOptions) {
		o.Clock = sc
		o.Idle = nil
		o.MaxWait = 0
	}
	h.start()
	deadline := time.After(30 * time.Second)
	for {
		if st, ok := h.stateIf("2026-09-24", "cut"); ok && st.Status.Final() {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("the week did not pass; fired %v", h.firedKeys())
		case <-time.After(20 * time.Millisecond):
		}
	}
	h.stop()
	want := append(append([]string{}, week917...), "2026-09-24/cut")
	if got := h.firedKeys(); !equalStrings(got, want) {
		t.Fatalf("fired %v\nwant  %v", got, want)
	}
}
