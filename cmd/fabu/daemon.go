package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/fabu-team/fabu/cmd/fabu/internal/obs"
	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/imapwatch"
	"github.com/fabu-team/fabu/mailflow/outbox"
	"github.com/fabu-team/fabu/mailflow/train"
	"github.com/fabu-team/fabu/schedule"
)

// daemonOptions are what `fabu run`, the demo and the end-to-end tests
// choose beyond the config file.
type daemonOptions struct {
	Clock   schedule.Clock // default schedule.SystemClock
	Logger  *slog.Logger
	SMTPTLS *tls.Config // e.g. a private CA (demo, tests)
	IMAPTLS *tls.Config
	// NoHTTP turns the health/metrics listener off (the demo).
	NoHTTP bool
	// HTTPReady is told the listener's address.
	HTTPReady func(net.Addr)
	// StepDone, when set, is told about each step the scheduler ran.
	StepDone func(s schedule.Step, err error)
	// MailRead, when set, is told about each mail the watcher recorded.
	MailRead func(r ledger.Received)
	// MailSent, when set, is told about each outbox event (step, event).
	MailSent func(step, event string)
	// SkipSMTPCheck skips the start-up login to the SMTP server.
	SkipSMTPCheck bool
}

// daemon is fabu running: the store, the train's mail steps, the outbox
// worker, the scheduler and the IMAP watcher under one root context.
type daemon struct {
	cfg     *config.Config
	log     *slog.Logger
	clock   schedule.Clock
	store   *ledger.Store
	train   *train.Train
	worker  *outbox.Worker
	sender  *outbox.SMTPSender
	runner  *schedule.Runner
	watcher *imapwatch.Watcher
	metrics *obs.Metrics
	health  *obs.Health
	opts    daemonOptions
	tt      *schedule.Timetable
}

// newDaemon builds every part and opens the store. It fails with a clear
// error when fabu cannot start (store locked, bad templates, bad settings);
// the caller must Close it.
func newDaemon(cfg *config.Config, storePath string, o daemonOptions) (*daemon, error) {
	if o.Clock == nil {
		o.Clock = schedule.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	d := &daemon{cfg: cfg, log: o.Logger, clock: o.Clock, opts: o, metrics: obs.NewMetrics(), health: obs.NewHealth()}

	tt, err := schedule.New(scheduleConfig(cfg))
	if err != nil {
		return nil, asUsage(err)
	}
	d.tt = tt
	store, err := ledger.Open(storePath, ledger.Options{Train: cfg.Train.Name, LockTimeout: cfg.Store.LockTimeout.D(), Now: o.Clock.Now})
	if err != nil {
		return nil, err
	}
	d.store = store
	ok := false
	defer func() {
		if !ok {
			store.Close()
		}
	}()

	tr, err := buildTrain(cfg, store, o.Clock.Now, o.Logger.With("part", "train"))
	if err != nil {
		return nil, err
	}
	d.train = tr

	sender, err := outbox.NewSMTPSender(smtpOptions(cfg, o.SMTPTLS))
	if err != nil {
		return nil, asUsage(fmt.Errorf("smtp: %w", err))
	}
	d.sender = sender
	d.worker = &outbox.Worker{
		Store:   store,
		Sender:  sender,
		Logger:  o.Logger.With("part", "outbox"),
		Clock:   o.Clock.Now,
		Wake:    make(chan struct{}, 1),
		Options: outbox.Options{AlertAfter: cfg.SMTP.AlertAfter.D()},
		Alerter: tr,
		Metrics: outbox.MetricsFunc(d.countMail),
		After:   o.Clock.After,
	}
	tr.Kick = d.worker.Kick

	steps := trainSteps(tr, o.Clock)
	if o.StepDone != nil {
		for k, fn := range steps {
			steps[k] = func(ctx context.Context, s schedule.Step) error {
				err := fn(ctx, s)
				o.StepDone(s, err)
				return err
			}
		}
	}
	runner, err := schedule.NewRunner(schedule.RunnerOptions{
		Timetable: tt,
		Store:     store,
		Steps:     steps,
		Clock:     o.Clock,
		Logger:    o.Logger.With("part", "schedule"),
	})
	if err != nil {
		return nil, err
	}
	d.runner = runner

	if *cfg.IMAP.Enabled && cfg.IMAP.Host != "" {
		handler, err := intakeFromConfig(cfg, tr, o.Logger.With("part", "intake"), o.Clock.Now, d.worker.Kick, d.allPassed)
		if err != nil {
			return nil, err
		}
		wo := imapOptions(cfg, o.IMAPTLS, d)
		wo.Observer = handler.Observer(wo.Observer) // kick the outbox and trigger the early report after each commit
		w, err := imapwatch.New(wo, store, handler, o.Logger.With("part", "imap"), o.Clock.Now)
		if err != nil {
			return nil, asUsage(err)
		}
		d.watcher = w
	}
	d.registerHealth()
	ok = true
	return d, nil
}

// Close closes the store.
func (d *daemon) Close() error { return d.store.Close() }

// countMail feeds the outbox events into the metrics (and the demo).
func (d *daemon) countMail(step, event string) {
	switch event {
	case "sent":
		d.metrics.MailsSent.WithLabelValues(step).Inc()
	case "failed":
		d.metrics.MailsFailed.WithLabelValues(step).Inc()
	case "retried", "retry":
		d.metrics.MailsRetried.WithLabelValues(step).Inc()
	}
	if d.opts.MailSent != nil {
		d.opts.MailSent(step, event)
	}
}

// trainSteps maps the scheduler's kinds to the train's mail steps (the
// daemon and `fabu trigger` share it).
func trainSteps(tr *train.Train, clock schedule.Clock) map[schedule.Kind]schedule.StepFunc {
	late := func(s schedule.Step) train.LateInfo {
		li := train.LateInfo{}
		if s.Late.Late {
			li.Due, li.Reason = s.Late.Due, s.Late.Reason
		}
		for _, sk := range s.Skipped {
			li.Skipped = append(li.Skipped, train.Skipped{Step: sk.Name, Due: sk.Due, Reason: sk.Reason})
		}
		return li
	}
	return map[schedule.Kind]schedule.StepFunc{
		schedule.KindCut: func(ctx context.Context, s schedule.Step) error {
			r, err := tr.Cut(ctx, s.Release, late(s))
			if err != nil {
				return err
			}
			if r == nil || len(r.Entries) == 0 {
				return fmt.Errorf("release %s: nothing finished by development: %w", s.Release, ledger.ErrNoRelease)
			}
			return nil
		},
		schedule.KindRemind: func(ctx context.Context, s schedule.Step) error {
			return tr.Remind(ctx, s.Release, s.Name, s.Env, s.Note, late(s))
		},
		schedule.KindReport: func(ctx context.Context, s schedule.Step) error {
			li := late(s)
			if s.Manual && clock.Now().Before(s.Scheduled) {
				li.Early = true
			}
			return tr.Report(ctx, s.Release, li)
		},
		schedule.KindEscalate: func(ctx context.Context, s schedule.Step) error {
			return tr.Escalate(ctx, s.Release, late(s))
		},
	}
}

// allPassed is the intake's signal that every entry of release passed the
// last environment: the report goes out now.
func (d *daemon) allPassed(release string) {
	go func() {
		defer d.recoverLog("early report")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := d.runner.Trigger(ctx, "report", release, false); err != nil {
			d.log.Warn("early report", "release", release, "err", err)
		}
	}()
}

func (d *daemon) recoverLog(what string) {
	if v := recover(); v != nil {
		d.log.Error("panic recovered", "in", what, "panic", v, "stack", string(debug.Stack()))
	}
}

func (d *daemon) registerHealth() {
	d.health.Add("store", func(ctx context.Context) (string, bool) {
		n := 0
		err := d.store.View(func(tx *ledger.Tx) error {
			ms, err := tx.ActiveOutboxMails()
			for _, m := range ms {
				if len(m.Pending()) > 0 {
					n++
				}
			}
			return err
		})
		if err != nil {
			return err.Error(), false
		}
		d.metrics.OutboxDepth.Set(float64(n))
		return fmt.Sprintf("ok, %d mail(s) waiting in the outbox", n), true
	})
	d.health.Add("imap", func(ctx context.Context) (string, bool) {
		if d.watcher == nil {
			return "off (imap.host not set)", true
		}
		st := d.watcher.Status()
		if st.Connected {
			return fmt.Sprintf("connected (%s), last check %s", st.Mode, st.LastCheck.Format(time.RFC3339)), true
		}
		return "disconnected: " + st.LastError, false
	})
	d.health.Add("smtp", func(ctx context.Context) (string, bool) {
		var oldest time.Time
		var failing int
		d.store.View(func(tx *ledger.Tx) error {
			ms, err := tx.ActiveOutboxMails()
			for _, m := range ms {
				if len(m.Pending()) > 0 && m.Attempts > 0 {
					failing++
					if oldest.IsZero() || m.Created.Before(oldest) {
						oldest = m.Created
					}
				}
			}
			return err
		})
		if failing > 0 && d.clock.Now().Sub(oldest) > d.cfg.SMTP.AlertAfter.D() {
			return fmt.Sprintf("%d mail(s) failing since %s", failing, oldest.Format(time.RFC3339)), false
		}
		if failing > 0 {
			return fmt.Sprintf("%d mail(s) being retried", failing), true
		}
		return "ok", true
	})
}

// updateNextStep sets the next-step gauge from the timetable.
func (d *daemon) updateNextStep() {
	now := d.clock.Now()
	d.metrics.NextStep.Reset()
	for _, r := range d.tt.Plan(now, 2) {
		for _, s := range r.Steps {
			if s.Status != schedule.PlanSkipped && s.At.After(now) {
				d.metrics.NextStep.WithLabelValues(s.Name, r.Name).Set(float64(s.At.Unix()))
				return
			}
		}
	}
}

// Run starts every part and blocks until ctx is done or a part fails for
// good at start (bad credentials). Network errors are retried inside.
func (d *daemon) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !d.opts.SkipSMTPCheck {
		if err := d.checkSMTP(ctx); err != nil {
			return err
		}
	}
	if w := d.tt.CoverageWarning(d.clock.Now()); w != "" {
		d.log.Warn(w)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	start := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					d.log.Error("panic recovered; stopping fabu", "part", name, "panic", v, "stack", string(debug.Stack()))
					errc <- fmt.Errorf("%s: panic: %v", name, v)
				}
			}()
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	d.updateNextStep()
	start("next-step", func(ctx context.Context) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-d.clock.After(time.Minute):
				d.updateNextStep()
			}
		}
	})
	start("outbox", d.worker.Run)
	start("schedule", d.runner.Run)
	if d.watcher != nil {
		start("imap", d.watcher.Run)
	}
	if !d.opts.NoHTTP && d.cfg.HTTP.Listen != "off" {
		start("http", func(ctx context.Context) error {
			return obs.Serve(ctx, d.cfg.HTTP.Listen, obs.Handler(d.metrics, d.health), d.log, d.opts.HTTPReady)
		})
	}
	d.log.Info("fabu running", "train", d.cfg.Train.Name, "store", d.store.Path(), "imap", d.watcher != nil)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(8 * time.Second):
		d.log.Warn("parts did not stop within 8s; leaving anyway (unsent mail stays in the outbox)")
	}
	d.log.Info("fabu stopped")
	return err
}

// checkSMTP logs in to the SMTP server once at start: bad credentials are a
// reason not to start; a server that is down is not (mail waits).
func (d *daemon) checkSMTP(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, d.cfg.SMTP.Timeout.D())
	defer cancel()
	s, err := d.sender.Open(cctx)
	if err != nil {
		if outbox.IsTemporary(err) {
			d.log.Warn("SMTP server not reachable at start; mail waits in the outbox", "err", err)
			return nil
		}
		return fmt.Errorf("SMTP %s:%d refused fabu at start (check smtp.username and the password): %w", d.cfg.SMTP.Host, d.cfg.SMTP.Port, err)
	}
	return s.Close()
}

// watchObserver feeds the IMAP watcher's events into the metrics.
type watchObserver struct{ d *daemon }

func (o watchObserver) Connected(up bool) {
	if up {
		o.d.metrics.IMAPUp.Set(1)
	} else {
		o.d.metrics.IMAPUp.Set(0)
	}
}
func (o watchObserver) Idling(on bool) {}
func (o watchObserver) Event(at time.Time) {
	o.d.metrics.LastIdle.Set(float64(at.Unix()))
}
func (o watchObserver) Mail(r ledger.Received) {
	o.d.metrics.Replies.WithLabelValues(r.Verdict).Inc()
	if o.d.opts.MailRead != nil {
		o.d.opts.MailRead(r)
	}
}

// Retrying is logged by the watcher itself; the daemon only counts it.
func (o watchObserver) Retrying(err error, delay time.Duration) {
	o.d.metrics.IMAPUp.Set(0)
}

func smtpOptions(c *config.Config, tlsConf *tls.Config) outbox.SMTPOptions {
	return outbox.SMTPOptions{
		Host: c.SMTP.Host, Port: c.SMTP.Port, TLS: c.SMTP.TLS, Auth: c.SMTP.Auth,
		Username: c.SMTP.Username, Password: c.SMTP.Password, Timeout: c.SMTP.Timeout.D(), TLSConfig: tlsConf,
	}
}

func imapOptions(c *config.Config, tlsConf *tls.Config, d *daemon) imapwatch.Options {
	m := c.IMAP
	return imapwatch.Options{
		Addr:            net.JoinHostPort(m.Host, fmt.Sprint(m.Port)),
		TLS:             imapwatch.TLSMode(m.TLS),
		TLSConfig:       tlsConf,
		Auth:            imapwatch.AuthMode(m.Auth),
		Username:        m.Username,
		Password:        m.Password,
		Mailbox:         m.Mailbox,
		Train:           c.Train.Name,
		PollInterval:    m.PollInterval.D(),
		IdleRestart:     m.IdleRestart.D(),
		MaxSize:         c.Reply.MaxSize,
		ProcessedFolder: m.ProcessedFolder,
		IgnoredFolder:   m.IgnoredFolder,
		Observer:        watchObserver{d},
	}
}
