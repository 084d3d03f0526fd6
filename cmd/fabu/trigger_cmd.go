package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/outbox"
	"github.com/fabu-team/fabu/mailflow/train"
	"github.com/fabu-team/fabu/schedule"
	"github.com/spf13/cobra"
	"slices"
	"strings"
)

// triggerEnv is what a triggered step works with: one store, the train's
// steps and an outbox worker that sends right away.
type triggerEnv struct {
	cfg    *config.Config
	store  *ledger.Store
	train  *train.Train
	worker *outbox.Worker
	now    func() time.Time
	out    func(format string, args ...any)
	force  bool
	log    *slog.Logger
}

// triggerStep runs one step for release and says what it did. To add a
// step, add it to triggerSteps.
type triggerStep func(ctx context.Context, e *triggerEnv, release string) error

// triggerSteps maps the step names `fabu trigger` accepts to their work:
// every step of the train's timetable (cut, the reminders, report,
// escalate) runs through the scheduler's Trigger, so it is idempotent like
// the scheduled run; send only sends what is due.
func triggerSteps(c *config.Config) map[string]triggerStep {
	steps := map[string]triggerStep{
		"send": func(ctx context.Context, e *triggerEnv, _ string) error { return e.send(ctx) },
	}
	names := []string{"cut", "report", "escalate"}
	for _, r := range c.Train.Schedule.Reminders {
		names = append(names, r.Name)
	}
	for _, n := range names {
		steps[n] = func(ctx context.Context, e *triggerEnv, release string) error { return e.runStep(ctx, n, release) }
	}
	return steps
}

func newTriggerCmd(a *app) *cobra.Command {
	var release string
	var force bool
	cmd := &cobra.Command{
		Use:   "trigger STEP",
		Short: "Run a step of the train now and send its mail (cut, sit-1 … , report, escalate, send)",
		Long: "trigger runs a step now instead of at its scheduled time, then sends what the outbox has due\n" +
			"over one SMTP connection. Run it while the daemon is stopped (the store is locked otherwise).\n\n" +
			"  cut       cut --release and mail the test list; cutting a release that exists changes nothing\n" +
			"  NAME      a reminder of train.schedule.reminders (default sit-1, sit-2, uat, preprod)\n" +
			"  report    the test-complete report to the managers\n" +
			"  escalate  the no-decision reminder\n" +
			"  send      send every mail that is due (e.g. after fabu outbox retry)\n\n" +
			"A step already done is left alone (--force runs it again). Without --release the step's\n" +
			"current release is taken (the coming one). Mail the server does not take stays in the\n" +
			"outbox and is retried by the daemon.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.loadConfig()
			if err != nil {
				return err
			}
			steps := triggerSteps(c)
			step, ok := steps[args[0]]
			if !ok {
				names := make([]string, 0, len(steps))
				for n := range steps {
					names = append(names, n)
				}
				slices.Sort(names)
				return usageError("unknown step %q for fabu trigger (known: %s)", args[0], strings.Join(names, ", "))
			}
			now := time.Now
			if clk, err := testClockFromEnv(); err != nil {
				return asUsage(err)
			} else if clk != nil {
				now = clk.Now
			}
			if release != "" {
				if err := ledger.ValidReleaseName(release); err != nil {
					return asUsage(err)
				}
			}
			e, closeFn, err := a.newTriggerEnv(c, now)
			if err != nil {
				return err
			}
			defer closeFn()
			e.force = force
			return step(cmd.Context(), e, release)
		},
	}
	cmd.Flags().StringVar(&release, "release", "", "release date YYYY-MM-DD (default: the step's current release)")
	cmd.Flags().BoolVar(&force, "force", false, "run a step that is already done again (its mail may go out again)")
	return cmd
}

func (a *app) newTriggerEnv(c *config.Config, now func() time.Time) (*triggerEnv, func(), error) {
	s, err := a.openStore(c, now)
	if err != nil {
		return nil, nil, err
	}
	log := a.logger()
	tr, err := buildTrain(c, s, now, log.With("part", "train"))
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	smtpTLS, _, err := configTLS(c)
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	snd, err := outbox.NewSMTPSender(smtpOptions(c, smtpTLS))
	if err != nil {
		s.Close()
		return nil, nil, asUsage(fmt.Errorf("smtp: %w", err))
	}
	w := &outbox.Worker{Store: s, Sender: snd, Logger: log.With("part", "outbox"), Clock: now,
		Options: outbox.Options{AlertAfter: c.SMTP.AlertAfter.D()}, Alerter: tr}
	e := &triggerEnv{cfg: c, store: s, train: tr, worker: w, now: now, log: log.With("part", "schedule"),
		out: func(format string, args ...any) { fmt.Fprintf(a.stdout, format+"\n", args...) }}
	return e, func() { s.Close() }, nil
}

// runStep runs the timetable step name of release (or its current
// release) through the scheduler, once like the scheduled run, and sends
// what it queued.
func (e *triggerEnv) runStep(ctx context.Context, name, release string) error {
	tt, err := schedule.New(scheduleConfig(e.cfg))
	if err != nil {
		return asUsage(err)
	}
	clock := funcClock(e.now)
	r, err := schedule.NewRunner(schedule.RunnerOptions{Timetable: tt, Store: e.store, Steps: trainSteps(e.train, clock), Clock: clock, Logger: e.log})
	if err != nil {
		return err
	}
	res, err := r.Trigger(ctx, name, release, e.force)
	if err != nil {
		return err
	}
	e.out("%s", res.Message)
	if name == "cut" && res.Ran {
		e.store.View(func(tx *ledger.Tx) error {
			r, err := tx.Release(res.Release)
			switch {
			case err != nil:
			case len(r.Entries) == 0:
				e.out("release %s: nothing finished by development; the week is skipped", r.Name)
			default:
				e.out("release %s cut: %d entries, digest %s; the test list is queued", r.Name, len(r.Entries), trainAbbrev(r.Digest, 12))
			}
			return nil
		})
	}
	if res.State.Status == ledger.StepFailed {
		e.send(ctx)
		return fmt.Errorf("%s of release %s failed: %s", name, res.Release, res.State.Error)
	}
	return e.send(ctx)
}

// funcClock is a schedule.Clock over a now function (time.After waits).
type funcClock func() time.Time

func (f funcClock) Now() time.Time                         { return f() }
func (f funcClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// send delivers what is due and reports it.
func (e *triggerEnv) send(ctx context.Context) error {
	n, err := e.worker.SendDue(ctx)
	e.out("sent %d mail(s)", n)
	if err != nil {
		return fmt.Errorf("sending failed: %w (the mail stays in the outbox; the daemon retries it — see fabu outbox list)", err)
	}
	var waiting int
	e.store.View(func(tx *ledger.Tx) error {
		ms, err := tx.OutboxMails()
		for _, m := range ms {
			if len(m.Pending()) > 0 && m.State != ledger.OutboxDropped {
				waiting++
			}
		}
		return err
	})
	if waiting > 0 {
		e.out("%d mail(s) still waiting in the outbox (fabu outbox list)", waiting)
	}
	return nil
}
