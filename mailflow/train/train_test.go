package train

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/token"
	"github.com/xuri/excelize/v2"
)

const R = "2026-12-03"

func TestWeekOfTheTrain(t *testing.T) {
	f := newFixture(t, "zh-CN", sampleEntries())
	ctx := context.Background()

	// Friday: the cut.
	rel, err := f.train.Cut(ctx, R, LateInfo{})
	must(t, err)
	if !slices.Equal(rel.Entries, []string{"20", "21", "35", "102"}) || rel.State != ledger.ReleaseOpen {
		t.Fatalf("cut: %v %s", rel.Entries, rel.State)
	}
	msgs := f.send()
	if len(msgs) != 1 {
		t.Fatalf("cut sent %d mails", len(msgs))
	}
	tl := parse(t, msgs[0].Data)
	if !strings.HasPrefix(tl.subject, "【fabu】2026-12-03 期 提测清单") || !strings.Contains(tl.subject, "[#") {
		t.Errorf("subject %q", tl.subject)
	}
	if got := addrs(tl.header, "To"); got != "linlin@example.com,xiaozhou@example.com" {
		t.Errorf("To = %s", got)
	}
	if got := addrs(tl.header, "Cc"); got != "wanggong@example.com,limanager@example.com" {
		t.Errorf("Cc = %s", got)
	}
	for _, h := range []string{"Auto-Submitted", "X-Auto-Response-Suppress", "X-Fabu-Train", "X-Fabu-Release", "X-Fabu-Step", "Date", "Message-Id", "References"} {
		if tl.header.Get(h) == "" {
			t.Errorf("header %s missing", h)
		}
	}
	if tl.header.Get("Precedence") != "" {
		t.Error("Precedence set")
	}
	for _, want := range []string{"#20", "生成文件", "[有SQL脚本]", "技术负责人：王工", "https://wiki.example.com/req/102"} {
		if !strings.Contains(tl.text, want) {
			t.Errorf("test list text lacks %q", want)
		}
	}
	if strings.Contains(tl.text, "未完成的功能") || strings.Contains(tl.text, "早已上线") {
		t.Error("entries that are not dev_done are on the test list")
	}
	checkChecklist(t, tl.files["提测清单-2026-12-03.xlsx"], []string{"20", "21", "35", "102"})

	// The reply token: in the plus-address, the subject and References.
	replyTo := addrs(tl.header, "Reply-To")
	tok := token.FromAddress(replyTo)
	claims, err := token.Verify(tok, testSecret, f.clock.Now())
	must(t, err)
	if claims.Release != R || claims.Step != StepTestList || claims.Role != RoleTester || !claims.DigestMatches(rel.Digest) || !claims.ForTrain("default") {
		t.Errorf("claims %+v", claims)
	}
	if !strings.Contains(tl.header.Get("References"), tok) {
		t.Error("token not in References")
	}
	f.update(func(tx *ledger.Tx) error {
		ref, err := tx.SentByToken(token.Short(tok))
		if err != nil || ref.Token != tok {
			t.Errorf("SentByToken: %+v %v", ref, err)
		}
		ref, err = tx.SentByMessageID(msgs[0].MessageID)
		if err != nil || ref.Step != StepTestList || ref.Role != RoleTester {
			t.Errorf("SentByMessageID: %+v %v", ref, err)
		}
		return nil
	})
	for _, id := range rel.Entries {
		if e := f.entry(id); e.Status != ledger.StatusInTest || e.Release != R {
			t.Errorf("entry %s: %s %q", id, e.Status, e.Release)
		}
	}

	// Cutting again changes nothing and mails nothing.
	again, err := f.train.Cut(ctx, R, LateInfo{})
	must(t, err)
	if again.Digest != rel.Digest || len(f.send()) != 0 {
		t.Error("a second cut changed something")
	}

	// Monday: SIT results, then the reminder.
	f.clock.Set(friday.Add(3*24*time.Hour - 8*time.Hour))
	f.update(func(tx *ledger.Tx) error {
		for _, r := range []ledger.Result{pass(R, "20", "SIT"), pass(R, "35", "SIT"), fail(R, "21", "SIT", "罚息多算一天")} {
			if err := tx.RecordResult(r); err != nil {
				return err
			}
		}
		return nil
	})
	must(t, f.train.Remind(ctx, R, "sit-1", "SIT", "", LateInfo{}))
	msgs = f.send()
	if len(msgs) != 1 {
		t.Fatalf("reminder: %d mails", len(msgs))
	}
	rm := parse(t, msgs[0].Data)
	if !strings.Contains(rm.text, "SIT 环境还有 2 条没有测试通过") || !strings.Contains(rm.text, "【琳琳】1 条") || !strings.Contains(rm.text, "【小周】1 条") {
		t.Errorf("reminder text:\n%s", rm.text)
	}
	if !strings.Contains(rm.html, `bgcolor="#ffc7ce"`) {
		t.Error("reminder HTML has no red cell for the failure")
	}
	if msgs[0].Header.Get("In-Reply-To") != "" || !strings.Contains(rm.header.Get("References"), rel.Digest[:0]+tlMessageID(tl)) {
		t.Error("the reminder does not reference the test list")
	}
	// The same reminder again queues nothing.
	must(t, f.train.Remind(ctx, R, "sit-1", "SIT", "", LateInfo{}))
	if len(f.send()) != 0 {
		t.Error("reminder sent twice")
	}

	// Thursday: everything passes but 21; the report.
	f.clock.Set(time.Date(2026, 12, 3, 18, 0, 0, 0, shanghai))
	f.update(func(tx *ledger.Tx) error {
		for _, id := range []string{"20", "35", "102"} {
			for _, env := range []string{"SIT", "UAT", "准生产"} {
				if err := tx.RecordResult(pass(R, id, env)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	must(t, f.train.Report(ctx, R, LateInfo{}))
	msgs = f.send()
	if len(msgs) != 1 || addrs(msgs[0].Header, "To") != "limanager@example.com" {
		t.Fatalf("report: %d mails", len(msgs))
	}
	rp := parse(t, msgs[0].Data)
	if !strings.Contains(rp.text, "1 条有未通过的测试") || rp.header.Get("X-Auto-Response-Suppress") != "DR, RN, NRN, AutoReply" {
		t.Errorf("report:\n%s", rp.text)
	}
	rel = f.release(R)
	if rel.State != ledger.ReleaseAwaitingApproval || rel.ReportDigest == "" {
		t.Fatalf("after report: %s %q", rel.State, rel.ReportDigest)
	}
	c, err := token.Verify(token.FromAddress(addrs(rp.header, "Reply-To")), testSecret, f.clock.Now())
	must(t, err)
	if c.Role != RoleManager || !c.DigestMatches(rel.ReportDigest) {
		t.Errorf("report token %+v", c)
	}

	// The manager approves: 21 failed, so it stays out.
	d := ledger.Decision{Who: "李经理", Email: "limanager@example.com", Role: RoleManager, At: f.clock.Now(), MessageID: "reply-1@example.com", Words: "同意发版"}
	f.update(func(tx *ledger.Tx) error { return f.train.Approve(tx, R, d) })
	f.update(func(tx *ledger.Tx) error {
		if err := f.train.Approve(tx, R, d); !errors.Is(err, ErrState) {
			t.Errorf("second approval: %v", err)
		}
		return nil
	})
	msgs = f.send()
	if len(msgs) != 2 {
		t.Fatalf("approval sent %d mails", len(msgs))
	}
	ops, receipt := parse(t, msgs[0].Data), parse(t, msgs[1].Data)
	if addrs(ops.header, "To") != "ops@example.com" || !strings.Contains(ops.text, "以下 1 条测试未通过") || strings.Contains(ops.text, "  #21 账务") {
		t.Errorf("ops mail to %s:\n%s", addrs(ops.header, "To"), ops.text)
	}
	if addrs(receipt.header, "To") != "limanager@example.com" || receipt.header.Get("In-Reply-To") != "<reply-1@example.com>" {
		t.Errorf("receipt to %s in reply to %s", addrs(receipt.header, "To"), receipt.header.Get("In-Reply-To"))
	}
	rel = f.release(R)
	if rel.State != ledger.ReleaseApproved || !slices.Equal(rel.Excluded, []string{"21"}) || len(rel.Decisions) != 1 {
		t.Fatalf("after approval: %s excluded %v", rel.State, rel.Excluded)
	}
	if e := f.entry("21"); e.Status != ledger.StatusFailed || e.Release != "" {
		t.Errorf("excluded entry: %s %q", e.Status, e.Release)
	}
	if e := f.entry("20"); e.Status != ledger.StatusApproved {
		t.Errorf("entry 20: %s", e.Status)
	}

	// Ops confirm.
	f.clock.Set(time.Date(2026, 12, 3, 23, 10, 0, 0, shanghai))
	done := ledger.Decision{Who: "运维组", Email: "ops@example.com", Role: RoleOps, At: f.clock.Now(), MessageID: "reply-2@example.com", Words: "已发版"}
	f.update(func(tx *ledger.Tx) error { return f.train.Released(tx, R, done) })
	msgs = f.send()
	if len(msgs) != 1 || !strings.Contains(parse(t, msgs[0].Data).text, "以下 3 条在台帐中已标记为“已上线”") {
		t.Fatalf("released note: %d", len(msgs))
	}
	if e := f.entry("20"); e.Status != ledger.StatusReleased || e.ReleasedOn.String() != "2026-12-03" {
		t.Errorf("entry 20 after release: %s %s", e.Status, e.ReleasedOn)
	}
	if f.release(R).State != ledger.ReleaseReleased {
		t.Error("release not released")
	}
}

func tlMessageID(p parsed) string { return strings.Trim(p.header.Get("Message-Id"), "<>") }

// checkChecklist reopens the .xlsx attachment and checks it.
func checkChecklist(t *testing.T, data []byte, ids []string) {
	t.Helper()
	if len(data) == 0 {
		t.Fatal("no .xlsx attachment")
	}
	x, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows("提测清单")
	if err != nil {
		t.Fatal(err)
	}
	want := ChecklistHeaders("zh-CN", []string{"SIT", "UAT", "准生产"})
	if !slices.Equal(rows[0], want) {
		t.Errorf("header row %v", rows[0])
	}
	if len(rows) != len(ids)+1 {
		t.Fatalf("%d rows, want %d", len(rows), len(ids)+1)
	}
	for i, id := range ids {
		if rows[i+1][0] != id {
			t.Errorf("row %d id %s, want %s", i+2, rows[i+1][0], id)
		}
	}
	if rows[1][1] != "小贷" || rows[1][7] != "是" || rows[1][9] != "王工" || rows[1][10] != "琳琳" || rows[1][13] != "https://wiki.example.com/req/20" {
		t.Errorf("row 2 = %v", rows[1])
	}
	for _, r := range rows[1:] {
		for c := 15; c < len(r); c++ {
			if r[c] != "" {
				t.Errorf("result column %d is not empty: %q", c, r[c])
			}
		}
	}
	dvs, err := x.GetDataValidations("提测清单")
	if err != nil || len(dvs) != 1 || !strings.Contains(dvs[0].Formula1, "不通过") {
		t.Errorf("data validation = %+v, %v", dvs, err)
	}
}

func TestRejectSendsEntriesBack(t *testing.T) {
	f := newFixture(t, "en", sampleEntries())
	ctx := context.Background()
	_, err := f.train.Cut(ctx, R, LateInfo{})
	must(t, err)
	must(t, f.train.Report(ctx, R, LateInfo{}))
	f.send()
	d := ledger.Decision{Who: "李经理", Email: "limanager@example.com", At: f.clock.Now(), MessageID: "r@example.com", Words: "reject, interest bug", Reason: "interest bug"}
	f.update(func(tx *ledger.Tx) error { return f.train.Reject(tx, R, d) })
	msgs := f.send()
	if len(msgs) != 2 {
		t.Fatalf("%d mails", len(msgs))
	}
	n := parse(t, msgs[0].Data)
	if n.subject != "[fabu] 2026-12-03 rejected: no release this time" || !strings.Contains(n.text, "Reason: interest bug") {
		t.Errorf("notice %q:\n%s", n.subject, n.text)
	}
	if got := addrs(n.header, "To"); got != "linlin@example.com,xiaozhou@example.com,wanggong@example.com" {
		t.Errorf("notice To %s", got)
	}
	for _, id := range []string{"20", "21", "35", "102"} {
		if e := f.entry(id); e.Status != ledger.StatusDevDone || e.Release != "" {
			t.Errorf("entry %s: %s %q", id, e.Status, e.Release)
		}
	}
	// Next week's cut takes them again.
	next, err := f.train.Cut(ctx, "2026-12-10", LateInfo{})
	must(t, err)
	if len(next.Entries) != 4 {
		t.Errorf("next cut %v", next.Entries)
	}
}

func TestEmptyWeekAndChanges(t *testing.T) {
	f := newFixture(t, "zh-CN", []*ledger.Entry{{ID: "7", System: "小贷", Function: "紧急修复", Status: ledger.StatusInProgress, TestLead: "琳琳"}})
	ctx := context.Background()
	rel, err := f.train.Cut(ctx, R, LateInfo{Due: friday.Add(-time.Hour), Reason: "服务器维护"})
	must(t, err)
	if rel.State != ledger.ReleaseSkipped {
		t.Fatalf("empty cut: %s", rel.State)
	}
	msgs := f.send()
	if len(msgs) != 1 {
		t.Fatalf("%d mails", len(msgs))
	}
	e := parse(t, msgs[0].Data)
	if !strings.Contains(e.subject, "本周没有提测内容") || !strings.Contains(e.text, "晚于计划时间发送（计划 2026-11-27 16:00）：服务器维护") {
		t.Errorf("empty note %q:\n%s", e.subject, e.text)
	}
	// An urgent entry is added by hand: the next mail announces it, once.
	f.update(func(tx *ledger.Tx) error {
		if _, err := tx.MoveEntry("7", ledger.StatusDevDone, "dev", ""); err != nil {
			return err
		}
		_, err := tx.AddToRelease(R, "7", "cli", "紧急")
		return err
	})
	skipped := []Skipped{{Step: "sit-1", Due: friday.Add(64 * time.Hour), Reason: "当天已过"}}
	must(t, f.train.Remind(ctx, R, "sit-2", "SIT", "SIT 今天截止", LateInfo{Skipped: skipped}))
	must(t, f.train.Remind(ctx, R, "uat", "UAT", "", LateInfo{}))
	msgs = f.send()
	if len(msgs) != 2 {
		t.Fatalf("%d reminders", len(msgs))
	}
	first, second := parse(t, msgs[0].Data), parse(t, msgs[1].Data)
	if !strings.Contains(first.text, "加入 #7 小贷 紧急修复（cli") || !strings.Contains(first.text, "SIT 第一天提醒（计划 2026-11-30 09:00）：当天已过") {
		t.Errorf("first reminder:\n%s", first.text)
	}
	if strings.Contains(second.text, "清单变更") {
		t.Error("the change was announced twice")
	}
}

func TestNotesAnswerOnlyKnownPeople(t *testing.T) {
	f := newFixture(t, "zh-CN", sampleEntries())
	_, err := f.train.Cut(context.Background(), R, LateInfo{})
	must(t, err)
	stranger := ReplyRef{From: "spam@evil.example", MessageID: "x@evil.example", Subject: "hi"}
	f.update(func(tx *ledger.Tx) error {
		for name, fn := range map[string]func() error{
			"cannot use": func() error { return f.train.NotifyCannotUse(tx, R, stranger, "unknown sender") },
			"clarify":    func() error { return f.train.Clarify(tx, R, stranger, "?") },
			"outdated":   func() error { return f.train.RefuseOutdated(tx, R, stranger) },
		} {
			if err := fn(); !errors.Is(err, ErrUnknownPerson) {
				t.Errorf("%s to a stranger: %v", name, err)
			}
		}
		return nil
	})
	f.send()
	for _, m := range f.sink.Messages() {
		if slices.Contains(m.To, "spam@evil.example") {
			t.Fatal("mailed a stranger")
		}
	}
}

func TestClarifyCarriesTokenForTheSameStep(t *testing.T) {
	f := newFixture(t, "zh-CN", sampleEntries())
	ctx := context.Background()
	_, err := f.train.Cut(ctx, R, LateInfo{})
	must(t, err)
	must(t, f.train.Report(ctx, R, LateInfo{}))
	f.send()
	ref := ReplyRef{From: "LiManager@Example.com", MessageID: "q1@example.com", Excerpt: "再看看", Step: StepReport, Role: RoleManager, Date: f.clock.Now()}
	f.update(func(tx *ledger.Tx) error { return f.train.Clarify(tx, R, ref, "没有看出是同意还是驳回") })
	msgs := f.send()
	if len(msgs) != 1 {
		t.Fatalf("%d mails", len(msgs))
	}
	p := parse(t, msgs[0].Data)
	c, err := token.Verify(token.FromAddress(addrs(p.header, "Reply-To")), testSecret, f.clock.Now())
	must(t, err)
	if c.Step != StepReport || c.Role != RoleManager || !c.DigestMatches(f.release(R).ReportDigest) {
		t.Errorf("clarify token %+v", c)
	}
	if !strings.Contains(p.text, "同意") || p.header.Get("In-Reply-To") != "<q1@example.com>" {
		t.Errorf("clarify:\n%s", p.text)
	}
}

func TestPreviewChangesNothing(t *testing.T) {
	f := newFixture(t, "zh-CN", sampleEntries())
	for _, step := range f.train.PreviewSteps() {
		mails, err := f.train.Preview(step, R)
		if err != nil {
			t.Fatalf("preview %s: %v", step, err)
		}
		if len(mails) == 0 {
			t.Fatalf("preview %s: no mail", step)
		}
		for _, m := range mails {
			if !bytes.Contains(m.Raw, []byte("Message-ID: <fabu.")) || m.HTML == "" {
				t.Errorf("preview %s: %s has no Message-ID or HTML", step, m.Name)
			}
		}
	}
	f.update(func(tx *ledger.Tx) error {
		if rs, _ := tx.Releases(); len(rs) != 0 {
			t.Error("preview stored a release")
		}
		if ms, _ := tx.OutboxMails(); len(ms) != 0 {
			t.Error("preview queued mail")
		}
		if e, _ := tx.Entry("20"); e.Status != ledger.StatusDevDone {
			t.Error("preview moved an entry")
		}
		return nil
	})
	if _, err := f.train.Preview("nosuch", R); err == nil {
		t.Error("unknown step accepted")
	}
}

func TestLedgerTextCannotAddHeaders(t *testing.T) {
	evil := "x\r\nBcc: victim@evil.example\r\nX-Injected: 1\n\nbody"
	es := sampleEntries()
	for _, e := range es {
		e.System += evil
		e.Function += evil
		e.TechLead += evil
		e.TestLead += evil
		e.Description += evil
		e.RequirementDoc += evil
	}
	f := newFixture(t, "zh-CN", es)
	f.train.Options.Title = "小贷" + evil
	ctx := context.Background()
	_, err := f.train.Cut(ctx, R, LateInfo{Reason: evil, Due: friday.Add(-time.Hour), Skipped: []Skipped{{Step: "sit-1" + evil, Reason: evil}}})
	must(t, err)
	f.update(func(tx *ledger.Tx) error {
		return tx.RecordResult(ledger.Result{Release: R, Entry: "20", Env: "SIT", State: ledger.ResultFail, Who: evil, Note: evil})
	})
	must(t, f.train.Report(ctx, R, LateInfo{}))
	f.update(func(tx *ledger.Tx) error {
		return f.train.Approve(tx, R, ledger.Decision{Who: "李经理" + evil, Email: "limanager@example.com", MessageID: "a@b\r\nX-Injected: 2", Words: evil})
	})
	allowed := map[string]bool{"Auto-Submitted": true, "Date": true, "Mime-Version": true, "Message-Id": true, "References": true,
		"Subject": true, "User-Agent": true, "X-Auto-Response-Suppress": true, "X-Fabu-Release": true, "X-Fabu-Step": true,
		"X-Fabu-Train": true, "From": true, "To": true, "Cc": true, "Reply-To": true, "Content-Type": true, "In-Reply-To": true}
	msgs := f.send()
	if len(msgs) != 4 {
		t.Fatalf("%d mails", len(msgs))
	}
	for _, m := range msgs {
		p := parse(t, m.Data)
		for k, v := range p.header {
			if !allowed[k] || len(v) != 1 {
				t.Errorf("%s: unexpected header %s: %q", p.subject, k, v)
			}
		}
		for _, r := range m.To {
			if strings.Contains(r, "evil") {
				t.Errorf("mail went to %s", r)
			}
		}
		if strings.ContainsAny(p.subject, "\r\n") {
			t.Errorf("subject %q spans lines", p.subject)
		}
	}
}
