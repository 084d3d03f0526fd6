package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fabu-team/fabu/ledger"
)

// Events counted by Metrics.
const (
	EventSent      = "sent"      // a transaction delivered the mail to ≥ 1 recipient
	EventFailed    = "failed"    // a recipient was refused for good
	EventRetried   = "retried"   // a retry was scheduled after a temporary failure
	EventDuplicate = "duplicate" // a mail is sent again with the possible-duplicate flag
	EventAlerted   = "alerted"   // the admins were told about a mail
)

// Metrics counts outbox events by step; cmd attaches Prometheus counters.
type Metrics interface {
	Count(step, event string)
}

// MetricsFunc adapts a function to Metrics.
type MetricsFunc func(step, event string)

// Count calls f.
func (f MetricsFunc) Count(step, event string) { f(step, event) }

// Alerter queues the mail that tells the admins a mail could not be
// delivered. mailflow/train implements it with the alert template.
type Alerter interface {
	// EnqueueAlert queues the alert about m in tx; it returns false when
	// nobody is configured to receive it.
	EnqueueAlert(tx *ledger.Tx, m *ledger.OutboxMail) (bool, error)
}

// Options tune the worker.
type Options struct {
	// AlertAfter: a mail with recipients still pending this long after it
	// was queued alerts the admins (once). Default 2h.
	AlertAfter time.Duration
	// BackoffBase and BackoffMax bound the wait before a retry: base·2ⁿ⁻¹,
	// at most max, then jittered down by up to half. Defaults 30s and 15m.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Rand returns a number in [0, 1) for the jitter (default math/rand/v2).
	Rand func() float64
}

// Worker delivers the outbox. Fill the fields and call Run (the daemon) or
// SendDue (tests, `fabu trigger`). One Worker per store.
type Worker struct {
	Store   *ledger.Store
	Sender  Sender
	Logger  *slog.Logger
	Clock   func() time.Time // default time.Now
	Wake    chan struct{}    // Kick sends here; Run wakes up (may be nil)
	Options Options
	Alerter Alerter // may be nil: alerts are then only logged
	Metrics Metrics // may be nil
	// After waits on the worker's clock (default time.After); a scaled test
	// clock passes its own so retries are not waited for in real time.
	After func(d time.Duration) <-chan time.Time

	mu sync.Mutex // one SendDue at a time
	// started: the first SendDue ran its crash recovery in a write
	// transaction (which also builds the outbox index of an older store).
	started bool
}

func (w *Worker) now() time.Time {
	if w.Clock != nil {
		return w.Clock()
	}
	return time.Now()
}

func (w *Worker) log() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (w *Worker) count(step, ev string) {
	if w.Metrics != nil {
		w.Metrics.Count(step, ev)
	}
}

func (w *Worker) opts() Options {
	o := w.Options
	if o.AlertAfter <= 0 {
		o.AlertAfter = 2 * time.Hour
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 30 * time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 15 * time.Minute
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	return o
}

// Backoff is the wait before retry number attempt (from 1): base·2ⁿ⁻¹
// capped at max, jittered into [d/2, d) by r ∈ [0, 1).
func Backoff(attempt int, base, maxWait time.Duration, r float64) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return d/2 + time.Duration(r*float64(d/2))
}

// Kick wakes Run to send now (after a step queued mail). It never blocks.
func (w *Worker) Kick() {
	if w.Wake == nil {
		return
	}
	select {
	case w.Wake <- struct{}{}:
	default:
	}
}

// Run sends due mail until ctx ends, waking for Kick, for the next retry,
// and at least every minute of the worker's clock (for alerts). It returns
// nil when ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	for {
		if _, err := w.SendDue(ctx); err != nil && ctx.Err() == nil {
			w.log().Warn("outbox: sending failed; will retry", "err", err)
		}
		wait := time.Minute
		if next, ok, err := w.nextDue(); err != nil {
			w.log().Error("outbox: read the outbox", "err", err)
		} else if ok {
			wait = min(wait, max(next.Sub(w.now()), 100*time.Millisecond))
		}
		after := w.After
		if after == nil {
			after = time.After
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.Wake:
		case <-after(wait):
		}
	}
}

func (w *Worker) nextDue() (time.Time, bool, error) {
	var next time.Time
	found := false
	err := w.Store.View(func(tx *ledger.Tx) error {
		all, err := tx.ActiveOutboxMails()
		for _, m := range all {
			if m.State == ledger.OutboxQueued && (!found || m.NextAttempt.Before(next)) {
				next, found = m.NextAttempt, true
			}
		}
		return err
	})
	return next, found, err
}

// SendDue sends every mail that is due over one connection, then queues
// the alerts that are due (and sends them in the same connection). It
// returns the number of mails delivered to at least one recipient and the
// first connection-level error.
func (w *Worker) SendDue(ctx context.Context) (n int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.recover(); err != nil {
		return 0, err
	}
	var sess Session
	defer func() {
		if sess != nil {
			if cerr := sess.Close(); cerr != nil {
				w.log().Debug("outbox: close SMTP session", "err", cerr)
			}
		}
	}()
	var firstErr error
	for round := 0; round < 2; round++ {
		due, err := w.due()
		if err != nil {
			return n, err
		}
		for i, m := range due {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			if sess == nil {
				s, err := w.Sender.Open(ctx)
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					for _, rest := range due[i:] {
						if rerr := w.recordFailure(rest, err); rerr != nil {
							return n, rerr
						}
					}
					break
				}
				sess = s
			}
			delivered, serr := w.sendMail(ctx, sess, m)
			if delivered {
				n++
			}
			if serr != nil {
				if firstErr == nil {
					firstErr = serr
				}
				sess.Close()
				sess = nil // reconnect for the next mail
			}
		}
		queued, err := w.alerts()
		if err != nil {
			return n, err
		}
		if queued == 0 || firstErr != nil {
			break
		}
	}
	return n, firstErr
}

// recover turns mails left "sending" by a crash into queued mails flagged
// as possible duplicates for the recipients that were in flight. The first
// call of a Worker runs in a write transaction; later calls look first and
// write only when a mail was left sending (a failed record), so an idle
// worker does not commit.
func (w *Worker) recover() error {
	if w.started {
		leftover := false
		err := w.Store.View(func(tx *ledger.Tx) error {
			all, err := tx.ActiveOutboxMails()
			leftover = slices.ContainsFunc(all, func(m *ledger.OutboxMail) bool { return m.State == ledger.OutboxSending })
			return err
		})
		if err != nil || !leftover {
			return err
		}
	}
	err := w.Store.Update(func(tx *ledger.Tx) error {
		all, err := tx.ActiveOutboxMails()
		if err != nil {
			return err
		}
		for _, m := range all {
			if m.State != ledger.OutboxSending {
				continue
			}
			m.State = ledger.OutboxQueued
			m.PossibleDuplicate = true
			m.DuplicateRcpts = union(m.DuplicateRcpts, m.InFlight)
			m.DuplicateResends++
			m.InFlight = nil
			m.NextAttempt = tx.Now()
			w.log().Warn("outbox: a mail was being sent when fabu stopped; sending it again flagged as a possible duplicate",
				"id", m.ID, "message_id", m.MessageID, "step", m.Step, "release", m.Release, "resends", m.DuplicateResends)
			if m.DuplicateResends > 1 {
				w.log().Error("outbox: mail interrupted in the DATA window more than once; recipients may get it more than twice", "id", m.ID)
			}
			if err := tx.PutOutboxMail(m); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		w.started = true
	}
	return err
}

func (w *Worker) due() ([]*ledger.OutboxMail, error) {
	now := w.now()
	var out []*ledger.OutboxMail
	err := w.Store.View(func(tx *ledger.Tx) error {
		all, err := tx.ActiveOutboxMails()
		for _, m := range all {
			if m.State == ledger.OutboxQueued && !m.NextAttempt.After(now) && len(m.Pending()) > 0 {
				out = append(out, m)
			}
		}
		return err
	})
	return out, err
}

// sendMail sends m to its pending recipients: first those that may
// already have it (flagged), then the others.
func (w *Worker) sendMail(ctx context.Context, sess Session, m *ledger.OutboxMail) (delivered bool, err error) {
	var raw []byte
	if err := w.Store.View(func(tx *ledger.Tx) error {
		var err error
		raw, err = tx.OutboxRaw(m.ID)
		return err
	}); err != nil {
		return false, fmt.Errorf("outbox %s: %w", m.ID, err)
	}
	pending := m.Pending()
	var dup, rest []string
	for _, r := range pending {
		if containsFold(m.DuplicateRcpts, r) {
			dup = append(dup, r)
		} else {
			rest = append(rest, r)
		}
	}
	for _, g := range []struct {
		rcpts []string
		dup   bool
	}{{dup, true}, {rest, false}} {
		if len(g.rcpts) == 0 {
			continue
		}
		body := raw
		if g.dup {
			body = append([]byte(PossibleDuplicateHeader), raw...)
			w.count(m.Step, EventDuplicate)
		}
		res, serr := sess.Send(ctx, m.From, g.rcpts, body, func(accepted []string) error {
			return w.markSending(m.ID, accepted)
		})
		if res != nil {
			ok, rerr := w.record(m.ID, res, serr)
			if rerr != nil {
				return delivered, rerr
			}
			delivered = delivered || ok
		}
		if serr != nil {
			return delivered, serr
		}
	}
	return delivered, nil
}

func (w *Worker) markSending(id string, accepted []string) error {
	return w.Store.Update(func(tx *ledger.Tx) error {
		m, err := tx.OutboxMail(id)
		if err != nil {
			return err
		}
		m.State = ledger.OutboxSending
		m.InFlight = accepted
		m.LastTry = tx.Now()
		return tx.PutOutboxMail(m)
	})
}

// record stores what a transaction did to each recipient and schedules
// the retry of what is still pending.
func (w *Worker) record(id string, res *Result, sessErr error) (delivered bool, err error) {
	now := w.now()
	o := w.opts()
	err = w.Store.Update(func(tx *ledger.Tx) error {
		m, err := tx.OutboxMail(id)
		if err != nil {
			return err
		}
		m.Attempts++
		m.LastTry = now
		var temp []string
		for _, r := range res.Rcpts {
			rc := m.Recipient(r.Addr)
			if rc == nil || rc.State != ledger.RcptPending {
				continue
			}
			if r.Outcome != 0 {
				rc.Attempts++
			}
			switch r.Outcome {
			case Delivered:
				rc.State, rc.Code, rc.Error, rc.At = ledger.RcptSent, r.Code, "", now
				m.DuplicateRcpts = slices.DeleteFunc(m.DuplicateRcpts, func(a string) bool { return strings.EqualFold(a, r.Addr) })
				delivered = true
			case Permanent:
				rc.State, rc.Code, rc.Error, rc.At = ledger.RcptFailed, r.Code, r.Message, now
				w.count(m.Step, EventFailed)
				w.log().Error("outbox: recipient refused for good", "id", m.ID, "step", m.Step, "rcpt", r.Addr, "code", r.Code, "err", r.Message)
			case Temporary, Unknown:
				rc.Code, rc.Error = r.Code, r.Message
				temp = append(temp, r.Addr+": "+r.Message)
				if r.Outcome == Unknown {
					m.PossibleDuplicate = true
					m.DuplicateRcpts = union(m.DuplicateRcpts, []string{r.Addr})
				}
			}
		}
		m.InFlight = nil
		if m.State == ledger.OutboxSending {
			m.State = ledger.OutboxQueued
		}
		if len(temp) > 0 {
			m.LastError = strings.Join(temp, "; ")
		} else if sessErr != nil {
			m.LastError = sessErr.Error()
		}
		if len(m.Pending()) > 0 {
			m.NextAttempt = now.Add(Backoff(m.Attempts, o.BackoffBase, o.BackoffMax, o.Rand()))
			w.count(m.Step, EventRetried)
		}
		m.Settle(now)
		if err := tx.PutOutboxMail(m); err != nil {
			return err
		}
		if delivered {
			w.count(m.Step, EventSent)
			w.log().Info("outbox: mail sent", "id", m.ID, "step", m.Step, "release", m.Release, "message_id", m.MessageID, "state", m.State)
			return tx.MarkSentAt(m.MessageID, now)
		}
		return nil
	})
	return delivered, err
}

// recordFailure records a failure that hit the whole mail before any
// transaction (the connection could not be made).
func (w *Worker) recordFailure(m *ledger.OutboxMail, cause error) error {
	now := w.now()
	o := w.opts()
	var pe *PermanentError
	perm := errors.As(cause, &pe)
	return w.Store.Update(func(tx *ledger.Tx) error {
		m, err := tx.OutboxMail(m.ID)
		if err != nil {
			return err
		}
		m.Attempts++
		m.LastTry = now
		m.LastError = cause.Error()
		// A permanent connection-level failure (e.g. AUTH refused) is a
		// configuration problem: keep the mail and retry, at the longest
		// wait; the alert tells the admins.
		attempt := m.Attempts
		if perm {
			attempt = 64
		}
		m.NextAttempt = now.Add(Backoff(attempt, o.BackoffBase, o.BackoffMax, o.Rand()))
		w.count(m.Step, EventRetried)
		return tx.PutOutboxMail(m)
	})
}

// alertDue reports whether the admins are to be told about m now: a
// recipient was refused for good, or one is still pending AlertAfter
// after the mail was queued (once per mail; never about an alert).
func alertDue(m *ledger.OutboxMail, now time.Time, alertAfter time.Duration) bool {
	if m.Alerted || m.AlertOf != "" || m.State == ledger.OutboxDropped {
		return false
	}
	late := len(m.Pending()) > 0 && now.Sub(m.Created) >= alertAfter
	return late || len(m.Failed()) > 0
}

// alerts queues the alert mails that are due (alertDue). It looks in a
// read transaction first and writes only when an alert is due.
func (w *Worker) alerts() (queued int, err error) {
	now := w.now()
	o := w.opts()
	due := false
	err = w.Store.View(func(tx *ledger.Tx) error {
		all, err := tx.ActiveOutboxMails()
		due = slices.ContainsFunc(all, func(m *ledger.OutboxMail) bool { return alertDue(m, now, o.AlertAfter) })
		return err
	})
	if err != nil || !due {
		return 0, err
	}
	err = w.Store.Update(func(tx *ledger.Tx) error {
		all, err := tx.ActiveOutboxMails()
		if err != nil {
			return err
		}
		for _, m := range all {
			if !alertDue(m, now, o.AlertAfter) {
				continue
			}
			m.Alerted = true
			if w.Alerter == nil {
				w.log().Error("outbox: mail not delivered and no alerter configured", "id", m.ID, "step", m.Step, "pending", m.Pending(), "failed", len(m.Failed()))
			} else {
				ok, err := w.Alerter.EnqueueAlert(tx, m)
				if err != nil {
					return fmt.Errorf("alert about %s: %w", m.ID, err)
				}
				if ok {
					queued++
					w.count(m.Step, EventAlerted)
					w.log().Warn("outbox: admins alerted", "id", m.ID, "step", m.Step, "release", m.Release)
				} else {
					w.log().Error("outbox: mail not delivered and nobody has the admin role", "id", m.ID, "step", m.Step)
				}
			}
			if err := tx.PutOutboxMail(m); err != nil {
				return err
			}
		}
		return nil
	})
	return queued, err
}

// Retry makes mail ref (id or unique prefix) due now; recipients refused
// for good get another chance. It returns the mail.
func Retry(tx *ledger.Tx, ref string) (*ledger.OutboxMail, error) {
	m, err := tx.FindOutboxMail(ref)
	if err != nil {
		return nil, err
	}
	if m.State == ledger.OutboxSending {
		return nil, fmt.Errorf("mail %s is being sent right now", m.ID)
	}
	n := 0
	for i := range m.Recipients {
		if m.Recipients[i].State != ledger.RcptSent {
			m.Recipients[i].State = ledger.RcptPending
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("mail %s was delivered to every recipient; nothing to retry", m.ID)
	}
	m.State = ledger.OutboxQueued
	m.NextAttempt = tx.Now()
	m.DoneAt = time.Time{}
	m.Alerted = false
	if err := tx.PutOutboxMail(m); err != nil {
		return nil, err
	}
	return m, tx.Audit(ledger.AuditRecord{Actor: "cli", Action: "outbox.retry", Subject: m.MessageID, Release: m.Release, Detail: m.Step})
}

// Drop stops mail ref from being sent (it stays listed as dropped).
func Drop(tx *ledger.Tx, ref string) (*ledger.OutboxMail, error) {
	m, err := tx.FindOutboxMail(ref)
	if err != nil {
		return nil, err
	}
	if m.State == ledger.OutboxDone {
		return nil, fmt.Errorf("mail %s is already done", m.ID)
	}
	m.State = ledger.OutboxDropped
	m.NextAttempt = time.Time{}
	if err := tx.PutOutboxMail(m); err != nil {
		return nil, err
	}
	return m, tx.Audit(ledger.AuditRecord{Actor: "cli", Action: "outbox.drop", Subject: m.MessageID, Release: m.Release, Detail: m.Step})
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !containsFold(out, x) {
			out = append(out, x)
		}
	}
	return out
}
