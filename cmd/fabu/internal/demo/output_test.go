package demo

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/outbox"
)

// cutSampleRelease cuts the demo's release from the sample ledger and
// records results: every entry passes SIT, entry 24 first fails.
func cutSampleRelease(t *testing.T, s *ledger.Store) {
	t.Helper()
	err := s.Update(func(tx *ledger.Tx) error {
		if _, err := tx.MoveEntry(SeedEntry, ledger.StatusDevDone, "王工", "done"); err != nil {
			return err
		}
		r, _, err := tx.CutRelease(DemoRelease, "test")
		if err != nil {
			return err
		}
		for _, id := range r.Entries {
			if id == failingEntry {
				if err := tx.RecordResult(ledger.Result{Release: DemoRelease, Entry: id, Env: "SIT", State: ledger.ResultFail, Who: "小周", Note: "余额列少两位小数"}); err != nil {
					return err
				}
			}
			if err := tx.RecordResult(ledger.Result{Release: DemoRelease, Entry: id, Env: "SIT", State: ledger.ResultPass, Who: "琳琳"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotAndIndex(t *testing.T) {
	s := importSample(t)
	cutSampleRelease(t, s)
	envs := []string{"SIT", "UAT", "准生产"}
	snap, err := TakeSnapshot(s, DemoRelease, envs)
	if err != nil {
		t.Fatal(err)
	}
	if snap.State != string(ledger.ReleaseOpen) || len(snap.Rows) != 8 {
		t.Fatalf("snapshot: state %s, %d rows", snap.State, len(snap.Rows))
	}
	for _, r := range snap.Rows {
		want := "pass"
		if r.ID == failingEntry {
			want = "retest"
			if len(r.Cells[0].History) != 2 || !strings.Contains(r.Cells[0].History[0], "不通过：余额列少两位小数") {
				t.Errorf("entry %s SIT history %q", r.ID, r.Cells[0].History)
			}
		}
		if r.Cells[0].Class != want || r.Cells[1].Class != "pending" || r.Cells[1].Label != "未测" {
			t.Errorf("entry %s cells %+v", r.ID, r.Cells)
		}
	}
	mail := &Mail{EML: "mails/01-testlist.eml", View: "mails/01-testlist.html", Attachments: []attachment{{Name: "提测清单.xlsx", File: "mails/01-testlist-attachment-1.xlsx"}}}
	page := &Page{Title: "t", From: DemoStart(), To: DemoStart().Add(time.Hour), Snapshot: snap, Speed: 1,
		Events: []Event{
			{At: DemoStart(), Who: "fabu", Text: "cut <release>", Mail: mail},
			{At: DemoStart().AddDate(0, 0, 3), Who: "demo", Text: "late", Warn: true},
		},
		Problems: []string{"something & missing"},
		Files:    []PageFile{{"fabu.log", "log"}},
	}
	var b bytes.Buffer
	if err := WriteIndex(&b, page); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{`href="mails/01-testlist.html"`, `href="mails/01-testlist.eml"`, `href="mails/01-testlist-attachment-1.xlsx"`,
		`class="retest"`, "复测通过", "cut &lt;release&gt;", "something &amp; missing", "周五 11月27日", "周一 11月30日", `class="warn"`} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
}

func TestSnapshotOfAMissingRelease(t *testing.T) {
	s := importSample(t)
	snap, err := TakeSnapshot(s, DemoRelease, []string{"SIT"})
	if err != nil || snap.State != "not cut" || len(snap.Rows) != 0 {
		t.Fatalf("snapshot %+v, %v", snap, err)
	}
}

// fabuMail composes a mail the way fabu's outbox does.
func fabuMail(t *testing.T, step string, to []string, attach bool) []byte {
	t.Helper()
	m := &outbox.Message{MessageID: "fabu." + step + "@example.com", Date: DemoStart(), From: outbox.Address{Name: "fabu 发布", Addr: fabuAddress},
		ReplyTo: "fabu+v1.tok@example.com", Subject: "【fabu】" + step, Text: "正文 " + step, HTML: "<html><body><p>正文</p></body></html>",
		Train: "default", Release: DemoRelease, Step: step}
	for _, a := range to {
		m.To = append(m.To, outbox.Address{Addr: a})
	}
	if attach {
		m.Attachments = []outbox.Attachment{{Name: "提测清单-2026-12-03.xlsx", ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: []byte("PK fake")}}
	}
	raw, err := outbox.Compose(m)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestArchiveSavesMailsAndCopies(t *testing.T) {
	dir := t.TempDir()
	a, err := NewArchive(dir)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{"fabu.testlist@example.com": "testlist", "fabu.report@example.com": "clarify"}
	kindOf := func(id string) string { return kinds[id] }
	tl, err := readMail(Delivery{Seq: 1, At: DemoStart(), Mailboxes: []string{"linlin@example.com"}, Raw: fabuMail(t, "testlist", []string{"linlin@example.com"}, true)}, kindOf)
	if err != nil {
		t.Fatal(err)
	}
	if !tl.FromFabu || tl.Kind != "testlist" || tl.Step != "testlist" || tl.Release != DemoRelease || tl.ReplyTo != "fabu+v1.tok@example.com" {
		t.Fatalf("read %+v", tl)
	}
	if err := a.Save(tl); err != nil {
		t.Fatal(err)
	}
	cl, err := readMail(Delivery{Seq: 2, At: DemoStart(), Mailboxes: []string{"limanager@example.com"}, Raw: fabuMail(t, "report", []string{"limanager@example.com"}, false)}, kindOf)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Save(cl); err != nil {
		t.Fatal(err)
	}
	orig := original{From: tl.Msg.From, To: tl.Msg.To, Subject: tl.Msg.Subject, Date: DemoStart(), MessageID: tl.Msg.MessageID, Text: tl.Msg.TextBody}
	lin := personNamed(t, "琳琳")
	raw, err := composeReply(styleQQ, lin, tl.ReplyTo, orig, "20 通过", DemoStart().Add(time.Hour), "r1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	rp, err := readMail(Delivery{Seq: 3, At: DemoStart().Add(time.Hour), Mailboxes: []string{fabuAddress}, Raw: raw}, kindOf)
	if err != nil {
		t.Fatal(err)
	}
	if rp.FromFabu {
		t.Fatal("a person's reply read as fabu's")
	}
	if err := a.Save(rp); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		m    *Mail
		name string
	}{{tl, "01-testlist"}, {cl, "02-clarify-limanager"}, {rp, "03-reply-linlin-to-testlist"}} {
		if tc.m.Name != tc.name {
			t.Errorf("mail %d named %q, want %q", tc.m.Seq, tc.m.Name, tc.name)
		}
		for _, f := range []string{tc.m.EML, tc.m.View} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("missing %s", f)
			}
		}
	}
	if len(tl.Attachments) != 1 {
		t.Fatalf("%d attachments saved", len(tl.Attachments))
	}
	if b, err := os.ReadFile(filepath.Join(dir, tl.Attachments[0].File)); err != nil || string(b) != "PK fake" {
		t.Errorf("attachment %s: %q %v", tl.Attachments[0].File, b, err)
	}
	view, err := os.ReadFile(filepath.Join(dir, tl.View))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(view), "<p>正文</p>") || !strings.Contains(string(view), `href="01-testlist.eml"`) || !strings.Contains(string(view), "../index.html") {
		t.Errorf("the readable copy lacks the mail's HTML or its links:\n%s", view)
	}
	rview, err := os.ReadFile(filepath.Join(dir, rp.View))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rview), "20 通过") || !strings.Contains(string(rview), "原始邮件") {
		t.Errorf("the reply's readable copy lacks its text:\n%s", rview)
	}
	man := a.Manifest()
	if len(man) != 3 || man[0].Kind != "testlist" || len(man[0].Attachments) != 1 || man[2].InReplyTo != tl.Msg.MessageID {
		t.Errorf("manifest %+v", man)
	}
}

func TestTimelineFormat(t *testing.T) {
	var b bytes.Buffer
	tl := NewTimeline(&b)
	tl.Add(Event{At: DemoStart().Add(time.Minute), Who: "fabu", Text: "cut", Mail: &Mail{EML: "mails/01-testlist.eml"}})
	tl.Add(Event{At: DemoStart().AddDate(0, 0, 3), Who: "李经理", Text: "回复", Warn: true})
	out := b.String()
	for _, want := range []string{"── 周五 11月27日 ──", "  周五 11-27 17:00  fabu    cut  [mails/01-testlist.eml]", "── 周一 11月30日 ──", "周一 11-30 16:59  李经理  ⚠ 回复"} {
		if !strings.Contains(out, want) {
			t.Errorf("timeline lacks %q:\n%s", want, out)
		}
	}
	if strings.TrimSpace(tl.Text()) != strings.TrimSpace(out) {
		t.Errorf("Text() differs from what was printed:\n%s\n---\n%s", tl.Text(), out)
	}
	if got := padWidth("李经理", 8); got != "李经理  " {
		t.Errorf("padWidth = %q", got)
	}
}

func TestNameHelpers(t *testing.T) {
	if nameOf("limanager+x@example.com") != "李经理" || nameOf("fabu+tok@example.com") != "fabu" || nameOf("x@y.z") != "x@y.z" {
		t.Error("nameOf")
	}
	if safeName("提测清单-sit-1.xlsx") != "-sit-1.xlsx" || safeName("中文") != "mail" {
		t.Errorf("safeName %q %q", safeName("提测清单-sit-1.xlsx"), safeName("中文"))
	}
	if addrOf("=?gb18030?B?wO6+rcDt?= <limanager@example.com>") != "limanager@example.com" || addrOf("a@b.c") != "a@b.c" {
		t.Error("addrOf")
	}
	if newText("20 通过\n\n--\n小周") != "20 通过 · 小周" {
		t.Errorf("newText %q", newText("20 通过\n\n--\n小周"))
	}
}
