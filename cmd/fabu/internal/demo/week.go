package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/ledger/sheet"
	"github.com/fabu-team/fabu/schedule"
)

// DefaultSpeed is how many times faster than real time the demo's clock
// runs while nothing holds it: the week's ~150 simulated hours pass in
// under three seconds.
const DefaultSpeed = 200000

// Hooks are what the demo needs to hear from fabu's daemon.
type Hooks struct {
	// StepDone is told about each step the scheduler ran, after its mail
	// was committed to the outbox.
	StepDone func(s schedule.Step, err error)
	// MailRead is told about each mail the IMAP watcher recorded, after
	// the commit.
	MailRead func(r ledger.Received)
}

// Daemon is fabu's daemon as the demo drives it.
type Daemon interface {
	// Run runs until ctx ends.
	Run(ctx context.Context) error
	// Store is the daemon's open store.
	Store() *ledger.Store
	// Close closes the store.
	Close() error
	// Timetable is the train's timetable (when each step is due).
	Timetable() *schedule.Timetable
}

// NewDaemonFunc builds fabu's daemon (cmd/fabu's newDaemon) over cfg and
// the store at storePath, on clock, logging to logger, with hooks.
type NewDaemonFunc func(cfg *config.Config, storePath string, clock schedule.Clock, logger *slog.Logger, h Hooks) (Daemon, error)

// Options configure Run.
type Options struct {
	// Out is the output folder; it must exist.
	Out string
	// KeepRunning keeps the servers and fabu up after the week, on a
	// clock at real speed, until ctx ends.
	KeepRunning bool
	// Speed of the clock (default DefaultSpeed).
	Speed float64
	// Stdout gets the timeline and the summary (nil: discard).
	Stdout io.Writer
	// NewDaemon builds fabu's daemon. Required.
	NewDaemon NewDaemonFunc
	// Timeout bounds the week in real time (default: three minutes more
	// than twice a simulated week at Speed).
	Timeout time.Duration
	// MaxHold bounds each hold of the clock in real time (default 30 s).
	MaxHold time.Duration
}

// Result is what Run did.
type Result struct {
	Out      string
	Index    string        // path of index.html
	Real     time.Duration // real time the week took
	SimFrom  time.Time
	SimTo    time.Time
	Mails    int
	State    string // the release's state at the end
	Problems []string
}

// week is one run of the demo.
type week struct {
	o       Options
	out     io.Writer
	ctx     context.Context
	clock   *Clock
	tl      *Timeline
	post    *PostOffice
	archive *Archive
	cast    *Cast
	cfg     *config.Config
	store   atomic.Pointer[ledger.Store]
	log     *slog.Logger

	doneOnce sync.Once
	done     chan struct{}
	endHold  func() // holds the clock once the week's last mail is out
}

// weekOverHold is the reason the clock stands still after the week.
const weekOverHold = "the week is over"

// Run plays the demo's week and writes its output into o.Out.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.NewDaemon == nil {
		return nil, errors.New("demo: no daemon")
	}
	if o.Speed <= 0 {
		o.Speed = DefaultSpeed
	}
	if o.Timeout <= 0 {
		// The week's simulated time at the chosen speed, twice, and three
		// minutes for the work.
		week := 7 * 24 * time.Hour
		o.Timeout = 3*time.Minute + time.Duration(2*float64(week)/o.Speed)
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	realStart := time.Now()
	logFile, err := os.Create(filepath.Join(o.Out, "fabu.log"))
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	defer logFile.Close()
	logger := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))

	w := &week{o: o, out: o.Stdout, log: logger, done: make(chan struct{})}
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	w.ctx = runCtx
	if w.clock, err = NewClock(DemoStart(), o.Speed, o.MaxHold, logger.With("part", "demo-clock")); err != nil {
		return nil, err
	}
	defer w.clock.Stop()
	w.tl = NewTimeline(o.Stdout)
	w.clock.OnWarning(w.warn)
	if w.post, err = NewPostOffice(w.clock.Now, logger.With("part", "demo-post")); err != nil {
		return nil, err
	}
	defer w.post.Close()
	secrets, err := NewSecrets()
	if err != nil {
		return nil, err
	}
	if _, err := w.post.AddAccount("fabu", fabuAddress, secrets.FabuPassword); err != nil {
		return nil, err
	}
	for _, p := range People {
		if _, err := w.post.AddAccount(p.Name, p.Email(), secrets.Passwords[p.Login]); err != nil {
			return nil, err
		}
	}
	storePath := filepath.Join(o.Out, "fabu.db")
	if w.cfg, err = Config(storePath, w.post.SMTPAddr(), w.post.IMAPAddr(), secrets); err != nil {
		return nil, err
	}
	if w.archive, err = NewArchive(o.Out); err != nil {
		return nil, err
	}
	w.cast = NewCast(runCtx, w.clock, w.post, w.warn)
	fmt.Fprintf(w.out, "fabu demo: one week of the release train %s, on loopback mail servers and a fast clock\n", DemoRelease)
	fmt.Fprintf(w.out, "  SMTP %s · IMAP %s · store %s · output %s\n", w.post.SMTPAddr(), w.post.IMAPAddr(), storePath, o.Out)

	if err := w.importLedger(ctx, storePath); err != nil {
		return nil, err
	}
	w.post.OnDeliver(w.delivered)
	d, err := o.NewDaemon(w.cfg, storePath, w.clock, logger, Hooks{StepDone: w.stepDone, MailRead: w.mailRead})
	if err != nil {
		return nil, fmt.Errorf("demo: start fabu: %w", err)
	}
	closed := false
	defer func() {
		if !closed {
			d.Close()
		}
	}()
	w.store.Store(d.Store())
	if err := w.stepBarriers(d.Timetable()); err != nil {
		return nil, err
	}
	w.clock.StartOnFirstTimer()
	daemonCtx, stopDaemon := context.WithCancel(context.Background())
	defer stopDaemon()
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(daemonCtx) }()

	// The week ends on the Friday after the start: a story still going
	// then will not end well.
	weekOver := w.clock.HoldAt(DemoStart().AddDate(0, 0, 7), "the end of the demo's week")
	var fail error
	daemonDone := false
	timeout := time.NewTimer(o.Timeout)
	defer timeout.Stop()
	select {
	case <-w.done:
		w.settle()
	case err := <-runErr:
		daemonDone = true
		fail = fmt.Errorf("fabu stopped during the demo: %v (see %s)", err, logFile.Name())
	case <-ctx.Done():
		fail = fmt.Errorf("demo interrupted at %s", simTime(w.clock.Now()))
	case release := <-weekOver:
		release()
		fail = fmt.Errorf("the week ended (%s) before ops confirmed the release", simTime(w.clock.Now()))
	case <-timeout.C:
		fail = fmt.Errorf("the week did not finish in %s of real time (stopped at %s; the clock was %s)", o.Timeout, simTime(w.clock.Now()), w.clock)
	}
	go func() { // the end-of-week barrier, if still ahead, holds nothing up later
		select {
		case release := <-weekOver:
			release()
		case <-runCtx.Done():
		}
	}()
	res := &Result{Out: o.Out, Index: filepath.Join(o.Out, "index.html"), SimFrom: DemoStart(), SimTo: w.clock.Now(), Real: time.Since(realStart)}

	if o.KeepRunning && fail == nil {
		w.clock.SetSpeed(1)
		w.endHold()
		if err := w.writeOutputs(res, d.Store()); err != nil {
			return res, err
		}
		w.printLogins(secrets)
		select {
		case <-ctx.Done():
		case err := <-runErr:
			daemonDone = true
			fail = fmt.Errorf("fabu stopped: %v (see %s)", err, logFile.Name())
		}
		res.SimTo = w.clock.Now()
	}
	stopDaemon()
	if !daemonDone {
		select {
		case <-runErr:
		case <-time.After(15 * time.Second):
			w.warn("fabu did not stop within 15 s")
		}
	}
	w.clock.Stop()
	cancelRun()
	w.cast.Wait()
	w.post.Close()
	if err := w.writeOutputs(res, d.Store()); err != nil {
		return res, err
	}
	closed = true
	if err := d.Close(); err != nil {
		return res, fmt.Errorf("demo: close the store: %w", err)
	}
	w.summary(res)
	if fail != nil {
		return res, fail
	}
	if len(res.Problems) > 0 {
		return res, fmt.Errorf("the week did not go as scripted:\n  - %s", strings.Join(res.Problems, "\n  - "))
	}
	return res, nil
}

func (w *week) warn(msg string) {
	w.tl.Add(Event{At: w.clock.Now(), Who: "demo", Text: msg, Warn: true})
}

// importLedger imports the sample ledger through the real spreadsheet
// import, and lets 王工 finish the seed's entry before the cut.
func (w *week) importLedger(ctx context.Context, storePath string) error {
	data, err := SampleLedger()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(w.o.Out, "ledger-sample.xlsx"), data, 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	s, err := ledger.Open(storePath, ledger.Options{Train: w.cfg.Train.Name, LockTimeout: w.cfg.Store.LockTimeout.D(), Now: w.clock.Now})
	if err != nil {
		return fmt.Errorf("demo: open the store: %w", err)
	}
	defer s.Close()
	res, err := sheet.ImportBytes(ctx, s, LedgerSheetName, data, sheet.Options{Actor: "demo", Logger: w.log})
	if err != nil {
		return fmt.Errorf("demo: import the sample ledger: %w", err)
	}
	ready := 0
	err = s.View(func(tx *ledger.Tx) error {
		return tx.ForEachEntry(func(e *ledger.Entry) error {
			if e.Status == ledger.StatusDevDone {
				ready++
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	w.tl.Add(Event{At: w.clock.Now(), Who: "demo", Text: fmt.Sprintf("%s (%d finished by development); the sheet is ledger-sample.xlsx", res.Summary(), ready)})
	var e *ledger.Entry
	err = s.Update(func(tx *ledger.Tx) error {
		e, err = tx.MoveEntry(SeedEntry, ledger.StatusDevDone, "王工", "开发完成，可以提测")
		return err
	})
	if err != nil {
		return fmt.Errorf("demo: 王工 finishes #%s: %w", SeedEntry, err)
	}
	w.tl.Add(Event{At: w.clock.Now(), Who: "王工", Text: fmt.Sprintf("#%s %s/%s/%s %s: 处理中 → %s (in the ledger, as `fabu ledger set` does)",
		e.ID, e.System, e.Subsystem, e.Module, e.Function, e.StatusWord())})
	return nil
}

// delivered archives each mail, puts it on the timeline and tells the cast.
func (w *week) delivered(d Delivery) {
	m, err := readMail(d, w.kindOf)
	if err != nil {
		w.warn(err.Error())
		return
	}
	if err := w.archive.Save(m); err != nil {
		w.warn(err.Error())
	}
	w.tl.Add(w.mailEvent(m))
	w.cast.Delivered(m)
	if m.FromFabu && m.Kind == "released" {
		w.doneOnce.Do(func() {
			w.endHold = w.clock.Hold(weekOverHold)
			close(w.done)
		})
	}
}

// kindOf is the outbox kind of fabu's mail with Message-ID id.
func (w *week) kindOf(id string) string {
	s := w.store.Load()
	if s == nil {
		return ""
	}
	kind := ""
	s.View(func(tx *ledger.Tx) error {
		if r, err := tx.SentByMessageID(id); err == nil {
			kind = r.Kind
		}
		return nil
	})
	return kind
}

// stepDone puts a step on the timeline and holds the clock until its mail
// is delivered.
func (w *week) stepDone(s schedule.Step, err error) {
	w.tl.Add(w.stepEvent(s, err))
	w.holdForOutbox("fabu sending the mail of step " + s.Name)
}

// outboxBusy reports whether fabu's outbox holds mail still to send.
func (w *week) outboxBusy() bool {
	s := w.store.Load()
	if s == nil {
		return false
	}
	busy := false
	s.View(func(tx *ledger.Tx) error {
		ms, err := tx.OutboxMails()
		for _, m := range ms {
			if (m.State == ledger.OutboxQueued || m.State == ledger.OutboxSending) && len(m.Pending()) > 0 {
				busy = true
			}
		}
		return err
	})
	return busy
}

// holdForOutbox holds the clock until fabu's outbox is empty.
func (w *week) holdForOutbox(why string) {
	if !w.outboxBusy() {
		return
	}
	release := w.clock.Hold(why)
	go func() {
		defer release()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for w.outboxBusy() {
			select {
			case <-w.ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// settle waits (briefly, in real time) until nothing holds the clock and
// the outbox is empty: the week's last mails are out.
func (w *week) settle() {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		holds := slices.DeleteFunc(w.clock.Holding(), func(h string) bool { return h == weekOverHold })
		if len(holds) == 0 && !w.outboxBusy() {
			return
		}
		select {
		case <-w.ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}
