package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// StepStatus is where one step of one release stands.
type StepStatus string

// The step statuses. A step is "running" from the moment the scheduler
// starts it until its step function returns; one found "running" when the
// daemon starts was interrupted and is run again (step functions are
// idempotent). done, skipped and failed are final for the scheduler; only an
// explicit trigger runs such a step again.
const (
	StepDue     StepStatus = "due"
	StepRunning StepStatus = "running"
	StepDone    StepStatus = "done"
	StepSkipped StepStatus = "skipped"
	StepFailed  StepStatus = "failed"
)

// Valid reports whether s is one of the known statuses.
func (s StepStatus) Valid() bool {
	switch s {
	case StepDue, StepRunning, StepDone, StepSkipped, StepFailed:
		return true
	}
	return false
}

// Final reports whether the scheduler leaves a step in this status alone.
func (s StepStatus) Final() bool {
	return s == StepDone || s == StepSkipped || s == StepFailed
}

// ErrNoRelease is returned (wrapped) by a cut step that found nothing to
// test: the cut is done, but no release was opened, and the later steps of
// that week are skipped with the reason "no release this week". It lives in
// ledger so that both the mail steps and the scheduler can name it.
var ErrNoRelease = errors.New("no release this week")

// StepState is the record of one step of one release
// (trains/<train>/steps/<release>/<step>).
type StepState struct {
	Status StepStatus `json:"status"`
	// ScheduledAt is when the step was due (after the holiday policy).
	ScheduledAt time.Time `json:"scheduled_at"`
	// FiredAt is when the last attempt started (zero if it never ran).
	FiredAt time.Time `json:"fired_at,omitzero"`
	// FinishedAt is when the step reached its current final status.
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// Late is true when the step ran after it was due (catch-up).
	Late bool `json:"late,omitempty"`
	// Reason says why the step was skipped or late.
	Reason string `json:"reason,omitempty"`
	// Attempts counts the times the step function was called.
	Attempts int `json:"attempts,omitempty"`
	// Error is the last failure, for a failed step.
	Error string `json:"error,omitempty"`
	// NoRelease is set on a cut that found nothing to test.
	NoRelease bool `json:"no_release,omitempty"`
	// Forced is set when the last run was forced by hand.
	Forced bool `json:"forced,omitempty"`
}

// stepsKeyFirstStart holds the time the scheduler first ran for this train
// (a plain value beside the per-release buckets).
const stepsKeyFirstStart = "~first-start"

func stepsPath(release string) []string { return []string{BucketSteps, release} }

func checkStepKey(release, step string) error {
	if _, err := time.Parse("2006-01-02", release); err != nil {
		return fmt.Errorf("step state: release %q is not a date written YYYY-MM-DD", release)
	}
	if step == "" {
		return fmt.Errorf("step state of release %s: empty step name", release)
	}
	return nil
}

// StepState returns the state of step in release, or an error wrapping
// ErrNotFound when the step has no record yet.
func (t *Tx) StepState(release, step string) (*StepState, error) {
	if err := checkStepKey(release, step); err != nil {
		return nil, err
	}
	var s StepState
	if err := t.GetJSON(stepsPath(release), step, &s); err != nil {
		return nil, fmt.Errorf("step %s of release %s: %w", step, release, err)
	}
	return &s, nil
}

// PutStepState records the state of step in release.
func (t *Tx) PutStepState(release, step string, s StepState) error {
	if err := checkStepKey(release, step); err != nil {
		return err
	}
	if !s.Status.Valid() {
		return fmt.Errorf("step %s of release %s: unknown status %q", step, release, s.Status)
	}
	return t.PutJSON(stepsPath(release), step, s)
}

// StepStates returns every recorded step of release, by step name.
func (t *Tx) StepStates(release string) (map[string]StepState, error) {
	out := map[string]StepState{}
	err := t.ForEachRaw(stepsPath(release), "", func(k, v []byte) error {
		var s StepState
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("decode step %s of release %s: %w", k, release, err)
		}
		out[string(k)] = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// StepReleases returns the releases that have any step state, in order.
func (t *Tx) StepReleases() ([]string, error) {
	b, err := t.bucket(BucketSteps)
	if err != nil || b == nil {
		return nil, err
	}
	var out []string
	err = b.ForEach(func(k, v []byte) error {
		if v == nil { // nested bucket: a release
			out = append(out, string(k))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// FirstStart returns when the scheduler first ran for this train; ok is
// false when it never did.
func (t *Tx) FirstStart() (at time.Time, ok bool, err error) {
	err = t.GetJSON([]string{BucketSteps}, stepsKeyFirstStart, &at)
	if errors.Is(err, ErrNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return at, true, nil
}

// SetFirstStart records when the scheduler first ran for this train.
func (t *Tx) SetFirstStart(at time.Time) error {
	return t.PutJSON([]string{BucketSteps}, stepsKeyFirstStart, at)
}
