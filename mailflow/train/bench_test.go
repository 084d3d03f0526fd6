package train

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/outbox"
	"github.com/fabu-team/fabu/mailflow/smtptest"
)

// benchEntries makes n dev_done entries spread over systems systems.
func benchEntries(n, systems int) []*ledger.Entry {
	out := make([]*ledger.Entry, n)
	for i := range out {
		e := sampleEntries()[i%4]
		c := *e
		c.ID = fmt.Sprint(1000 + i)
		c.System = fmt.Sprintf("系统%02d", i%systems)
		c.TestLead = fmt.Sprintf("测试%02d", i%10)
		c.Description = "每日生成对账文件并推送至核心系统，需兼容节假日与月末批量。\n第二行：涉及账务、利息与罚息的计算口径调整。"
		out[i] = &c
	}
	return out
}

// benchPeople has recipients-1 testers and tech leads, a manager and ops:
// the test list goes to recipients people.
func benchPeople(recipients int) []Person {
	var ps []Person
	for i := 0; i < recipients-1; i++ {
		role := RoleTester
		if i%5 == 4 {
			role = RoleTechLead
		}
		ps = append(ps, Person{Name: fmt.Sprintf("测试%02d", i), Email: fmt.Sprintf("p%03d@example.com", i), Roles: []string{role}})
	}
	return append(ps, Person{Name: "李经理", Email: "li@example.com", Roles: []string{RoleManager}},
		Person{Name: "运维", Email: "ops@example.com", Roles: []string{RoleOps}})
}

func benchStore(b *testing.B, dir string, entries []*ledger.Entry, clock *testClock) *ledger.Store {
	b.Helper()
	s, err := ledger.Open(filepath.Join(dir, fmt.Sprintf("b%d.db", time.Now().UnixNano())), ledger.Options{Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Update(func(tx *ledger.Tx) error {
		for _, e := range entries {
			if err := tx.PutEntry(e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkCutAndSend2000 is the Friday of a big team: cut a release of
// 2,000 entries in 20 systems, render the test list and its .xlsx, and
// send it to 100 recipients over one loopback SMTP connection.
func BenchmarkCutAndSend2000(b *testing.B) {
	entries := benchEntries(2000, 20)
	clock := &testClock{t: friday}
	sink, err := smtptest.New(smtptest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Stop()
	snd, err := outbox.NewSMTPSender(outbox.SMTPOptions{Host: sink.Host(), Port: sink.Port(), TLS: "none", Auth: "none", Timeout: 30 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var size int
	for b.Loop() {
		b.StopTimer()
		store := benchStore(b, dir, entries, clock)
		tr := newTrain(b, store, clock, "zh-CN")
		tr.People = benchPeople(100)
		w := &outbox.Worker{Store: store, Sender: snd, Clock: clock.Now}
		conns := sink.Connections()
		sink.Reset()
		b.StartTimer()

		rel, err := tr.Cut(context.Background(), R, LateInfo{})
		if err != nil {
			b.Fatal(err)
		}
		if n, err := w.SendDue(context.Background()); err != nil || n != 1 {
			b.Fatalf("SendDue = %d, %v", n, err)
		}

		b.StopTimer()
		msgs := sink.Messages()
		if len(rel.Entries) != 2000 || len(msgs) != 1 || len(msgs[0].To) != 100 || sink.Connections() != conns+1 {
			b.Fatalf("entries %d, messages %d", len(rel.Entries), len(msgs))
		}
		size = len(msgs[0].Data)
		store.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(size)/1e6, "MB/mail")
}

// BenchmarkTestListMail200 builds one test-list mail of 200 entries —
// templates (text and HTML), the .xlsx checklist, the reply token and the
// MIME message — and queues it in a transaction that is rolled back.
func BenchmarkTestListMail200(b *testing.B) {
	clock := &testClock{t: friday}
	store := benchStore(b, b.TempDir(), benchEntries(200, 10), clock)
	defer store.Close()
	tr := newTrain(b, store, clock, "zh-CN")
	rel, err := tr.Cut(context.Background(), R, LateInfo{})
	if err != nil {
		b.Fatal(err)
	}
	other := *rel
	other.Name = "2026-12-10" // not queued yet: the mail is built afresh
	rollback := fmt.Errorf("rollback")
	var size int
	for b.Loop() {
		err := store.Update(func(tx *ledger.Tx) error {
			r := other
			q, err := tr.testListMail(tx, &r, LateInfo{})
			if err != nil {
				return err
			}
			if !q.created {
				b.Fatal("the mail was not built")
			}
			size = len(q.raw)
			return rollback
		})
		if err != rollback {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size)/1e6, "MB/mail")
}

// BenchmarkTestListRender200 renders the two parts of a 200-entry test
// list (templates only).
func BenchmarkTestListRender200(b *testing.B) {
	clock := &testClock{t: friday}
	store := benchStore(b, b.TempDir(), benchEntries(200, 10), clock)
	defer store.Close()
	tr := newTrain(b, store, clock, "zh-CN")
	rel, err := tr.Cut(context.Background(), R, LateInfo{})
	if err != nil {
		b.Fatal(err)
	}
	var v *view
	if err := store.View(func(tx *ledger.Tx) error {
		v, err = tr.loadView(tx, rel, rel.Entries)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		d := tr.baseData(R, StepTestList, LateInfo{})
		tr.fill(d, v, false)
		if _, err := tr.Templates.Render("testlist", d); err != nil {
			b.Fatal(err)
		}
	}
}
