package intake

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/train"
)

// These tests run the whole approval loop on loopback: the real IMAP
// watcher reading an imapmemserver mailbox, this handler, the train's
// steps, the outbox worker and a go-smtp sink.

func TestApproveMailsOpsAndReceipt(t *testing.T) {
	f := newFixture(t)
	report := f.cutAndReport(R)
	mark := f.outboxMark()
	s := f.replyTo(report, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "同意", threadAll)
	raw := s.bytes(t)
	rec := f.deliver(raw, s.MessageID)
	if rec.Verdict != VerdictDecided || rec.Release != R || rec.Step != train.StepReport || !rec.Processed {
		t.Fatalf("recorded %+v", rec)
	}
	queued := f.queuedSince(mark)
	if len(queued) != 2 || queued[0].Step != train.StepApproved || queued[1].Step != train.StepReceipt {
		t.Fatalf("queued %d mails: %+v", len(queued), queued)
	}
	ops := f.delivered(queued[0].MessageID)
	if !slices.Equal(ops.To, []string{"ops@example.com", "limanager@example.com", "linlin@example.com", "xiaozhou@example.com", "wanggong@example.com"}) {
		t.Errorf("ops mail envelope %v", ops.To)
	}
	if got := strings.Join(queued[0].To, ","); got != "ops@example.com" {
		t.Errorf("ops mail To %s", got)
	}
	receipt := f.delivered(queued[1].MessageID)
	if !slices.Equal(receipt.To, []string{"limanager@example.com"}) || receipt.Header.Get("In-Reply-To") != "<"+s.MessageID+">" {
		t.Errorf("receipt to %v in reply to %q", receipt.To, receipt.Header.Get("In-Reply-To"))
	}
	rel := f.release(R)
	if rel.State != ledger.ReleaseApproved || len(rel.Decisions) != 1 {
		t.Fatalf("release %s, %d decisions", rel.State, len(rel.Decisions))
	}
	d := rel.Decisions[0]
	if d.Who != "李经理" || d.Email != "limanager@example.com" || d.MessageID != s.MessageID || !strings.HasPrefix(d.Words, "同意") ||
		d.RawHash != rec.RawHash || d.RawHash == "" || d.Verdict != ledger.VerdictApprove {
		t.Errorf("decision %+v", d)
	}
	audits := f.audit("reply.decided")
	if len(audits) != 1 || audits[0].Subject != "<"+s.MessageID+">" || !strings.Contains(audits[0].Detail, "sha256 "+rec.RawHash) ||
		!strings.Contains(audits[0].Detail, "in-reply-to") || audits[0].Actor != "李经理" {
		t.Errorf("audit %+v", audits)
	}
}

func TestRejectWithReasonSendsEntriesBack(t *testing.T) {
	f := newFixture(t)
	report := f.cutAndReport(R)
	mark := f.outboxMark()
	s := f.replyTo(report, "thunderbird-zh.eml.tmpl", "李经理", "limanager@example.com", "驳回，21 的利息计算还有问题，下周再发。", threadAll)
	rec := f.send(s)
	if rec.Verdict != VerdictDecided {
		t.Fatalf("recorded %+v", rec)
	}
	rel := f.release(R)
	if rel.State != ledger.ReleaseRejected || len(rel.Decisions) != 1 || !strings.Contains(rel.Decisions[0].Reason, "21 的利息计算还有问题") {
		t.Fatalf("release %s decisions %+v", rel.State, rel.Decisions)
	}
	for _, id := range []string{"20", "21", "35", "102"} {
		if e := f.entry(id); e.Status != ledger.StatusDevDone || e.Release != "" {
			t.Errorf("entry %s: %s %q", id, e.Status, e.Release)
		}
	}
	queued := f.queuedSince(mark)
	if len(queued) != 2 || queued[0].Step != train.StepRejected {
		t.Fatalf("queued %+v", queued)
	}
	notice := f.delivered(queued[0].MessageID)
	for _, want := range []string{"linlin@example.com", "xiaozhou@example.com", "wanggong@example.com"} {
		if !contains(notice.To, want) {
			t.Errorf("rejection notice not to %s: %v", want, notice.To)
		}
	}
	if !strings.Contains(decodeText(t, notice.Data), "21 的利息计算还有问题") {
		t.Error("the notice does not give the reason")
	}
}

func TestUnclearReplyGetsClarification(t *testing.T) {
	f := newFixture(t)
	report := f.cutAndReport(R)
	mark := f.outboxMark()
	s := f.replyTo(report, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "21 的问题修好了吗？可以发吗？", threadAll)
	rec := f.send(s)
	if rec.Verdict != VerdictUnclear || f.release(R).State != ledger.ReleaseAwaitingApproval {
		t.Fatalf("recorded %+v", rec)
	}
	queued := f.queuedSince(mark)
	if len(queued) != 1 || queued[0].Step != train.StepReport || queued[0].Kind != "clarify" || queued[0].Role != train.RoleManager {
		t.Fatalf("queued %+v", queued)
	}
	m := f.delivered(queued[0].MessageID)
	if !slices.Equal(m.To, []string{"limanager@example.com"}) || !strings.Contains(decodeText(t, m.Data), "没有看出是同意还是驳回") {
		t.Errorf("clarification to %v:\n%s", m.To, decodeText(t, m.Data))
	}
	// The answer to the clarification counts.
	clar := f.lastQueued(R, train.StepReport)
	s2 := f.replyTo(clar, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "同意", threadAll)
	if rec := f.send(s2); rec.Verdict != VerdictDecided || f.release(R).State != ledger.ReleaseApproved {
		t.Fatalf("answer to the clarification: %+v", rec)
	}
}

func TestSpoofedStrangerIsIgnoredWithoutBackscatter(t *testing.T) {
	f := newFixture(t)
	report := f.cutAndReport(R)
	mark := f.outboxMark()
	s := f.replyTo(report, "gmail-en.eml.tmpl", "Li Manager", "li-manager@evil.example.org", "Approved.", threadAll)
	rec := f.send(s)
	if rec.Verdict != VerdictIgnored || rec.Processed || !strings.Contains(rec.Reason, "unknown sender") {
		t.Fatalf("recorded %+v", rec)
	}
	if q := f.queuedSince(mark); len(q) != 0 {
		t.Fatalf("mail queued for a stranger: %+v", q)
	}
	if f.release(R).State != ledger.ReleaseAwaitingApproval {
		t.Fatal("a stranger decided")
	}
}

func TestForwardedReportCannotApprove(t *testing.T) {
	f := newFixture(t)
	report := f.cutAndReport(R)
	mark := f.outboxMark()
	// 琳琳 (a tester, in copy of nothing here) got the report forwarded and
	// answers it, token and all.
	s := f.replyTo(report, "outlook-zh.eml.tmpl", "琳琳", "linlin@example.com", "同意", threadAll)
	rec := f.send(s)
	if rec.Verdict != VerdictRefused || !strings.Contains(rec.Reason, "not a manager") {
		t.Fatalf("recorded %+v", rec)
	}
	if f.release(R).State != ledger.ReleaseAwaitingApproval {
		t.Fatal("a tester approved with the manager's token")
	}
	queued := f.queuedSince(mark)
	if len(queued) != 1 || queued[0].Step != train.StepCannotUse || !slices.Equal(queued[0].To, []string{"linlin@example.com"}) {
		t.Fatalf("queued %+v", queued)
	}
	if text := decodeText(t, f.delivered(queued[0].MessageID).Data); !strings.Contains(text, "只有经理可以审批") {
		t.Errorf("cannot-use text:\n%s", text)
	}
}

func TestSameMailTwiceAndReplayedMessageID(t *testing.T) {
	f := newFixture(t)
	report := f.cutAndReport(R)
	s := f.replyTo(report, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "同意", threadAll)
	raw := s.bytes(t)
	if rec := f.deliver(raw, s.MessageID); rec.Verdict != VerdictDecided {
		t.Fatalf("first: %+v", rec)
	}
	mark := f.outboxMark()
	// The same mail delivered again, and a mail replaying its Message-ID
	// with other words.
	if _, err := f.imap.Append(mailUser, "INBOX", raw); err != nil {
		t.Fatal(err)
	}
	rec := f.probe.waitMail(t, "<"+s.MessageID+">", 2)
	if rec.Verdict != ledger.VerdictDuplicate {
		t.Fatalf("second delivery: %+v", rec)
	}
	s.Body = "驳回"
	if _, err := f.imap.Append(mailUser, "INBOX", s.bytes(t)); err != nil {
		t.Fatal(err)
	}
	if rec := f.probe.waitMail(t, "<"+s.MessageID+">", 3); rec.Verdict != ledger.VerdictDuplicate {
		t.Fatalf("replayed Message-ID: %+v", rec)
	}
	if q := f.queuedSince(mark); len(q) != 0 {
		t.Fatalf("a duplicate queued mail: %+v", q)
	}
	if rel := f.release(R); rel.State != ledger.ReleaseApproved || len(rel.Decisions) != 1 {
		t.Fatalf("release %s with %d decisions", rel.State, len(rel.Decisions))
	}
	if n := len(f.audit("reply.decided")); n != 1 {
		t.Errorf("%d decisions audited", n)
	}
}

func TestExpiredTokenIsRefused(t *testing.T) {
	f := newFixture(t)
	report := f.cutAndReport(R)
	f.settle()
	f.clock.Add(15 * 24 * time.Hour) // the token lives 14 days
	mark := f.outboxMark()
	s := f.replyTo(report, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "同意", threadAll)
	rec := f.send(s)
	if rec.Verdict != VerdictRefused || !strings.Contains(rec.Reason, "expired") {
		t.Fatalf("recorded %+v", rec)
	}
	if f.release(R).State != ledger.ReleaseAwaitingApproval {
		t.Fatal("an expired token decided")
	}
	q := f.queuedSince(mark)
	if len(q) != 1 || q[0].Step != train.StepCannotUse {
		t.Fatalf("queued %+v", q)
	}
}

func TestOutdatedReportIsRefusedWithTheCurrentOne(t *testing.T) {
	f := newFixture(t)
	report := f.cutAndReport(R)
	// After the report, a tester reports a failure in pre-production.
	f.update(func(tx *ledger.Tx) error {
		return tx.RecordResult(ledger.Result{Release: R, Entry: "35", Env: "准生产", State: ledger.ResultFail, Who: "小周", Note: "报表错位"})
	})
	mark := f.outboxMark()
	s := f.replyTo(report, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "同意", threadAll)
	rec := f.send(s)
	if rec.Verdict != VerdictOutdated || f.release(R).State != ledger.ReleaseAwaitingApproval {
		t.Fatalf("recorded %+v", rec)
	}
	q := f.queuedSince(mark)
	if len(q) != 1 || q[0].Step != train.StepOutdated || !slices.Equal(q[0].To, []string{"limanager@example.com"}) {
		t.Fatalf("queued %+v", q)
	}
	if text := decodeText(t, f.delivered(q[0].MessageID).Data); !strings.Contains(text, "报表错位") {
		t.Errorf("the current report does not show the new failure:\n%s", text)
	}
	// Approving the current report works, and leaves the failed entry out.
	s2 := f.replyTo(q[0], "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "同意", threadAll)
	if rec := f.send(s2); rec.Verdict != VerdictDecided {
		t.Fatalf("approving the current report: %+v", rec)
	}
	if rel := f.release(R); rel.State != ledger.ReleaseApproved || !slices.Equal(rel.Excluded, []string{"35"}) {
		t.Fatalf("release %s excluded %v", rel.State, rel.Excluded)
	}
}

func TestReplyToLastWeeksDecidedRelease(t *testing.T) {
	f := newFixture(t)
	last := "2026-11-26"
	lastReport := f.cutAndReport(last)
	s := f.replyTo(lastReport, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "同意", threadAll)
	if rec := f.send(s); rec.Verdict != VerdictDecided {
		t.Fatalf("last week's approval: %+v", rec)
	}
	// This week: new entries, cut and open.
	f.putEntries(sampleEntries("40", "41")...)
	if _, err := f.train.Cut(f.ctx, R, train.LateInfo{}); err != nil {
		t.Fatal(err)
	}
	mark := f.outboxMark()
	again := f.replyTo(lastReport, "gmail-en.eml.tmpl", "李经理", "limanager@example.com", "Approved", threadAll)
	rec := f.send(again)
	if rec.Verdict != VerdictRefused || rec.Release != last || !strings.Contains(rec.Reason, "is approved") {
		t.Fatalf("recorded %+v", rec)
	}
	if f.release(R).State != ledger.ReleaseOpen || len(f.release(last).Decisions) != 1 {
		t.Fatal("the reply changed a release")
	}
	if q := f.queuedSince(mark); len(q) != 1 || q[0].Step != train.StepCannotUse || q[0].Release != last {
		t.Fatalf("queued %+v", q)
	}
}

func TestOutOfOfficeIsRelayedOnceAndDeputyMayThenApprove(t *testing.T) {
	f := newFixture(t)
	report := f.cutAndReport(R)
	mark := f.outboxMark()
	oof := f.replyTo(report, "exchange-oof-zh.eml.tmpl", "李经理", "limanager@example.com", "您好，我于12月3日至12月7日休假，期间邮件不能及时回复。紧急事务请联系张副经理。", threadAll)
	rec := f.send(oof)
	if rec.Verdict != VerdictRelayed || f.release(R).State != ledger.ReleaseAwaitingApproval {
		t.Fatalf("recorded %+v", rec)
	}
	q := f.queuedSince(mark)
	if len(q) != 1 || q[0].Step != train.StepRelay || !slices.Equal(q[0].To, []string{"deputy@example.com"}) || q[0].Role != train.RoleDeputy {
		t.Fatalf("queued %+v", q)
	}
	if !slices.Contains(q[0].Cc, "linlin@example.com") {
		t.Errorf("the test lead is not told: cc %v", q[0].Cc)
	}
	if text := decodeText(t, f.delivered(q[0].MessageID).Data); !strings.Contains(text, "12月7日休假") {
		t.Errorf("the relay lacks the out-of-office text:\n%s", text)
	}
	// A second out-of-office is not relayed again.
	mark = f.outboxMark()
	oof2 := f.replyTo(report, "exchange-oof-zh.eml.tmpl", "李经理", "limanager@example.com", "我在休假。", threadAll)
	if rec := f.send(oof2); rec.Verdict != VerdictIgnored || !strings.Contains(rec.Reason, "already relayed") {
		t.Fatalf("second out-of-office: %+v", rec)
	}
	if q := f.queuedSince(mark); len(q) != 0 {
		t.Fatalf("relayed twice: %+v", q)
	}
	// The deputy approves the relayed report.
	s := f.replyTo(q0(t, f, R, train.StepRelay), "outlook-zh.eml.tmpl", "张副经理", "deputy@example.com", "同意发布", threadAll)
	if rec := f.send(s); rec.Verdict != VerdictDecided {
		t.Fatalf("deputy: %+v", rec)
	}
	if rel := f.release(R); rel.State != ledger.ReleaseApproved || rel.Decisions[0].Role != train.RoleDeputy {
		t.Fatalf("release %s %+v", rel.State, rel.Decisions)
	}
}

func q0(t *testing.T, f *fixture, release, step string) sentMail {
	t.Helper()
	return f.lastQueued(release, step)
}

func TestQuorumTwoOfThree(t *testing.T) {
	people := append(basePeople(),
		train.Person{Name: "赵总", Email: "zhao@example.com", Roles: []string{train.RoleManager}},
		train.Person{Name: "钱总", Email: "qian@example.com", Roles: []string{train.RoleManager}})
	f := newFixture(t, withPeople(people), withRule(Rule{Approvals: 2}))
	report := f.cutAndReport(R)
	if !slices.Equal(report.To, []string{"limanager@example.com", "zhao@example.com", "qian@example.com"}) {
		t.Fatalf("report to %v", report.To)
	}
	mark := f.outboxMark()
	s1 := f.replyTo(report, "outlook-zh.eml.tmpl", "赵总", "zhao@example.com", "同意", threadAll)
	rec := f.send(s1)
	if rec.Verdict != VerdictVote || !strings.Contains(rec.Reason, "1 of 2") {
		t.Fatalf("first approval: %+v", rec)
	}
	if rel := f.release(R); rel.State != ledger.ReleaseAwaitingApproval || len(rel.Decisions) != 1 {
		t.Fatalf("after one approval: %s %d", rel.State, len(rel.Decisions))
	}
	// The approval that only counts gets a receipt saying where the count
	// stands, and nothing goes to ops.
	checkVoteReceipt := func(q []sentMail, inReplyTo, want string) {
		t.Helper()
		if len(q) != 1 || q[0].Step != train.StepVote || !slices.Equal(q[0].To, []string{"zhao@example.com"}) || len(q[0].Cc) != 0 {
			t.Fatalf("queued after a vote: %+v", q)
		}
		got := f.delivered(q[0].MessageID)
		if !slices.Equal(got.To, []string{"zhao@example.com"}) {
			t.Errorf("the sink got the receipt for %v", got.To)
		}
		if text := decodeText(t, got.Data); !strings.Contains(text, want) || !strings.Contains(text, "本期需 2 位经理同意才发版") {
			t.Errorf("the receipt lacks %q:\n%s", want, text)
		}
		if !strings.Contains(q[0].Refs, inReplyTo) {
			t.Errorf("the receipt does not answer %s: References %s", inReplyTo, q[0].Refs)
		}
	}
	checkVoteReceipt(f.queuedSince(mark), s1.MessageID, "目前已有 1 位同意")
	// The same manager again does not make two; the receipt says so.
	mark = f.outboxMark()
	s1b := f.replyTo(report, "gmail-en.eml.tmpl", "赵总", "zhao@example.com", "Approved", threadAll)
	if rec := f.send(s1b); rec.Verdict != VerdictVote || !strings.Contains(rec.Reason, "1 of 2") {
		t.Fatalf("same manager twice: %+v", rec)
	}
	checkVoteReceipt(f.queuedSince(mark), s1b.MessageID, "目前已有 1 位同意")
	mark = f.outboxMark()
	s2 := f.replyTo(report, "thunderbird-zh.eml.tmpl", "钱总", "qian@example.com", "同意发布", threadAll)
	if rec := f.send(s2); rec.Verdict != VerdictDecided || !strings.Contains(rec.Reason, "赵总, 钱总") {
		t.Fatalf("second approval: %+v", rec)
	}
	rel := f.release(R)
	if rel.State != ledger.ReleaseApproved || len(rel.Decisions) != 3 {
		t.Fatalf("release %s decisions %d", rel.State, len(rel.Decisions))
	}
	q := f.queuedSince(mark)
	if len(q) != 2 || q[0].Step != train.StepApproved || q[1].Step != train.StepReceipt {
		t.Fatalf("queued %+v", q)
	}
	f.delivered(q[0].MessageID)
}

func TestServerDropsConnectionMidIdle(t *testing.T) {
	f := newFixture(t)
	report := f.cutAndReport(R)
	f.probe.wait(t, "the watcher idling", func() bool { return f.probe.idling && f.probe.connects == 1 })
	if n := f.imap.DropConnections(); n == 0 {
		t.Fatal("no connection to drop")
	}
	s := f.replyTo(report, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "同意", threadAll)
	if rec := f.send(s); rec.Verdict != VerdictDecided {
		t.Fatalf("recorded %+v", rec)
	}
	f.probe.wait(t, "a reconnect", func() bool { return f.probe.connects >= 2 })
	f.delivered(f.lastQueued(R, train.StepApproved).MessageID)
}

func TestUIDValidityChange(t *testing.T) {
	f := newFixture(t)
	report := f.cutAndReport(R)
	first := f.replyTo(report, "outlook-zh.eml.tmpl", "琳琳", "linlin@example.com", "收到，谢谢", threadAll)
	raw := first.bytes(t)
	if rec := f.deliver(raw, first.MessageID); rec.Verdict != VerdictIgnored {
		t.Fatalf("first: %+v", rec)
	}
	if _, err := f.imap.RecreateMailbox(mailUser, "INBOX"); err != nil {
		t.Fatal(err)
	}
	// The server lost its UIDs: the old mail comes back with a new UID,
	// then the manager's approval arrives.
	if _, err := f.imap.Append(mailUser, "INBOX", raw); err != nil {
		t.Fatal(err)
	}
	s := f.replyTo(report, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "同意", threadAll)
	if rec := f.send(s); rec.Verdict != VerdictDecided {
		t.Fatalf("approval after UIDVALIDITY change: %+v", rec)
	}
	if rec := f.probe.waitMail(t, "<"+first.MessageID+">", 2); rec.Verdict != ledger.VerdictDuplicate {
		t.Fatalf("old mail after rescan: %+v", rec)
	}
	if n := len(f.audit("reply.ignored")); n != 1 {
		t.Errorf("the old mail was handled %d times", n)
	}
}

func TestRepliesThatArrivedWhileDownAreReadAtStart(t *testing.T) {
	f := newFixture(t, watcherLater())
	report := f.cutAndReport(R)
	approve := f.replyTo(report, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "同意", threadAll)
	stranger := f.replyTo(report, "gmail-en.eml.tmpl", "Eve", "eve@example.org", "Approved", threadAll)
	for _, s := range []*replySpec{stranger, approve} {
		if _, err := f.imap.Append(mailUser, "INBOX", s.bytes(t)); err != nil {
			t.Fatal(err)
		}
	}
	f.startWatcher()
	if rec := f.probe.waitMail(t, "<"+stranger.MessageID+">", 1); rec.Verdict != VerdictIgnored {
		t.Fatalf("stranger: %+v", rec)
	}
	if rec := f.probe.waitMail(t, "<"+approve.MessageID+">", 1); rec.Verdict != VerdictDecided {
		t.Fatalf("approval: %+v", rec)
	}
	f.delivered(f.lastQueued(R, train.StepApproved).MessageID)
}

func TestMatchByOneHeaderAlone(t *testing.T) {
	for _, tc := range []struct {
		name string
		th   threading
		tmpl string
		via  string
	}{
		{"references only", threadRefsOnly, "thunderbird-zh.eml.tmpl", ViaReferences},
		{"plus-address token only", threadPlusOnly, "outlook-zh.eml.tmpl", ViaPlusAddress},
		{"subject tag only", threadTagOnly, "gmail-en.eml.tmpl", ViaSubjectTag},
		{"in-reply-to only", threadInReplyToOnly, "outlook-zh.eml.tmpl", ViaInReplyTo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			report := f.cutAndReport(R)
			body := "同意"
			if tc.tmpl == "gmail-en.eml.tmpl" {
				body = "Approved."
			}
			s := f.replyTo(report, tc.tmpl, "李经理", "li.manager@example.com", body, tc.th)
			raw := s.bytes(t)
			head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
			if tc.th == threadRefsOnly && (strings.Contains(head, "In-Reply-To") || strings.Contains(head, "[#") || strings.Contains(head, "fabu+")) {
				t.Fatal("the test mail carries more than References")
			}
			rec := f.deliver(raw, s.MessageID)
			if rec.Verdict != VerdictDecided || f.release(R).State != ledger.ReleaseApproved {
				t.Fatalf("recorded %+v", rec)
			}
			if a := f.audit("reply.decided"); len(a) != 1 || !strings.Contains(a[0].Detail, "matched by "+tc.via) {
				t.Errorf("audit %+v", a)
			}
		})
	}
	t.Run("nothing", func(t *testing.T) {
		f := newFixture(t)
		report := f.cutAndReport(R)
		mark := f.outboxMark()
		s := f.replyTo(report, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "同意", threadNone)
		rec := f.send(s)
		if rec.Verdict != VerdictRefused || !strings.Contains(rec.Reason, "matches no mail") || f.release(R).State != ledger.ReleaseAwaitingApproval {
			t.Fatalf("recorded %+v", rec)
		}
		if q := f.queuedSince(mark); len(q) != 1 || q[0].Step != train.StepCannotUse {
			t.Fatalf("queued %+v", q)
		}
	})
}

func TestTesterResultsThenEarlyReport(t *testing.T) {
	f := newFixture(t)
	if _, err := f.train.Cut(f.ctx, R, train.LateInfo{}); err != nil {
		t.Fatal(err)
	}
	testlist := f.lastQueued(R, train.StepTestList)
	s := f.replyTo(testlist, "outlook-zh.eml.tmpl", "琳琳", "linlin@example.com", "20 通过\n21 不通过 罚息多算一天\n35 UAT 通过", threadAll)
	rec := f.send(s)
	if rec.Verdict != VerdictResults {
		t.Fatalf("recorded %+v", rec)
	}
	var res []ledger.Result
	f.view(func(tx *ledger.Tx) error {
		var err error
		res, err = tx.Results(R)
		return err
	})
	m := ledger.MatrixOf(res)
	if m.State("20", "SIT") != ledger.ResultPass || m.State("21", "SIT") != ledger.ResultFail || m.State("35", "UAT") != ledger.ResultPass || m.State("35", "SIT") != ledger.ResultPending {
		t.Fatalf("results %+v", res)
	}
	if r, _ := m.Get("21", "SIT"); r.Who != "琳琳" || r.Note != "罚息多算一天" || r.MessageID != s.MessageID {
		t.Errorf("result 21 %+v", r)
	}
	// The pre-production reminder; every entry passes there: the report
	// may go out early, after the commit.
	f.passAll(R)
	f.update(func(tx *ledger.Tx) error {
		for _, id := range []string{"20", "21", "35", "102"} {
			if err := tx.RecordResult(ledger.Result{Release: R, Entry: id, Env: "准生产", State: ledger.ResultPending}); err != nil {
				return err
			}
		}
		return nil
	})
	if err := f.train.Remind(f.ctx, R, "preprod", "准生产", "", train.LateInfo{}); err != nil {
		t.Fatal(err)
	}
	rem := f.lastQueued(R, "preprod")
	s2 := f.replyTo(rem, "thunderbird-zh.eml.tmpl", "小周", "xiaozhou@example.com", "全部通过", threadAll)
	if rec := f.send(s2); rec.Verdict != VerdictResults || !strings.Contains(rec.Reason, "every entry passed 准生产") {
		t.Fatalf("recorded %+v", rec)
	}
	select {
	case r := <-f.allPassed:
		if r != R {
			t.Errorf("OnAllPassed(%q)", r)
		}
	case <-time.After(waitFor):
		t.Fatal("OnAllPassed was not called")
	}
}

func TestOpsDoneClosesTheRelease(t *testing.T) {
	f := newFixture(t)
	report := f.cutAndReport(R)
	if rec := f.send(f.replyTo(report, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "同意", threadAll)); rec.Verdict != VerdictDecided {
		t.Fatalf("approve: %+v", rec)
	}
	opsMail := f.lastQueued(R, train.StepApproved)
	f.settle()
	f.clock.Set(time.Date(2026, 12, 3, 23, 5, 0, 0, shanghai))
	// A manager cannot confirm the release; ops can.
	if rec := f.send(f.replyTo(opsMail, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "已发版", threadAll)); rec.Verdict != VerdictRefused {
		t.Fatalf("manager confirming: %+v", rec)
	}
	s := f.replyTo(opsMail, "outlook-zh.eml.tmpl", "运维组", "ops@example.com", "已发版", threadAll)
	if rec := f.send(s); rec.Verdict != VerdictDecided {
		t.Fatalf("ops: %+v", rec)
	}
	if rel := f.release(R); rel.State != ledger.ReleaseReleased {
		t.Fatalf("release %s", rel.State)
	}
	if e := f.entry("20"); e.Status != ledger.StatusReleased || e.ReleasedOn.String() != "2026-12-03" {
		t.Errorf("entry 20: %s %s", e.Status, e.ReleasedOn)
	}
	f.delivered(f.lastQueued(R, train.StepReleased).MessageID)
}

func TestPartialApprovalLeavesEntriesOut(t *testing.T) {
	f := newFixture(t)
	report := f.cutAndReport(R)
	s := f.replyTo(report, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "同意，21 除外", threadAll)
	rec := f.send(s)
	if rec.Verdict != VerdictDecided || !strings.Contains(rec.Reason, "except 21") {
		t.Fatalf("recorded %+v", rec)
	}
	rel := f.release(R)
	if rel.State != ledger.ReleaseApproved || rel.Holds("21") || !slices.Contains(rel.Excluded, "21") {
		t.Fatalf("release %s entries %v excluded %v", rel.State, rel.Entries, rel.Excluded)
	}
	if e := f.entry("21"); e.Status != ledger.StatusDevDone || e.Release != "" {
		t.Errorf("entry 21: %s %q", e.Status, e.Release)
	}
	if e := f.entry("20"); e.Status != ledger.StatusApproved {
		t.Errorf("entry 20: %s", e.Status)
	}
	ops := f.lastQueued(R, train.StepApproved)
	if !strings.Contains(ops.Text, "#21") || !strings.Contains(ops.Text, "审批时排除") {
		t.Errorf("the ops mail does not say 21 is out:\n%s", ops.Text)
	}
}
