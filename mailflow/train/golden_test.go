package train

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// everyMail runs a scenario that queues every kind of mail the train
// sends, and returns the queued mails in order.
func everyMail(t *testing.T, lang string) []*queued {
	t.Helper()
	f := newFixture(t, lang, sampleEntries())
	ctx := context.Background()
	at := func(day, hour, min int) time.Time { return time.Date(2026, 11, day, hour, min, 0, 0, shanghai) }
	dec := func(when time.Time, who, email, id, words, reason string) ledger.Decision {
		return ledger.Decision{Who: who, Email: email, At: when, MessageID: id, Words: words, Reason: reason}
	}
	_, err := f.train.Cut(ctx, R, LateInfo{})
	must(t, err)
	f.clock.Set(at(30, 9, 0).AddDate(0, 0, 1))
	f.update(func(tx *ledger.Tx) error {
		for _, r := range []ledger.Result{pass(R, "20", "SIT"), pass(R, "35", "SIT"), fail(R, "21", "SIT", "罚息多算一天")} {
			if err := tx.RecordResult(r); err != nil {
				return err
			}
		}
		return nil
	})
	must(t, f.train.Remind(ctx, R, "sit-2", "SIT", "SIT 今天截止", LateInfo{Due: at(30, 9, 0).AddDate(0, 0, 1).Add(-30 * time.Minute),
		Reason: "fabu 重启", Skipped: []Skipped{{Step: "sit-1", Due: at(30, 9, 0), Reason: "当天已过"}}}))
	f.clock.Set(time.Date(2026, 12, 3, 18, 0, 0, 0, shanghai))
	must(t, f.train.Report(ctx, R, LateInfo{}))
	f.clock.Set(time.Date(2026, 12, 3, 21, 0, 0, 0, shanghai))
	must(t, f.train.Escalate(ctx, R, LateInfo{}))
	mgr := ReplyRef{From: "limanager@example.com", Name: "李经理", Subject: "回复：测试完成报告", Date: f.clock.Now(), MessageID: "ooo-1@example.com",
		Excerpt: "看一下再说", Step: StepReport, Role: RoleManager}
	f.update(func(tx *ledger.Tx) error { return f.train.RelayOutOfOffice(tx, R, mgr, "本人休假至12月7日。") })
	mgr.MessageID = "unclear-1@example.com"
	f.update(func(tx *ledger.Tx) error { return f.train.Clarify(tx, R, mgr, "没有看出是同意还是驳回") })
	f.update(func(tx *ledger.Tx) error { return tx.RecordResult(pass(R, "102", "SIT")) })
	mgr.MessageID = "old-1@example.com"
	f.update(func(tx *ledger.Tx) error { return f.train.RefuseOutdated(tx, R, mgr) })
	mgr.MessageID = "late-1@example.com"
	f.update(func(tx *ledger.Tx) error { return f.train.NotifyCannotUse(tx, R, mgr, "该期次已经审批") })
	f.update(func(tx *ledger.Tx) error {
		vote := dec(f.clock.Now(), "李经理", "limanager@example.com", "vote-1@example.com", "同意，21 除外", "除外：21")
		vote.Verdict = ledger.VerdictApprove
		return f.train.VoteRecorded(tx, R, vote, 1, 2)
	})
	f.update(func(tx *ledger.Tx) error {
		return f.train.Approve(tx, R, dec(f.clock.Now(), "李经理", "limanager@example.com", "ok-1@example.com", "同意发版", ""))
	})
	f.clock.Set(time.Date(2026, 12, 3, 23, 10, 0, 0, shanghai))
	f.update(func(tx *ledger.Tx) error {
		return f.train.Released(tx, R, dec(f.clock.Now(), "运维组", "ops@example.com", "done-1@example.com", "已发版", ""))
	})
	f.clock.Set(time.Date(2026, 12, 4, 17, 0, 0, 0, shanghai))
	_, err = f.train.Cut(ctx, "2026-12-10", LateInfo{})
	must(t, err)
	f.update(func(tx *ledger.Tx) error {
		if _, err := tx.MoveEntry("110", ledger.StatusDevDone, "dev", ""); err != nil {
			return err
		}
		_, err := tx.MoveEntry("21", ledger.StatusDevDone, "dev", "")
		return err
	})
	f.clock.Set(time.Date(2026, 12, 11, 17, 0, 0, 0, shanghai))
	_, err = f.train.Cut(ctx, "2026-12-17", LateInfo{})
	must(t, err)
	must(t, f.train.Report(ctx, "2026-12-17", LateInfo{}))
	f.update(func(tx *ledger.Tx) error {
		return f.train.Reject(tx, "2026-12-17", dec(f.clock.Now(), "李经理", "limanager@example.com", "no-1@example.com", "驳回，利息问题未解决", "利息问题未解决"))
	})
	var out []*queued
	f.update(func(tx *ledger.Tx) error {
		ms, err := tx.OutboxMails()
		if err != nil {
			return err
		}
		m := ms[0]
		m.Attempts, m.LastError = 7, "451 4.3.0 try again later"
		m.Recipients[0].State, m.Recipients[0].Code, m.Recipients[0].Error = ledger.RcptFailed, 550, "550 5.1.1 user unknown"
		if _, err := f.train.EnqueueAlert(tx, m); err != nil {
			return err
		}
		ms, err = tx.OutboxMails()
		out = wrap(tx, ms)
		return err
	})
	return out
}

var boundaryRE = regexp.MustCompile(`boundary=([0-9a-zA-Z'()+_,\-./:=?]+)`)

// normalise replaces the random MIME boundaries with BOUNDARY-n.
func normalise(raw []byte) []byte {
	s := string(raw)
	for i, m := range boundaryRE.FindAllStringSubmatch(s, -1) {
		s = strings.ReplaceAll(s, m[1], fmt.Sprintf("BOUNDARY-%d", i+1))
	}
	return []byte(s)
}

func TestGoldenMails(t *testing.T) {
	for _, lang := range templates.Languages {
		t.Run(lang, func(t *testing.T) {
			mails := everyMail(t, lang)
			seen := map[string]int{}
			kinds := map[string]bool{}
			for _, q := range mails {
				kinds[q.mail.Kind] = true
				name := q.mail.Kind
				if q.mail.Kind != q.mail.Step && q.mail.Kind != templates.OutboxAlert {
					name += "-" + q.mail.Step
				}
				seen[name]++
				if seen[name] > 1 {
					name = fmt.Sprintf("%s-%d", name, seen[name])
				}
				got := normalise(q.raw)
				path := filepath.Join("testdata", "golden", lang, name+".eml")
				if *update {
					must(t, os.MkdirAll(filepath.Dir(path), 0o755))
					must(t, os.WriteFile(path, got, 0o644))
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./mailflow/train -run TestGoldenMails -update)", err)
				}
				if string(got) != string(want) {
					t.Errorf("%s differs from the golden file (run with -update and review the diff):\n%s", path, firstDiff(string(want), string(got)))
				}
			}
			for _, k := range templates.Names {
				if !kinds[k] {
					t.Errorf("the scenario queued no %s mail", k)
				}
			}
		})
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d\n- %q\n+ %q", i+1, x, y)
		}
	}
	return ""
}
