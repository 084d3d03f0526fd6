package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/smtptest"
)

type trainCLIResult struct {
	stdout, stderr string
	code           int
}

// runTrainCLI runs the command tree in-process as main does.
func runTrainCLI(t *testing.T, args ...string) trainCLIResult {
	t.Helper()
	var out, errb bytes.Buffer
	a := newApp(&out, &errb)
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		fmt.Fprintln(&errb, "fabu:", err)
	}
	return trainCLIResult{out.String(), errb.String(), exitCode(err)}
}

func (r trainCLIResult) want(t *testing.T, code int) trainCLIResult {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

func trainRepoFile(name string) string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", name)
}

// seedTrainDB makes a store with entries: 20, 21 and 35 finished by
// development, 40 in progress.
func seedTrainDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "fabu.db")
	s, err := ledger.Open(db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Update(func(tx *ledger.Tx) error {
		for _, e := range []*ledger.Entry{
			{ID: "20", System: "小贷", Subsystem: "账务", Function: "生成文件", HasSQL: ledger.Yes, Status: ledger.StatusDevDone, TechLead: "王工", TestLead: "琳琳"},
			{ID: "21", System: "小贷", Subsystem: "账务", Function: "利息计算", Status: ledger.StatusDevDone, TechLead: "王工", TestLead: "琳琳"},
			{ID: "35", System: "信贷", Function: "放款审批", Status: ledger.StatusDevDone, TestLead: "小周"},
			{ID: "40", System: "信贷", Function: "还在开发", Status: ledger.StatusInProgress},
		} {
			if err := tx.PutEntry(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func readTrainDB(t *testing.T, db string, fn func(tx *ledger.Tx) error) {
	t.Helper()
	s, err := ledger.Open(db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.View(fn); err != nil {
		t.Fatal(err)
	}
}

// sinkConfig writes a config that sends to sink.
func sinkConfig(t *testing.T, sink *smtptest.Sink) string {
	t.Helper()
	t.Setenv("FABU_TOKEN_SECRET", "cli-test-secret")
	cfg := fmt.Sprintf(`train:
  title: 小贷运维
people:
  - {name: 琳琳, email: linlin@example.com, roles: [tester, test_lead]}
  - {name: 小周, email: xiaozhou@example.com, roles: [tester]}
  - {name: 王工, email: wanggong@example.com, roles: [tech_lead]}
  - {name: 李经理, email: limanager@example.com, roles: [manager]}
  - {name: 运维组, email: ops@example.com, roles: [ops]}
  - {name: 管理员, email: admin@example.com, roles: [admin]}
smtp:
  host: 127.0.0.1
  port: %d
  tls: none
  auth: none
  from: fabu@example.com
  timeout: 10s
imap:
  enabled: false
`, sink.Port())
	p := filepath.Join(t.TempDir(), "fabu.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPreviewScriptInterface(t *testing.T) {
	cases := []struct {
		name    string
		db      func(t *testing.T) string
		want    []string
		wantNot []string
	}{
		{"empty store", func(t *testing.T) string { return filepath.Join(t.TempDir(), "new.db") }, []string{"没有需要测试的内容"}, []string{"生成文件"}},
		{"store with entries", seedTrainDB, []string{"生成文件", `color:#9c0006;">是</b>`, "放款审批", "共 <b>3</b> 条"}, []string{"还在开发"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := tc.db(t)
			out := filepath.Join(t.TempDir(), "out")
			runTrainCLI(t, "--config", trainRepoFile("config.example.yaml"), "--db", db, "preview", "testlist", "--release", "2026-12-03", "--out", out).want(t, 0)
			raw, err := os.ReadFile(filepath.Join(out, "2026-12-03-testlist.eml"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(out, "2026-12-03-testlist.html")); err != nil {
				t.Error("no .html beside the .eml")
			}
			m, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			subj, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
			if !strings.HasPrefix(subj, "【fabu】2026-12-03 期 提测清单") || m.Header.Get("Message-Id") == "" {
				t.Errorf("subject %q", subj)
			}
			html, _ := os.ReadFile(filepath.Join(out, "2026-12-03-testlist.html"))
			for _, w := range tc.want {
				if !bytes.Contains(html, []byte(w)) {
					t.Errorf("preview lacks %q", w)
				}
			}
			for _, w := range tc.wantNot {
				if bytes.Contains(html, []byte(w)) {
					t.Errorf("preview shows %q", w)
				}
			}
			readTrainDB(t, db, func(tx *ledger.Tx) error {
				rs, _ := tx.Releases()
				ms, _ := tx.OutboxMails()
				if len(rs) != 0 || len(ms) != 0 {
					t.Errorf("preview changed the store: %d releases, %d mails", len(rs), len(ms))
				}
				return nil
			})
		})
	}
}

func TestPreviewErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	cfg := trainRepoFile("config.example.yaml")
	runTrainCLI(t, "--config", cfg, "--db", db, "preview", "nosuch", "--release", "2026-12-03").want(t, 2)
	runTrainCLI(t, "--config", cfg, "--db", db, "preview", "testlist", "--release", "next week").want(t, 2)
	r := runTrainCLI(t, "--config", cfg, "--db", db, "preview", "report", "--sample", "--release", "2026-12-03").want(t, 0)
	if !strings.Contains(r.stdout, "Message-ID: <fabu.") {
		t.Errorf("sample preview:\n%s", r.stdout)
	}
}

func TestTriggerReleaseAndOutboxCommands(t *testing.T) {
	sink := smtptest.Start(t, smtptest.Options{})
	cfg := sinkConfig(t, sink)
	db := seedTrainDB(t)
	run := func(code int, args ...string) trainCLIResult {
		t.Helper()
		return runTrainCLI(t, append([]string{"--config", cfg, "--db", db}, args...)...).want(t, code)
	}

	sink.RejectRcpt("wanggong@example.com", 451, 0) // one recipient's server is busy
	r := run(0, "trigger", "cut", "--release", "2026-12-03")
	if !strings.Contains(r.stdout, "release 2026-12-03 cut: 3 entries") || !strings.Contains(r.stdout, "sent 1 mail(s)") ||
		!strings.Contains(r.stdout, "1 mail(s) still waiting") {
		t.Errorf("trigger cut:\n%s", r.stdout)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 3 {
		t.Fatalf("sink got %d mails", len(msgs))
	}
	if out := run(0, "outbox", "list").stdout; !strings.Contains(out, "3 sent, 1 pending") || !strings.Contains(out, "451") {
		t.Errorf("outbox list:\n%s", out)
	}
	sink.RejectRcpt("wanggong@example.com", 0, 0)
	var mails []map[string]any
	if err := json.Unmarshal([]byte(run(0, "outbox", "list", "--json").stdout), &mails); err != nil || len(mails) != 1 {
		t.Fatalf("outbox list --json: %v %v", mails, err)
	}
	id := mails[0]["id"].(string)
	run(0, "outbox", "retry", id[:8])
	run(0, "trigger", "send")
	if msgs := sink.Messages(); len(msgs) != 2 || strings.Join(msgs[1].To, ",") != "wanggong@example.com" || msgs[1].MessageID != msgs[0].MessageID {
		t.Fatalf("after retry the sink has %d mails", len(msgs))
	}
	run(1, "outbox", "retry", id[:8]) // delivered to everyone now: nothing to retry
	run(1, "outbox", "drop", id)      // done: cannot be dropped
	run(2, "outbox", "drop", "zzzzzzzz")
	run(0, "trigger", "cut", "--release", "2026-12-03")
	if len(sink.Messages()) != 2 {
		t.Error("a second trigger cut mailed again")
	}
	run(2, "trigger", "nosuch")

	var list []map[string]any
	if err := json.Unmarshal([]byte(run(0, "release", "list", "--json").stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0]["name"] != "2026-12-03" || list[0]["state"] != "open" {
		t.Fatalf("release list: %v", list)
	}
	run(2, "release", "add", "2026-12-03", "40") // in progress: refused
	run(2, "release", "add", "2026-12-03", "999")
	run(0, "release", "remove", "2026-12-03", "21", "--note", "not ready")
	show := run(0, "release", "show", "2026-12-03").stdout
	if !strings.Contains(show, "remove 21 by cli") || !strings.Contains(show, "pending") || strings.Contains(show, "利息计算") {
		t.Errorf("release show:\n%s", show)
	}
	if !strings.Contains(run(0, "release", "list").stdout, "2026-12-03") {
		t.Error("release list table")
	}

	if r := run(0, "trigger", "send"); !strings.Contains(r.stdout, "sent 0 mail(s)") {
		t.Errorf("trigger send:\n%s", r.stdout)
	}
}

func TestConfigCheckReportsBadTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "report.txt.tmpl")
	if err := os.WriteFile(bad, []byte("{{define \"subject\"}}x{{end}}\nline two\n{{if .Count}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "fabu.yaml")
	if err := os.WriteFile(cfg, []byte("templates:\n  dir: "+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runTrainCLI(t, "--config", cfg, "config", "check").want(t, 2)
	if !strings.Contains(r.stdout, "templates.dir (line 2)") || !strings.Contains(r.stdout, bad+":") {
		t.Errorf("config check:\n%s", r.stdout)
	}
	r = runTrainCLI(t, "--config", cfg, "--db", filepath.Join(t.TempDir(), "x.db"), "preview", "report", "--release", "2026-12-03").want(t, 2)
	if !strings.Contains(r.stderr, bad) {
		t.Errorf("preview with a bad override:\n%s", r.stderr)
	}
}
