package main

// The reply templates of the end-to-end tests, checked without mail
// servers: each renders as its client writes (golden files, rewritten
// with -update) and reads back through fabu's own reply parser as the
// answer it is meant to be, with the quoted original (which holds 同意 and
// 驳回 itself) cut off.

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/fabu-team/fabu/mailflow/reply"
	"github.com/fabu-team/fabu/templates"
)

// e2eUpdateGolden reports whether -update was given (the flag is
// registered by plan_cmd_test.go's init).
func e2eUpdateGolden() bool { return planUpdateGolden() }

// sampleMail is a fabu mail to answer: the real zh-CN report template
// filled with its sample data.
func sampleMail(t *testing.T, step string) *e2eMail {
	t.Helper()
	set, err := templates.Load("zh-CN", "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := set.Render(templates.Report, templates.Sample("zh-CN", templates.Report))
	if err != nil {
		t.Fatal(err)
	}
	return &e2eMail{
		MessageID: "fabu.4lhiettbdqxg33lq324mpvvyqy@maillab.test",
		Subject:   r.Subject + " [#k3x9q2]",
		Step:      step, Release: e2eRelease, Train: "e2e",
		ReplyTo:  "fabu+v1.ezuqdsh64aaqc5wffidknednq5e@maillab.test",
		From:     e2eFabu,
		FromName: "fabu 发布",
		To:       []*gomail.Address{{Name: pManager.Name, Address: pManager.Email()}},
		Cc:       []*gomail.Address{{Name: pLinlin.Name, Address: pLinlin.Email()}},
		References: []string{"fabu-token.v1.ezuqdsh64aaqc5wffidknednq5e@maillab.test",
			"fabu.dvku6dxyxxvo4n4kzuf3vfivoe@maillab.test"},
		Date: time.Date(2026, 12, 3, 10, 42, 7, 0, e2eZone),
		Text: r.Text,
	}
}

func TestE2EReplyTemplates(t *testing.T) {
	orig := sampleMail(t, "report")
	if !strings.Contains(orig.Text, "同意") || !strings.Contains(orig.Text, "驳回") {
		t.Fatalf("the sample report should hold the words 同意 and 驳回 (the quote must be cut off), got:\n%s", orig.Text)
	}
	cases := []struct {
		name    string
		client  string
		from    e2ePerson
		body    string
		intent  string
		results int
	}{
		{"outlook-approve", clientOutlook, pManager, "同意", "approve", 0},
		{"outlook-results", clientOutlook, pLinlin, "准生产环境：\n21 通过\n23 通过\n25 通过", "results", 3},
		{"qq-approve", clientQQ, pManager, "同意，今晚发布", "approve", 0},
		{"qq-done", clientQQ, pOps, "已发版", "done", 0},
		{"qq-results", clientQQ, pXiaozhou, "22 通过\n24 通过\n32 通过", "results", 3},
		{"iphone-approve", clientIPhone, pManager, "同意", "approve", 0},
		{"iphone-results", clientIPhone, pLinlin, "21、23、25 通过", "results", 3},
		{"coremail-results", clientCoremail, pXiaozhou, "UAT 22 通过\nUAT 24 通过\nUAT 32 通过", "results", 3},
		{"coremail-reject", clientCoremail, pManager, "驳回，22 的脚本还没评审", "reject", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mid := "reply-" + tc.name + "@maillab.test"
			d := replyFor(tc.from, orig, tc.client, tc.body, mid, time.Date(2026, 12, 3, 11, 5, 9, 0, e2eZone), "5f0c9a1e7b3d42c8a6e1f0b9")
			raw, err := renderReplyTemplate(tc.client, d)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "e2e", "golden", tc.name+".eml")
			if e2eUpdateGolden() {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, raw, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(raw, want) {
				t.Errorf("%s differs from the rendered reply (run with -update if intended):\n%s", golden, raw)
			}

			msg, err := reply.Parse(bytes.NewReader(raw), reply.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ex := reply.ExplainMessage(msg, reply.DefaultWords())
			if ex.Intent != tc.intent {
				t.Errorf("intent %q (%s), want %q; new text %q (trim rule %s)", ex.Intent, ex.Why, tc.intent, ex.NewText, ex.TrimRule)
			}
			if len(ex.Results) != tc.results {
				t.Errorf("%d results %v, want %d", len(ex.Results), ex.Results, tc.results)
			}
			if strings.Contains(ex.NewText, "fabu 发布") || strings.Contains(ex.NewText, orig.Subject) {
				t.Errorf("the quoted original was not cut off: new text %q (trim rule %s)", ex.NewText, ex.TrimRule)
			}
			if ex.From != tc.from.Email() || ex.InReplyTo != orig.MessageID && ex.InReplyTo != "<"+orig.MessageID+">" {
				t.Errorf("from %q, in-reply-to %q", ex.From, ex.InReplyTo)
			}
			if !strings.Contains(ex.Subject, "[#k3x9q2]") {
				t.Errorf("subject %q lost the token tag", ex.Subject)
			}
		})
	}
}
