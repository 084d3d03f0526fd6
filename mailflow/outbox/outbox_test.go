package outbox

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/smtptest"
	bolt "go.etcd.io/bbolt"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t testing.TB, c *clock) *ledger.Store {
	t.Helper()
	s, err := ledger.Open(filepath.Join(t.TempDir(), "outbox.db"), ledger.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// enqueue composes and queues a mail to rcpts with a step name.
func enqueue(t testing.TB, s *ledger.Store, step string, rcpts ...string) *ledger.OutboxMail {
	t.Helper()
	id, mid := MailID("default", "2026-12-03", step, "", rcpts, "example.com")
	msg := &Message{MessageID: mid, Date: time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC), From: Address{"fabu", "fabu@example.com"},
		Subject: "【fabu】" + step, Text: "body of " + step, HTML: "<p>" + step + "</p>", Train: "default", Release: "2026-12-03", Step: step}
	for _, r := range rcpts {
		msg.To = append(msg.To, Address{Addr: r})
	}
	raw, err := Compose(msg)
	if err != nil {
		t.Fatal(err)
	}
	m := &ledger.OutboxMail{ID: id, MessageID: mid, Release: "2026-12-03", Step: step, Subject: msg.Subject, From: "fabu@example.com"}
	for _, r := range rcpts {
		m.Recipients = append(m.Recipients, ledger.OutboxRecipient{Addr: r})
	}
	err = s.Update(func(tx *ledger.Tx) error {
		_, err := tx.Enqueue(m, raw)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sinkSender(t testing.TB, sink *smtptest.Sink) Sender {
	t.Helper()
	s, err := NewSMTPSender(SMTPOptions{Host: sink.Host(), Port: sink.Port(), TLS: "none", Auth: "none", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testAlerter queues a plain alert mail to the admin.
type testAlerter struct{ admin string }

func (a testAlerter) EnqueueAlert(tx *ledger.Tx, m *ledger.OutboxMail) (bool, error) {
	id, mid := MailID(m.Train, m.Release, "alert", m.ID, []string{a.admin}, "example.com")
	raw, err := Compose(&Message{MessageID: mid, From: Address{Addr: "fabu@example.com"}, To: []Address{{Addr: a.admin}},
		Subject: "alert: " + m.Subject, Text: fmt.Sprintf("pending %v failed %d", m.Pending(), len(m.Failed())), Date: tx.Now()})
	if err != nil {
		return false, err
	}
	_, err = tx.Enqueue(&ledger.OutboxMail{ID: id, MessageID: mid, Step: "alert", AlertOf: m.ID, From: "fabu@example.com",
		Subject: "alert", Recipients: []ledger.OutboxRecipient{{Addr: a.admin}}}, raw)
	return true, err
}

func mailState(t *testing.T, s *ledger.Store, id string) *ledger.OutboxMail {
	t.Helper()
	var m *ledger.OutboxMail
	if err := s.View(func(tx *ledger.Tx) error {
		var err error
		m, err = tx.OutboxMail(id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSendDueDeliversOnceOverOneConnection(t *testing.T) {
	c := newClock()
	s := openStore(t, c)
	sink := smtptest.Start(t, smtptest.Options{})
	a := enqueue(t, s, "testlist", "linlin@example.com", "wang@example.com")
	b := enqueue(t, s, "sit-1", "linlin@example.com")
	var counts sync.Map
	w := &Worker{Store: s, Sender: sinkSender(t, sink), Clock: c.Now, Metrics: MetricsFunc(func(step, ev string) {
		v, _ := counts.LoadOrStore(step+"/"+ev, new(int))
		*v.(*int)++
	})}
	n, err := w.SendDue(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("SendDue = %d, %v", n, err)
	}
	if got := sink.Connections(); got != 1 {
		t.Errorf("connections = %d, want 1", got)
	}
	msgs := sink.Messages()
	if len(msgs) != 2 || msgs[0].MessageID != a.MessageID || len(msgs[0].To) != 2 || msgs[1].MessageID != b.MessageID {
		t.Fatalf("sink got %+v", msgs)
	}
	if msgs[0].From != "fabu@example.com" {
		t.Errorf("envelope from = %q", msgs[0].From)
	}
	if m := mailState(t, s, a.ID); m.State != ledger.OutboxDone || len(m.Pending()) != 0 {
		t.Errorf("mail state = %s", m.State)
	}
	if v, _ := counts.Load("testlist/sent"); v == nil || *v.(*int) != 1 {
		t.Error("metrics: testlist/sent not counted once")
	}
	// Nothing more is due: no second delivery, no connection.
	if n, err := w.SendDue(context.Background()); n != 0 || err != nil {
		t.Errorf("second SendDue = %d, %v", n, err)
	}
	if len(sink.Messages()) != 2 || sink.Connections() != 1 {
		t.Error("a delivered mail was sent again")
	}
	err = s.View(func(tx *ledger.Tx) error {
		ref, err := tx.SentByMessageID(a.MessageID)
		if err != nil || ref.SentAt.IsZero() {
			t.Errorf("sent ref = %+v, %v", ref, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRetryAfter451ThenSuccess(t *testing.T) {
	c := newClock()
	s := openStore(t, c)
	sink := smtptest.Start(t, smtptest.Options{})
	sink.RejectRcpt("linlin@example.com", 451, 1)
	m := enqueue(t, s, "testlist", "linlin@example.com")
	w := &Worker{Store: s, Sender: sinkSender(t, sink), Clock: c.Now, Options: Options{BackoffBase: time.Minute, BackoffMax: 10 * time.Minute, Rand: func() float64 { return 0.5 }}}
	if n, err := w.SendDue(context.Background()); n != 0 || err != nil {
		t.Fatalf("first SendDue = %d, %v", n, err)
	}
	got := mailState(t, s, m.ID)
	if got.State != ledger.OutboxQueued || got.Recipients[0].Code != 451 || got.Attempts != 1 {
		t.Fatalf("after 451: %+v", got)
	}
	wantNext := c.Now().Add(45 * time.Second) // 1m, jittered by 0.5 into [30s, 60s)
	if !got.NextAttempt.Equal(wantNext) {
		t.Errorf("next attempt %v, want %v", got.NextAttempt, wantNext)
	}
	// Not yet due.
	if n, _ := w.SendDue(context.Background()); n != 0 || len(sink.Messages()) != 0 {
		t.Fatal("sent before the backoff ended")
	}
	c.Add(45 * time.Second)
	if n, err := w.SendDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("retry SendDue = %d, %v", n, err)
	}
	if len(sink.Messages()) != 1 || mailState(t, s, m.ID).State != ledger.OutboxDone {
		t.Error("not delivered on retry")
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	cases := []struct {
		attempt int
		r       float64
		want    time.Duration
	}{
		{1, 0, 15 * time.Second},
		{1, 0.999999, 30 * time.Second},
		{2, 0, 30 * time.Second},
		{3, 0.5, 90 * time.Second},
		{10, 0, 450 * time.Second},
		{100, 0.5, 675 * time.Second},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.attempt, tc.r), func(t *testing.T) {
			got := Backoff(tc.attempt, 30*time.Second, 15*time.Minute, tc.r)
			if got.Round(time.Second) != tc.want {
				t.Errorf("Backoff = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOneRefusedRecipientDoesNotStopTheOthers(t *testing.T) {
	c := newClock()
	s := openStore(t, c)
	sink := smtptest.Start(t, smtptest.Options{})
	sink.RejectRcpt("gone@example.com", 550, 0)
	m := enqueue(t, s, "testlist", "linlin@example.com", "gone@example.com", "wang@example.com")
	admin := "admin@example.com"
	w := &Worker{Store: s, Sender: sinkSender(t, sink), Clock: c.Now, Alerter: testAlerter{admin}}
	if _, err := w.SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs := sink.Messages()
	if len(msgs) != 2 {
		t.Fatalf("sink got %d messages, want the mail and the alert", len(msgs))
	}
	if strings.Join(msgs[0].To, ",") != "linlin@example.com,wang@example.com" || msgs[0].MessageID != m.MessageID {
		t.Errorf("first message to %v (%s)", msgs[0].To, msgs[0].MessageID)
	}
	if msgs[1].To[0] != admin || !strings.Contains(string(msgs[1].Data), "failed 1") {
		t.Errorf("alert = %v %q", msgs[1].To, msgs[1].Data)
	}
	got := mailState(t, s, m.ID)
	if got.State != ledger.OutboxDone || !got.Alerted {
		t.Errorf("state %s alerted %v", got.State, got.Alerted)
	}
	if f := got.Failed(); len(f) != 1 || f[0].Addr != "gone@example.com" || f[0].Code != 550 {
		t.Errorf("failed = %+v", f)
	}
	// The alert is sent once.
	c.Add(24 * time.Hour)
	w.SendDue(context.Background())
	if len(sink.Messages()) != 2 {
		t.Error("alerted twice")
	}
}

func TestAlertAfterWithInjectedClock(t *testing.T) {
	c := newClock()
	s := openStore(t, c)
	sink := smtptest.Start(t, smtptest.Options{})
	sink.RejectRcpt("linlin@example.com", 451, 0) // always temporary
	m := enqueue(t, s, "testlist", "linlin@example.com")
	w := &Worker{Store: s, Sender: sinkSender(t, sink), Clock: c.Now, Alerter: testAlerter{"admin@example.com"},
		Options: Options{AlertAfter: 2 * time.Hour, BackoffBase: time.Minute, BackoffMax: 20 * time.Minute, Rand: func() float64 { return 0 }}}
	for i := 0; i < 30 && c.Now().Sub(m.Created) < 2*time.Hour; i++ {
		w.SendDue(context.Background())
		if len(sink.Messages()) != 0 {
			t.Fatalf("alert sent after only %v", c.Now().Sub(m.Created))
		}
		c.Add(20 * time.Minute)
	}
	w.SendDue(context.Background())
	msgs := sink.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "admin@example.com" {
		t.Fatalf("after alert_after: %d messages", len(msgs))
	}
	got := mailState(t, s, m.ID)
	if !got.Alerted || got.State != ledger.OutboxQueued || got.Attempts < 5 {
		t.Errorf("mail: alerted %v state %s attempts %d", got.Alerted, got.State, got.Attempts)
	}
	// The mail keeps being retried, and goes once the server takes it.
	sink.RejectRcpt("linlin@example.com", 0, 0)
	c.Add(time.Hour)
	w.SendDue(context.Background())
	if mailState(t, s, m.ID).State != ledger.OutboxDone || len(sink.Messages()) != 2 {
		t.Error("not delivered after the server recovered")
	}
}

func TestServerDownThenBack(t *testing.T) {
	c := newClock()
	s := openStore(t, c)
	sink := smtptest.Start(t, smtptest.Options{})
	m := enqueue(t, s, "report", "li@example.com")
	w := &Worker{Store: s, Sender: sinkSender(t, sink), Clock: c.Now, Options: Options{Rand: func() float64 { return 0 }}}
	cases := []struct {
		name    string
		breakIt func()
		fix     func()
	}{
		{"stopped", sink.Stop, func() {
			if err := sink.Restart(); err != nil {
				t.Fatal(err)
			}
		}},
		{"refusing sessions", func() { sink.Refuse(true) }, func() { sink.Refuse(false) }},
	}
	for _, tc := range cases {
		tc.breakIt()
		n, err := w.SendDue(context.Background())
		if n != 0 || !IsTemporary(err) {
			t.Fatalf("%s: SendDue = %d, %v (want a temporary error)", tc.name, n, err)
		}
		got := mailState(t, s, m.ID)
		if got.State != ledger.OutboxQueued || !got.NextAttempt.After(c.Now()) {
			t.Fatalf("%s: %+v", tc.name, got)
		}
		tc.fix()
		c.Add(time.Hour)
	}
	if n, err := w.SendDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("after restart: %d, %v", n, err)
	}
}

func TestDroppedConnectionAfterDataResendsOnceFlagged(t *testing.T) {
	c := newClock()
	s := openStore(t, c)
	sink := smtptest.Start(t, smtptest.Options{})
	sink.DropAfterData(1)
	m := enqueue(t, s, "approved", "ops@example.com")
	other := enqueue(t, s, "receipt", "li@example.com")
	w := &Worker{Store: s, Sender: sinkSender(t, sink), Clock: c.Now}
	if _, err := w.SendDue(context.Background()); err == nil {
		t.Fatal("no error for a dropped connection")
	}
	first := sink.Messages()[0]
	if !first.Dropped {
		t.Fatal("the sink did not drop the first session")
	}
	if first.MessageID != m.MessageID {
		m, other = other, m
	}
	got := mailState(t, s, m.ID)
	if !got.PossibleDuplicate || got.State != ledger.OutboxQueued {
		t.Fatalf("after drop: %+v", got)
	}
	if mailState(t, s, other.ID).State != ledger.OutboxDone {
		t.Error("the next mail was not sent over a new connection")
	}
	c.Add(time.Hour)
	if _, err := w.SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	byID := sink.ByMessageID()
	if byID[m.MessageID] != 2 || byID[other.MessageID] != 1 {
		t.Fatalf("deliveries by Message-ID = %v", byID)
	}
	var flagged int
	for _, msg := range sink.Messages() {
		if msg.MessageID == m.MessageID && msg.Header.Get("X-Fabu-Possible-Duplicate") == "yes" {
			flagged++
		}
	}
	if flagged != 1 {
		t.Errorf("%d copies flagged as possible duplicate, want 1", flagged)
	}
}

func TestDataRefused(t *testing.T) {
	c := newClock()
	s := openStore(t, c)
	sink := smtptest.Start(t, smtptest.Options{})
	sink.FailData(554, 1)
	m := enqueue(t, s, "testlist", "a@example.com", "b@example.com")
	w := &Worker{Store: s, Sender: sinkSender(t, sink), Clock: c.Now}
	if _, err := w.SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := mailState(t, s, m.ID)
	if got.State != ledger.OutboxDone || len(got.Failed()) != 2 || len(sink.Messages()) != 0 {
		t.Errorf("after 554 on DATA: %+v", got)
	}
}

func TestRetryAndDrop(t *testing.T) {
	c := newClock()
	s := openStore(t, c)
	sink := smtptest.Start(t, smtptest.Options{})
	sink.RejectRcpt("a@example.com", 550, 1)
	m := enqueue(t, s, "testlist", "a@example.com")
	d := enqueue(t, s, "sit-1", "b@example.com")
	err := s.Update(func(tx *ledger.Tx) error {
		_, err := Drop(tx, d.ID[:8])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &Worker{Store: s, Sender: sinkSender(t, sink), Clock: c.Now}
	w.SendDue(context.Background())
	if len(sink.Messages()) != 0 {
		t.Fatal("a dropped or refused mail was delivered")
	}
	err = s.Update(func(tx *ledger.Tx) error {
		_, err := Retry(tx, m.MessageID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	w.SendDue(context.Background())
	if byID := sink.ByMessageID(); byID[m.MessageID] != 1 || byID[d.MessageID] != 0 {
		t.Errorf("after retry: %v", byID)
	}
	err = s.Update(func(tx *ledger.Tx) error {
		_, err := Retry(tx, m.ID)
		return err
	})
	if err == nil {
		t.Error("retrying a delivered mail succeeded")
	}
}

func TestCRLFInFieldsCannotAddHeaders(t *testing.T) {
	evil := "x\r\nBcc: victim@example.com\r\nX-Injected: yes"
	_, mid := MailID("default", "2026-12-03", "testlist", "", []string{"a@example.com"}, "example.com")
	raw, err := Compose(&Message{
		MessageID: mid, From: Address{Name: "fabu" + evil, Addr: "fabu@example.com"},
		To:      []Address{{Name: "琳琳" + evil, Addr: "a@example.com"}},
		Subject: "【fabu】" + evil, Text: "body" + evil, HTML: "<p>x</p>",
		Train: "t" + evil, Release: "2026-12-03" + evil, Step: "testlist\nX-Step: 2",
		References: []string{"a@b>\r\nX-Ref: 1"}, InReplyTo: "c@d\nX-IRT: 1",
		Headers: []Header{{Name: "X-Note", Value: "ok" + evil}},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Bcc", "X-Injected", "X-Step", "X-Ref", "X-IRT"} {
		if v := msg.Header.Get(h); v != "" {
			t.Errorf("header %s was injected: %q", h, v)
		}
	}
	if len(msg.Header["To"]) != 1 || len(msg.Header["Subject"]) != 1 {
		t.Errorf("headers: %v", msg.Header)
	}
	dec := new(mime.WordDecoder)
	subj, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	if !strings.Contains(subj, "Bcc: victim@example.com") || strings.ContainsAny(subj, "\r\n") {
		t.Errorf("subject = %q: the text should stay, on one line", subj)
	}
	if _, err := Compose(&Message{MessageID: mid, From: Address{Addr: "fabu@example.com"}, To: []Address{{Addr: "a@example.com\r\nBcc: v@example.com"}}}); err == nil {
		t.Error("an address with CR/LF was accepted")
	}
}

func TestRunSendsOnKickAndRetriesOnItsClock(t *testing.T) {
	c := newClock()
	s := openStore(t, c)
	sink := smtptest.Start(t, smtptest.Options{})
	sink.RejectRcpt("linlin@example.com", 451, 1)
	w := &Worker{Store: s, Sender: sinkSender(t, sink), Clock: c.Now, Wake: make(chan struct{}, 1),
		Options: Options{BackoffBase: 30 * time.Second},
		// The retry wait passes at once on the test clock; the idle minute never does.
		After: func(d time.Duration) <-chan time.Time {
			ch := make(chan time.Time, 1)
			if d < time.Minute {
				c.Add(d)
				ch <- c.Now()
			}
			return ch
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	m := enqueue(t, s, "testlist", "linlin@example.com")
	w.Kick()
	msgs, err := sink.WaitMessages(1, 10*time.Second)
	if err != nil || msgs[0].MessageID != m.MessageID {
		t.Fatalf("Run did not deliver after the 451: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop when its context ended")
	}
	if got := mailState(t, s, m.ID); got.State != ledger.OutboxDone || got.Attempts != 2 {
		t.Errorf("mail %s after %d attempts", got.State, got.Attempts)
	}
}

// TestWorkerOnAStoreWrittenBeforeTheIndex: a store whose outbox has no
// index of active mails (written by an older fabu) is delivered from all
// the same, and its first write transaction builds the index.
func TestWorkerOnAStoreWrittenBeforeTheIndex(t *testing.T) {
	c := newClock()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := ledger.Open(path, ledger.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	sink := smtptest.Start(t, smtptest.Options{})
	sink.RejectRcpt("gone@example.com", 550, 1)
	done := enqueue(t, s, "testlist", "linlin@example.com")
	w := &Worker{Store: s, Sender: sinkSender(t, sink), Clock: c.Now}
	if n, err := w.SendDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("SendDue = %d, %v", n, err)
	}
	queued := enqueue(t, s, "sit-1", "linlin@example.com", "gone@example.com")
	s.Close()
	// Take the index away, as an older fabu would have left the store.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("trains")).Bucket([]byte("default")).Bucket([]byte(ledger.BucketOutbox)).DeleteBucket([]byte("active"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = ledger.Open(path, ledger.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var alerts []string
	w = &Worker{Store: s, Sender: sinkSender(t, sink), Clock: c.Now, Alerter: alertFunc(func(m *ledger.OutboxMail) { alerts = append(alerts, m.ID) })}
	if n, err := w.SendDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("SendDue on the old store = %d, %v", n, err)
	}
	if byID := sink.ByMessageID(); byID[queued.MessageID] != 1 || byID[done.MessageID] != 1 {
		t.Errorf("sink got %v", byID)
	}
	if len(alerts) != 1 || alerts[0] != queued.ID {
		t.Errorf("alerts about %v, want the refused %s", alerts, queued.ID)
	}
	err = s.View(func(tx *ledger.Tx) error {
		active, err := tx.ActiveOutboxMails()
		if err != nil || len(active) != 0 {
			t.Errorf("active after delivery and alert: %d, %v", len(active), err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// alertFunc is an Alerter that only notes what it was asked about.
type alertFunc func(m *ledger.OutboxMail)

func (f alertFunc) EnqueueAlert(tx *ledger.Tx, m *ledger.OutboxMail) (bool, error) {
	f(m)
	return true, nil
}
