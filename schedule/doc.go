// Package schedule decides when the weekly release train's steps happen
// and fires each of them once: the cron specs of the steps, the Chinese
// working-day calendar with the holiday policy, the per-release plan, and
// the Runner that fires steps on time, records them in the store and
// catches up after downtime or a clock jump.
//
// It is not the mail: the steps themselves are StepFuncs supplied by cmd
// (which wires in mailflow's train steps); schedule never imports mailflow.
// It imports ledger only for the step state (ledger/steps.go).
//
// # Releases and their steps
//
// Every occurrence C of the cut spec opens a release. Its release day is
// the day of the report spec's first occurrence after C, and the release
// is named after that day (YYYY-MM-DD). Each reminder runs at its spec's
// first occurrence after C (no later than the report), the escalation at
// the escalate spec's first occurrence after the report. With the default
// specs the Friday 17:00 cut (T-6) belongs to the release on the following
// Thursday T: SIT Monday and Tuesday 09:00, UAT Wednesday 09:00,
// pre-production Thursday 09:00, report Thursday 18:00, escalation
// Thursday 21:00. Specs are read in the train's zone (default
// Asia/Shanghai) unless they start with CRON_TZ=.
//
// # Working days and the holiday policy
//
// A day is off when it is a weekend or a statutory holiday from
// github.com/6tail/lunar-go, unless it is a statutory make-up working day
// (调休); train.holidays and train.workdays override both. Each year is
// computed once and cached. lunar-go knows the years 2002–2027; for a year
// it does not know (and that the configuration does not mention) only
// weekends are off, and CoverageWarning says so when such a year is within
// 60 days.
//
// If the release day is a day off, the week's train is skipped: all its
// steps are skipped and its entries wait for the next train (whose cut
// mail gets the skipped release in Step.SkippedReleases). Otherwise, a
// step on a day off:
//
//   - policy shift: moves to the previous working day at the same time of
//     day, if that is still after the previous step of the release that
//     runs (for the cut: not on a day before the previous release's
//     release day); else it is skipped ("no working day is left");
//   - policy skip: is skipped.
//
// A skipped cut skips the release ("no release this week"). The next step
// that runs gets the skipped ones in Step.Skipped, for its mail to say so.
//
// # Once per step, and catch-up
//
// Each (train, release, step) has a ledger.StepState. The runner marks a
// step "running" in one transaction, calls its StepFunc (which enqueues its
// mail in its own transaction, with stable Message-IDs derived from
// Step.Key), and marks it "done" in another. A crash in between leaves
// "running"; at the next start the step is run again, and the StepFunc's
// idempotence makes sure nothing is sent twice. A panic in a StepFunc is
// recovered by cron.Recover (logged through slog with its stack) and the
// step is recorded "failed"; an error whose Temporary() is true is retried
// with capped, jittered backoff (MaxAttempts), other errors fail the step.
// A failed step stays failed until run by hand (Runner.Trigger).
//
// A step found due more than Tolerance (2m) after its time was missed:
// fabu was down (found at start) or the clock jumped (noticed because each
// wait is capped at MaxWait, 1m). Missed steps follow these rules; grace is
// train.grace (12h):
//
//	step      missed by ≤ grace                 missed by more
//	cut       runs late                         runs late while its release day has not come;
//	                                            else skipped (entries wait for the next train)
//	reminder  runs late if still the same day   skipped
//	report    runs late                         runs late until the next release day (the
//	                                            release cannot be decided without it); else skipped
//	escalate  runs late if the report went out  skipped
//	          before the decision deadline
//
// A late step gets Step.Late (due time and why: "fabu was not running …",
// "the clock jumped from … to …"), and its mail says so. A skipped step is
// recorded with its reason and logged. Example: down from Thursday 17:00 to
// Friday 19:00, the Thursday 09:00 pre-production reminder is already done;
// at start the report (due Thursday 18:00) runs late, because the release
// still needs its decision; the escalation (Thursday 21:00) is skipped,
// because the managers only now got the report and need time to answer it;
// the cut (due Friday 17:00) runs late. The report's late rule is wider than
// grace on purpose: without a report a release cannot be approved at all.
//
// Steps other than the cut run only if their release's cut is done and
// opened a release: a cut that found nothing to test returns ErrNoRelease,
// and the week's other steps are skipped with "no release this week". On
// the train's very first start, steps due before it are not caught up.
//
// # Running a step by hand
//
// Runner.Trigger runs one step of one release now, under the same lock as
// the scheduled runs: `fabu trigger STEP`, and the early report once every
// entry has passed the last environment (intake calls Trigger(ctx,
// "report", release, false) through cmd; the 18:00 report then finds it
// done). A step already done is left alone unless forced; Step.Manual and
// Step.Forced tell the StepFunc. Runner.Wake makes the loop look again at
// once.
//
// # Clocks
//
// The runner takes a Clock: SystemClock in production, FakeClock (moves
// only when told) in tests, ScaledClock (a simulated week in seconds) for
// demos. The runner does not use cron's own scheduler goroutine: it
// computes the plan with the specs' Next, waits on the Clock until the next
// slot (or MaxWait, or Wake), and fires what is due.
package schedule
