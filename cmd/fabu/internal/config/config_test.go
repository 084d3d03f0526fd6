package config

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func repoFile(t *testing.T, name string) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "..", "..", name)
}

func TestExampleConfigLoads(t *testing.T) {
	c, err := Load(repoFile(t, "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if probs := c.Validate().Errors(); len(probs) > 0 {
		t.Fatalf("config.example.yaml has problems:\n%v", probs)
	}
	if got := len(c.Train.Schedule.Reminders); got != 4 {
		t.Errorf("reminders = %d, want 4", got)
	}
	if c.Train.Environments[2] != "准生产" {
		t.Errorf("environments = %v", c.Train.Environments)
	}
}

func TestValidateProblems(t *testing.T) {
	cases := []struct {
		name     string
		yaml     string
		wantKey  string
		wantLine int
		wantText string
	}{
		{"bad cron", "train:\n  schedule:\n    cut: \"0 17 * * FRYDAY\"\n", "train.schedule.cut", 3, "FRYDAY"},
		{"cron tz only", "train:\n  schedule:\n    report: \"CRON_TZ=UTC\"\n", "train.schedule.report", 3, "CRON_TZ=UTC"},
		{"bad tz", "train:\n  timezone: Mars/Base\n", "train.timezone", 2, "Mars/Base"},
		{"bad reminder env", "train:\n  schedule:\n    reminders:\n      - {name: a, env: PROD, cron: \"0 9 * * MON\"}\n", "train.schedule.reminders[0].env", 4, "PROD"},
		{"tls none remote", "smtp:\n  host: smtp.example.com\n  tls: none\n", "smtp.tls", 3, "loopback"},
		{"bad role", "people:\n  - {name: a, email: a@example.com, roles: [boss]}\n", "people[0].roles[0]", 2, "boss"},
		{"bad policy", "train:\n  holiday_policy: maybe\n", "train.holiday_policy", 2, "maybe"},
		{"bad holiday", "train:\n  holidays: [2026-13-01]\n", "train.holidays[0]", 2, "2026-13-01"},
		{"quorum too big", "train:\n  decision: {rule: quorum, quorum: 3}\npeople:\n  - {name: a, email: a@example.com, roles: [manager]}\n", "train.decision.quorum", 2, "quorum 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, p := range c.Validate() {
				if p.Key == tc.wantKey {
					found = true
					if p.Line != tc.wantLine {
						t.Errorf("line = %d, want %d", p.Line, tc.wantLine)
					}
					if !strings.Contains(p.Message, tc.wantText) {
						t.Errorf("message %q lacks %q", p.Message, tc.wantText)
					}
					if p.Hint == "" {
						t.Error("no hint")
					}
				}
			}
			if !found {
				t.Errorf("no problem for %s in %v", tc.wantKey, c.Validate())
			}
		})
	}
}

func TestValidateReportsAllAtOnce(t *testing.T) {
	c, err := Parse([]byte("log: {format: xml, level: loud}\nsmtp: {tls: maybe, auth: magic}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.Validate().Errors()); n != 4 {
		t.Fatalf("got %d problems, want 4: %v", n, c.Validate())
	}
}

func TestUnknownKeyRejectedWithLine(t *testing.T) {
	_, err := Parse([]byte("store:\n  path: x.db\n  paht: y.db\n"))
	if err == nil {
		t.Fatal("unknown key accepted")
	}
	if !strings.Contains(err.Error(), "paht") || !strings.Contains(err.Error(), "3") {
		t.Fatalf("error does not name the key and line: %v", err)
	}
}

func TestSecretsFromEnv(t *testing.T) {
	c := Default()
	env := map[string]string{"FABU_SMTP_PASSWORD": "s", "FABU_IMAP_PASSWORD": "i", "FABU_TOKEN_SECRET": "t"}
	if probs := c.ReadSecrets(func(k string) string { return env[k] }); len(probs) > 0 {
		t.Fatal(probs)
	}
	if c.SMTP.Password != "s" || c.IMAP.Password != "i" || c.Tokens.Secret != "t" {
		t.Fatalf("secrets not read: %+v", c)
	}
}
