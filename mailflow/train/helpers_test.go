package train

import (
	"bytes"
	"fmt"
	"mime"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/outbox"
	"github.com/fabu-team/fabu/mailflow/smtptest"
	"github.com/fabu-team/fabu/templates"
)

var testSecret = []byte("test-secret-0123456789")

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

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

// friday is the cut time of release 2026-12-03.
var friday = time.Date(2026, 11, 27, 17, 0, 0, 0, shanghai)

func testPeople() []Person {
	return []Person{
		{Name: "琳琳", Email: "linlin@example.com", Roles: []string{RoleTester, RoleTestLead}},
		{Name: "小周", Email: "xiaozhou@example.com", Roles: []string{RoleTester}},
		{Name: "王工", Email: "wanggong@example.com", Roles: []string{RoleTechLead}},
		{Name: "李经理", Email: "limanager@example.com", Roles: []string{RoleManager}},
		{Name: "张副经理", Email: "deputy@example.com", Roles: []string{RoleDeputy}},
		{Name: "运维组", Email: "ops@example.com", Roles: []string{RoleOps}},
		{Name: "管理员", Email: "admin@example.com", Roles: []string{RoleAdmin}},
	}
}

// sampleEntries are a small ledger: four entries ready for the cut, one in
// progress, one already released.
func sampleEntries() []*ledger.Entry {
	mk := func(id, sys, sub, fn string, st ledger.Status, sql bool, lead string) *ledger.Entry {
		e := &ledger.Entry{ID: id, System: sys, Subsystem: sub, Module: "接口", Function: fn, Category: "新功能",
			Description: "生成文件并推送\n第二行说明", Priority: ledger.High, Status: st, TechLead: "王工", TestLead: lead,
			Proposer: "张三", RequirementDoc: "https://wiki.example.com/req/" + id}
		if sql {
			e.HasSQL = ledger.Yes
		} else {
			e.HasSQL = ledger.No
		}
		e.ProposedOn, _ = ledger.ParseDate("2026/11/1")
		return e
	}
	return []*ledger.Entry{
		mk("20", "小贷", "账务", "生成文件", ledger.StatusDevDone, true, "琳琳"),
		mk("21", "小贷", "账务", "利息计算", ledger.StatusDevDone, false, "琳琳"),
		mk("35", "小贷", "放款", "放款审批", ledger.StatusDevDone, false, "小周"),
		mk("102", "信贷", "客户", "客户信息同步", ledger.StatusDevDone, true, "小周"),
		mk("110", "信贷", "客户", "未完成的功能", ledger.StatusInProgress, false, "小周"),
		mk("5", "信贷", "报表", "早已上线", ledger.StatusReleased, false, "琳琳"),
	}
}

type fixture struct {
	t      *testing.T
	clock  *testClock
	store  *ledger.Store
	train  *Train
	sink   *smtptest.Sink
	worker *outbox.Worker
}

// newFixture opens a store with entries, a train in lang, a sink and a worker.
func newFixture(t *testing.T, lang string, entries []*ledger.Entry) *fixture {
	t.Helper()
	clock := &testClock{t: friday}
	store, err := ledger.Open(filepath.Join(t.TempDir(), "train.db"), ledger.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Update(func(tx *ledger.Tx) error {
		for _, e := range entries {
			if err := tx.PutEntry(e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tr := newTrain(t, store, clock, lang)
	sink := smtptest.Start(t, smtptest.Options{})
	snd, err := outbox.NewSMTPSender(outbox.SMTPOptions{Host: sink.Host(), Port: sink.Port(), TLS: "none", Auth: "none", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := &outbox.Worker{Store: store, Sender: snd, Clock: clock.Now, Alerter: tr}
	return &fixture{t: t, clock: clock, store: store, train: tr, sink: sink, worker: w}
}

func newTrain(t testing.TB, store *ledger.Store, clock *testClock, lang string) *Train {
	set, err := templates.Load(lang, "")
	if err != nil {
		t.Fatal(err)
	}
	title := "小贷运维"
	if lang == "en" {
		title = "Microloan ops"
	}
	return &Train{Store: store, Templates: set, People: testPeople(), Clock: clock.Now, Options: Options{
		TrainName: "default", Title: title, Envs: []string{"SIT", "UAT", "准生产"}, Lang: lang,
		From: outbox.Address{Name: "fabu 发布", Addr: "fabu@example.com"}, PlusAddress: true,
		TokenSecret: testSecret, TokenTTL: 14 * 24 * time.Hour, ReleaseWindow: "22:00-24:00", Location: shanghai,
		EmptyWeekNote: true,
		Reminders: []Reminder{{Name: "sit-1", Env: "SIT"}, {Name: "sit-2", Env: "SIT", Note: "SIT 今天截止"},
			{Name: "uat", Env: "UAT"}, {Name: "preprod", Env: "准生产"}},
	}}
}

// send delivers everything due and returns the messages that arrived.
func (f *fixture) send() []smtptest.Message {
	f.t.Helper()
	before := len(f.sink.Messages())
	if _, err := f.worker.SendDue(f.t.Context()); err != nil {
		f.t.Fatal(err)
	}
	return f.sink.Messages()[before:]
}

func (f *fixture) update(fn func(tx *ledger.Tx) error) {
	f.t.Helper()
	if err := f.store.Update(fn); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) release(name string) *ledger.Release {
	f.t.Helper()
	var r *ledger.Release
	if err := f.store.View(func(tx *ledger.Tx) error {
		var err error
		r, err = tx.Release(name)
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) entry(id string) *ledger.Entry {
	f.t.Helper()
	var e *ledger.Entry
	if err := f.store.View(func(tx *ledger.Tx) error {
		var err error
		e, err = tx.Entry(id)
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return e
}

// parsed is a received message taken apart.
type parsed struct {
	header  mail.Header
	subject string
	text    string
	html    string
	files   map[string][]byte
}

func parse(t *testing.T, raw []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	p := parsed{header: m.Header, files: map[string][]byte{}}
	p.subject, _ = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	err = e.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil {
			return err
		}
		ct, _, _ := part.Header.ContentType()
		var buf bytes.Buffer
		if !strings.HasPrefix(ct, "multipart/") {
			buf.ReadFrom(part.Body)
		}
		if _, params, err := part.Header.ContentDisposition(); err == nil && params["filename"] != "" {
			p.files[params["filename"]] = buf.Bytes()
			return nil
		}
		switch ct {
		case "text/plain":
			p.text = buf.String()
		case "text/html":
			p.html = buf.String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// addrs lists the addresses of a header.
func addrs(h mail.Header, key string) string {
	list, _ := h.AddressList(key)
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Address
	}
	return strings.Join(out, ",")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func pass(release, id, env string) ledger.Result {
	return ledger.Result{Release: release, Entry: id, Env: env, State: ledger.ResultPass, Who: "琳琳"}
}

func fail(release, id, env, note string) ledger.Result {
	return ledger.Result{Release: release, Entry: id, Env: env, State: ledger.ResultFail, Who: "琳琳", Note: note}
}

var _ = fmt.Sprint
