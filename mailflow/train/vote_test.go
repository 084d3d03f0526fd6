package train

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/token"
)

// reported cuts R and sends its report: R awaits approval.
func reported(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	_, err := f.train.Cut(ctx, R, LateInfo{})
	must(t, err)
	must(t, f.train.Report(ctx, R, LateInfo{}))
	f.send()
}

func TestVoteRecorded(t *testing.T) {
	f := newFixture(t, "zh-CN", sampleEntries())
	vote := ledger.Decision{Who: "李经理", Email: "limanager@example.com", Role: RoleManager, At: friday, MessageID: "v1@example.com",
		Words: "同意", Verdict: ledger.VerdictApprove}
	// Before the report: the release does not await approval.
	_, err := f.train.Cut(context.Background(), R, LateInfo{})
	must(t, err)
	err = f.store.Update(func(tx *ledger.Tx) error { return f.train.VoteRecorded(tx, R, vote, 1, 2) })
	if !errors.Is(err, ErrState) {
		t.Fatalf("vote on an open release: %v", err)
	}
	must(t, f.train.Report(context.Background(), R, LateInfo{}))
	f.send()

	for _, tc := range []struct {
		name       string
		change     func(d *ledger.Decision)
		have, need int
	}{
		{"the vote meets the rule", nil, 2, 2},
		{"no vote counted", nil, 0, 2},
		{"not a decision verdict", func(d *ledger.Decision) { d.Verdict = ledger.VerdictDone }, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := vote
			if tc.change != nil {
				tc.change(&d)
			}
			if err := f.store.Update(func(tx *ledger.Tx) error { return f.train.VoteRecorded(tx, R, d, tc.have, tc.need) }); err == nil {
				t.Error("accepted")
			}
		})
	}
	// Without an address nobody is answered.
	anon := vote
	anon.Email = ""
	f.update(func(tx *ledger.Tx) error { return f.train.VoteRecorded(tx, R, anon, 1, 2) })
	if msgs := f.send(); len(msgs) != 0 {
		t.Fatalf("a vote without an address was answered: %d mails", len(msgs))
	}

	f.update(func(tx *ledger.Tx) error { return f.train.VoteRecorded(tx, R, vote, 1, 2) })
	f.update(func(tx *ledger.Tx) error { return f.train.VoteRecorded(tx, R, vote, 1, 2) }) // the same vote again
	reject := vote
	reject.MessageID, reject.Verdict, reject.Words, reject.Reason = "v2@example.com", ledger.VerdictReject, "驳回，利息不对", "利息不对"
	f.update(func(tx *ledger.Tx) error { return f.train.VoteRecorded(tx, R, reject, 1, 3) })
	msgs := f.send()
	if len(msgs) != 2 {
		t.Fatalf("%d mails, want 2 (one per vote)", len(msgs))
	}
	approve, rej := parse(t, msgs[0].Data), parse(t, msgs[1].Data)
	if got := addrs(approve.header, "To"); got != "limanager@example.com" || addrs(approve.header, "Cc") != "" {
		t.Errorf("vote receipt to %s cc %s", got, addrs(approve.header, "Cc"))
	}
	if !strings.Contains(approve.subject, "1/2") || !strings.Contains(approve.text, "本期需 2 位经理同意才发版，目前已有 1 位同意") {
		t.Errorf("approval receipt %q:\n%s", approve.subject, approve.text)
	}
	if approve.header.Get("In-Reply-To") != "<v1@example.com>" || approve.header.Get("X-Fabu-Step") != StepVote {
		t.Errorf("headers %v", approve.header)
	}
	if tok := token.FromAddress(addrs(approve.header, "Reply-To")); tok != "" || strings.Contains(approve.subject, "[#") {
		t.Errorf("the receipt asks for an answer: token %q, subject %q", tok, approve.subject)
	}
	if !strings.Contains(rej.subject, "驳回 1/3") || !strings.Contains(rej.text, "利息不对") || !strings.Contains(rej.text, "3 位经理驳回") {
		t.Errorf("rejection receipt %q:\n%s", rej.subject, rej.text)
	}
	rel := f.release(R)
	if rel.State != ledger.ReleaseAwaitingApproval || len(rel.Decisions) != 0 {
		t.Errorf("the receipt changed the release: %s, %d decisions", rel.State, len(rel.Decisions))
	}
	if !slices.Contains(rel.Thread, msgs[0].MessageID) {
		t.Errorf("the receipt is not in the release's thread %v", rel.Thread)
	}
}

func TestRelayTellsTheTestLeads(t *testing.T) {
	away := ReplyRef{From: "limanager@example.com", Name: "李经理", MessageID: "ooo@example.com", Step: StepReport, Role: RoleManager}
	without := func(roles ...string) []Person {
		var out []Person
		for _, p := range testPeople() {
			if !slices.ContainsFunc(roles, p.Has) {
				out = append(out, p)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name        string
		people      []Person
		to, cc      string
		role        string // the token's role; "" for none
		want, not   []string
		decisionHdr bool
	}{
		{"deputy decides, test leads in copy", testPeople(),
			"deputy@example.com", "linlin@example.com,xiaozhou@example.com,admin@example.com", RoleDeputy,
			[]string{"转给您审批", "同时抄送测试负责人 琳琳、小周", "本人休假"}, nil, true},
		{"another manager decides", append(without(RoleDeputy), Person{Name: "赵总", Email: "zhao@example.com", Roles: []string{RoleManager}}),
			"zhao@example.com", "linlin@example.com,xiaozhou@example.com,admin@example.com", RoleManager,
			[]string{"转给您审批", "同时抄送测试负责人 琳琳、小周"}, nil, true},
		{"nobody else may decide", without(RoleDeputy),
			"linlin@example.com,xiaozhou@example.com,admin@example.com", "", "",
			[]string{"没有配置副经理", "本人休假"}, []string{"转给您审批", "同时抄送", "第一行写"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "zh-CN", sampleEntries())
			f.train.People = tc.people
			reported(t, f)
			f.update(func(tx *ledger.Tx) error { return f.train.RelayOutOfOffice(tx, R, away, "本人休假至12月7日。") })
			msgs := f.send()
			if len(msgs) != 1 {
				t.Fatalf("%d mails", len(msgs))
			}
			p := parse(t, msgs[0].Data)
			if got := addrs(p.header, "To"); got != tc.to {
				t.Errorf("To = %s, want %s", got, tc.to)
			}
			if got := addrs(p.header, "Cc"); got != tc.cc {
				t.Errorf("Cc = %s, want %s", got, tc.cc)
			}
			c, err := token.Verify(token.FromAddress(addrs(p.header, "Reply-To")), testSecret, f.clock.Now())
			switch {
			case tc.role == "" && err == nil:
				t.Errorf("the relay carries a token for %s", c.Role)
			case tc.role != "" && (err != nil || c.Role != tc.role || c.Step != StepRelay):
				t.Errorf("token %+v, %v; want role %s", c, err, tc.role)
			}
			if got := strings.Contains(p.header.Get("X-Auto-Response-Suppress"), "AutoReply"); got != tc.decisionHdr {
				t.Errorf("X-Auto-Response-Suppress %q", p.header.Get("X-Auto-Response-Suppress"))
			}
			for _, w := range tc.want {
				if !strings.Contains(p.text, w) {
					t.Errorf("text lacks %q:\n%s", w, p.text)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(p.text, w) {
					t.Errorf("text has %q:\n%s", w, p.text)
				}
			}
		})
	}
}
