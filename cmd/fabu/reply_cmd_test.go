package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// runReplyCLI runs the fabu command tree with args.
func runReplyCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(newApp(&out, &errb))
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.Execute()
	return out.String(), err
}

func replyMail(t *testing.T, name string) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "mailflow", "reply", "testdata", "mails", name)
}

func TestReplyExplainHuman(t *testing.T) {
	cases := []struct {
		name, mail string
		want       []string
	}{
		{"approve", "14-qq-alternative-gb18030.approve.eml", []string{"1. Auto-reply: no", "原始邮件", "   | 同意", "3. Intent:     approve", "Words:      同意"}},
		{"reject with reason", "02-outlook-zhcn-reject.reject.eml", []string{"Intent:     reject", "Reason:     21 号需求 UAT 登录报错未修复"}},
		{"auto-reply", "10-outlook-autoreply-zh.unclear.eml", []string{"Auto-reply: YES", "Auto-Submitted: auto-replied", "Intent:     unclear"}},
		{"results", "18-exmail-tester-results.results.eml", []string{"Result:     21 fail - 登录报错"}},
		{"partial", "17-wecom-partial.partial.eml", []string{"Intent:     partial", "Excluded:   21"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := runReplyCLI(t, "reply", "explain", replyMail(t, c.mail))
			if err != nil {
				t.Fatalf("explain: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestReplyExplainJSON(t *testing.T) {
	out, err := runReplyCLI(t, "reply", "explain", "--json", replyMail(t, "57-question-zh.unclear.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"auto_reply", "auto_reply_signal", "new_text", "intent", "matched_words", "reason", "results"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if m["intent"] != "unclear" || m["results"] == nil {
		t.Errorf("intent %v results %v", m["intent"], m["results"])
	}
}

func TestReplyExplainErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"missing file", []string{"reply", "explain", filepath.Join(t.TempDir(), "nope.eml")}, 1},
		{"no file", []string{"reply", "explain"}, 2},
		{"two files", []string{"reply", "explain", "a", "b"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := runReplyCLI(t, c.args...)
			if err == nil || exitCode(err) != c.code {
				t.Errorf("err %v, exit %d; want exit %d", err, exitCode(err), c.code)
			}
		})
	}
}
