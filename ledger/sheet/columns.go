package sheet

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/fabu-team/fabu/ledger"
	"github.com/xuri/excelize/v2"
)

// kind is how a column's cells are read.
type kind int8

const (
	kindText kind = iota
	kindID
	kindDate
	kindYesNo
	kindPriority
	kindStatus
)

// field is one column fabu knows: the 24 standard columns and 需求文档.
type field struct {
	Header string // Chinese header as the seed writes it
	Name   string // English field name
	Kind   kind
}

// fields are the known columns in export order.
var fields = func() []field {
	out := make([]field, 0, len(ledger.Columns)+1)
	for _, c := range ledger.Columns {
		out = append(out, field{Header: c.Header, Name: c.Field, Kind: kindOfField(c.Field)})
	}
	return append(out, field{Header: ledger.RequirementDocColumn.Header, Name: ledger.RequirementDocColumn.Field})
}()

func kindOfField(name string) kind {
	switch name {
	case "id":
		return kindID
	case "proposed_on", "planned_start", "planned_finish", "test_start", "test_finish":
		return kindDate
	case "has_sql":
		return kindYesNo
	case "priority":
		return kindPriority
	case "status":
		return kindStatus
	}
	return kindText
}

// expected says what a cell of the kind should hold, for problem reports.
func (k kind) expected() string {
	switch k {
	case kindID:
		return "the entry's ledger number (编号), once per sheet"
	case kindDate:
		return "a date such as 2019/3/1, 2019-03-01 or 2019年3月1日, or an Excel date cell"
	case kindYesNo:
		return "是 or 否"
	case kindPriority:
		return "高, 中 or 低"
	case kindStatus:
		return "a status word such as 待处理, 处理中, 开发完成, 测试中, 测试通过, 测试不通过, 待发版, 已上线 or 已关闭 (more under ledger.status_aliases)"
	}
	return "text"
}

// headerIndex maps a normalised header (Chinese or English) to its field.
var headerIndex = func() map[string]int {
	m := map[string]int{}
	for i, f := range fields {
		m[normHeader(f.Header)] = i
		m[normHeader(f.Name)] = i
	}
	return m
}()

// normHeader removes all whitespace (the seed writes 测试计划  开始时间),
// underscores and hyphens, and folds case, so 测试计划开始时间, test_start,
// "Test Start" and 是否有sql脚本 all match.
func normHeader(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsSpace(r) || r == '_' || r == '-' || r == '\u200b' || r == '\ufeff' {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// lookupHeader returns the field a header names, or -1.
func lookupHeader(h string) int {
	if i, ok := headerIndex[normHeader(h)]; ok {
		return i
	}
	return -1
}

// column is one column of the sheet being read.
type column struct {
	Index  int    // 0-based
	Letter string // as Excel shows it, e.g. "L"
	Header string // as the sheet writes it
	Field  int    // index into fields, or -1 for an extra column
	Filled int    // data cells seen (extras)
}

// display is the header for messages.
func (c *column) display() string {
	if strings.TrimSpace(c.Header) == "" {
		return "(no header)"
	}
	return c.Header
}

// header is the sheet's header row and its columns.
type header struct {
	Row    int // 1-based
	Cols   []*column
	ID     *column
	extraN map[string]int // extra columns per header
}

// minKnownHeaders is how many ledger headers a row needs to be the header.
const minKnownHeaders = 3

// headerScanRows is how far down the header row is looked for.
const headerScanRows = 30

// knownHeaders counts the cells of a row that name a ledger column.
func knownHeaders(cells []string) int {
	n := 0
	for _, c := range cells {
		if lookupHeader(c) >= 0 {
			n++
		}
	}
	return n
}

// newHeader builds the header from the header row's cells. A ledger column
// named twice is an error.
func newHeader(row int, cells []string) (*header, error) {
	h := &header{Row: row, extraN: map[string]int{}}
	seen := map[int]*column{}
	for i, c := range cells {
		col := &column{Index: i, Letter: colLetter(i), Header: c, Field: lookupHeader(c)}
		if col.Field >= 0 {
			if prev, dup := seen[col.Field]; dup {
				return nil, fmt.Errorf("the header row %d names column %s (%s) twice: in %s (%q) and in %s (%q); keep one",
					row, fields[col.Field].Header, fields[col.Field].Name, prev.Letter, prev.Header, col.Letter, col.Header)
			}
			seen[col.Field] = col
			if fields[col.Field].Kind == kindID {
				h.ID = col
			}
		} else {
			h.extraN[c]++
		}
		h.Cols = append(h.Cols, col)
	}
	if h.ID == nil {
		found := make([]string, 0, len(seen))
		for _, c := range h.Cols {
			if c.Field >= 0 {
				found = append(found, c.display())
			}
		}
		return nil, fmt.Errorf("the header row %d (%s) has no 编号 (id) column; add a 编号 column with each entry's ledger number", row, strings.Join(found, ", "))
	}
	return h, nil
}

// widen adds headerless extra columns for cells right of the header row.
func (h *header) widen(n int) {
	for i := len(h.Cols); i < n; i++ {
		h.Cols = append(h.Cols, &column{Index: i, Letter: colLetter(i), Field: -1})
		h.extraN[""]++
	}
}

func colLetter(i int) string {
	s, err := excelize.ColumnNumberToName(i + 1)
	if err != nil {
		return fmt.Sprintf("#%d", i+1)
	}
	return s
}
