package ledger

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Date is a calendar day without time or zone. Its zero value means "no
// date". It marshals to JSON as "YYYY-MM-DD" (or "" when unset).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar day of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d.Year == 0 && d.Month == 0 && d.Day == 0 }

// String formats the date as YYYY-MM-DD, or "" when unset.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Time returns midnight of the day in loc.
func (d Date) Time(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// ParseISODate parses YYYY-MM-DD strictly.
func ParseISODate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date written YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; it accepts every
// form ParseDate accepts.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// YesNo is a 是/否 column. The zero value is "unset".
type YesNo int8

const (
	YesNoUnset YesNo = iota
	Yes
	No
)

// Bool reports whether the value is Yes.
func (y YesNo) Bool() bool { return y == Yes }

// Chinese returns 是, 否 or "".
func (y YesNo) Chinese() string {
	switch y {
	case Yes:
		return "是"
	case No:
		return "否"
	}
	return ""
}

func (y YesNo) String() string {
	switch y {
	case Yes:
		return "yes"
	case No:
		return "no"
	}
	return ""
}

// MarshalText writes "yes", "no" or "".
func (y YesNo) MarshalText() ([]byte, error) { return []byte(y.String()), nil }

// UnmarshalText accepts every form ParseYesNo accepts.
func (y *YesNo) UnmarshalText(b []byte) error {
	v, err := ParseYesNo(string(b))
	if err != nil {
		return err
	}
	*y = v
	return nil
}

// Priority is a 高/中/低 column. The zero value is "unset".
type Priority int8

const (
	PriorityUnset Priority = iota
	High
	Medium
	Low
)

func (p Priority) String() string {
	switch p {
	case High:
		return "high"
	case Medium:
		return "medium"
	case Low:
		return "low"
	}
	return ""
}

// Chinese returns 高, 中, 低 or "".
func (p Priority) Chinese() string {
	switch p {
	case High:
		return "高"
	case Medium:
		return "中"
	case Low:
		return "低"
	}
	return ""
}

// MarshalText writes "high", "medium", "low" or "".
func (p Priority) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText accepts every form ParsePriority accepts.
func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Extra is a column of the team's sheet that fabu does not know; it is kept
// with the entry and exported back in its place.
type Extra struct {
	Header string `json:"header"`
	Value  string `json:"value"`
}

// Entry is one row of the ledger: all 24 columns of the team's sheet, typed
// where the column is typed, plus the requirement document and any extra
// columns. JSON names are the English field names of ledger.md.
type Entry struct {
	ID               string   `json:"id"`                // 编号
	System           string   `json:"system"`            // 系统
	Subsystem        string   `json:"subsystem"`         // 子系统
	Module           string   `json:"module"`            // 所属模块
	Function         string   `json:"function"`          // 涉及功能
	Category         string   `json:"category"`          // 问题分类
	Description      string   `json:"description"`       // 问题描述
	HasSQL           YesNo    `json:"has_sql"`           // 是否有SQL脚本
	ExpectedSolution string   `json:"expected_solution"` // 期望解决方案
	TechSolution     string   `json:"tech_solution"`     // 技术实现方案
	Proposer         string   `json:"proposer"`          // 提出人
	ProposedOn       Date     `json:"proposed_on"`       // 提出日期
	Priority         Priority `json:"priority"`          // 优先级
	Status           Status   `json:"status"`            // 问题状态
	BusinessFeedback string   `json:"business_feedback"` // 业务部门反馈
	ResolutionNote   string   `json:"resolution_note"`   // 解决情况备注
	PlannedStart     Date     `json:"planned_start"`     // 计划开始时间
	PlannedFinish    Date     `json:"planned_finish"`    // 计划完成时间
	TechLead         string   `json:"tech_lead"`         // 技术负责人
	TestStart        Date     `json:"test_start"`        // 测试计划开始时间
	TestFinish       Date     `json:"test_finish"`       // 测试计划完成时间
	TestLead         string   `json:"test_lead"`         // 测试负责人
	TestOpinion      string   `json:"test_opinion"`      // 测试意见
	RelatedSystems   string   `json:"related_systems"`   // 关联系统

	// RequirementDoc is a link or path to the entry's requirement document
	// (需求文档).
	RequirementDoc string `json:"requirement_doc"`
	// StatusText is the word the sheet used for the status (e.g. 待提测),
	// kept so an export gives the team's own word back while the status
	// has not changed.
	StatusText string `json:"status_text,omitempty"`
	// ReleasedOn is the day ops confirmed the release of this entry.
	ReleasedOn Date `json:"released_on"`
	// Release is the release (YYYY-MM-DD) that holds the entry, if any.
	Release string `json:"release,omitempty"`
	// Extras are the sheet's unknown columns, in sheet order.
	Extras []Extra `json:"extras,omitempty"`
}

// Column describes one of the 24 standard columns.
type Column struct {
	Header string // Chinese header exactly as in the team's sheet
	Field  string // English field name (JSON, CLI, --lang en header)
}

// Columns are the 24 columns in the seed's order.
var Columns = [...]Column{
	{"编号", "id"},
	{"系统", "system"},
	{"子系统", "subsystem"},
	{"所属模块", "module"},
	{"涉及功能", "function"},
	{"问题分类", "category"},
	{"问题描述", "description"},
	{"是否有SQL脚本", "has_sql"},
	{"期望解决方案", "expected_solution"},
	{"技术实现方案", "tech_solution"},
	{"提出人", "proposer"},
	{"提出日期", "proposed_on"},
	{"优先级", "priority"},
	{"问题状态", "status"},
	{"业务部门反馈", "business_feedback"},
	{"解决情况备注", "resolution_note"},
	{"计划开始时间", "planned_start"},
	{"计划完成时间", "planned_finish"},
	{"技术负责人", "tech_lead"},
	{"测试计划  开始时间", "test_start"},
	{"测试计划完成时间", "test_finish"},
	{"测试负责人", "test_lead"},
	{"测试意见", "test_opinion"},
	{"关联系统", "related_systems"},
}

// RequirementDocColumn is the header of the extra column fabu adds for the
// requirement document on export (and reads on import).
var RequirementDocColumn = Column{"需求文档", "requirement_doc"}

// FieldNames lists the field names accepted by Get and Set.
func FieldNames() []string {
	out := make([]string, 0, len(Columns)+1)
	for _, c := range Columns {
		out = append(out, c.Field)
	}
	return append(out, RequirementDocColumn.Field)
}

// Get returns the text of field (an English field name) as the sheet
// writes it: dates as YYYY-MM-DD, 是/否, 高/中/低, the status word.
func (e *Entry) Get(field string) (string, error) {
	switch field {
	case "id":
		return e.ID, nil
	case "system":
		return e.System, nil
	case "subsystem":
		return e.Subsystem, nil
	case "module":
		return e.Module, nil
	case "function":
		return e.Function, nil
	case "category":
		return e.Category, nil
	case "description":
		return e.Description, nil
	case "has_sql":
		return e.HasSQL.Chinese(), nil
	case "expected_solution":
		return e.ExpectedSolution, nil
	case "tech_solution":
		return e.TechSolution, nil
	case "proposer":
		return e.Proposer, nil
	case "proposed_on":
		return e.ProposedOn.String(), nil
	case "priority":
		return e.Priority.Chinese(), nil
	case "status":
		return e.StatusWord(), nil
	case "business_feedback":
		return e.BusinessFeedback, nil
	case "resolution_note":
		return e.ResolutionNote, nil
	case "planned_start":
		return e.PlannedStart.String(), nil
	case "planned_finish":
		return e.PlannedFinish.String(), nil
	case "tech_lead":
		return e.TechLead, nil
	case "test_start":
		return e.TestStart.String(), nil
	case "test_finish":
		return e.TestFinish.String(), nil
	case "test_lead":
		return e.TestLead, nil
	case "test_opinion":
		return e.TestOpinion, nil
	case "related_systems":
		return e.RelatedSystems, nil
	case "requirement_doc":
		return e.RequirementDoc, nil
	}
	return "", fmt.Errorf("unknown field %q (known: %s)", field, strings.Join(FieldNames(), ", "))
}

// StatusWord is the status as the sheet should show it: the team's own
// word when it still means the current status, else the canonical Chinese.
func (e *Entry) StatusWord() string {
	if e.StatusText != "" {
		if s, ok := DefaultStatusWords.Lookup(e.StatusText); ok && s == e.Status {
			return e.StatusText
		}
	}
	return e.Status.Chinese()
}

// Set parses value for field and stores it, the way an import reads a cell.
// Setting "status" does not check the lifecycle; use SetStatus for that.
// words may be nil for the default status words.
func (e *Entry) Set(field, value string, words *StatusWords) error {
	if words == nil {
		words = DefaultStatusWords
	}
	var err error
	switch field {
	case "id":
		v := strings.TrimSpace(value)
		if v == "" {
			return fmt.Errorf("编号 (id) must not be empty")
		}
		e.ID = v
	case "system":
		e.System = value
	case "subsystem":
		e.Subsystem = value
	case "module":
		e.Module = value
	case "function":
		e.Function = value
	case "category":
		e.Category = value
	case "description":
		e.Description = value
	case "has_sql":
		err = setParsed(&e.HasSQL, value, ParseYesNo)
	case "expected_solution":
		e.ExpectedSolution = value
	case "tech_solution":
		e.TechSolution = value
	case "proposer":
		e.Proposer = value
	case "proposed_on":
		err = setParsed(&e.ProposedOn, value, ParseDate)
	case "priority":
		err = setParsed(&e.Priority, value, ParsePriority)
	case "status":
		var s Status
		s, err = words.Parse(value)
		if err == nil {
			e.Status = s
			e.StatusText = strings.TrimSpace(value)
			if _, isCanon := statusByName[e.StatusText]; isCanon {
				e.StatusText = ""
			}
		}
	case "business_feedback":
		e.BusinessFeedback = value
	case "resolution_note":
		e.ResolutionNote = value
	case "planned_start":
		err = setParsed(&e.PlannedStart, value, ParseDate)
	case "planned_finish":
		err = setParsed(&e.PlannedFinish, value, ParseDate)
	case "tech_lead":
		e.TechLead = value
	case "test_start":
		err = setParsed(&e.TestStart, value, ParseDate)
	case "test_finish":
		err = setParsed(&e.TestFinish, value, ParseDate)
	case "test_lead":
		e.TestLead = value
	case "test_opinion":
		e.TestOpinion = value
	case "related_systems":
		e.RelatedSystems = value
	case "requirement_doc":
		e.RequirementDoc = value
	default:
		return fmt.Errorf("unknown field %q (known: %s)", field, strings.Join(FieldNames(), ", "))
	}
	return err
}

// setParsed stores parse(value) in *dst, leaving *dst alone when value
// does not parse (a refused Set must not clear the field).
func setParsed[T any](dst *T, value string, parse func(string) (T, error)) error {
	v, err := parse(value)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

// Equal reports whether two entries hold the same data.
func (e *Entry) Equal(o *Entry) bool {
	if len(e.Extras) != len(o.Extras) {
		return false
	}
	for i := range e.Extras {
		if e.Extras[i] != o.Extras[i] {
			return false
		}
	}
	a, b := *e, *o
	a.Extras, b.Extras = nil, nil
	return reflect.DeepEqual(a, b)
}
