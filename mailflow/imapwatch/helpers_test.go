package imapwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/imaptest"
)

const (
	testUser = "fabu@example.com"
	testPass = "s3cret"
	waitFor  = 15 * time.Second
)

// probe is the test's Observer and Handler: it records everything and
// lets the test wait for a condition (with a deadline, no sleeping).
type probe struct {
	mu        sync.Mutex
	changed   chan struct{}
	mails     []ledger.Received
	calls     map[string]int // handler calls by Message-ID (rolled back ones included)
	idling    bool
	idleCount int
	connects  int
	retries   []error
	// fail, if set, decides a handler error for a mail (called without mu).
	fail func(m *Incoming, call int) error
}

func newProbe() *probe {
	return &probe{changed: make(chan struct{}, 1), calls: map[string]int{}}
}

func (p *probe) notify() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

func (p *probe) Connected(up bool) {
	p.mu.Lock()
	if up {
		p.connects++
	}
	p.mu.Unlock()
	p.notify()
}

func (p *probe) Idling(on bool) {
	p.mu.Lock()
	p.idling = on
	if on {
		p.idleCount++
	}
	p.mu.Unlock()
	p.notify()
}

func (p *probe) Event(time.Time) { p.notify() }

func (p *probe) Mail(r ledger.Received) {
	p.mu.Lock()
	p.mails = append(p.mails, r)
	p.mu.Unlock()
	p.notify()
}

func (p *probe) Retrying(err error, _ time.Duration) {
	p.mu.Lock()
	p.retries = append(p.retries, err)
	p.mu.Unlock()
	p.notify()
}

// HandleMail approves mail whose subject says "approve" (processed) and
// ignores the rest; each handled mail writes an audit record in the same
// transaction, so the audit log shows how often a mail really committed.
func (p *probe) HandleMail(ctx context.Context, tx *ledger.Tx, m *Incoming) (Outcome, error) {
	p.mu.Lock()
	p.calls[m.MessageID]++
	call := p.calls[m.MessageID]
	fail := p.fail
	p.mu.Unlock()
	if err := tx.Audit(ledger.AuditRecord{Actor: "imap", Action: "reply.read", Subject: m.MessageID, Detail: m.Subject}); err != nil {
		return Outcome{}, err
	}
	if fail != nil {
		if err := fail(m, call); err != nil {
			return Outcome{}, err
		}
	}
	if len(m.Raw) == 0 || int64(len(m.Raw)) != m.Size || hashRaw(m.Raw) != m.RawHash {
		return Outcome{}, Permanent(fmt.Errorf("incoming mail inconsistent: %d raw bytes, size %d", len(m.Raw), m.Size))
	}
	if strings.Contains(strings.ToLower(m.Subject), "approve") {
		return Outcome{Verdict: "decided", Reason: "approve", Release: "2026-12-03", Step: "approve", Processed: true}, nil
	}
	return Outcome{Verdict: "ignored", Reason: "no match"}, nil
}

// wait blocks until cond holds (checked under p.mu) or fails the test.
func (p *probe) wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(waitFor)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		ok := cond()
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-p.changed:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s", waitFor, what)
		}
	}
}

// recorded reports the committed mails with id (any verdict); call under mu.
func (p *probe) recorded(id string) []ledger.Received {
	var out []ledger.Received
	for _, r := range p.mails {
		if r.MessageID == id {
			out = append(out, r)
		}
	}
	return out
}

func (p *probe) waitMail(t *testing.T, id string, n int) {
	t.Helper()
	p.wait(t, fmt.Sprintf("%d record(s) of %s", n, id), func() bool { return len(p.recorded(id)) >= n })
}

func (p *probe) waitIdle(t *testing.T, minCount int) {
	t.Helper()
	p.wait(t, "the watcher to enter IDLE", func() bool { return p.idling && p.idleCount >= minCount })
}

// env is a server, a store and a probe.
type env struct {
	srv   *imaptest.Server
	store *ledger.Store
	probe *probe
}

func newEnv(t *testing.T, so imaptest.Options, mailboxes ...string) *env {
	t.Helper()
	srv := imaptest.Start(t, so)
	srv.AddUser(testUser, testPass, mailboxes...)
	st, err := ledger.Open(filepath.Join(t.TempDir(), "fabu.db"), ledger.Options{Train: "t"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &env{srv: srv, store: st, probe: newProbe()}
}

func (e *env) options() Options {
	return Options{
		Addr:           e.srv.Addr,
		TLS:            TLSNone,
		Username:       testUser,
		Password:       testPass,
		PollInterval:   50 * time.Millisecond,
		IdleRestart:    2 * time.Second, // bounds a notification lost in imapmemserver's IDLE start race
		BackoffMin:     5 * time.Millisecond,
		BackoffMax:     50 * time.Millisecond,
		CommandTimeout: 10 * time.Second,
		Observer:       e.probe,
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("IMAPWATCH_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// running is a watcher running in the background.
type running struct {
	w      *Watcher
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func (e *env) start(t *testing.T, o Options) *running {
	t.Helper()
	w, err := New(o, e.store, e.probe, testLogger(t), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{w: w, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the watcher and waits for Run to return nil.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run returned %v after cancel, want nil", err)
			}
		case <-time.After(waitFor):
			t.Fatal("Run did not return after cancel")
		}
	})
}

// result waits for Run to return on its own.
func (r *running) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.once.Do(r.cancel)
		return err
	case <-time.After(waitFor):
		t.Fatal("Run did not return")
		return nil
	}
}

func (e *env) deliver(t *testing.T, m imaptest.Mail) uint32 {
	t.Helper()
	return e.deliverTo(t, "INBOX", m.Bytes())
}

func (e *env) deliverTo(t *testing.T, mailbox string, raw []byte) uint32 {
	t.Helper()
	uid, err := e.srv.Append(testUser, mailbox, raw)
	if err != nil {
		t.Fatal(err)
	}
	return uid
}

func testMail(id, subject string) imaptest.Mail {
	return imaptest.Mail{From: "Manager <mgr@example.com>", To: "fabu@example.com", Subject: subject, MessageID: id, Body: "body of " + id}
}

// audits counts committed handler runs per Message-ID.
func (e *env) audits(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	err := e.store.View(func(tx *ledger.Tx) error {
		recs, err := tx.AuditLog("")
		for _, r := range recs {
			if r.Action == "reply.read" {
				out[r.Subject]++
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) received(t *testing.T, id string) *ledger.Received {
	t.Helper()
	var r *ledger.Received
	err := e.store.View(func(tx *ledger.Tx) error {
		var err error
		r, err = tx.Received(id)
		return err
	})
	if err != nil {
		t.Fatalf("Received(%s): %v", id, err)
	}
	return r
}

func (e *env) cursor(t *testing.T, o Options) ledger.Cursor {
	t.Helper()
	o.setDefaults()
	var c ledger.Cursor
	if err := e.store.View(func(tx *ledger.Tx) error {
		var err error
		c, err = tx.Cursor(o.CursorKey)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) messages(t *testing.T, mailbox string) []imaptest.Message {
	t.Helper()
	msgs, err := e.srv.Messages(testUser, mailbox)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func wantAudits(t *testing.T, got map[string]int, ids ...string) {
	t.Helper()
	want := map[string]int{}
	for _, id := range ids {
		want[id]++
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("committed handler runs = %v, want %v (each mail exactly once)", got, want)
	}
}

func isPermanentErr(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}
