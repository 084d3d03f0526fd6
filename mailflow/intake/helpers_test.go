package intake

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/imaptest"
	"github.com/fabu-team/fabu/mailflow/imapwatch"
	"github.com/fabu-team/fabu/mailflow/outbox"
	"github.com/fabu-team/fabu/mailflow/smtptest"
	"github.com/fabu-team/fabu/mailflow/token"
	"github.com/fabu-team/fabu/mailflow/train"
	"github.com/fabu-team/fabu/templates"
)

const (
	R        = "2026-12-03"
	mailUser = "fabu@example.com"
	mailPass = "s3cret"
	waitFor  = 20 * time.Second
)

var testSecret = []byte("intake-test-secret-0123456789")

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

// friday is the cut of release R.
var friday = time.Date(2026, 11, 27, 17, 0, 0, 0, shanghai)

var envs = []string{"SIT", "UAT", "准生产"}

func basePeople() []train.Person {
	return []train.Person{
		{Name: "琳琳", Email: "linlin@example.com", Roles: []string{train.RoleTester, train.RoleTestLead}},
		{Name: "小周", Email: "xiaozhou@example.com", Roles: []string{train.RoleTester}},
		{Name: "王工", Email: "wanggong@example.com", Roles: []string{train.RoleTechLead}},
		{Name: "李经理", Email: "limanager@example.com", Roles: []string{train.RoleManager}},
		{Name: "张副经理", Email: "deputy@example.com", Roles: []string{train.RoleDeputy}},
		{Name: "运维组", Email: "ops@example.com", Roles: []string{train.RoleOps}},
		{Name: "管理员", Email: "admin@example.com", Roles: []string{train.RoleAdmin}},
	}
}

// aliases are extra addresses of people (by name) for the directory.
var aliases = map[string][]string{"李经理": {"li.manager@example.com"}}

func sampleEntries(ids ...string) []*ledger.Entry {
	if len(ids) == 0 {
		ids = []string{"20", "21", "35", "102"}
	}
	systems := []string{"小贷", "信贷"}
	leads := []string{"琳琳", "小周"}
	var out []*ledger.Entry
	for i, id := range ids {
		out = append(out, &ledger.Entry{ID: id, System: systems[i%2], Subsystem: "账务", Module: "接口", Function: "功能" + id,
			Category: "新功能", Description: "生成文件并推送", Priority: ledger.High, Status: ledger.StatusDevDone,
			TechLead: "王工", TestLead: leads[i%2], HasSQL: ledger.No, RequirementDoc: "https://wiki.example.com/req/" + id})
	}
	return out
}

// fixtureOptions shape a fixture.
type fixtureOptions struct {
	people    []train.Person
	rule      Rule
	deputy    DeputyPolicy
	auth      AuthPolicy
	noWatcher bool // start the watcher by hand (f.startWatcher)
	noWorker  bool
	lang      string
}

type option func(*fixtureOptions)

func withPeople(p []train.Person) option { return func(o *fixtureOptions) { o.people = p } }
func withRule(r Rule) option             { return func(o *fixtureOptions) { o.rule = r } }
func withDeputy(d DeputyPolicy) option   { return func(o *fixtureOptions) { o.deputy = d } }
func withAuth(a AuthPolicy) option       { return func(o *fixtureOptions) { o.auth = a } }
func watcherLater() option               { return func(o *fixtureOptions) { o.noWatcher = true } }
func noIMAP() option {
	return func(o *fixtureOptions) { o.noWatcher, o.noWorker = true, true }
}

// fixture is the whole reply loop on loopback: a bbolt store, the train,
// the outbox worker sending to a go-smtp sink, an imapmemserver mailbox
// and the watcher with the intake handler.
type fixture struct {
	t       testing.TB
	o       fixtureOptions
	clock   *testClock
	store   *ledger.Store
	train   *train.Train
	dir     *Directory
	handler *Handler
	sink    *smtptest.Sink
	worker  *outbox.Worker
	imap    *imaptest.Server
	watcher *imapwatch.Watcher
	probe   *probe
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	seq     atomic.Int64

	allPassed chan string
}

func newFixture(t testing.TB, opts ...option) *fixture {
	t.Helper()
	o := fixtureOptions{people: basePeople(), lang: "zh-CN"}
	for _, fn := range opts {
		fn(&o)
	}
	f := &fixture{t: t, o: o, clock: &testClock{t: friday}, probe: newProbe(), allPassed: make(chan string, 16)}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	t.Cleanup(func() {
		f.cancel()
		f.wg.Wait()
	})
	store, err := ledger.Open(filepath.Join(t.TempDir(), "fabu.db"), ledger.Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f.store = store
	f.putEntries(sampleEntries()...)

	set, err := templates.Load(o.lang, "")
	if err != nil {
		t.Fatal(err)
	}
	f.sink = smtptest.Start(t, smtptest.Options{})
	snd, err := outbox.NewSMTPSender(outbox.SMTPOptions{Host: f.sink.Host(), Port: f.sink.Port(), TLS: "none", Auth: "none", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.worker = &outbox.Worker{Store: store, Sender: snd, Clock: f.clock.Now, Wake: make(chan struct{}, 1)}
	f.train = &train.Train{Store: store, Templates: set, People: o.people, Clock: f.clock.Now, Kick: f.worker.Kick,
		Options: train.Options{TrainName: "default", Title: "小贷运维", Envs: envs, Lang: o.lang,
			From: outbox.Address{Name: "fabu 发布", Addr: mailUser}, PlusAddress: true, TokenSecret: testSecret,
			TokenTTL: 14 * 24 * time.Hour, ReleaseWindow: "22:00-24:00", Location: shanghai,
			Reminders: []train.Reminder{{Name: "sit-1", Env: "SIT"}, {Name: "sit-2", Env: "SIT"}, {Name: "uat", Env: "UAT"}, {Name: "preprod", Env: "准生产"}}}}
	f.worker.Alerter = f.train
	var people []Person
	for _, p := range o.people {
		people = append(people, Person{Name: p.Name, Addresses: append([]string{p.Email}, aliases[p.Name]...), Roles: p.Roles})
	}
	f.dir = NewDirectory(people, mailUser)
	f.handler, err = New(f.dir, f.train, Options{Secret: testSecret, Rule: o.rule, Deputy: o.deputy, Auth: o.auth,
		Logger: testLogger(t), Kick: f.worker.Kick,
		OnAllPassed: func(r string) { f.allPassed <- r }})
	if err != nil {
		t.Fatal(err)
	}
	if !o.noWorker {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.worker.Run(f.ctx)
		}()
	}
	if !o.noWatcher || !o.noWorker {
		f.imap = imaptest.Start(t, imaptest.Options{})
		f.imap.AddUser(mailUser, mailPass)
	}
	if !o.noWatcher {
		f.startWatcher()
	}
	return f
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("INTAKE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startWatcher runs the real IMAP watcher with the intake handler.
func (f *fixture) startWatcher() {
	f.t.Helper()
	w, err := imapwatch.New(imapwatch.Options{Addr: f.imap.Addr, TLS: imapwatch.TLSNone, Username: mailUser, Password: mailPass,
		BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond, IdleRestart: 5 * time.Minute,
		Observer: f.handler.Observer(f.probe)}, f.store, f.handler, testLogger(f.t), nil)
	if err != nil {
		f.t.Fatal(err)
	}
	f.watcher = w
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		if err := w.Run(f.ctx); err != nil {
			f.t.Errorf("watcher: %v", err)
		}
	}()
}

func (f *fixture) putEntries(es ...*ledger.Entry) {
	f.t.Helper()
	f.update(func(tx *ledger.Tx) error {
		for _, e := range es {
			if err := tx.PutEntry(e); err != nil {
				return err
			}
		}
		return nil
	})
}

func (f *fixture) update(fn func(tx *ledger.Tx) error) {
	f.t.Helper()
	if err := f.store.Update(fn); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) view(fn func(tx *ledger.Tx) error) {
	f.t.Helper()
	if err := f.store.View(fn); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) release(name string) *ledger.Release {
	f.t.Helper()
	var r *ledger.Release
	f.view(func(tx *ledger.Tx) error {
		var err error
		r, err = tx.Release(name)
		return err
	})
	return r
}

func (f *fixture) entry(id string) *ledger.Entry {
	f.t.Helper()
	var e *ledger.Entry
	f.view(func(tx *ledger.Tx) error {
		var err error
		e, err = tx.Entry(id)
		return err
	})
	return e
}

// passAll records a pass for every entry of release in every environment
// (as if the testers had reported it).
func (f *fixture) passAll(release string, except ...string) {
	f.t.Helper()
	f.update(func(tx *ledger.Tx) error {
		r, err := tx.Release(release)
		if err != nil {
			return err
		}
		for _, id := range r.Entries {
			for _, env := range envs {
				st := ledger.ResultPass
				for _, x := range except {
					if x == id {
						st = ledger.ResultFail
					}
				}
				if err := tx.RecordResult(ledger.Result{Release: release, Entry: id, Env: env, State: st, Who: "琳琳"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// sentMail is a mail the outbox queued (and the sink may have received).
type sentMail struct {
	ledger.OutboxMail
	ReplyTo string
	Text    string
	Refs    string
	Date    time.Time
	To, Cc  []string
}

// outboxMark is the number of outbox mails so far; queuedSince lists the
// mails queued after it, in order.
func (f *fixture) outboxMark() int {
	f.t.Helper()
	n := 0
	f.view(func(tx *ledger.Tx) error {
		all, err := tx.OutboxMails()
		n = len(all)
		return err
	})
	return n
}

func (f *fixture) queuedSince(mark int) []sentMail {
	f.t.Helper()
	var out []sentMail
	f.view(func(tx *ledger.Tx) error {
		all, err := tx.OutboxMails()
		if err != nil {
			return err
		}
		for _, m := range all[mark:] {
			raw, err := tx.OutboxRaw(m.ID)
			if err != nil {
				return err
			}
			out = append(out, f.readSent(*m, raw))
		}
		return nil
	})
	return out
}

// readSent takes a queued mail apart.
func (f *fixture) readSent(m ledger.OutboxMail, raw []byte) sentMail {
	f.t.Helper()
	s := sentMail{OutboxMail: m}
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		f.t.Fatalf("read queued mail %s: %v", m.ID, err)
	}
	if l, err := mr.Header.AddressList("Reply-To"); err == nil && len(l) > 0 {
		s.ReplyTo = l[0].Address
	}
	for _, k := range []string{"To", "Cc"} {
		l, _ := mr.Header.AddressList(k)
		for _, a := range l {
			if k == "To" {
				s.To = append(s.To, a.Address)
			} else {
				s.Cc = append(s.Cc, a.Address)
			}
		}
	}
	s.Refs = mr.Header.Get("References")
	s.Date, _ = mr.Header.Date()
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			f.t.Fatalf("read queued mail %s: %v", m.ID, err)
		}
		if h, ok := p.Header.(*mail.InlineHeader); ok {
			if ct, _, _ := h.ContentType(); ct == "text/plain" && s.Text == "" {
				b, _ := io.ReadAll(p.Body)
				s.Text = string(b)
			}
		}
	}
	return s
}

// lastQueued returns the newest queued mail of step in release.
func (f *fixture) lastQueued(release, step string) sentMail {
	f.t.Helper()
	var out *sentMail
	f.view(func(tx *ledger.Tx) error {
		all, err := tx.OutboxMails()
		if err != nil {
			return err
		}
		for i := len(all) - 1; i >= 0; i-- {
			if m := all[i]; m.Release == release && m.Step == step {
				raw, err := tx.OutboxRaw(m.ID)
				if err != nil {
					return err
				}
				s := f.readSent(*m, raw)
				out = &s
				return nil
			}
		}
		return nil
	})
	if out == nil {
		f.t.Fatalf("no %s mail of %s queued", step, release)
	}
	return *out
}

// cutAndReport cuts release, marks every entry passed (except the ones
// failing), sends the report and returns it.
func (f *fixture) cutAndReport(release string, failing ...string) sentMail {
	f.t.Helper()
	if _, err := f.train.Cut(f.ctx, release, train.LateInfo{}); err != nil {
		f.t.Fatal(err)
	}
	f.passAll(release, failing...)
	if err := f.train.Report(f.ctx, release, train.LateInfo{}); err != nil {
		f.t.Fatal(err)
	}
	if r := f.release(release); r.State != ledger.ReleaseAwaitingApproval {
		f.t.Fatalf("release %s is %s after the report", release, r.State)
	}
	return f.lastQueued(release, train.StepReport)
}

// deliver puts raw into the mailbox and waits until the watcher recorded
// it; it returns the inbox record.
func (f *fixture) deliver(raw []byte, messageID string) ledger.Received {
	f.t.Helper()
	if _, err := f.imap.Append(mailUser, "INBOX", raw); err != nil {
		f.t.Fatal(err)
	}
	return f.probe.waitMail(f.t, "<"+messageID+">", 1)
}

// send writes and delivers a reply.
func (f *fixture) send(s *replySpec) ledger.Received {
	f.t.Helper()
	return f.deliver(s.bytes(f.t), s.MessageID)
}

// waitSink waits until the sink holds at least n mails and returns them.
func (f *fixture) waitSink(n int) []smtptest.Message {
	f.t.Helper()
	msgs, err := f.sink.WaitMessages(n, waitFor)
	if err != nil {
		f.t.Fatal(err)
	}
	return msgs
}

// settle waits until every queued mail reached the sink (before the
// clock jumps, so nothing is overdue).
func (f *fixture) settle() {
	f.t.Helper()
	f.worker.Kick()
	f.waitSink(f.outboxMark())
}

// delivered returns the sink's messages whose Message-ID is id, waiting for one.
func (f *fixture) delivered(messageID string) smtptest.Message {
	f.t.Helper()
	deadline := time.Now().Add(waitFor)
	for n := 1; ; n++ {
		for _, m := range f.sink.Messages() {
			if m.MessageID == messageID {
				return m
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("mail %s never reached the SMTP sink", messageID)
		}
		f.sink.WaitMessages(len(f.sink.Messages())+1, 200*time.Millisecond)
	}
}

// audit returns the audit records of action (all when "").
func (f *fixture) audit(action string) []ledger.AuditRecord {
	f.t.Helper()
	var out []ledger.AuditRecord
	f.view(func(tx *ledger.Tx) error {
		all, err := tx.AuditLog("")
		for _, r := range all {
			if action == "" || r.Action == action {
				out = append(out, r)
			}
		}
		return err
	})
	return out
}

// probe is the watcher's observer behind the handler's: tests wait on it.
type probe struct {
	mu       sync.Mutex
	changed  chan struct{}
	mails    []ledger.Received
	connects int
	idling   bool
}

func newProbe() *probe { return &probe{changed: make(chan struct{}, 1)} }

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
	p.mu.Unlock()
	p.notify()
}

func (p *probe) Event(time.Time)               {}
func (p *probe) Retrying(error, time.Duration) { p.notify() }

func (p *probe) Mail(r ledger.Received) {
	p.mu.Lock()
	p.mails = append(p.mails, r)
	p.mu.Unlock()
	p.notify()
}

// wait blocks until cond (called under p.mu) holds.
func (p *probe) wait(t testing.TB, what string, cond func() bool) {
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

// waitMail waits for the n-th record of key and returns it.
func (p *probe) waitMail(t testing.TB, key string, n int) ledger.Received {
	t.Helper()
	var got ledger.Received
	p.wait(t, "mail "+key+" recorded", func() bool {
		c := 0
		for _, r := range p.mails {
			if r.MessageID == key {
				c++
				if c == n {
					got = r
					return true
				}
			}
		}
		return false
	})
	return got
}

// tokenOf returns the token a queued mail carries in its Reply-To.
func tokenOf(m sentMail) string { return token.FromAddress(m.ReplyTo) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// decode reads a sink message's text part.
func decodeText(t testing.TB, raw []byte) string {
	t.Helper()
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var text string
	e.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil {
			return err
		}
		if ct, _, _ := part.Header.ContentType(); ct == "text/plain" && text == "" {
			b, _ := io.ReadAll(part.Body)
			text = string(b)
		}
		return nil
	})
	return text
}
