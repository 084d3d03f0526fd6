package demo

import (
	"strings"
	"testing"
	"time"
)

// wait is how long a test waits for something that should happen at once
// (a generous bound for a loaded machine; never a measured timing).
const wait = 20 * time.Second

func newTestClock(t *testing.T, speed float64, maxHold time.Duration) *Clock {
	t.Helper()
	c, err := NewClock(DemoStart(), speed, maxHold, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

func recvRelease(t *testing.T, ch <-chan func(), what string) func() {
	t.Helper()
	select {
	case rel := <-ch:
		return rel
	case <-time.After(wait):
		t.Fatalf("%s: the barrier did not fire", what)
		return nil
	}
}

func TestClockBarrierIsExactAndHolds(t *testing.T) {
	c := newTestClock(t, 1e6, 0)
	at := DemoStart().Add(37*time.Minute + 13*time.Second)
	held := c.HoldAt(at, "test barrier")
	c.Start()
	rel := recvRelease(t, held, "barrier")
	if got := c.Now(); !got.Equal(at) {
		t.Fatalf("at the barrier the clock says %s, want exactly %s", got, at)
	}
	if h := c.Holding(); len(h) != 1 || h[0] != "test barrier" {
		t.Fatalf("Holding() = %v, want [test barrier]", h)
	}
	// Held: a timer further ahead than the slack does not fire, time
	// stands still.
	far := c.holdSlack() + time.Hour
	ch := c.After(far)
	select {
	case <-ch:
		t.Fatal("a far timer fired while the clock was held")
	case <-time.After(100 * time.Millisecond):
	}
	if got := c.Now(); !got.Equal(at) {
		t.Fatalf("held clock moved to %s", got)
	}
	rel()
	select {
	case got := <-ch:
		if got.Before(at.Add(far)) {
			t.Fatalf("timer fired at %s, before its moment %s", got, at.Add(far))
		}
	case <-time.After(wait):
		t.Fatal("the timer did not fire after the clock was let go")
	}
}

func TestClockNeverPassesAPendingBarrier(t *testing.T) {
	c := newTestClock(t, 1e9, 0) // a simulated day is under 0.1 ms
	at := DemoStart().Add(24 * time.Hour)
	held := c.HoldAt(at, "tomorrow")
	c.Start()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		now := c.Now()
		if now.After(at) {
			t.Fatalf("the clock read %s, past the pending barrier %s", now, at)
		}
		select {
		case rel := <-held:
			if got := c.Now(); !got.Equal(at) {
				t.Fatalf("barrier fired with the clock at %s, want %s", got, at)
			}
			rel()
			return
		default:
		}
	}
	t.Fatal("the barrier did not fire")
}

func TestClockBarriersFireInOrder(t *testing.T) {
	c := newTestClock(t, 1e7, 0)
	first := c.HoldAt(DemoStart().Add(2*time.Hour), "second")
	second := c.HoldAt(DemoStart().Add(time.Hour), "first")
	c.Start()
	rel := recvRelease(t, second, "earlier barrier")
	select {
	case <-first:
		t.Fatal("the later barrier fired while the earlier one held the clock")
	default:
	}
	rel()
	recvRelease(t, first, "later barrier")()
}

func TestClockHoldAtInThePastHoldsNow(t *testing.T) {
	c := newTestClock(t, 1000, 0)
	c.Start()
	rel := recvRelease(t, c.HoldAt(DemoStart().Add(-time.Hour), "late"), "past barrier")
	now := c.Now()
	if now.Before(DemoStart()) {
		t.Fatalf("clock went back to %s", now)
	}
	if h := c.Holding(); len(h) != 1 {
		t.Fatalf("Holding() = %v, want one hold", h)
	}
	rel()
	if h := c.Holding(); len(h) != 0 {
		t.Fatalf("Holding() = %v after release", h)
	}
}

func TestClockStartsOnFirstTimer(t *testing.T) {
	c := newTestClock(t, 1e6, 0)
	c.StartOnFirstTimer()
	if c.Started() {
		t.Fatal("started before any timer")
	}
	if got := c.Now(); !got.Equal(DemoStart()) {
		t.Fatalf("unstarted clock says %s, want %s", got, DemoStart())
	}
	ch := c.After(time.Minute)
	if !c.Started() {
		t.Fatal("not started by the first timer")
	}
	select {
	case got := <-ch:
		if got.Before(DemoStart().Add(time.Minute)) {
			t.Fatalf("timer fired at %s, early", got)
		}
	case <-time.After(wait):
		t.Fatal("timer did not fire")
	}
}

func TestClockWatchdogLetsGo(t *testing.T) {
	c := newTestClock(t, 1000, 50*time.Millisecond)
	warned := make(chan string, 1)
	c.OnWarning(func(s string) { warned <- s })
	c.Start()
	c.Hold("something that never comes")
	select {
	case msg := <-warned:
		if !strings.Contains(msg, "something that never comes") {
			t.Fatalf("warning %q does not name the hold", msg)
		}
	case <-time.After(wait):
		t.Fatal("the watchdog did not let go of the hold")
	}
	if h := c.Holding(); len(h) != 0 {
		t.Fatalf("still held for %v", h)
	}
}

func TestClockTimerNearAHeldMomentFires(t *testing.T) {
	// fabu's scheduler asks for its timer a moment after reading the time;
	// the timer lands just past the barrier of the step's minute and must
	// still fire while the barrier holds the clock.
	c := newTestClock(t, 2e5, 0)
	at := DemoStart().Add(time.Hour)
	held := c.HoldAt(at, "step")
	c.Start()
	rel := recvRelease(t, held, "step barrier")
	defer rel()
	select {
	case got := <-c.After(30 * time.Second):
		if !got.Equal(at) {
			t.Fatalf("timer delivered %s while the clock was held at %s", got, at)
		}
	case <-time.After(wait):
		t.Fatal("a timer just past the held moment did not fire")
	}
}

func TestClockSpeedValidation(t *testing.T) {
	for _, speed := range []float64{0, -1} {
		if _, err := NewClock(DemoStart(), speed, 0, nil); err == nil {
			t.Errorf("speed %v accepted", speed)
		}
	}
}
