package train

import (
	"fmt"

	"github.com/fabu-team/fabu/ledger"
	"github.com/xuri/excelize/v2"
)

// xlsxContentType is the MIME type of an .xlsx attachment.
const xlsxContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// checklistColumns are the ledger columns testers need, by field name.
var checklistColumns = []string{"id", "system", "subsystem", "module", "function", "category", "description",
	"has_sql", "priority", "tech_lead", "test_lead", "test_start", "test_finish", "requirement_doc", "related_systems"}

var checklistHeadersEN = map[string]string{
	"id": "ID", "system": "System", "subsystem": "Subsystem", "module": "Module", "function": "Function",
	"category": "Category", "description": "Description", "has_sql": "SQL scripts", "priority": "Priority",
	"tech_lead": "Tech lead", "test_lead": "Test lead", "test_start": "Test start", "test_finish": "Test finish",
	"requirement_doc": "Requirement document", "related_systems": "Related systems",
}

// ChecklistSheet is the sheet name of the checklist in a language.
func ChecklistSheet(lang string) string {
	if lang == "en" {
		return "Test list"
	}
	return "提测清单"
}

// ChecklistHeaders returns the header row of the checklist: the ledger
// columns, one result column per environment, and the test opinion.
func ChecklistHeaders(lang string, envs []string) []string {
	var out []string
	for _, f := range checklistColumns {
		if lang == "en" {
			out = append(out, checklistHeadersEN[f])
			continue
		}
		h := f
		for _, c := range ledger.Columns {
			if c.Field == f {
				h = c.Header
			}
		}
		if f == ledger.RequirementDocColumn.Field {
			h = ledger.RequirementDocColumn.Header
		}
		if f == "test_start" {
			h = "测试计划开始时间" // the seed's header has stray spaces; the checklist does not
		}
		out = append(out, h)
	}
	for _, env := range envs {
		if lang == "en" {
			out = append(out, env+" result")
		} else {
			out = append(out, env+" 测试结果")
		}
	}
	if lang == "en" {
		return append(out, "Test opinion")
	}
	return append(out, "测试意见")
}

// Checklist builds the .xlsx checklist of a test list: one row per entry
// with the ledger columns testers need, an empty result column per
// environment (with a pass/fail drop-down) and an empty test opinion. The
// rows are streamed (excelize StreamWriter); the drop-down and the filter
// are set on the sheet before streaming, so they are kept.
func Checklist(lang string, envs []string, entries []*ledger.Entry) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	sheet := ChecklistSheet(lang)
	wrap := func(err error) error { return fmt.Errorf("checklist: %w", err) }
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, wrap(err)
	}
	headers := ChecklistHeaders(lang, envs)
	last := len(entries) + 1
	lastCol, _ := excelize.ColumnNumberToName(len(headers))
	firstRes, _ := excelize.ColumnNumberToName(len(checklistColumns) + 1)
	lastRes, _ := excelize.ColumnNumberToName(len(checklistColumns) + len(envs))
	if len(envs) > 0 && last > 1 {
		dv := excelize.NewDataValidation(true)
		dv.SetSqref(fmt.Sprintf("%s2:%s%d", firstRes, lastRes, last))
		pass, fail := "通过", "不通过"
		if lang == "en" {
			pass, fail = "pass", "fail"
		}
		if err := dv.SetDropList([]string{pass, fail}); err != nil {
			return nil, wrap(err)
		}
		if err := f.AddDataValidation(sheet, dv); err != nil {
			return nil, wrap(err)
		}
	}
	if err := f.AutoFilter(sheet, fmt.Sprintf("A1:%s%d", lastCol, last), nil); err != nil {
		return nil, wrap(err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Color: []string{"DDE3EA"}, Pattern: 1}})
	if err != nil {
		return nil, wrap(err)
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, wrap(err)
	}
	widths := []float64{8, 12, 12, 12, 20, 10, 40, 10, 8, 10, 10, 12, 12, 30, 12}
	for i, w := range widths {
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return nil, wrap(err)
		}
	}
	if err := sw.SetColWidth(len(checklistColumns)+1, len(headers), 14); err != nil {
		return nil, wrap(err)
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, wrap(err)
	}
	hrow := make([]any, len(headers))
	for i, h := range headers {
		hrow[i] = excelize.Cell{StyleID: bold, Value: h}
	}
	if err := sw.SetRow("A1", hrow); err != nil {
		return nil, wrap(err)
	}
	row := make([]any, len(headers))
	for i, e := range entries {
		for j, field := range checklistColumns {
			v, err := e.Get(field)
			if err != nil {
				return nil, fmt.Errorf("checklist: entry %s: %w", e.ID, err)
			}
			if lang == "en" {
				switch field {
				case "has_sql":
					v = e.HasSQL.String()
				case "priority":
					v = e.Priority.String()
				}
			}
			row[j] = v
		}
		for j := len(checklistColumns); j < len(headers); j++ {
			row[j] = nil
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			return nil, fmt.Errorf("checklist: row %d: %w", i+2, err)
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, wrap(err)
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, wrap(err)
	}
	return buf.Bytes(), nil
}

// checklistName is the attachment's file name.
func checklistName(lang, release string) string {
	if lang == "en" {
		return "test-list-" + release + ".xlsx"
	}
	return "提测清单-" + release + ".xlsx"
}
