package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/demo"
	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/reply"
	"github.com/xuri/excelize/v2"
)

// buildDemoFabu builds the fabu binary into the test's temporary folder.
func buildDemoFabu(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary and runs a whole demo week")
	}
	bin := filepath.Join(t.TempDir(), "fabu")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runDemoFabu runs the binary with args and returns stdout, stderr and the
// exit code.
func runDemoFabu(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("fabu %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), code
}

func TestDemoRunsTheWeek(t *testing.T) {
	bin := buildDemoFabu(t)
	out := filepath.Join(t.TempDir(), "demo-out")
	stdout, stderr, code := runDemoFabu(t, bin, "demo", "--out", out)
	if code != 0 {
		t.Fatalf("fabu demo exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	t.Run("timeline", func(t *testing.T) { checkDemoTimeline(t, stdout, out) })
	var mails []demo.ManifestEntry
	readDemoJSON(t, filepath.Join(out, "mails.json"), &mails)
	t.Run("mails", func(t *testing.T) { checkDemoMails(t, out, mails) })
	t.Run("test list xlsx", func(t *testing.T) { checkDemoChecklist(t, out, mails) })
	t.Run("index.html", func(t *testing.T) { checkDemoIndex(t, out, mails) })
	t.Run("store", func(t *testing.T) {
		so, se, code := runDemoFabu(t, bin, "--db", filepath.Join(out, "fabu.db"), "release", "show", demo.DemoRelease)
		if code != 0 || !strings.Contains(so, "released") {
			t.Errorf("fabu release show on the demo's store: exit %d\n%s%s", code, so, se)
		}
	})
}

func checkDemoTimeline(t *testing.T, stdout, out string) {
	for _, want := range []string{
		"周五 11-27 17:00", "cut release 2026-12-03: 8 entries from 5 systems",
		"reminder sit-1 (SIT): 8 of 8 entries not yet passed in SIT",
		"24 fail (SIT)", "re-tests #24", "24 pass (SIT)",
		"every entry passed 准生产: the test-complete report goes out now",
		"unclear, nothing decided → clarification sent",
		"approves, from Outlook (GB18030",
		"decided: release 2026-12-03 approved by 李经理",
		"escalation: nothing to do (release 2026-12-03 is approved)",
		"decided: release 2026-12-03 confirmed released by 运维组",
		"release 2026-12-03 is released", out,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the printed timeline lacks %q", want)
		}
	}
	if strings.Contains(stdout, "⚠") {
		t.Errorf("the demo printed warnings:\n%s", stdout)
	}
	saved, err := os.ReadFile(filepath.Join(out, "timeline.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, strings.TrimSpace(string(saved))) {
		t.Error("timeline.txt is not the printed timeline")
	}
}

func checkDemoMails(t *testing.T, out string, mails []demo.ManifestEntry) {
	find := func(kind, step string) []demo.ManifestEntry {
		var found []demo.ManifestEntry
		for _, m := range mails {
			if m.FromFabu && m.Kind == kind && (step == "" || m.Step == step) {
				found = append(found, m)
			}
		}
		return found
	}
	one := func(kind, step string) demo.ManifestEntry {
		t.Helper()
		found := find(kind, step)
		if len(found) != 1 {
			t.Fatalf("%d %s %s mails, want 1", len(found), kind, step)
		}
		return found[0]
	}
	tl := one("testlist", "")
	if !slices.Equal(tl.To, []string{"linlin@example.com", "xiaozhou@example.com"}) || !slices.Contains(tl.Cc, "limanager@example.com") {
		t.Errorf("test list to %v cc %v", tl.To, tl.Cc)
	}
	if len(tl.Attachments) != 1 {
		t.Errorf("test list has %d attachments", len(tl.Attachments))
	}
	for _, step := range []string{"sit-1", "sit-2", "uat", "preprod"} {
		one("reminder", step)
	}
	if n := len(find("reminder", "")); n != 4 {
		t.Errorf("%d reminders, want 4", n)
	}
	report := one("report", "")
	clarify := one("clarify", "")
	approved := one("approved", "")
	receipt := one("receipt", "")
	released := one("released", "")
	if !slices.Equal(report.To, []string{"limanager@example.com"}) || !slices.Equal(clarify.To, []string{"limanager@example.com"}) ||
		!slices.Equal(receipt.To, []string{"limanager@example.com"}) {
		t.Errorf("report to %v, clarification to %v, receipt to %v: want the manager", report.To, clarify.To, receipt.To)
	}
	if !slices.Equal(approved.To, []string{"ops@example.com"}) {
		t.Errorf("ops mail to %v", approved.To)
	}
	if !slices.Contains(released.To, "linlin@example.com") {
		t.Errorf("released note to %v", released.To)
	}
	if len(find("escalate", "")) != 0 {
		t.Error("an escalation went out although the manager approved before 21:00")
	}
	// The order of the story.
	order := []demo.ManifestEntry{tl, one("reminder", "sit-1"), one("reminder", "preprod"), report, clarify, approved, released}
	for i := 1; i < len(order); i++ {
		if order[i].Seq < order[i-1].Seq || order[i].At.Before(order[i-1].At) {
			t.Errorf("%s (#%d, %s) came before %s (#%d, %s)", order[i].Kind, order[i].Seq, order[i].At, order[i-1].Kind, order[i-1].Seq, order[i-1].At)
		}
	}
	if !report.At.Before(time.Date(2026, 12, 3, 18, 0, 0, 0, report.At.Location())) {
		t.Errorf("the report went out at %s, not early", report.At)
	}
	// The replies: eight from testers, two from the manager, one from ops,
	// each answering fabu's mail (threaded) and the Outlook one in GB18030.
	byID := map[string]demo.ManifestEntry{}
	for _, m := range mails {
		byID[m.MessageID] = m
	}
	replies := map[string]int{}
	for _, m := range mails {
		if m.FromFabu {
			continue
		}
		replies[m.From]++
		if ans, ok := byID[m.InReplyTo]; !ok || !ans.FromFabu {
			t.Errorf("reply %s from %s answers %q, not a mail of fabu's", m.File, m.From, m.InReplyTo)
		}
		if !slices.Equal(m.Mailboxes, []string{"fabu@example.com"}) {
			t.Errorf("reply %s delivered to %v", m.File, m.Mailboxes)
		}
	}
	if replies["linlin@example.com"] != 3 || replies["xiaozhou@example.com"] != 4 || replies["limanager@example.com"] != 2 || replies["ops@example.com"] != 1 {
		t.Errorf("replies by sender: %v", replies)
	}
	for _, m := range mails {
		raw, err := os.ReadFile(filepath.Join(out, m.File))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := reply.Parse(bytes.NewReader(raw), reply.Options{})
		if err != nil {
			t.Fatalf("%s: %v", m.File, err)
		}
		if msg.MessageID != m.MessageID || msg.Subject != m.Subject {
			t.Errorf("%s: Message-ID %q subject %q, manifest %q %q", m.File, msg.MessageID, msg.Subject, m.MessageID, m.Subject)
		}
		if m.InReplyTo == clarify.MessageID && !strings.EqualFold(msg.Charset, "gb18030") {
			t.Errorf("the approval %s is in %q, want GB18030", m.File, msg.Charset)
		}
		if _, err := os.Stat(filepath.Join(out, m.View)); err != nil {
			t.Errorf("no readable copy of %s: %v", m.File, err)
		}
	}
}

func checkDemoChecklist(t *testing.T, out string, mails []demo.ManifestEntry) {
	var file string
	for _, m := range mails {
		if m.Kind == "testlist" && len(m.Attachments) == 1 {
			file = m.Attachments[0]
		}
	}
	if file == "" {
		t.Fatal("no test list attachment")
	}
	f, err := excelize.OpenFile(filepath.Join(out, file))
	if err != nil {
		t.Fatalf("the test list's .xlsx does not open: %v", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		t.Fatal("no sheet")
	}
	rows, err := f.GetRows(sheets[0])
	if err != nil {
		t.Fatal(err)
	}
	hdr := -1
	for i, r := range rows {
		if len(r) > 0 && r[0] == "编号" {
			hdr = i
			break
		}
	}
	if hdr < 0 {
		t.Fatalf("no 编号 header in %q", rows)
	}
	if !slices.Contains(rows[hdr], "SIT 测试结果") || !slices.Contains(rows[hdr], "准生产 测试结果") {
		t.Errorf("header %q lacks the result columns", rows[hdr])
	}
	var ids []string
	for _, r := range rows[hdr+1:] {
		if len(r) > 0 && r[0] != "" {
			ids = append(ids, r[0])
		}
	}
	if !slices.Equal(ids, []string{"20", "21", "22", "23", "24", "25", "32", "34"}) {
		t.Errorf("checklist rows %v", ids)
	}
	sys := slices.Index(rows[hdr], "系统")
	if sys < 0 || rows[hdr+1][sys] != "小贷" {
		t.Errorf("entry 20's system column: header %q row %q", rows[hdr], rows[hdr+1])
	}
}

var demoHrefRE = regexp.MustCompile(`href="([^"]+)"`)

func checkDemoIndex(t *testing.T, out string, mails []demo.ManifestEntry) {
	page, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	links := map[string]bool{}
	for _, m := range demoHrefRE.FindAllStringSubmatch(html, -1) {
		links[m[1]] = true
	}
	for l := range links {
		p, err := url.PathUnescape(l)
		if err != nil {
			t.Errorf("link %q: %v", l, err)
			continue
		}
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(p))); err != nil {
			t.Errorf("index.html links to %q, which does not exist", l)
		}
	}
	for _, m := range mails {
		if !links[m.File] || !links[m.View] {
			t.Errorf("index.html does not link %s and its copy", m.File)
		}
	}
	for _, want := range []string{"Release 2026-12-03: released", `class="retest"`, "<th>准生产</th>", "复测通过", "已上线", "Decisions"} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if n := strings.Count(html, `<td class="pass"`); n != 8*3-1 {
		t.Errorf("%d passed cells in the matrix, want 23 (8 entries × 3 environments, one re-tested)", n)
	}
}

func readDemoJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestDemoOutRefusesAForeignFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"demo", "--out", dir})
	if code := exitCode(err); code != 2 || !strings.Contains(fmt.Sprint(err), "notes.txt") {
		t.Fatalf("exit %d, error %v; want 2 naming the foreign file", code, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "notes.txt")); err != nil || string(b) != "mine" {
		t.Fatal("the foreign file was touched")
	}
}

func TestDemoOutDir(t *testing.T) {
	base := t.TempDir()
	earlier := filepath.Join(base, "earlier")
	if err := os.MkdirAll(filepath.Join(earlier, demo.MailsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"index.html", "fabu.db", "mails/01-testlist.eml"} {
		if err := os.WriteFile(filepath.Join(earlier, f), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(base, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dir     string
		wantErr bool
	}{
		{"new folder", filepath.Join(base, "new", "sub"), false},
		{"an earlier demo's output", earlier, false},
		{"a file", file, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := demoOutDir(tc.dir)
			if (err != nil) != tc.wantErr {
				t.Fatalf("demoOutDir(%s) = %q, %v", tc.dir, got, err)
			}
			if err != nil {
				return
			}
			entries, err := os.ReadDir(got)
			if err != nil || len(entries) != 0 {
				t.Errorf("output folder not empty: %v %v", entries, err)
			}
		})
	}
	busy := filepath.Join(base, "busy")
	if err := os.MkdirAll(busy, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := ledger.Open(filepath.Join(busy, "fabu.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := demoOutDir(busy); exitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), "another fabu") {
		t.Errorf("a folder whose store is in use: %v, want a usage error", err)
	}
	if _, err := os.Stat(filepath.Join(busy, "fabu.db")); err != nil {
		t.Error("the store in use was removed")
	}
	tmp, err := demoOutDir("")
	if err != nil || !strings.Contains(filepath.Base(tmp), "fabu-demo-") {
		t.Fatalf("default folder %q, %v", tmp, err)
	}
	os.RemoveAll(tmp)
}
