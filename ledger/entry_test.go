package ledger

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestColumnsAreTheSeeds checks the 24 headers, in order, exactly as the
// seed's sheet writes them (ledger.md), with their English field names.
func TestColumnsAreTheSeeds(t *testing.T) {
	want := []Column{
		{"编号", "id"}, {"系统", "system"}, {"子系统", "subsystem"}, {"所属模块", "module"},
		{"涉及功能", "function"}, {"问题分类", "category"}, {"问题描述", "description"},
		{"是否有SQL脚本", "has_sql"}, {"期望解决方案", "expected_solution"}, {"技术实现方案", "tech_solution"},
		{"提出人", "proposer"}, {"提出日期", "proposed_on"}, {"优先级", "priority"}, {"问题状态", "status"},
		{"业务部门反馈", "business_feedback"}, {"解决情况备注", "resolution_note"}, {"计划开始时间", "planned_start"},
		{"计划完成时间", "planned_finish"}, {"技术负责人", "tech_lead"}, {"测试计划  开始时间", "test_start"},
		{"测试计划完成时间", "test_finish"}, {"测试负责人", "test_lead"}, {"测试意见", "test_opinion"},
		{"关联系统", "related_systems"},
	}
	if !reflect.DeepEqual(Columns[:], want) {
		t.Errorf("Columns = %v\nwant     %v", Columns, want)
	}
	if RequirementDocColumn != (Column{"需求文档", "requirement_doc"}) {
		t.Errorf("RequirementDocColumn = %v", RequirementDocColumn)
	}
	if got := FieldNames(); len(got) != 25 || got[24] != "requirement_doc" {
		t.Errorf("FieldNames = %v", got)
	}
}

func fullEntry() *Entry {
	return &Entry{
		ID: "20", System: "小贷", Subsystem: "账务", Module: "接口", Function: "生成文件", Category: "新功能",
		Description: "第一行\n第二行, \"引号\"", HasSQL: No, ExpectedSolution: "期望", TechSolution: "可以修改",
		Proposer: "琳琳", ProposedOn: Date{2019, 3, 1}, Priority: Medium, Status: StatusInProgress,
		BusinessFeedback: "反馈", ResolutionNote: "备注", PlannedStart: Date{2019, 3, 1}, PlannedFinish: Date{2019, 3, 7},
		TechLead: "琳琳", TestStart: Date{2019, 3, 8}, TestFinish: Date{2019, 3, 9}, TestLead: "小周",
		TestOpinion: "通过", RelatedSystems: "核心", RequirementDoc: "docs/req-20.docx", StatusText: "处理中",
		ReleasedOn: Date{2019, 3, 14}, Release: "2019-03-14", Extras: []Extra{{"", "无表头"}, {"备注", "x"}},
	}
}

// TestEntryJSONNames checks the JSON keys are the English names of
// ledger.md and that dates are YYYY-MM-DD.
func TestEntryJSONNames(t *testing.T) {
	e := fullEntry()
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := append(FieldNames(), "status_text", "released_on", "release", "extras")
	sort.Strings(want)
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("JSON keys = %v\nwant        %v", keys, want)
	}
	for k, v := range map[string]any{"proposed_on": "2019-03-01", "planned_finish": "2019-03-07", "has_sql": "no",
		"priority": "medium", "status": "in_progress", "id": "20"} {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	var back Entry
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(e) {
		t.Errorf("JSON round trip:\n got %+v\nwant %+v", back, *e)
	}
	// Unset values are empty strings, not zero-ish values.
	raw, _ = json.Marshal(&Entry{ID: "1"})
	for _, k := range []string{`"proposed_on":""`, `"has_sql":""`, `"priority":""`, `"status":""`} {
		if !strings.Contains(string(raw), k) {
			t.Errorf("empty entry JSON %s lacks %s", raw, k)
		}
	}
}

func TestEntryGetSet(t *testing.T) {
	cases := []struct {
		field, in, want string
	}{
		{"id", " 21 ", "21"},
		{"system", "核心", "核心"},
		{"subsystem", "存款", "存款"},
		{"module", "利率", "利率"},
		{"function", "利率调整", "利率调整"},
		{"category", "缺陷", "缺陷"},
		{"description", "a,b\n\"c\"", "a,b\n\"c\""},
		{"has_sql", "是", "是"},
		{"has_sql", "Y", "是"},
		{"has_sql", "", ""},
		{"expected_solution", "x", "x"},
		{"tech_solution", "y", "y"},
		{"proposer", "陈静", "陈静"},
		{"proposed_on", "2019年3月1日", "2019-03-01"},
		{"priority", "high", "高"},
		{"status", "待提测", "待提测"},
		{"status", "dev_done", "开发完成"},
		{"business_feedback", "ok", "ok"},
		{"resolution_note", "done", "done"},
		{"planned_start", "2019/3/1", "2019-03-01"},
		{"planned_finish", "43525", "2019-03-01"},
		{"tech_lead", "王工", "王工"},
		{"test_start", "2019-03-08", "2019-03-08"},
		{"test_finish", "", ""},
		{"test_lead", "小周", "小周"},
		{"test_opinion", "通过", "通过"},
		{"related_systems", "小贷, 网银", "小贷, 网银"},
		{"requirement_doc", "https://wiki.example.com/req/1", "https://wiki.example.com/req/1"},
	}
	for _, tc := range cases {
		t.Run(tc.field+"="+tc.in, func(t *testing.T) {
			e := fullEntry()
			if err := e.Set(tc.field, tc.in, nil); err != nil {
				t.Fatalf("Set: %v", err)
			}
			got, err := e.Get(tc.field)
			if err != nil || got != tc.want {
				t.Errorf("Get = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	bad := []struct{ field, in, msg string }{
		{"id", "  ", "must not be empty"},
		{"has_sql", "maybe", "is not 是 or 否"},
		{"priority", "urgent!", "is not 高, 中 or 低"},
		{"status", "搁置", "is not a known status"},
		{"proposed_on", "2019/2/30", "no day 30"},
		{"planned_start", "tomorrow", "is not a date"},
		{"nope", "x", `unknown field "nope"`},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.field, func(t *testing.T) {
			e := fullEntry()
			before := *e
			err := e.Set(tc.field, tc.in, nil)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Set(%q, %q) = %v, want an error saying %q", tc.field, tc.in, err, tc.msg)
			}
			if tc.field != "nope" && !e.Equal(&before) {
				t.Errorf("a refused Set changed the entry")
			}
		})
	}
	if _, err := fullEntry().Get("nope"); err == nil {
		t.Error("Get of an unknown field succeeded")
	}
}

func TestEntryEqual(t *testing.T) {
	a, b := fullEntry(), fullEntry()
	if !a.Equal(b) {
		t.Fatal("equal entries differ")
	}
	b.Extras[1].Value = "y"
	if a.Equal(b) {
		t.Error("different extra values are equal")
	}
	b = fullEntry()
	b.Extras = b.Extras[:1]
	if a.Equal(b) {
		t.Error("different extra counts are equal")
	}
	b = fullEntry()
	b.TestFinish = Date{}
	if a.Equal(b) {
		t.Error("different dates are equal")
	}
	b = fullEntry()
	b.Extras = nil
	c := fullEntry()
	c.Extras = []Extra{}
	if !b.Equal(c) {
		t.Error("nil and empty extras differ")
	}
}
