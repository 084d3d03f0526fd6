package schedule

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
)

// syncBuffer is a log sink the runner goroutine writes and the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type idleEvent struct{ now, until time.Time }

// harness runs a Runner on a real bbolt store with a FakeClock, in lock
// step: the test moves the clock only while the runner waits.
type harness struct {
	t     *testing.T
	tt    *Timetable
	path  string
	store *ledger.Store
	clock *FakeClock
	logs  *syncBuffer

	// behave, if set for a step name, replaces the recording StepFunc's
	// result (it runs after the firing is recorded).
	behave map[string]func(ctx context.Context, s Step) error

	mu    sync.Mutex
	fired []Step

	runner  *Runner
	cancel  context.CancelFunc
	done    chan error
	idle    chan idleEvent
	quit    chan struct{}
	pending *idleEvent
	opts    func(*RunnerOptions)
}

func newHarness(t *testing.T, start string, edit func(*Config)) *harness {
	t.Helper()
	h := &harness{
		t:      t,
		tt:     newTT(t, edit),
		path:   filepath.Join(t.TempDir(), "fabu.db"),
		clock:  NewFakeClock(at(t, start)),
		logs:   &syncBuffer{},
		behave: map[string]func(context.Context, Step) error{},
	}
	h.open()
	t.Cleanup(func() {
		h.stop()
		if h.store != nil {
			h.store.Close()
		}
	})
	return h
}

// at parses "2006-01-02 15:04" in Shanghai.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, mustLoc(t, "Asia/Shanghai"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (h *harness) open() {
	h.t.Helper()
	s, err := ledger.Open(h.path, ledger.Options{Train: h.tt.Train(), Now: h.clock.Now})
	if err != nil {
		h.t.Fatal(err)
	}
	h.store = s
}

func (h *harness) reopen() {
	h.t.Helper()
	if err := h.store.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.open()
}

func (h *harness) stepFunc(ctx context.Context, s Step) error {
	h.mu.Lock()
	h.fired = append(h.fired, s)
	b := h.behave[s.Name]
	h.mu.Unlock()
	if b != nil {
		return b(ctx, s)
	}
	return nil
}

func (h *harness) newRunner() *Runner {
	h.t.Helper()
	fn := StepFunc(h.stepFunc)
	quit := make(chan struct{})
	h.quit = quit
	h.idle = make(chan idleEvent)
	idle := h.idle
	o := RunnerOptions{
		Timetable:   h.tt,
		Store:       h.store,
		Steps:       map[Kind]StepFunc{KindCut: fn, KindRemind: fn, KindReport: fn, KindEscalate: fn},
		Clock:       h.clock,
		Logger:      slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MaxWait:     48 * time.Hour,
		MaxAttempts: 3,
		RetryBase:   time.Nanosecond,
		RetryMax:    time.Nanosecond,
		Idle: func(now, until time.Time) {
			select {
			case idle <- idleEvent{now, until}:
			case <-quit:
			}
		},
	}
	if h.opts != nil {
		h.opts(&o)
	}
	r, err := NewRunner(o)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// start runs a new Runner in the background.
func (h *harness) start() {
	h.t.Helper()
	h.runner = h.newRunner()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	h.pending = nil
	r := h.runner
	go func() { h.done <- r.Run(ctx) }()
}

// stop ends the Runner and waits for it.
func (h *harness) stop() {
	h.t.Helper()
	if h.cancel == nil {
		return
	}
	h.cancel()
	close(h.quit)
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Fatal("runner did not stop")
	}
	h.cancel = nil
	h.pending = nil
}

// waitIdle waits until the runner waits (its timer set).
func (h *harness) waitIdle() idleEvent {
	h.t.Helper()
	select {
	case ev := <-h.idle:
		return ev
	case err := <-h.done:
		h.t.Fatalf("runner ended: %v", err)
	case <-time.After(10 * time.Second):
		h.t.Fatal("runner never became idle")
	}
	return idleEvent{}
}

// settle waits until the runner has done everything due now.
func (h *harness) settle() {
	h.t.Helper()
	if h.pending == nil {
		ev := h.waitIdle()
		h.pending = &ev
	}
}

// runUntil moves the clock timer by timer up to target, letting the runner
// fire everything due on the way, on time.
func (h *harness) runUntil(target time.Time) {
	h.t.Helper()
	for {
		h.settle()
		if h.pending.until.After(target) {
			if target.After(h.clock.Now()) {
				h.clock.Set(target)
			}
			return
		}
		h.clock.Set(h.pending.until)
		h.pending = nil
	}
}

// jumpTo moves the clock past the runner's timer at once, as a suspend and
// resume does, and waits for the runner to catch up.
func (h *harness) jumpTo(target time.Time) {
	h.t.Helper()
	h.settle()
	if !target.After(h.pending.until) {
		h.t.Fatalf("jump to %s does not pass the runner's timer %s", target, h.pending.until)
	}
	h.clock.Set(target)
	h.pending = nil
	h.settle()
}

func (h *harness) firings() []Step {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Step(nil), h.fired...)
}

// firedKeys lists "release/step" of every call, in order.
func (h *harness) firedKeys() []string {
	var out []string
	for _, s := range h.firings() {
		out = append(out, s.Release+"/"+s.Name)
	}
	return out
}

func (h *harness) state(release, step string) ledger.StepState {
	h.t.Helper()
	var st ledger.StepState
	err := h.store.View(func(tx *ledger.Tx) error {
		s, err := tx.StepState(release, step)
		if err != nil {
			return err
		}
		st = *s
		return nil
	})
	if err != nil {
		h.t.Fatalf("state %s/%s: %v", release, step, err)
	}
	return st
}

func (h *harness) hasState(release, step string) bool {
	h.t.Helper()
	var ok bool
	err := h.store.View(func(tx *ledger.Tx) error {
		_, err := tx.StepState(release, step)
		if errors.Is(err, ledger.ErrNotFound) {
			return nil
		}
		ok = err == nil
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return ok
}

func (h *harness) firing(release, step string) Step {
	h.t.Helper()
	var found []Step
	for _, s := range h.firings() {
		if s.Release == release && s.Name == step {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		h.t.Fatalf("%s/%s fired %d times, want once (fired: %v)", release, step, len(found), h.firedKeys())
	}
	return found[0]
}

func keys(release string, steps ...string) []string {
	var out []string
	for _, s := range steps {
		out = append(out, release+"/"+s)
	}
	return out
}

func equalStrings(a, b []string) bool { return strings.Join(a, "|") == strings.Join(b, "|") }

func (h *harness) stateIf(release, step string) (ledger.StepState, bool) {
	h.t.Helper()
	if !h.hasState(release, step) {
		return ledger.StepState{}, false
	}
	return h.state(release, step), true
}
