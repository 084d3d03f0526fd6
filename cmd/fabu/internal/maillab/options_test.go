package maillab

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestOptionsValidate(t *testing.T) {
	good := func() Options {
		return Options{Dir: "/tmp/lab", Users: []User{{Email: "a@maillab.test", Password: "pw"}}}
	}
	tests := []struct {
		name    string
		edit    func(*Options)
		wantErr string // substring; empty means valid
	}{
		{name: "valid with defaults", edit: func(*Options) {}},
		{name: "no dir", edit: func(o *Options) { o.Dir = "" }, wantErr: "Options.Dir is empty"},
		{name: "no users", edit: func(o *Options) { o.Users = nil }, wantErr: "Options.Users is empty"},
		{name: "user outside the domain", edit: func(o *Options) { o.Users[0].Email = "a@example.org" }, wantErr: "not in the lab domain maillab.test"},
		{name: "user without at sign", edit: func(o *Options) { o.Users[0].Email = "alice" }, wantErr: `Options.Users[0].Email "alice"`},
		{name: "user twice", edit: func(o *Options) { o.Users = append(o.Users, User{Email: "A@maillab.test", Password: "x"}) }, wantErr: "listed twice"},
		{name: "colon in password", edit: func(o *Options) { o.Users[0].Password = "a:b" }, wantErr: "Options.Users[0].Password"},
		{name: "empty password", edit: func(o *Options) { o.Users[0].Password = "" }, wantErr: "Options.Users[0].Password"},
		{name: "bad domain", edit: func(o *Options) { o.Domain = "localhost" }, wantErr: `Options.Domain "localhost"`},
		{name: "other domain", edit: func(o *Options) { o.Domain = "Example.TEST"; o.Users[0].Email = "a@example.test" }},
		{name: "mixed-case user", edit: func(o *Options) { o.Users[0].Email = "Alice.Zhang@MailLab.test" }},
		{name: "INBOX as extra mailbox", edit: func(o *Options) { o.Mailboxes = []string{"inbox"} }, wantErr: "Options.Mailboxes[0]"},
		{name: "quote in mailbox", edit: func(o *Options) { o.Mailboxes = []string{`a"b`} }, wantErr: "Options.Mailboxes[0]"},
		{name: "nested mailbox", edit: func(o *Options) { o.Mailboxes = []string{"Archive/2026", "发布"} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := good()
			tc.edit(&o)
			err := o.validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				if o.Domain == "" || o.StartTimeout != 20*time.Second {
					t.Errorf("defaults not filled: domain %q timeout %v", o.Domain, o.StartTimeout)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("validate = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestEnabled(t *testing.T) {
	tests := []struct {
		name, e2e, ci string
		want          bool
	}{
		{name: "nothing set", want: false},
		{name: "FABU_E2E=1", e2e: "1", want: true},
		{name: "FABU_E2E=0", e2e: "0", want: false},
		{name: "CI=true", ci: "true", want: true},
		{name: "CI=false", ci: "false", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FABU_E2E", tc.e2e)
			t.Setenv("CI", tc.ci)
			if got := Enabled(); got != tc.want {
				t.Errorf("Enabled() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestConfigGolden pins the generated server configurations; run with
// -update after an intended change and review the diff.
func TestConfigGolden(t *testing.T) {
	p := newPaths("/lab")
	pt := ports{IMAP: 10143, IMAPS: 10993, LMTP: 10024, Auth: 10012, SMTP: 10025, Submission: 10587}
	tf := tlsFiles{CAFile: "/lab/tls/ca.pem", CertFile: "/lab/tls/cert.pem", KeyFile: "/lab/tls/key.pem"}
	users := []User{{Email: "bob@maillab.test", Password: "b pw"}, {Email: "alice@maillab.test", Password: "a"}}
	files := map[string]string{
		"dovecot.conf.golden": dovecotConf(p, pt, tf, DefaultDomain, "maillab-test", []string{"Archive", "发布"}),
		"users.golden":        dovecotUsers(users),
		"main.cf.golden":      postfixMain(p, pt, tf, DefaultDomain),
		"master.cf.golden":    postfixMaster(pt),
		"vmailbox.golden":     postfixVmailbox(users),
	}
	for name, got := range files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s (run with -update if intended):\n%s", name, path, got)
			}
		})
	}
}
