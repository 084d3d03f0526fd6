package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/token"
	"github.com/fabu-team/fabu/mailflow/train"
)

const storeTestRelease = "2026-12-03"

// storeWithReport writes a config and a store in which release
// storeTestRelease awaits approval, and returns the config path and the
// report as queued.
func storeWithReport(t *testing.T) (cfgPath string, report *ledger.OutboxMail) {
	t.Helper()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "fabu.db")
	cfgPath = filepath.Join(dir, "fabu.yaml")
	yaml := fmt.Sprintf(`store:
  path: %s
train:
  name: default
  environments: [SIT, UAT]
people:
  - {name: 李经理, email: limanager@example.com, aliases: [li.manager@example.com], roles: [manager]}
  - {name: 琳琳, email: linlin@example.com, roles: [tester, test_lead]}
  - {name: 运维组, email: ops@example.com, roles: [ops]}
smtp:
  host: 127.0.0.1
  tls: none
  auth: none
  from: fabu@example.com
imap:
  enabled: false
`, dbPath)
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FABU_TOKEN_SECRET", "reply-store-test-secret-0123456789")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ReadSecrets(os.Getenv)
	store, err := ledger.Open(dbPath, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tr, err := buildTrain(cfg, store, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = store.Update(func(tx *ledger.Tx) error {
		for _, id := range []string{"20", "21"} {
			e := &ledger.Entry{ID: id, System: "小贷", Function: "功能" + id, Status: ledger.StatusDevDone, TestLead: "琳琳"}
			if err := tx.PutEntry(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := tr.Cut(ctx, storeTestRelease, train.LateInfo{}); err != nil {
		t.Fatal(err)
	}
	err = store.Update(func(tx *ledger.Tx) error {
		for _, id := range []string{"20", "21"} {
			for _, env := range []string{"SIT", "UAT"} {
				if err := tx.RecordResult(ledger.Result{Release: storeTestRelease, Entry: id, Env: env, State: ledger.ResultPass, Who: "琳琳"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Report(ctx, storeTestRelease, train.LateInfo{}); err != nil {
		t.Fatal(err)
	}
	err = store.View(func(tx *ledger.Tx) error {
		all, err := tx.OutboxMails()
		for _, m := range all {
			if m.Step == train.StepReport {
				report = m
			}
		}
		return err
	})
	if err != nil || report == nil {
		t.Fatalf("no report queued: %v", err)
	}
	return cfgPath, report
}

// writeReplyFile writes a plain reply to the report from addr.
func writeReplyFile(t *testing.T, report *ledger.OutboxMail, from, body string) string {
	t.Helper()
	to := "fabu@example.com"
	if plus, ok := token.PlusAddress(to, report.Token); ok {
		to = plus
	}
	raw := strings.Join([]string{
		"From: " + from,
		"To: fabu <" + to + ">",
		"Subject: =?UTF-8?B?5Zue5aSNOiA=?= " + report.Subject,
		fmt.Sprintf("Message-ID: <reply-store-test.%d@mail.example.com>", time.Now().UnixNano()),
		"In-Reply-To: <" + report.MessageID + ">",
		"References: <" + report.MessageID + ">",
		"Date: Thu, 03 Dec 2026 19:01:00 +0800",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
		"",
		body,
		"",
		"> 各位领导：请审批。回复“同意”或“驳回 原因”。",
		"",
	}, "\r\n")
	path := filepath.Join(t.TempDir(), "reply.eml")
	if err := os.WriteFile(path, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReplyExplainAgainstStore(t *testing.T) {
	cfgPath, report := storeWithReport(t)
	for _, tc := range []struct {
		name, from, body string
		want             []string
	}{
		{"manager approves", "李经理 <limanager@example.com>", "同意", []string{
			"4. Store:", "dry run",
			"Matches:    release 2026-12-03, step report (asks: manager), by in-reply-to",
			"Sender:     李经理 <limanager@example.com>: may answer (李经理 is a manager)",
			"Would be:   decided: release 2026-12-03 approved by 李经理",
			"Would mail: approved (approved) to ops@example.com",
			"Would mail: receipt (receipt) to limanager@example.com"}},
		{"alias of the manager", "Li <li.manager@example.com>", "同意", []string{"may answer", "Would be:   decided"}},
		{"tester cannot approve", "琳琳 <linlin@example.com>", "同意", []string{
			"may not answer (琳琳 is not a manager)", "Would be:   refused", "Would mail: cannotuse (cannotuse) to linlin@example.com"}},
		{"stranger", "Eve <eve@example.org>", "同意", []string{"eve@example.org: not a configured person", "Would be:   ignored"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeReplyFile(t, report, tc.from, tc.body)
			out, err := runReplyCLI(t, "--config", cfgPath, "reply", "explain", file)
			if err != nil {
				t.Fatalf("explain: %v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tc.name == "stranger" && strings.Contains(out, "Would mail:") {
				t.Errorf("a stranger would be mailed:\n%s", out)
			}
		})
	}
	// Nothing was changed: the release still waits, nothing was read.
	store, err := ledger.Open(filepath.Join(filepath.Dir(cfgPath), "fabu.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	err = store.View(func(tx *ledger.Tx) error {
		r, err := tx.Release(storeTestRelease)
		if err != nil {
			return err
		}
		in, err := tx.ReceivedList(ledger.ReceivedFilter{})
		if err != nil {
			return err
		}
		all, err := tx.OutboxMails()
		if r.State != ledger.ReleaseAwaitingApproval || len(r.Decisions) != 0 || len(in) != 0 || len(all) != 2 {
			t.Errorf("the dry run changed the store: %s, %d decisions, %d read, %d queued", r.State, len(r.Decisions), len(in), len(all))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReplyExplainAgainstStoreJSON(t *testing.T) {
	cfgPath, report := storeWithReport(t)
	file := writeReplyFile(t, report, "李经理 <limanager@example.com>", "驳回，21 还有问题")
	out, err := runReplyCLI(t, "--config", cfgPath, "reply", "explain", "--json", file)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Intent string `json:"intent"`
		Store  struct {
			Handling struct {
				Outcome struct {
					Verdict, Release, Step string
				} `json:"outcome"`
				Match struct {
					Via string `json:"via"`
				} `json:"match"`
				MayAnswer bool `json:"may_answer"`
			} `json:"handling"`
			WouldMail []struct {
				Step string   `json:"step"`
				To   []string `json:"to"`
			} `json:"would_mail"`
		} `json:"store"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	h := got.Store.Handling
	if got.Intent != "reject" || h.Outcome.Verdict != "decided" || h.Outcome.Release != storeTestRelease || h.Match.Via != "in-reply-to" || !h.MayAnswer ||
		len(got.Store.WouldMail) != 2 || got.Store.WouldMail[0].Step != train.StepRejected {
		t.Errorf("json:\n%s", out)
	}
}

func TestReplyExplainWithoutStoreIsUnchanged(t *testing.T) {
	t.Chdir(t.TempDir()) // no fabu.yaml here
	out, err := runReplyCLI(t, "reply", "explain", replyMail(t, "14-qq-alternative-gb18030.approve.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "4. Store:") {
		t.Errorf("store part without a store:\n%s", out)
	}
	out, err = runReplyCLI(t, "--db", filepath.Join(t.TempDir(), "missing.db"), "reply", "explain", replyMail(t, "14-qq-alternative-gb18030.approve.eml"))
	if err == nil || !strings.Contains(err.Error(), "missing.db") {
		t.Errorf("a missing --db: %v\n%s", err, out)
	}
}
