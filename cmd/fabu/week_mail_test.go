package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/outbox"
	"github.com/fabu-team/fabu/mailflow/reply"
	"github.com/fabu-team/fabu/mailflow/smtptest"
	"github.com/fabu-team/fabu/schedule"
)

// runWeekSlice runs the real scheduler with the train's mail steps on a
// fake clock from its current time until end, then sends what the steps
// queued to the loopback SMTP sink. The clock jumps straight to each wait's
// end, so a week takes milliseconds.
func runWeekSlice(t *testing.T, cfgPath, db string, clock *schedule.FakeClock, end time.Time) {
	t.Helper()
	c := loadTestConfig(t, cfgPath)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := ledger.Open(db, ledger.Options{Train: c.Train.Name, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tr, err := buildTrain(c, store, clock.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	tt, err := schedule.New(scheduleConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := schedule.NewRunner(schedule.RunnerOptions{
		Timetable: tt, Store: store, Steps: trainSteps(tr, clock), Clock: clock, Logger: log,
		Idle: func(now, until time.Time) {
			if until.After(end) {
				clock.Set(end)
				cancel()
				return
			}
			clock.Set(until)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil && ctx.Err() == nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("scheduler did not reach the end of the slice")
	}
	snd, err := outbox.NewSMTPSender(smtpOptions(c, nil))
	if err != nil {
		t.Fatal(err)
	}
	w := &outbox.Worker{Store: store, Sender: snd, Logger: log, Clock: clock.Now, Alerter: tr}
	if _, err := w.SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// decoded returns a sunk mail's decoded subject and text body.
func decoded(t *testing.T, m smtptest.Message) (subject, text string) {
	t.Helper()
	pm, err := reply.Parse(bytes.NewReader(m.Data), reply.Options{})
	if err != nil {
		t.Fatalf("parse %s: %v", m.MessageID, err)
	}
	return pm.Subject, pm.TextBody
}

func subjects(t *testing.T, msgs []smtptest.Message) []string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		s, _ := decoded(t, m)
		out = append(out, s)
	}
	return out
}

// TestScheduledWeekMailsWithDowntime runs a real week on the clock: the
// daemon is down from Thursday 17:00 to Friday 19:00, so the report (due
// Thursday 18:00) and the next cut (Friday 17:00) both go out late, once,
// saying so; nothing is repeated after the restart.
func TestScheduledWeekMailsWithDowntime(t *testing.T) {
	sink := smtptest.Start(t, smtptest.Options{})
	cfg := daemonConfig(t, sink, "", "")
	db := filepath.Join(t.TempDir(), "fabu.db")
	sh, _ := time.LoadLocation("Asia/Shanghai")
	seed := func(ids ...string) {
		s, err := ledger.Open(db, ledger.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Update(func(tx *ledger.Tx) error {
			for _, id := range ids {
				e := &ledger.Entry{ID: id, System: "小贷", Function: "生成文件", Status: ledger.StatusDevDone, TestLead: "琳琳"}
				if err := tx.PutEntry(e); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	seed("20", "21")
	// Start the store's history before the week: first start Friday 16:00.
	clock := schedule.NewFakeClock(time.Date(2026, 11, 27, 16, 0, 0, 0, sh))
	runWeekSlice(t, cfg, db, clock, time.Date(2026, 12, 3, 17, 0, 0, 0, sh))
	got := subjects(t, sink.Messages())
	want := []string{"提测清单", "SIT", "SIT", "UAT", "准生产"}
	if len(got) != len(want) {
		t.Fatalf("before the downtime: %d mails %q, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) || !strings.Contains(got[i], "2026-12-03") {
			t.Errorf("mail %d = %q, want %s of 2026-12-03", i, got[i], w)
		}
	}

	// Down Thursday 17:00 → Friday 19:00; development finishes #22 meanwhile.
	seed("22")
	clock.Set(time.Date(2026, 12, 4, 19, 0, 0, 0, sh))
	runWeekSlice(t, cfg, db, clock, time.Date(2026, 12, 4, 20, 0, 0, 0, sh))
	msgs := sink.Messages()[len(want):]
	got = subjects(t, msgs)
	if len(got) != 2 {
		t.Fatalf("after the restart: %d mails %q, want the late report and the late cut", len(got), got)
	}
	var report, cut *smtptest.Message
	for i := range msgs {
		switch {
		case strings.Contains(got[i], "2026-12-03") && strings.Contains(got[i], "测试完成报告"):
			report = &msgs[i]
		case strings.Contains(got[i], "2026-12-10") && strings.Contains(got[i], "提测清单"):
			cut = &msgs[i]
		}
	}
	if report == nil || cut == nil {
		t.Fatalf("after the restart got %q", got)
	}
	for name, m := range map[string]*smtptest.Message{"report": report, "cut": cut} {
		if _, body := decoded(t, *m); !strings.Contains(body, "本邮件晚于计划时间发送") {
			t.Errorf("the late %s does not say it is late:\n%s", name, body)
		}
	}
	if _, body := decoded(t, *cut); !strings.Contains(body, "22") {
		t.Errorf("the late cut lacks entry 22")
	}

	// A second restart in the same hour repeats nothing.
	runWeekSlice(t, cfg, db, clock, time.Date(2026, 12, 4, 21, 0, 0, 0, sh))
	if n := len(sink.Messages()); n != len(want)+2 {
		t.Fatalf("a restart repeated mail: %d mails %q", n, subjects(t, sink.Messages()))
	}
}
