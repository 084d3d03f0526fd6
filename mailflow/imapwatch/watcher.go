package imapwatch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/charset"

	"github.com/fabu-team/fabu/ledger"
)

// Store is the part of *ledger.Store the watcher needs.
type Store interface {
	View(fn func(tx *ledger.Tx) error) error
	Update(fn func(tx *ledger.Tx) error) error
}

// Watcher reads one mailbox. Create it with New and call Run once.
type Watcher struct {
	o     Options
	store Store
	h     Handler
	log   *slog.Logger
	now   func() time.Time
	rand  func() float64 // backoff jitter; tests replace it

	running atomic.Bool

	mu     sync.Mutex
	status Status
}

// New checks the options and returns a watcher. clock (nil: time.Now)
// stamps events and chooses the rescan window; record times come from the
// store's own clock.
func New(o Options, store Store, h Handler, logger *slog.Logger, clock func() time.Time) (*Watcher, error) {
	if store == nil {
		return nil, errors.New("imapwatch: no store")
	}
	if h == nil {
		return nil, errors.New("imapwatch: no handler")
	}
	o.setDefaults()
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("imap settings: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if clock == nil {
		clock = time.Now
	}
	w := &Watcher{o: o, store: store, h: h, now: clock,
		log: logger.With("component", "imap", "mailbox", o.Mailbox, "server", o.Addr)}
	w.status.Mailbox = o.Mailbox
	w.status.Counts = map[string]uint64{}
	return w, nil
}

// Run watches the mailbox until ctx is done, then returns nil. It returns
// early only with a *PermanentError when the very first connection fails
// in a way retrying cannot fix (bad credentials, no such mailbox, an
// untrusted certificate); after one good connection every failure is
// logged and retried with backoff.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("imapwatch: Run called twice")
	}
	defer w.running.Store(false)
	bo := newBackoff(w.o.BackoffMin, w.o.BackoffMax, w.rand)
	started := false
	for {
		err := w.session(ctx, bo, &started)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = &TemporaryError{Op: "session", Err: errors.New("ended without an error")}
		}
		w.noteError(err)
		if !started && IsPermanent(err) {
			w.log.Error("IMAP watcher cannot start", "err", err)
			return err
		}
		d := bo.Next()
		w.log.Warn("IMAP session failed; reconnecting", "err", err, "retry_in", d)
		if w.o.Observer != nil {
			w.o.Observer.Retrying(err, d)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// conn is the state of one IMAP session.
type conn struct {
	raw      net.Conn
	stop     func() bool // stops closing raw when ctx ends
	c        *imapclient.Client
	wd       *watchdog
	kick     chan struct{} // new mail announced (buffered, 1)
	caps     imap.CapSet
	validity uint32
	uidNext  uint32
	flag     imap.Flag     // flag set on read mail ("" for none)
	stored   ledger.Cursor // the cursor as last read or written
	last     uint32        // highest UID handled under validity
}

func (w *Watcher) session(ctx context.Context, bo *backoff, started *bool) error {
	s := &conn{kick: make(chan struct{}, 1)}
	opts := &imapclient.Options{
		// Runs on the client's reader goroutine: never call the client
		// here, only signal the session loop.
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages == nil {
					return
				}
				w.noteEvent()
				select {
				case s.kick <- struct{}{}:
				default:
				}
			},
		},
		WordDecoder: &mime.WordDecoder{CharsetReader: charset.Reader},
	}
	if err := w.dial(ctx, s, opts); err != nil {
		if s.stop != nil {
			s.stop()
		}
		return err
	}
	defer s.stop()
	defer s.c.Close()
	defer s.wd.disarm()

	if err := w.login(ctx, s); err != nil {
		return err
	}
	s.wd.arm(w.o.CommandTimeout)
	s.caps = s.c.Caps()
	s.wd.disarm()
	if s.caps == nil {
		return &TemporaryError{Op: "CAPABILITY", Err: s.wd.explain(errors.New("no capability list from the server"))}
	}
	for _, f := range []string{w.o.ProcessedFolder, w.o.IgnoredFolder} {
		if f != "" {
			if err := w.ensureFolder(s, f); err != nil {
				return err
			}
		}
	}
	if err := w.selectMailbox(s); err != nil {
		return err
	}
	*started = true
	mode := "poll"
	if s.caps.Has(imap.CapIdle) && !w.o.DisableIdle {
		mode = "idle"
	}
	w.setConnected(true, mode)
	defer w.setConnected(false, "")
	w.log.Info("IMAP connected", "mode", mode, "uidvalidity", s.validity, "flag", string(s.flag))

	if err := w.catchUp(ctx, s); err != nil {
		return err
	}
	bo.Reset()
	for {
		var err error
		if mode == "idle" {
			err = w.idleWait(ctx, s)
		} else {
			err = w.pollWait(ctx, s)
		}
		if err != nil {
			return err
		}
		if err := w.syncNew(ctx, s); err != nil {
			return err
		}
	}
}

// dial connects, sets up TLS and waits for the greeting.
func (w *Watcher) dial(ctx context.Context, s *conn, opts *imapclient.Options) error {
	host, _, _ := net.SplitHostPort(w.o.Addr)
	d := &net.Dialer{Timeout: w.o.DialTimeout, KeepAlive: 30 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", w.o.Addr)
	if err != nil {
		return &TemporaryError{Op: "connect to " + w.o.Addr, Err: err}
	}
	s.raw = raw
	// Cancelling ctx closes the connection, which ends any command in
	// flight (STARTTLS and IDLE included).
	s.stop = context.AfterFunc(ctx, func() { raw.Close() })
	s.wd = newWatchdog(raw)
	s.wd.arm(w.o.CommandTimeout)
	defer s.wd.disarm()

	cfg := &tls.Config{}
	if w.o.TLSConfig != nil {
		cfg = w.o.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = strings.Trim(host, "[]")
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	switch w.o.TLS {
	case TLSImplicit:
		if cfg.NextProtos == nil {
			cfg.NextProtos = []string{"imap"}
		}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return classifyTLS("TLS handshake with "+w.o.Addr, s.wd.explain(err))
		}
		s.c = imapclient.New(tc, opts)
	case TLSStartTLS:
		opts.TLSConfig = cfg
		c, err := imapclient.NewStartTLS(raw, opts)
		if err != nil {
			raw.Close()
			var ie *imap.Error
			if errors.As(err, &ie) && ie.Type != imap.StatusResponseTypeBye {
				return &PermanentError{Op: "STARTTLS with " + w.o.Addr, Err: fmt.Errorf("%w (the server refuses STARTTLS; try tls: implicit on port 993)", err)}
			}
			return classifyTLS("STARTTLS with "+w.o.Addr, s.wd.explain(err))
		}
		s.c = c
	default:
		s.c = imapclient.New(raw, opts)
	}
	if err := s.c.WaitGreeting(); err != nil {
		s.c.Close()
		return &TemporaryError{Op: "greeting from " + w.o.Addr, Err: s.wd.explain(err)}
	}
	return nil
}

// ensureFolder creates folder if the server does not list it.
func (w *Watcher) ensureFolder(s *conn, folder string) error {
	s.wd.arm(w.o.CommandTimeout)
	list, err := s.c.List("", folder, nil).Collect()
	s.wd.disarm()
	if err != nil {
		return classifyIMAP("list folder "+folder, s.wd.explain(err))
	}
	for _, l := range list {
		if l.Mailbox == folder || strings.EqualFold(folder, "INBOX") && strings.EqualFold(l.Mailbox, "INBOX") {
			return nil
		}
	}
	return w.createFolder(s, folder)
}

func (w *Watcher) createFolder(s *conn, folder string) error {
	s.wd.arm(w.o.CommandTimeout)
	err := s.c.Create(folder, nil).Wait()
	s.wd.disarm()
	var ie *imap.Error
	if err == nil || errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
		if err == nil {
			w.log.Info("created IMAP folder", "folder", folder)
		}
		return nil
	}
	return classifyIMAP("create folder "+folder, s.wd.explain(err))
}

func (w *Watcher) selectMailbox(s *conn) error {
	s.wd.arm(w.o.CommandTimeout)
	data, err := s.c.Select(w.o.Mailbox, nil).Wait()
	s.wd.disarm()
	if err != nil {
		return classifyIMAP(fmt.Sprintf("select mailbox %q (does it exist?)", w.o.Mailbox), s.wd.explain(err))
	}
	if data.UIDValidity == 0 {
		return &PermanentError{Op: "select mailbox " + w.o.Mailbox, Err: errors.New("the server sent no UIDVALIDITY, so read mail cannot be tracked")}
	}
	s.validity = data.UIDValidity
	s.uidNext = uint32(data.UIDNext)
	s.flag = chooseFlag(data.PermanentFlags, w.o.ProcessedKeyword)
	return nil
}

// chooseFlag picks the flag that marks read mail: the keyword when the
// mailbox accepts new keywords (or does not say), else \Seen, else none.
func chooseFlag(permanent []imap.Flag, keyword string) imap.Flag {
	if permanent == nil {
		return imap.Flag(keyword)
	}
	for _, f := range permanent {
		if f == imap.FlagWildcard || strings.EqualFold(string(f), keyword) {
			return imap.Flag(keyword)
		}
	}
	for _, f := range permanent {
		if strings.EqualFold(string(f), string(imap.FlagSeen)) {
			return imap.FlagSeen
		}
	}
	return ""
}

// idleWait idles until new mail is announced, IdleRestart passes (the
// periodic re-check), the connection drops or ctx ends.
func (w *Watcher) idleWait(ctx context.Context, s *conn) error {
	s.wd.arm(w.o.CommandTimeout)
	idle, err := s.c.Idle()
	s.wd.disarm()
	if err != nil {
		return &TemporaryError{Op: "start IDLE", Err: s.wd.explain(err)}
	}
	w.setIdling(true)
	defer w.setIdling(false)
	t := time.NewTimer(w.o.IdleRestart)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.c.Closed():
		return &TemporaryError{Op: "IDLE", Err: errors.New("the server closed the connection")}
	case <-s.kick:
	case <-t.C:
	}
	s.wd.arm(w.o.CommandTimeout)
	err = idle.Close()
	if err == nil {
		err = idle.Wait()
	}
	s.wd.disarm()
	if err != nil {
		return &TemporaryError{Op: "stop IDLE", Err: s.wd.explain(err)}
	}
	return nil
}

// pollWait waits PollInterval (or for mail announced meanwhile).
func (w *Watcher) pollWait(ctx context.Context, s *conn) error {
	t := time.NewTimer(w.o.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.c.Closed():
		return &TemporaryError{Op: "poll", Err: errors.New("the server closed the connection")}
	case <-s.kick:
	case <-t.C:
	}
	return nil
}

// watchdog closes the connection when a command gets no answer in time
// (imapclient waits forever between responses).
type watchdog struct {
	c     io.Closer
	t     *time.Timer
	d     atomic.Int64
	fired atomic.Bool
}

func newWatchdog(c io.Closer) *watchdog {
	wd := &watchdog{c: c}
	wd.t = time.AfterFunc(time.Hour, func() {
		wd.fired.Store(true)
		wd.c.Close()
	})
	wd.t.Stop()
	return wd
}

func (wd *watchdog) arm(d time.Duration) {
	wd.d.Store(int64(d))
	wd.t.Reset(d)
}

func (wd *watchdog) disarm() { wd.t.Stop() }

// explain says that err came from the watchdog closing the connection.
func (wd *watchdog) explain(err error) error {
	if err != nil && wd.fired.Load() {
		return fmt.Errorf("no answer from the server within %s: %w", time.Duration(wd.d.Load()), err)
	}
	return err
}

func (w *Watcher) trainTx(tx *ledger.Tx) *ledger.Tx {
	if w.o.Train != "" && w.o.Train != tx.TrainName() {
		return tx.WithTrain(w.o.Train)
	}
	return tx
}
