package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/imapwatch"
	"github.com/fabu-team/fabu/mailflow/reply"
	"github.com/fabu-team/fabu/mailflow/token"
	"github.com/fabu-team/fabu/mailflow/train"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// checkGolden compares got with testdata/golden/name (rewritten with -update).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// handle runs the handler on a reply in its own transaction, as the
// watcher would, and returns the handling.
func (f *fixture) handle(s *replySpec) *Handling {
	f.t.Helper()
	raw := s.bytes(f.t)
	sum := sha256.Sum256(raw)
	in := &imapwatch.Incoming{Mailbox: "INBOX", UIDValidity: 1, UID: uint32(f.seq.Add(1)), Size: int64(len(raw)),
		InternalDate: f.clock.Now(), MessageID: "<" + s.MessageID + ">", HasMessageID: true, From: s.From, Subject: s.Subject,
		Raw: raw, RawHash: hex.EncodeToString(sum[:])}
	var hd *Handling
	f.update(func(tx *ledger.Tx) error {
		var err error
		hd, err = f.handler.Handle(context.Background(), tx, in)
		return err
	})
	return hd
}

func TestRefusals(t *testing.T) {
	other := token.Sign(token.Claims{Train: "other-train", Release: R, Step: train.StepReport, Role: train.RoleManager,
		Expires: friday.Add(24 * time.Hour)}, testSecret)
	var golden strings.Builder
	defer func() {
		if !t.Failed() {
			checkGolden(t, "refusals.txt", golden.String())
		}
	}()
	forged := token.Sign(token.Claims{Train: "default", Release: R, Step: train.StepReport, Role: train.RoleManager,
		Expires: friday.Add(24 * time.Hour)}, []byte("not-our-secret"))
	for _, tc := range []struct {
		name     string
		opts     []option
		from     string
		body     string
		th       threading
		edit     func(f *fixture, s *replySpec)
		verdict  string
		reason   string
		mailTo   string // "" for no mail at all
		decided  bool
		setup    func(f *fixture)
		replyTo  string // step replied to (default report)
		tmpl     string
		fromName string
	}{
		{name: "fabu's own mail", from: "fabu@example.com", body: "同意", verdict: VerdictIgnored, reason: "own mail"},
		{name: "own mail with a plus tag", from: "fabu+v1.abc@example.com", body: "同意", verdict: VerdictIgnored, reason: "own mail"},
		{name: "alias of a manager decides", from: "li.manager@example.com", body: "同意", verdict: VerdictDecided, decided: true, mailTo: "ops@example.com"},
		{name: "forged plus-address token", from: "limanager@example.com", body: "同意", th: threadPlusOnly,
			edit: func(f *fixture, s *replySpec) { s.To = "fabu+" + forged + "@example.com" }, verdict: VerdictIgnored, reason: "not one fabu made"},
		{name: "token of another train", from: "limanager@example.com", body: "同意", th: threadPlusOnly,
			edit: func(f *fixture, s *replySpec) { s.To = "fabu+" + other + "@example.com" }, verdict: VerdictIgnored, reason: "another train"},
		{name: "forged token in References", from: "limanager@example.com", body: "同意", th: threadRefsOnly,
			edit: func(f *fixture, s *replySpec) { s.References = "<fabu-token." + forged + "@example.com>" }, verdict: VerdictIgnored, reason: "not one fabu made"},
		{name: "references that disagree", from: "limanager@example.com", body: "同意",
			setup: func(f *fixture) {
				f.putEntries(sampleEntries("90")...)
				f.cutAndReport("2026-12-10")
			},
			edit: func(f *fixture, s *replySpec) {
				s.To = "fabu 发布 <" + f.lastQueued("2026-12-10", train.StepReport).ReplyTo + ">"
			}, verdict: VerdictIgnored, reason: "disagree"},
		{name: "unauthenticated sender under an auth policy", opts: []option{withAuth(AuthPolicy{Require: true, Trusted: "mx.example.com"})},
			from: "limanager@example.com", body: "同意", verdict: VerdictIgnored, reason: "not authenticated"},
		{name: "authenticated sender under an auth policy", opts: []option{withAuth(AuthPolicy{Require: true, Trusted: "mx.example.com"})},
			from: "limanager@example.com", body: "同意",
			edit: func(f *fixture, s *replySpec) {
				s.Extra = []string{"Authentication-Results: mx.example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com"}
			}, verdict: VerdictDecided, decided: true, mailTo: "ops@example.com"},
		{name: "forged Authentication-Results", opts: []option{withAuth(AuthPolicy{Require: true, Trusted: "mx.example.com"})},
			from: "limanager@example.com", body: "同意",
			edit: func(f *fixture, s *replySpec) {
				s.Extra = []string{"Authentication-Results: evil.example.org; dkim=pass header.d=example.com"}
			}, verdict: VerdictIgnored, reason: "not authenticated"},
		{name: "deputy before any relay", from: "deputy@example.com", body: "同意", verdict: VerdictRefused, reason: "no manager's out-of-office", mailTo: "deputy@example.com"},
		{name: "deputy when deputies always decide", opts: []option{withDeputy(DeputyAlways)}, from: "deputy@example.com", body: "同意",
			verdict: VerdictDecided, decided: true, mailTo: "ops@example.com"},
		{name: "tech lead saying thanks", from: "wanggong@example.com", body: "收到，谢谢", verdict: VerdictIgnored, reason: "not a manager"},
		{name: "manager sends results to the report", from: "limanager@example.com", body: "20 通过\n21 通过", verdict: VerdictUnclear, mailTo: "limanager@example.com"},
		{name: "manager approves with a question", from: "limanager@example.com", body: "同意吗？", verdict: VerdictUnclear, mailTo: "limanager@example.com"},
		{name: "partial naming an entry not in the release", from: "limanager@example.com", body: "同意，99 除外", verdict: VerdictUnclear, reason: "99 不在本期清单中", mailTo: "limanager@example.com"},
		{name: "auto-reply from a tester", from: "linlin@example.com", body: "我在休假", tmpl: "exchange-oof-zh.eml.tmpl", verdict: VerdictIgnored, reason: "automatic reply"},
		{name: "reply to the receipt", from: "limanager@example.com", body: "同意",
			setup: func(f *fixture) {
				f.update(func(tx *ledger.Tx) error {
					return f.train.Approve(tx, R, ledger.Decision{Who: "李经理", Email: "limanager@example.com", MessageID: "first@mail.example.com", Words: "同意"})
				})
			}, replyTo: train.StepReceipt, verdict: VerdictRefused, reason: "asks for no answer", mailTo: "limanager@example.com"},
		{name: "thanks for the receipt", from: "limanager@example.com", body: "谢谢",
			setup: func(f *fixture) {
				f.update(func(tx *ledger.Tx) error {
					return f.train.Approve(tx, R, ledger.Decision{Who: "李经理", Email: "limanager@example.com", MessageID: "first@mail.example.com", Words: "同意"})
				})
			}, replyTo: train.StepReceipt, verdict: VerdictIgnored, reason: "asks for no answer"},
		{name: "manager answers the test list", from: "limanager@example.com", body: "同意", replyTo: train.StepTestList,
			verdict: VerdictRefused, reason: "not a tester", mailTo: "limanager@example.com"},
		{name: "ops answer the report", from: "ops@example.com", body: "已发版", verdict: VerdictRefused, reason: "not a manager",
			mailTo: "ops@example.com"},
	} {
		golden.WriteString("== " + tc.name + "\n")
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, append([]option{noIMAP()}, tc.opts...)...)
			f.cutAndReport(R)
			if tc.setup != nil {
				tc.setup(f)
			}
			step := tc.replyTo
			if step == "" {
				step = train.StepReport
			}
			tmpl := tc.tmpl
			if tmpl == "" {
				tmpl = "outlook-zh.eml.tmpl"
			}
			s := f.replyTo(f.lastQueued(R, step), tmpl, "某人", tc.from, tc.body, tc.th)
			if tc.edit != nil {
				tc.edit(f, s)
			}
			mark := f.outboxMark()
			hd := f.handle(s)
			golden.WriteString(hd.Outcome.Verdict + ": " + hd.Outcome.Reason + "\n")
			for _, a := range hd.Actions {
				golden.WriteString("  - " + a + "\n")
			}
			if hd.Outcome.Verdict != tc.verdict || !strings.Contains(hd.Outcome.Reason, tc.reason) {
				t.Fatalf("outcome %+v, want %s with %q", hd.Outcome, tc.verdict, tc.reason)
			}
			q := f.queuedSince(mark)
			if tc.mailTo == "" && len(q) != 0 {
				t.Fatalf("mail queued: %+v", q)
			}
			if tc.mailTo != "" && (len(q) == 0 || !contains(q[0].To, tc.mailTo)) {
				t.Fatalf("no mail to %s: %+v", tc.mailTo, q)
			}
			if tc.mailTo != "" != hd.Mailed {
				t.Errorf("Mailed = %v", hd.Mailed)
			}
			if decided := f.release(R).State == ledger.ReleaseApproved && tc.replyTo == ""; decided != tc.decided {
				t.Errorf("release %s", f.release(R).State)
			}
			if a := f.audit("reply." + tc.verdict); len(a) != 1 || a[0].Subject != "<"+s.MessageID+">" {
				t.Errorf("audit %+v", a)
			}
		})
	}
}

func TestRejectionQuorumAndVotesBoundToTheReport(t *testing.T) {
	people := append(basePeople(),
		train.Person{Name: "赵总", Email: "zhao@example.com", Roles: []string{train.RoleManager}},
		train.Person{Name: "钱总", Email: "qian@example.com", Roles: []string{train.RoleManager}})
	f := newFixture(t, noIMAP(), withPeople(people), withRule(Rule{Approvals: 2, Rejections: 2}))
	report := f.cutAndReport(R)
	if hd := f.handle(f.replyTo(report, "outlook-zh.eml.tmpl", "赵总", "zhao@example.com", "同意", threadAll)); hd.Outcome.Verdict != VerdictVote {
		t.Fatalf("first approval: %+v", hd.Outcome)
	}
	// The results change: the first approval was for another report.
	f.update(func(tx *ledger.Tx) error {
		return tx.RecordResult(ledger.Result{Release: R, Entry: "20", Env: "UAT", State: ledger.ResultFail, Who: "琳琳", Note: "回归失败"})
	})
	hd := f.handle(f.replyTo(report, "outlook-zh.eml.tmpl", "钱总", "qian@example.com", "同意", threadAll))
	if hd.Outcome.Verdict != VerdictOutdated {
		t.Fatalf("approval of the old report: %+v", hd.Outcome)
	}
	current := f.lastQueued(R, train.StepOutdated)
	if hd := f.handle(f.replyTo(current, "outlook-zh.eml.tmpl", "钱总", "qian@example.com", "同意", threadAll)); hd.Outcome.Verdict != VerdictVote ||
		!strings.Contains(hd.Outcome.Reason, "1 of 2") {
		t.Fatalf("approval of the current report counts alone: %+v", hd.Outcome)
	}
	if hd := f.handle(f.replyTo(current, "outlook-zh.eml.tmpl", "钱总", "qian@example.com", "驳回，20 回归失败", threadAll)); hd.Outcome.Verdict != VerdictVote ||
		!strings.Contains(hd.Outcome.Reason, "rejection") {
		t.Fatalf("one rejection of two: %+v", hd.Outcome)
	}
	if r := f.lastQueued(R, train.StepVote); !slices.Equal(r.To, []string{"qian@example.com"}) || !strings.Contains(r.Subject, "驳回 1/2") {
		t.Errorf("the rejection vote's receipt: to %v, subject %q", r.To, r.Subject)
	}
	// 李经理 answers the current report that was mailed to 钱总 (forwarded):
	// the token is valid and 李经理 is a manager, so it counts.
	s := f.replyTo(current, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "驳回", threadAll)
	if hd := f.handle(s); hd.Outcome.Verdict != VerdictDecided || f.release(R).State != ledger.ReleaseRejected {
		t.Fatalf("second rejection: %+v, release %s", hd.Outcome, f.release(R).State)
	}
	var votes []Vote
	f.view(func(tx *ledger.Tx) error {
		var err error
		votes, err = Votes(tx, R)
		return err
	})
	if len(votes) != 3 {
		t.Errorf("votes %+v", votes)
	}
}

func TestResultsWithEnvironmentsAndUnknownEntries(t *testing.T) {
	f := newFixture(t, noIMAP())
	if _, err := f.train.Cut(f.ctx, R, train.LateInfo{}); err != nil {
		t.Fatal(err)
	}
	if err := f.train.Remind(f.ctx, R, "uat", "UAT", "", train.LateInfo{}); err != nil {
		t.Fatal(err)
	}
	rem := f.lastQueued(R, "uat")
	mark := f.outboxMark()
	hd := f.handle(f.replyTo(rem, "gmail-en.eml.tmpl", "琳琳", "linlin@example.com",
		"20 SIT 通过\nUAT 21 不通过 罚息多算一天\n准生产:\n35 通过\n99 通过\n102 通过", threadAll))
	if hd.Outcome.Verdict != VerdictResults || !strings.Contains(hd.Outcome.Reason, "not in the release: 99") {
		t.Fatalf("outcome %+v", hd.Outcome)
	}
	got := map[string]string{}
	for _, r := range hd.Results {
		got[r.Entry+"/"+r.Env] = string(r.State)
	}
	want := map[string]string{"20/SIT": "pass", "21/UAT": "fail", "35/准生产": "pass", "102/准生产": "pass"}
	if len(got) != len(want) {
		t.Fatalf("results %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if q := f.queuedSince(mark); len(q) != 1 || q[0].Kind != "clarify" || !strings.Contains(q[0].Text, "99") {
		t.Fatalf("the tester was not told about 99: %+v", q)
	}
	// A plain line takes the reminder's environment.
	hd = f.handle(f.replyTo(rem, "outlook-zh.eml.tmpl", "小周", "xiaozhou@example.com", "20 通过", threadAll))
	if len(hd.Results) != 1 || hd.Results[0].Env != "UAT" {
		t.Fatalf("results %+v", hd.Results)
	}
	// Nothing but an unknown entry: a clarification, nothing recorded.
	hd = f.handle(f.replyTo(rem, "outlook-zh.eml.tmpl", "小周", "xiaozhou@example.com", "999 通过", threadAll))
	if hd.Outcome.Verdict != VerdictUnclear || len(hd.Results) != 0 {
		t.Fatalf("outcome %+v", hd.Outcome)
	}
}

func TestStripEnv(t *testing.T) {
	for _, tc := range []struct {
		line, rest, env string
		kind            int
	}{
		{"20 SIT 通过", "20 通过", "SIT", envOnLine},
		{"20、21 uat 不通过 原因", "20、21 不通过 原因", "UAT", envOnLine},
		{"#35：准生产：通过", "#35 通过", "准生产", envOnLine},
		{"UAT 20 通过", "20 通过", "UAT", envOnLine},
		{"SIT环境：全部通过", "全部通过", "SIT", envOnLine},
		{"准生产:", "", "准生产", envHeader},
		{"  uat  ", "", "UAT", envHeader},
		{"SITE 20 通过", "SITE 20 通过", "", envNone},
		{"20 通过", "20 通过", "", envNone},
		{"20 SITE 通过", "20 SITE 通过", "", envNone},
		{"", "", "", envNone},
	} {
		t.Run(tc.line, func(t *testing.T) {
			rest, env, kind := stripEnv(tc.line, envs)
			if rest != tc.rest || env != tc.env || kind != tc.kind {
				t.Errorf("stripEnv(%q) = %q, %q, %d; want %q, %q, %d", tc.line, rest, env, kind, tc.rest, tc.env, tc.kind)
			}
		})
	}
}

func TestNewChecksOptions(t *testing.T) {
	f := newFixture(t, noIMAP())
	for _, tc := range []struct {
		name string
		dir  *Directory
		tr   *train.Train
		o    Options
		want string
	}{
		{"no secret", f.dir, f.train, Options{}, "secret"},
		{"no directory", nil, f.train, Options{Secret: testSecret}, "directory"},
		{"no train", f.dir, nil, Options{Secret: testSecret}, "no train"},
		{"bad deputy policy", f.dir, f.train, Options{Secret: testSecret, Deputy: "sometimes"}, "deputy policy"},
		{"auth without server", f.dir, f.train, Options{Secret: testSecret, Auth: AuthPolicy{Require: true}}, "trusted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.dir, tc.tr, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	h, err := New(f.dir, f.train, Options{Secret: testSecret})
	if err != nil || h.o.Rule.Approvals != 1 || h.o.Rule.Rejections != 1 || h.o.Deputy != DeputyAfterRelay || len(h.o.Words.Approve) == 0 {
		t.Fatalf("defaults: %v %+v", err, h.o.Rule)
	}
}

func TestHostileMailIsRecordedNotFailed(t *testing.T) {
	f := newFixture(t, noIMAP())
	f.cutAndReport(R)
	for _, tc := range []struct {
		name string
		raw  string
		want string
	}{
		{"empty", "", "no mail body"},
		{"no From", "Subject: x\r\nMessage-ID: <a@b>\r\n\r\n同意\r\n", "no From"},
		{"garbage", "\x00\x01\x02 not a mail at all \xff\xfe", "no From"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &imapwatch.Incoming{MessageID: "<hostile-" + tc.name + "@x>", Raw: []byte(tc.raw), InternalDate: f.clock.Now()}
			var hd *Handling
			f.update(func(tx *ledger.Tx) error {
				var err error
				hd, err = f.handler.Handle(context.Background(), tx, in)
				return err
			})
			if hd.Outcome.Verdict != VerdictIgnored || !strings.Contains(hd.Outcome.Reason, tc.want) {
				t.Fatalf("outcome %+v", hd.Outcome)
			}
		})
	}
}

func TestPostCommitActionsOnlyAfterTheirCommit(t *testing.T) {
	f := newFixture(t, noIMAP())
	kicks := 0
	var passed []string
	f.handler.o.Kick = func() { kicks++ }
	f.handler.o.OnAllPassed = func(r string) { passed = append(passed, r) }
	report := f.cutAndReport(R)
	s := f.replyTo(report, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "同意", threadAll)
	raw := s.bytes(t)
	in := &imapwatch.Incoming{MessageID: "<" + s.MessageID + ">", Raw: raw, InternalDate: f.clock.Now()}
	errRollback := errors.New("rollback")
	// A transaction that is rolled back: the handler's work is gone and
	// nothing runs after it.
	err := f.store.Update(func(tx *ledger.Tx) error {
		if _, err := f.handler.HandleMail(context.Background(), tx, in); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) || f.release(R).State != ledger.ReleaseAwaitingApproval || kicks != 0 {
		t.Fatalf("after rollback: %v %s kicks %d", err, f.release(R).State, kicks)
	}
	// The watcher calls again and the commit is reported: one kick.
	var out imapwatch.Outcome
	f.update(func(tx *ledger.Tx) error {
		var err error
		out, err = f.handler.HandleMail(context.Background(), tx, in)
		return err
	})
	obs := f.handler.Observer(nil)
	obs.Mail(ledger.Received{MessageID: in.MessageID, Verdict: ledger.VerdictDuplicate})
	if kicks != 0 {
		t.Fatal("a duplicate record ran the actions")
	}
	obs.Mail(ledger.Received{MessageID: in.MessageID, Verdict: out.Verdict})
	obs.Mail(ledger.Received{MessageID: in.MessageID, Verdict: out.Verdict})
	if kicks != 1 || len(passed) != 0 {
		t.Fatalf("kicks %d, passed %v", kicks, passed)
	}
}

// The reply package reads the new text; make sure its words reach the
// handler (configured words replace the defaults).
func TestConfiguredWords(t *testing.T) {
	f := newFixture(t, noIMAP())
	w := reply.DefaultWords()
	w.Approve = append(w.Approve, "准了")
	h, err := New(f.dir, f.train, Options{Secret: testSecret, Words: w})
	if err != nil {
		t.Fatal(err)
	}
	f.handler = h
	report := f.cutAndReport(R)
	if hd := f.handle(f.replyTo(report, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "准了", threadAll)); hd.Outcome.Verdict != VerdictDecided {
		t.Fatalf("outcome %+v", hd.Outcome)
	}
}
