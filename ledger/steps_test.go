package ledger

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openStepsStore(t *testing.T, train string) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "fabu.db"), Options{Train: train})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStepStateRoundTrip(t *testing.T) {
	s := openStepsStore(t, "a")
	due := time.Date(2026, 9, 11, 17, 0, 0, 0, time.FixedZone("CST", 8*3600))
	want := StepState{Status: StepDone, ScheduledAt: due, FiredAt: due.Add(time.Hour), FinishedAt: due.Add(time.Hour + time.Second),
		Late: true, Reason: "fabu was down", Attempts: 2, NoRelease: true}
	err := s.Update(func(tx *Tx) error {
		if err := tx.PutStepState("2026-09-17", "cut", want); err != nil {
			return err
		}
		return tx.PutStepState("2026-09-17", "sit-1", StepState{Status: StepSkipped, ScheduledAt: due, Reason: "holiday"})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx *Tx) error {
		got, err := tx.StepState("2026-09-17", "cut")
		if err != nil {
			return err
		}
		if !got.ScheduledAt.Equal(want.ScheduledAt) || !got.FiredAt.Equal(want.FiredAt) || got.Status != want.Status ||
			got.Late != want.Late || got.Reason != want.Reason || got.Attempts != 2 || !got.NoRelease {
			t.Errorf("got %+v, want %+v", got, want)
		}
		all, err := tx.StepStates("2026-09-17")
		if err != nil {
			return err
		}
		if len(all) != 2 || all["sit-1"].Status != StepSkipped {
			t.Errorf("states %+v", all)
		}
		none, err := tx.StepStates("2026-09-24")
		if err != nil || len(none) != 0 {
			t.Errorf("empty release: %v %v", none, err)
		}
		if _, err := tx.StepState("2026-09-17", "report"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing step: %v", err)
		}
		rels, err := tx.StepReleases()
		if err != nil || strings.Join(rels, ",") != "2026-09-17" {
			t.Errorf("releases %v %v", rels, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Another train in the same store does not see them.
	err = s.View(func(tx *Tx) error {
		all, err := tx.WithTrain("b").StepStates("2026-09-17")
		if err != nil || len(all) != 0 {
			t.Errorf("train b sees %v %v", all, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStepStateRejects(t *testing.T) {
	s := openStepsStore(t, "")
	cases := []struct {
		name, release, step string
		status              StepStatus
		want                string
	}{
		{"bad release", "next week", "cut", StepDone, "YYYY-MM-DD"},
		{"empty step", "2026-09-17", "", StepDone, "empty step name"},
		{"bad status", "2026-09-17", "cut", "sent", `unknown status "sent"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Update(func(tx *Tx) error {
				return tx.PutStepState(tc.release, tc.step, StepState{Status: tc.status})
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestStepStatusFinal(t *testing.T) {
	for s, final := range map[StepStatus]bool{StepDue: false, StepRunning: false, StepDone: true, StepSkipped: true, StepFailed: true} {
		if s.Final() != final || !s.Valid() {
			t.Errorf("%s: final %v valid %v", s, s.Final(), s.Valid())
		}
	}
}

func TestFirstStart(t *testing.T) {
	s := openStepsStore(t, "")
	err := s.Update(func(tx *Tx) error {
		if _, ok, err := tx.FirstStart(); ok || err != nil {
			t.Errorf("fresh store has a first start: %v %v", ok, err)
		}
		return tx.SetFirstStart(time.Date(2026, 9, 11, 8, 0, 0, 0, time.UTC))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(tx *Tx) error {
		at, ok, err := tx.FirstStart()
		if !ok || err != nil || !at.Equal(time.Date(2026, 9, 11, 8, 0, 0, 0, time.UTC)) {
			t.Errorf("first start %v %v %v", at, ok, err)
		}
		rels, _ := tx.StepReleases()
		if len(rels) != 0 {
			t.Errorf("the first-start key counts as a release: %v", rels)
		}
		return nil
	})
}
