package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The golden files are rewritten with `go test ./cmd/fabu -run Plan -update`.
// The flag is registered only if no other test file of the package did.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files in testdata/")
	}
}

func planUpdateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func planRepoFile(t *testing.T, name string) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", name)
}

// runPlanCLI runs the fabu command tree with args.
func runPlanCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	a := newApp(&out, &errb)
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err = root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// TestPlanGolden is the interface scripts rely on, with the example config
// as it ships. The --db points nowhere: plan must not need the store.
func TestPlanGolden(t *testing.T) {
	db := filepath.Join(t.TempDir(), "no-such-dir", "fabu.db")
	out, stderr, err := runPlanCLI(t, "--config", planRepoFile(t, "config.example.yaml"), "--db", db,
		"plan", "--from", "2026-09-14", "--weeks", "5", "--json")
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, stderr)
	}
	golden := filepath.Join("testdata", "plan_2026-09-14_5w.json")
	if planUpdateGolden() {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if out != string(want) {
		t.Errorf("plan output differs from %s (run with -update after checking):\n%s", golden, out)
	}
	var rows []planRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 35 {
		t.Errorf("%d rows, want 5 releases × 7 steps", len(rows))
	}
	var sep25 *planRow
	for i, r := range rows {
		if _, err := time.Parse(time.RFC3339, r.At); err != nil || !strings.HasSuffix(r.At, "+08:00") {
			t.Errorf("row %d at %q", i, r.At)
		}
		if r.At == "2026-09-25T17:00:00+08:00" {
			sep25 = &rows[i]
		}
	}
	if sep25 == nil || sep25.Release != "2026-10-01" || sep25.Step != "cut" || sep25.Status != "skipped" ||
		sep25.Reason != "国庆节 (National Day): release day 2026-10-01 is a day off; the week's train is skipped" {
		t.Errorf("the cut of Friday 2026-09-25: %+v", sep25)
	}
	if _, err := os.Stat(filepath.Dir(db)); !os.IsNotExist(err) {
		t.Errorf("plan touched the store folder: %v", err)
	}
}

func TestPlanTable(t *testing.T) {
	out, _, err := runPlanCLI(t, "--config", planRepoFile(t, "config.example.yaml"), "plan", "--from", "2026-09-28", "--weeks", "2")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "RELEASE     STEP      AT                    STATUS   REASON") {
		t.Errorf("header %q", lines[0])
	}
	want := []string{
		"2026-10-01  cut       2026-09-25 Fri 17:00  skipped  国庆节 (National Day): release day 2026-10-01 is a day off; the week's train is skipped",
		"2026-10-08  cut       2026-09-30 Wed 17:00  shifted  国庆节 (National Day): 2026-10-02 is a day off; moved to the previous working day 2026-09-30",
		"2026-10-08  preprod   2026-10-08 Thu 09:00  run",
	}
	for _, w := range want {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("missing line %q in\n%s", w, out)
		}
	}
	if n := strings.Count(out, "\n\n"); n != 1 {
		t.Errorf("%d blank lines between releases, want 1", n)
	}
}

func TestPlanErrors(t *testing.T) {
	badCron := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badCron, []byte("train:\n  schedule:\n    cut: \"0 17 * * FRYDAY\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad from", []string{"plan", "--from", "14/09/2026"}, `--from "14/09/2026"`},
		{"zero weeks", []string{"plan", "--weeks", "0"}, "--weeks 0"},
		{"too many weeks", []string{"plan", "--weeks", "5000"}, "--weeks 5000"},
		{"extra argument", []string{"plan", "now"}, "unknown command"},
		{"bad cron in config", []string{"--config", badCron, "plan"}, "train.schedule.cut"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runPlanCLI(t, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			if code := exitCode(err); code != 2 {
				t.Errorf("exit code %d, want 2 (%v)", code, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestPlanWarnsWithoutCalendarData(t *testing.T) {
	_, stderr, err := runPlanCLI(t, "--config", planRepoFile(t, "config.example.yaml"), "plan", "--from", "2027-11-15", "--weeks", "8", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "warning: the holiday calendar has no data for 2028") {
		t.Errorf("stderr %q", stderr)
	}
}

func TestPlanWholeYearJSON(t *testing.T) {
	out, _, err := runPlanCLI(t, "--config", planRepoFile(t, "config.example.yaml"), "plan", "--from", "2026-01-01", "--weeks", "53", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []planRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range rows {
		count[r.Status]++
		if (r.Status == "run") != (r.Reason == "") {
			t.Errorf("%s %s: status %s reason %q", r.Release, r.Step, r.Status, r.Reason)
		}
	}
	// 53 Thursdays; New Year, Spring Festival and National Day weeks are
	// skipped (21 steps); 7 reminders after the Spring Festival, Qingming,
	// May Day and National Day have no working day left, and 5 cuts move.
	if len(rows) != 371 || count["skipped"] != 28 || count["shifted"] != 5 || count["run"] != 338 {
		t.Errorf("%d rows: %v", len(rows), count)
	}
}
