package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fabu-team/fabu/ledger"
)

// StepFunc does one step of one release: it renders and enqueues the
// step's mail in its own store transaction. It must be idempotent for a
// given Step.Key() (stable outbox Message-IDs): the runner calls it again
// after a crash between the step's own commit and the runner's "done".
// A cut that finds nothing to test returns an error wrapping ErrNoRelease
// (after sending its short note); the runner then skips the week's later
// steps. An error with a Temporary() bool method returning true is retried
// with backoff; any other error, and a panic, fails the step.
type StepFunc func(ctx context.Context, s Step) error

// ErrNoRelease is ledger.ErrNoRelease: the cut found nothing to test.
var ErrNoRelease = ledger.ErrNoRelease

// Step is what a StepFunc gets.
type Step struct {
	Train   string
	Release string // YYYY-MM-DD, the release day
	Name    string // cut, sit-1, …, report, escalate
	Kind    Kind
	Env     string // reminders: the environment
	Note    string // reminders: the configured extra line
	// Scheduled is when the step was due (after the holiday policy);
	// Nominal is its cron time. They differ when the step was shifted,
	// and ShiftReason then says why.
	Scheduled   time.Time
	Nominal     time.Time
	ShiftReason string
	// Late is set when the step runs after it was due.
	Late Late
	// Skipped lists the earlier steps of this release that were skipped
	// since the last step that ran, for this step's mail to mention.
	Skipped []SkippedStep
	// SkippedReleases lists, for a cut, the releases just before this one
	// that did not run (e.g. a release day on a holiday): their entries
	// come with this train.
	SkippedReleases []SkippedRelease
	// Attempt counts calls for this step (1 for the first).
	Attempt int
	// Forced is true when run by hand with --force after it was done; the
	// step may then send its mail again.
	Forced bool
	// Manual is true when run by Trigger rather than by the clock.
	Manual bool
}

// Key is the step's identity, stable across restarts: train/release/name.
// Mail steps derive their Message-IDs from it.
func (s Step) Key() string { return s.Train + "/" + s.Release + "/" + s.Name }

// Late says that, and why, a step runs after it was due.
type Late struct {
	Late   bool
	Due    time.Time
	Reason string
}

// SkippedStep is an earlier step that did not run.
type SkippedStep struct {
	Name   string
	Kind   Kind
	Env    string
	Due    time.Time
	Reason string
}

// SkippedRelease is a release that did not run at all.
type SkippedRelease struct {
	Release string
	Reason  string
}

// PanicError is a panic in a StepFunc, recovered by cron.Recover.
type PanicError struct{ Err error }

func (e *PanicError) Error() string { return "step panicked: " + e.Err.Error() }
func (e *PanicError) Unwrap() error { return e.Err }

// TemporaryError marks a step failure worth retrying (the runner retries
// it with capped, jittered backoff). Errors from other packages can
// instead have a Temporary() bool method.
type TemporaryError struct{ Err error }

func (e *TemporaryError) Error() string   { return e.Err.Error() }
func (e *TemporaryError) Unwrap() error   { return e.Err }
func (e *TemporaryError) Temporary() bool { return true }

// Temporary wraps err as a TemporaryError.
func Temporary(err error) error {
	if err == nil {
		return nil
	}
	return &TemporaryError{Err: err}
}

// PermanentError is a step failure that retrying does not fix (a bad
// template, a bug); the step is recorded failed until run by hand.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// isTemporary reports whether err asks to be retried.
func isTemporary(err error) bool {
	var p *PermanentError
	if errors.As(err, &p) {
		return false
	}
	var pe *PanicError
	if errors.As(err, &pe) {
		return false
	}
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// ErrUnknownStep is returned (wrapped) by Trigger for a name that is not a
// step of the train.
var ErrUnknownStep = errors.New("unknown step")

// ErrUnknownRelease is returned (wrapped) by Trigger for a date that is not
// a release day.
var ErrUnknownRelease = errors.New("no release on that day")

func stepError(s Slot, err error) error {
	return fmt.Errorf("step %s of release %s: %w", s.Name, s.Release, err)
}
