package schedule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
)

var week917 = keys("2026-09-17", stepNames...)

func TestRunnerFiresAWeekOnTime(t *testing.T) {
	h := newHarness(t, "2026-09-11 16:00", nil)
	h.start()
	h.runUntil(at(t, "2026-09-18 18:00"))
	want := append(append([]string{}, week917...), "2026-09-24/cut")
	if got := h.firedKeys(); !equalStrings(got, want) {
		t.Fatalf("fired %v\nwant  %v", got, want)
	}
	for _, s := range h.firings() {
		if s.Late.Late || s.Manual || s.Forced || s.Attempt != 1 {
			t.Errorf("%s: late %v manual %v forced %v attempt %d", s.Key(), s.Late.Late, s.Manual, s.Forced, s.Attempt)
		}
		if s.Train != "t" || !s.Scheduled.Equal(s.Nominal) {
			t.Errorf("%s: train %q scheduled %s nominal %s", s.Key(), s.Train, s.Scheduled, s.Nominal)
		}
		st := h.state(s.Release, s.Name)
		if st.Status != ledger.StepDone || !st.FiredAt.Equal(s.Scheduled) || st.Attempts != 1 {
			t.Errorf("%s: state %+v", s.Key(), st)
		}
	}
	sit2 := h.firing("2026-09-17", "sit-2")
	if sit2.Kind != KindRemind || sit2.Env != "SIT" || sit2.Note != "SIT 今天截止" || sit2.Key() != "t/2026-09-17/sit-2" {
		t.Errorf("sit-2 step %+v", sit2)
	}
	if got := h.firing("2026-09-17", "escalate").Scheduled; !got.Equal(at(t, "2026-09-17 21:00")) {
		t.Errorf("escalate at %s", got)
	}
}

func TestRunnerRestartMidWeek(t *testing.T) {
	h := newHarness(t, "2026-09-11 16:00", nil)
	h.start()
	h.runUntil(at(t, "2026-09-15 12:00"))
	if got := h.firedKeys(); !equalStrings(got, week917[:3]) {
		t.Fatalf("before restart fired %v", got)
	}
	h.stop()
	h.reopen() // the same bbolt file, a new process
	h.start()
	h.runUntil(at(t, "2026-09-18 18:00"))
	want := append(append([]string{}, week917...), "2026-09-24/cut")
	if got := h.firedKeys(); !equalStrings(got, want) {
		t.Fatalf("fired %v\nwant  %v", got, want)
	}
	for _, s := range h.firings() {
		if s.Late.Late {
			t.Errorf("%s ran late", s.Key())
		}
	}
}

// TestRunnerDownThursdayToFriday: fabu is down from Thursday 17:00 to
// Friday 19:00. The pre-production reminder (Thu 09:00) was done before;
// at start the report (Thu 18:00) and the next cut (Fri 17:00) run late,
// and the escalation (Thu 21:00) is skipped: the managers just got the
// report.
func TestRunnerDownThursdayToFriday(t *testing.T) {
	h := newHarness(t, "2026-09-11 16:00", nil)
	h.start()
	h.runUntil(at(t, "2026-09-17 17:00"))
	h.stop()
	h.reopen()
	h.clock.Set(at(t, "2026-09-18 19:00"))
	h.start()
	h.settle()

	want := append(append([]string{}, week917[:6]...), "2026-09-24/cut")
	if got := h.firedKeys(); !equalStrings(got, want) {
		t.Fatalf("fired %v\nwant  %v", got, want)
	}
	rep := h.firing("2026-09-17", "report")
	if !rep.Late.Late || !rep.Late.Due.Equal(at(t, "2026-09-17 18:00")) || !strings.Contains(rep.Late.Reason, "fabu was not running when it was due (it started at 2026-09-18 19:00)") {
		t.Errorf("report late info %+v", rep.Late)
	}
	cut := h.firing("2026-09-24", "cut")
	if !cut.Late.Late || !cut.Late.Due.Equal(at(t, "2026-09-18 17:00")) || cut.Late.Reason == "" {
		t.Errorf("cut late info %+v", cut.Late)
	}
	esc := h.state("2026-09-17", "escalate")
	if esc.Status != ledger.StepSkipped || !strings.Contains(esc.Reason, "after the decision deadline") || !strings.Contains(esc.Reason, "missed: fabu was not running") {
		t.Errorf("escalate state %+v", esc)
	}
	if st := h.state("2026-09-17", "preprod"); st.Attempts != 1 || st.Late {
		t.Errorf("preprod state %+v", st)
	}
	if st := h.state("2026-09-17", "report"); st.Status != ledger.StepDone || !st.Late || !st.FiredAt.Equal(at(t, "2026-09-18 19:00")) {
		t.Errorf("report state %+v", st)
	}
	// The rest of the next week runs on time.
	h.runUntil(at(t, "2026-09-21 10:00"))
	if s := h.firing("2026-09-24", "sit-1"); s.Late.Late {
		t.Errorf("sit-1 late %+v", s.Late)
	}
}

// TestRunnerClockJump: the machine sleeps from Thursday morning to Friday
// 20:00. The runner notices on waking: the Thursday reminder's day has
// passed (skipped and logged), the report still runs late, the
// escalation is skipped, and the cut, 3h late, is within grace: late.
func TestRunnerClockJump(t *testing.T) {
	h := newHarness(t, "2026-09-11 16:00", nil)
	h.start()
	h.runUntil(at(t, "2026-09-17 08:00"))
	h.jumpTo(at(t, "2026-09-18 20:00"))

	want := append(append([]string{}, week917[:4]...), "2026-09-17/report", "2026-09-24/cut")
	if got := h.firedKeys(); !equalStrings(got, want) {
		t.Fatalf("fired %v\nwant  %v", got, want)
	}
	pre := h.state("2026-09-17", "preprod")
	if pre.Status != ledger.StepSkipped || !strings.Contains(pre.Reason, "the clock jumped from") || !strings.Contains(pre.Reason, "to 2026-09-18 20:00") || !strings.Contains(pre.Reason, "a day that has passed") {
		t.Errorf("preprod state %+v", pre)
	}
	if logs := h.logs.String(); !strings.Contains(logs, "step skipped") || !strings.Contains(logs, "step=preprod") || !strings.Contains(logs, "the clock jumped") {
		t.Errorf("the skipped reminder is not logged:\n%s", logs)
	}
	rep := h.firing("2026-09-17", "report")
	if !rep.Late.Late || !strings.Contains(rep.Late.Reason, "the clock jumped") {
		t.Errorf("report late %+v", rep.Late)
	}
	// The report's mail can say that the pre-production reminder did not go out.
	if len(rep.Skipped) != 1 || rep.Skipped[0].Name != "preprod" || rep.Skipped[0].Env != "准生产" || !strings.Contains(rep.Skipped[0].Reason, "clock jumped") {
		t.Errorf("report skipped list %+v", rep.Skipped)
	}
	if st := h.state("2026-09-17", "escalate"); st.Status != ledger.StepSkipped {
		t.Errorf("escalate %+v", st)
	}
	cut := h.firing("2026-09-24", "cut")
	if !cut.Late.Late || !cut.Late.Due.Equal(at(t, "2026-09-18 17:00")) {
		t.Errorf("cut late %+v", cut.Late)
	}
}

func TestRunnerCatchUpRules(t *testing.T) {
	cases := []struct {
		name      string
		downFrom  string // runner stops here
		downUntil string // and starts again here
		release   string
		step      string
		wantRun   bool
		reason    string // skip reason substring
	}{
		{"reminder same day, within grace: late", "2026-09-14 08:00", "2026-09-14 15:00", "2026-09-17", "sit-1", true, ""},
		{"reminder next day: skipped", "2026-09-14 08:00", "2026-09-15 08:30", "2026-09-17", "sit-1", false, "a reminder for a day that has passed"},
		{"cut beyond grace, release day not come: late", "2026-09-18 16:00", "2026-09-21 08:00", "2026-09-24", "cut", true, ""},
		{"cut on its release day beyond grace: skipped", "2026-09-18 16:00", "2026-09-24 08:00", "2026-09-24", "cut", false, "release day 2026-09-24 has come"},
		{"report two days late: late", "2026-09-17 17:00", "2026-09-19 20:00", "2026-09-17", "report", true, ""},
		{"report after the next release day: skipped", "2026-09-17 17:00", "2026-09-24 08:00", "2026-09-17", "report", false, "next release day 2026-09-24 has come"},
		{"escalate within grace after an on-time report: late", "2026-09-17 20:00", "2026-09-17 23:00", "2026-09-17", "escalate", true, ""},
		{"escalate beyond grace: skipped", "2026-09-17 20:00", "2026-09-18 10:00", "2026-09-17", "escalate", false, "grace period"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "2026-09-11 16:00", nil)
			h.start()
			h.runUntil(at(t, tc.downFrom))
			h.stop()
			h.clock.Set(at(t, tc.downUntil))
			h.start()
			h.settle()
			st := h.state(tc.release, tc.step)
			if tc.wantRun {
				s := h.firing(tc.release, tc.step)
				if st.Status != ledger.StepDone || !st.Late || !s.Late.Late {
					t.Errorf("state %+v late %+v", st, s.Late)
				}
				return
			}
			if st.Status != ledger.StepSkipped || !strings.Contains(st.Reason, tc.reason) {
				t.Errorf("state %+v, want skipped with %q", st, tc.reason)
			}
			for _, k := range h.firedKeys() {
				if k == tc.release+"/"+tc.step {
					t.Errorf("%s fired", k)
				}
			}
		})
	}
}

func TestRunnerPanicIsRecovered(t *testing.T) {
	h := newHarness(t, "2026-09-11 16:00", nil)
	h.behave["sit-1"] = func(context.Context, Step) error { panic("template exploded") }
	h.start()
	h.runUntil(at(t, "2026-09-15 10:00"))
	st := h.state("2026-09-17", "sit-1")
	if st.Status != ledger.StepFailed || !strings.Contains(st.Error, "template exploded") || st.Attempts != 1 {
		t.Errorf("sit-1 state %+v", st)
	}
	if st := h.state("2026-09-17", "sit-2"); st.Status != ledger.StepDone {
		t.Errorf("the runner did not go on: sit-2 %+v", st)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "cron: panic") || !strings.Contains(logs, "template exploded") || !strings.Contains(logs, "stack=") {
		t.Errorf("panic not logged with its stack:\n%s", logs)
	}
	// A failed step stays failed across a restart.
	h.stop()
	h.start()
	h.settle()
	if n := strings.Count(strings.Join(h.firedKeys(), " "), "sit-1"); n != 1 {
		t.Errorf("sit-1 called %d times", n)
	}
}

func TestRunnerFailures(t *testing.T) {
	cases := []struct {
		name      string
		results   []error // per call; nil = success
		wantCalls int
		wantState ledger.StepStatus
	}{
		{"temporary then ok", []error{Temporary(errors.New("store busy")), Temporary(errors.New("store busy")), nil}, 3, ledger.StepDone},
		{"temporary until attempts run out", []error{Temporary(errors.New("a")), Temporary(errors.New("b")), Temporary(errors.New("c")), nil}, 3, ledger.StepFailed},
		{"foreign temporary error", []error{tempErr{}, nil}, 2, ledger.StepDone},
		{"permanent", []error{&PermanentError{Err: errors.New("bad template")}, nil}, 1, ledger.StepFailed},
		{"plain error is permanent", []error{errors.New("bad data"), nil}, 1, ledger.StepFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "2026-09-11 16:00", nil)
			calls := 0
			h.behave["cut"] = func(context.Context, Step) error {
				calls++
				return tc.results[calls-1]
			}
			h.start()
			h.runUntil(at(t, "2026-09-11 18:00"))
			st := h.state("2026-09-17", "cut")
			if calls != tc.wantCalls || st.Status != tc.wantState || st.Attempts != tc.wantCalls {
				t.Errorf("calls %d, state %+v; want %d calls, %s", calls, st, tc.wantCalls, tc.wantState)
			}
			var attempts []int
			for _, s := range h.firings() {
				attempts = append(attempts, s.Attempt)
			}
			if fmt.Sprint(attempts) != fmt.Sprint(seq(tc.wantCalls)) {
				t.Errorf("attempts %v", attempts)
			}
			if tc.wantState == ledger.StepFailed {
				// The week's later steps are skipped: there is no release.
				h.runUntil(at(t, "2026-09-14 10:00"))
				if st := h.state("2026-09-17", "sit-1"); st.Status != ledger.StepSkipped || !strings.Contains(st.Reason, "the cut failed") {
					t.Errorf("sit-1 %+v", st)
				}
			}
		})
	}
}

type tempErr struct{}

func (tempErr) Error() string   { return "smtp 451" }
func (tempErr) Temporary() bool { return true }

func seq(n int) []int {
	var out []int
	for i := 1; i <= n; i++ {
		out = append(out, i)
	}
	return out
}

// TestRunnerCrashBetweenStepAndDone: the cut commits its mail, then the
// process dies before the runner records "done". At the next start the cut
// runs again; its own idempotence (a stable key in the outbox) keeps the
// mail single.
func TestRunnerCrashBetweenStepAndDone(t *testing.T) {
	h := newHarness(t, "2026-09-11 16:00", nil)
	calls := 0
	h.behave["cut"] = func(ctx context.Context, s Step) error {
		calls++
		err := h.store.Update(func(tx *ledger.Tx) error {
			path := []string{ledger.BucketOutbox}
			if ok, err := tx.Has(path, s.Key()); err != nil || ok {
				return err
			}
			return tx.PutJSON(path, s.Key(), "test list")
		})
		if err != nil {
			return err
		}
		if calls == 1 {
			h.cancel() // the crash: nothing after the step's own commit happens
			return ctx.Err()
		}
		return nil
	}
	h.start()
	h.settle()
	h.clock.Set(at(t, "2026-09-11 17:00"))
	select {
	case <-h.done:
		h.cancel = nil
		h.done = nil
	case <-time.After(10 * time.Second):
		t.Fatal("runner did not stop")
	}
	if st := h.state("2026-09-17", "cut"); st.Status != ledger.StepRunning {
		t.Fatalf("after the crash the cut is %+v", st)
	}
	h.reopen()
	h.clock.Set(at(t, "2026-09-11 17:05"))
	h.start()
	h.settle()
	st := h.state("2026-09-17", "cut")
	if calls != 2 || st.Status != ledger.StepDone || st.Attempts != 2 {
		t.Errorf("calls %d state %+v", calls, st)
	}
	n := 0
	h.store.View(func(tx *ledger.Tx) error {
		return tx.ForEachRaw([]string{ledger.BucketOutbox}, "", func(k, v []byte) error { n++; return nil })
	})
	if n != 1 {
		t.Errorf("%d mails in the outbox, want 1", n)
	}
}

func TestRunnerNoRelease(t *testing.T) {
	h := newHarness(t, "2026-09-11 16:00", nil)
	h.behave["cut"] = func(_ context.Context, s Step) error {
		if s.Release == "2026-09-17" {
			return fmt.Errorf("nothing finished by development: %w", ErrNoRelease)
		}
		return nil
	}
	h.start()
	h.runUntil(at(t, "2026-09-18 18:00"))
	want := []string{"2026-09-17/cut", "2026-09-24/cut"}
	if got := h.firedKeys(); !equalStrings(got, want) {
		t.Fatalf("fired %v", got)
	}
	if st := h.state("2026-09-17", "cut"); st.Status != ledger.StepDone || !st.NoRelease {
		t.Errorf("cut %+v", st)
	}
	for _, name := range stepNames[1:] {
		if st := h.state("2026-09-17", name); st.Status != ledger.StepSkipped || st.Reason != "no release this week" {
			t.Errorf("%s %+v", name, st)
		}
	}
}

// TestRunnerHolidayWeeks runs through National Day: the release of 10-01 is
// skipped (recorded, nothing fired); the 10-08 cut runs on Wednesday 09-30
// and tells that 10-01 did not run; the first reminder that runs lists the
// three skipped ones.
func TestRunnerHolidayWeeks(t *testing.T) {
	h := newHarness(t, "2026-09-25 16:00", nil)
	h.start()
	h.runUntil(at(t, "2026-10-08 19:00"))
	want := keys("2026-10-08", "cut", "preprod", "report")
	if got := h.firedKeys(); !equalStrings(got, want) {
		t.Fatalf("fired %v\nwant  %v", got, want)
	}
	for _, name := range stepNames {
		if st := h.state("2026-10-01", name); st.Status != ledger.StepSkipped || !strings.Contains(st.Reason, "国庆节") {
			t.Errorf("10-01 %s %+v", name, st)
		}
	}
	cut := h.firing("2026-10-08", "cut")
	if !cut.Scheduled.Equal(at(t, "2026-09-30 17:00")) || !cut.Nominal.Equal(at(t, "2026-10-02 17:00")) || !strings.Contains(cut.ShiftReason, "moved to the previous working day 2026-09-30") {
		t.Errorf("cut %+v", cut)
	}
	if len(cut.SkippedReleases) != 1 || cut.SkippedReleases[0].Release != "2026-10-01" || !strings.Contains(cut.SkippedReleases[0].Reason, "国庆节") {
		t.Errorf("cut skipped releases %+v", cut.SkippedReleases)
	}
	pre := h.firing("2026-10-08", "preprod")
	var names []string
	for _, s := range pre.Skipped {
		names = append(names, s.Name)
		if !strings.Contains(s.Reason, "is a day off") {
			t.Errorf("skipped %s reason %q", s.Name, s.Reason)
		}
	}
	if fmt.Sprint(names) != "[sit-1 sit-2 uat]" {
		t.Errorf("preprod mentions %v", names)
	}
	if rep := h.firing("2026-10-08", "report"); len(rep.Skipped) != 0 {
		t.Errorf("report mentions %+v again", rep.Skipped)
	}
}

func TestRunnerFirstStartMidWeek(t *testing.T) {
	h := newHarness(t, "2026-09-16 10:00", nil)
	h.start()
	h.runUntil(at(t, "2026-09-18 18:00"))
	if got := h.firedKeys(); !equalStrings(got, []string{"2026-09-24/cut"}) {
		t.Fatalf("fired %v", got)
	}
	if h.hasState("2026-09-17", "cut") || h.hasState("2026-09-17", "uat") {
		t.Error("a step due before the first start was recorded")
	}
	if st := h.state("2026-09-17", "preprod"); st.Status != ledger.StepSkipped || !strings.Contains(st.Reason, "fabu started (2026-09-16 10:00) after this release's cut") {
		t.Errorf("preprod %+v", st)
	}
}

func TestRunnerCalendarWarning(t *testing.T) {
	h := newHarness(t, "2027-11-15 10:00", nil)
	h.start()
	h.settle()
	if logs := h.logs.String(); !strings.Contains(logs, "no data for 2028") {
		t.Errorf("no calendar warning logged:\n%s", logs)
	}
}

func TestTrigger(t *testing.T) {
	h := newHarness(t, "2026-09-11 16:00", nil)
	h.start()
	h.runUntil(at(t, "2026-09-17 15:00"))
	ctx := context.Background()

	// The early report: every entry passed pre-production at 15:00.
	res, err := h.runner.Trigger(ctx, "report", "2026-09-17", false)
	if err != nil || !res.Ran || res.State.Status != ledger.StepDone {
		t.Fatalf("early report: %+v, %v", res, err)
	}
	rep := h.firing("2026-09-17", "report")
	if !rep.Manual || rep.Late.Late || rep.Forced {
		t.Errorf("early report step %+v", rep)
	}
	// Again: already done, nothing happens.
	res, err = h.runner.Trigger(ctx, "report", "2026-09-17", false)
	if err != nil || res.Ran || !strings.Contains(res.Message, "already done") {
		t.Errorf("second trigger: %+v, %v", res, err)
	}
	// 18:00 passes: the scheduled report does not run again; 21:00 escalates.
	h.runUntil(at(t, "2026-09-17 22:00"))
	h.firing("2026-09-17", "report")
	h.firing("2026-09-17", "escalate")

	// Forced: runs again, marked Forced.
	res, err = h.runner.Trigger(ctx, "report", "2026-09-17", true)
	if err != nil || !res.Ran || !res.State.Forced || res.State.Attempts != 2 {
		t.Errorf("forced: %+v, %v", res, err)
	}
	last := h.firings()[len(h.firings())-1]
	if !last.Forced || last.Name != "report" || !last.Late.Late {
		t.Errorf("forced step %+v", last)
	}

	// Release "" is the step's current release.
	res, err = h.runner.Trigger(ctx, "cut", "", false)
	if err != nil || res.Release != "2026-09-17" || res.Ran {
		t.Errorf("current cut on Thursday: %+v, %v", res, err)
	}
	h.runUntil(at(t, "2026-09-18 10:00"))
	res, err = h.runner.Trigger(ctx, "cut", "", false)
	if err != nil || res.Release != "2026-09-24" || !res.Ran {
		t.Errorf("early cut on Friday morning: %+v, %v", res, err)
	}
	// The scheduled cut at 17:00 then has nothing to do.
	h.runUntil(at(t, "2026-09-18 18:00"))
	h.firing("2026-09-24", "cut")

	if _, err := h.runner.Trigger(ctx, "deploy", "", false); !errors.Is(err, ErrUnknownStep) || !strings.Contains(err.Error(), "cut, sit-1, sit-2, uat, preprod, report, escalate") {
		t.Errorf("unknown step: %v", err)
	}
	if _, err := h.runner.Trigger(ctx, "cut", "2026-09-16", false); !errors.Is(err, ErrUnknownRelease) || !strings.Contains(err.Error(), "2026-09-17") {
		t.Errorf("unknown release: %v", err)
	}
	if _, err := h.runner.Trigger(ctx, "cut", "next week", false); !errors.Is(err, ErrUnknownRelease) {
		t.Errorf("bad release: %v", err)
	}
}

// TestTriggerSkippedStep: a reminder skipped by catch-up can still be run
// by hand; its Late info says it had been skipped.
func TestTriggerSkippedStep(t *testing.T) {
	h := newHarness(t, "2026-09-11 16:00", nil)
	h.start()
	h.runUntil(at(t, "2026-09-14 08:00"))
	h.stop()
	h.clock.Set(at(t, "2026-09-15 08:00"))
	h.start()
	h.settle()
	if st := h.state("2026-09-17", "sit-1"); st.Status != ledger.StepSkipped {
		t.Fatalf("sit-1 %+v", st)
	}
	res, err := h.runner.Trigger(context.Background(), "sit-1", "2026-09-17", false)
	if err != nil || !res.Ran || res.State.Status != ledger.StepDone {
		t.Fatalf("%+v %v", res, err)
	}
	s := h.firing("2026-09-17", "sit-1")
	if !s.Manual || !s.Late.Late || !strings.Contains(s.Late.Reason, "it had been skipped") {
		t.Errorf("step %+v", s)
	}
}

func TestNewRunnerNeedsEveryKind(t *testing.T) {
	fn := func(context.Context, Step) error { return nil }
	_, err := NewRunner(RunnerOptions{Timetable: newTT(t, nil), Store: nil, Steps: map[Kind]StepFunc{KindCut: fn}})
	if err == nil {
		t.Fatal("no error without a store")
	}
	h := newHarness(t, "2026-09-11 16:00", nil)
	_, err = NewRunner(RunnerOptions{Timetable: h.tt, Store: h.store, Steps: map[Kind]StepFunc{KindCut: fn, KindRemind: fn, KindReport: fn}})
	if err == nil || !strings.Contains(err.Error(), "escalate") {
		t.Errorf("missing escalate: %v", err)
	}
}
