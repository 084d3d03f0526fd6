package ledger

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestStatusLifecycle walks the train's path and its side roads.
func TestStatusLifecycle(t *testing.T) {
	allowed := [][2]Status{
		{StatusUnset, StatusRegistered},
		{StatusRegistered, StatusInProgress},
		{StatusInProgress, StatusDevDone},
		{StatusDevDone, StatusInTest},
		{StatusInTest, StatusPassed},
		{StatusInTest, StatusFailed},
		{StatusFailed, StatusInTest},
		{StatusFailed, StatusInProgress},
		{StatusPassed, StatusApproved},
		{StatusApproved, StatusReleased},
		{StatusApproved, StatusDevDone}, // rejected: back to the ledger
		{StatusRegistered, StatusClosed},
		{StatusInTest, StatusClosed},
		{StatusReleased, StatusClosed},
		{StatusClosed, StatusRegistered},
		{StatusDevDone, StatusDevDone}, // staying is always fine
	}
	for _, m := range allowed {
		if !CanTransition(m[0], m[1]) {
			t.Errorf("%s → %s refused, want allowed", m[0].Label(), m[1].Label())
		}
	}
	refused := [][2]Status{
		{StatusReleased, StatusInProgress},
		{StatusReleased, StatusDevDone},
		{StatusRegistered, StatusReleased},
		{StatusInProgress, StatusApproved},
		{StatusDevDone, StatusReleased},
		{StatusInTest, StatusApproved},
		{StatusClosed, StatusReleased},
		{StatusDevDone, StatusUnset},
	}
	for _, m := range refused {
		if CanTransition(m[0], m[1]) {
			t.Errorf("%s → %s allowed, want refused", m[0].Label(), m[1].Label())
		}
	}
}

func TestSetStatusRefusalNamesBothStates(t *testing.T) {
	e := &Entry{ID: "28", Status: StatusReleased, StatusText: "已发版"}
	err := e.SetStatus(StatusInProgress)
	var te *TransitionError
	if !errors.As(err, &te) || te.From != StatusReleased || te.To != StatusInProgress {
		t.Fatalf("err = %v, want a TransitionError released → in_progress", err)
	}
	for _, want := range []string{"entry 28", "released (已上线)", "in_progress (处理中)", "closed (已关闭)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if e.Status != StatusReleased || e.StatusText != "已发版" {
		t.Errorf("a refused move changed the entry: %+v", e)
	}
	if err := e.SetStatus(StatusClosed); err != nil || e.StatusText != "" || e.StatusWord() != "已关闭" {
		t.Errorf("released → closed: %v, %+v", err, e)
	}
}

// TestStatusWordsOfLedgerMD checks every word ledger.md lists.
func TestStatusWordsOfLedgerMD(t *testing.T) {
	words := map[Status][]string{
		StatusRegistered: {"待处理", "未开始", "新建", "已登记", "registered"},
		StatusInProgress: {"处理中", "开发中", "in_progress", "In Progress"},
		StatusDevDone:    {"开发完成", "待提测", "dev_done", "development finished"},
		StatusInTest:     {"测试中", "已提测", "in test"},
		StatusPassed:     {"测试通过", "passed"},
		StatusFailed:     {"测试不通过", "测试未通过", "failed"},
		StatusApproved:   {"待发版", "已审批", "approved"},
		StatusReleased:   {"已上线", "已发版", "released"},
		StatusClosed:     {"已关闭", "关闭", "已取消", "closed", "withdrawn"},
	}
	for want, ws := range words {
		for _, w := range ws {
			got, err := DefaultStatusWords.Parse(" " + w + " ")
			if err != nil || got != want {
				t.Errorf("Parse(%q) = %s, %v; want %s", w, got, err, want)
			}
		}
		if got, _ := DefaultStatusWords.Parse(want.Chinese()); got != want {
			t.Errorf("Chinese word %q of %s parses to %s", want.Chinese(), want, got)
		}
		if got, _ := DefaultStatusWords.Parse(want.String()); got != want {
			t.Errorf("English name %q parses to %s", want.String(), got)
		}
	}
	if s, err := DefaultStatusWords.Parse(""); err != nil || s != StatusUnset {
		t.Errorf("empty word = %s, %v", s, err)
	}
	_, err := DefaultStatusWords.Parse("搁置")
	if err == nil || !strings.Contains(err.Error(), "ledger.status_aliases") {
		t.Errorf("unknown word: %v, want a hint at ledger.status_aliases", err)
	}
}

func TestStatusAliases(t *testing.T) {
	w, err := NewStatusWords(map[string]string{"待测试": "dev_done", "已完成": "已上线", "挂起": "registered"})
	if err != nil {
		t.Fatal(err)
	}
	for word, want := range map[string]Status{"待测试": StatusDevDone, "已完成": StatusReleased, "挂起": StatusRegistered, "处理中": StatusInProgress} {
		if got, err := w.Parse(word); err != nil || got != want {
			t.Errorf("Parse(%q) = %s, %v; want %s", word, got, err, want)
		}
	}
	if _, ok := DefaultStatusWords.Lookup("待测试"); ok {
		t.Error("an alias leaked into the default words")
	}
	_, err = NewStatusWords(map[string]string{"待测试": "ready"})
	if err == nil || !strings.Contains(err.Error(), `"ready" is not a status`) {
		t.Errorf("bad alias target: %v", err)
	}
}

func TestStatusJSON(t *testing.T) {
	raw, _ := json.Marshal(struct{ S Status }{StatusDevDone})
	if string(raw) != `{"S":"dev_done"}` {
		t.Errorf("JSON = %s", raw)
	}
	var v struct{ S Status }
	for in, want := range map[string]Status{`{"S":"released"}`: StatusReleased, `{"S":"开发完成"}`: StatusDevDone, `{"S":""}`: StatusUnset} {
		if err := json.Unmarshal([]byte(in), &v); err != nil || v.S != want {
			t.Errorf("Unmarshal(%s) = %s, %v", in, v.S, err)
		}
	}
	if err := json.Unmarshal([]byte(`{"S":"搁置"}`), &v); err == nil {
		t.Error("unknown status unmarshalled")
	}
}

func TestStatusWordKeepsTheTeamsWord(t *testing.T) {
	e := &Entry{}
	if err := e.Set("status", "待提测", nil); err != nil {
		t.Fatal(err)
	}
	if e.Status != StatusDevDone || e.StatusWord() != "待提测" {
		t.Errorf("after 待提测: %s %q", e.Status, e.StatusWord())
	}
	if err := e.SetStatus(StatusInTest); err != nil || e.StatusWord() != "测试中" {
		t.Errorf("after a move: %v %q", err, e.StatusWord())
	}
	if err := e.Set("status", "in_progress", nil); err != nil || e.StatusText != "" || e.StatusWord() != "处理中" {
		t.Errorf("English name kept as the team's word: %+v", e)
	}
}

func TestSetEntryFieldAudits(t *testing.T) {
	s := newStoreAt(t, filepath.Join(t.TempDir(), "fabu.db"))
	if err := s.Update(func(tx *Tx) error {
		return tx.PutEntry(&Entry{ID: "20", System: "小贷", Status: StatusInProgress, StatusText: "处理中"})
	}); err != nil {
		t.Fatal(err)
	}
	set := func(field, value string) (*Entry, bool, error) {
		var e *Entry
		var changed bool
		err := s.Update(func(tx *Tx) error {
			var err error
			e, changed, err = tx.SetEntryField("20", field, value, "linlin", nil)
			return err
		})
		return e, changed, err
	}
	if e, changed, err := set("status", "开发完成"); err != nil || !changed || e.Status != StatusDevDone {
		t.Fatalf("status=开发完成: %+v %v %v", e, changed, err)
	}
	if _, changed, err := set("status", "开发完成"); err != nil || changed {
		t.Errorf("same status again: changed=%v err=%v", changed, err)
	}
	if _, changed, err := set("planned_finish", "2019/3/7"); err != nil || !changed {
		t.Errorf("planned_finish: %v %v", changed, err)
	}
	_, _, err := set("status", "已上线")
	var te *TransitionError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "dev_done (开发完成)") || !strings.Contains(err.Error(), "released (已上线)") {
		t.Errorf("illegal move: %v", err)
	}
	if _, _, err := set("planned_start", "2019/2/30"); err == nil || !strings.Contains(err.Error(), "planned_start") {
		t.Errorf("bad date: %v", err)
	}
	if _, _, err := set("id", "21"); err == nil {
		t.Error("id changed")
	}
	if _, _, err := set("nope", "1"); err == nil {
		t.Error("unknown field set")
	}
	err = s.Update(func(tx *Tx) error {
		_, _, err := tx.SetEntryField("99", "status", "开发完成", "x", nil)
		return err
	})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown entry: %v", err)
	}
	s.View(func(tx *Tx) error {
		log, err := tx.AuditLog("20")
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != 2 {
			t.Fatalf("audit = %+v, want 2 records", log)
		}
		want := []AuditRecord{
			{Seq: 1, Time: storeTestClock(), Actor: "linlin", Action: "entry.set", Subject: "20", Field: "status", Old: "处理中", New: "开发完成"},
			{Seq: 2, Time: storeTestClock(), Actor: "linlin", Action: "entry.set", Subject: "20", Field: "planned_finish", Old: "", New: "2019-03-07"},
		}
		for i := range want {
			if log[i] != want[i] {
				t.Errorf("audit[%d] = %+v\nwant       %+v", i, log[i], want[i])
			}
		}
		e, _ := tx.Entry("20")
		if e.Status != StatusDevDone || e.PlannedStart != (Date{}) {
			t.Errorf("entry after refused changes: %+v", e)
		}
		return nil
	})
}

func TestMoveEntryAudits(t *testing.T) {
	s := newStoreAt(t, filepath.Join(t.TempDir(), "fabu.db"))
	err := s.Update(func(tx *Tx) error {
		if err := tx.PutEntry(&Entry{ID: "1", Status: StatusDevDone, Release: "2026-12-03"}); err != nil {
			return err
		}
		if _, err := tx.MoveEntry("1", StatusInTest, "train", "cut"); err != nil {
			return err
		}
		_, err := tx.MoveEntry("1", StatusReleased, "train", "")
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "in_test (测试中)") {
		t.Fatalf("in_test → released: %v", err)
	}
	// The failed transaction rolled back the first move too.
	s.View(func(tx *Tx) error {
		if _, err := tx.Entry("1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("entry of a failed transaction: %v", err)
		}
		return nil
	})
	if err := s.Update(func(tx *Tx) error {
		if err := tx.PutEntry(&Entry{ID: "1", Status: StatusDevDone, Release: "2026-12-03"}); err != nil {
			return err
		}
		_, err := tx.MoveEntry("1", StatusInTest, "train", "cut")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.View(func(tx *Tx) error {
		log, _ := tx.AuditLog("2026-12-03")
		if len(log) != 1 || log[0].Old != "开发完成" || log[0].New != "测试中" || log[0].Detail != "cut" {
			t.Errorf("audit by release = %+v", log)
		}
		return nil
	})
}
