package sheet

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/xuri/excelize/v2"
)

// xlsxTable reads one worksheet with excelize's streaming row iterator in
// a goroutine, raw cell values (date cells give their serial number), and
// fills merged ranges with their top-left value.
type xlsxTable struct {
	f        *excelize.File
	sheet    string
	p        *pipe
	date1904 bool
	notes    []string
	err      error
	done     bool

	mergesReady chan struct{}
	merges      []mergeRange // sorted by top row
	mergeErr    error
	mi          int          // next merge to activate
	active      []mergeRange // merges covering the current row
	topLeft     map[mergeRange]string
}

var rawValues = excelize.Options{RawCellValue: true}

func openXLSX(ctx context.Context, name string, data []byte, want string) (table, error) {
	if !hasWorkbookPart(data) {
		return nil, &FileError{File: name, Msg: "this zip file is not an Excel workbook: it has no worksheets (is it a Word or other Office file?)"}
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return nil, &FileError{File: name, Msg: "this is not a readable .xlsx workbook (save it from Excel as .xlsx again)", Err: err}
	}
	t := &xlsxTable{f: f, mergesReady: make(chan struct{}), topLeft: map[mergeRange]string{}}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		f.Close()
		return nil, &FileError{File: name, Msg: "this zip file is not an Excel workbook: it has no worksheets"}
	}
	switch {
	case want != "":
		for _, s := range sheets {
			if s == want {
				t.sheet = s
			}
		}
		if t.sheet == "" {
			f.Close()
			return nil, &FileError{File: name, Msg: fmt.Sprintf("the workbook has no sheet %q (its sheets: %s)", want, strings.Join(sheets, ", "))}
		}
	case len(sheets) == 1:
		t.sheet = sheets[0]
	default:
		for _, s := range sheets {
			ok, err := sheetHasHeader(f, s)
			if err != nil {
				f.Close()
				return nil, &FileError{File: name, Sheet: s, Msg: "cannot read the sheet", Err: err}
			}
			if ok {
				t.sheet = s
				break
			}
		}
		if t.sheet == "" {
			f.Close()
			return nil, &FileError{File: name, Msg: fmt.Sprintf("none of the sheets (%s) has a ledger header row (编号, 系统, 子系统, …) in its first %d rows; choose the sheet with --sheet or add the header row",
				strings.Join(sheets, ", "), headerScanRows)}
		}
	}
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		t.date1904 = *props.Date1904
	}
	go func() {
		defer close(t.mergesReady)
		t.merges, t.mergeErr = sheetMerges(data, t.sheet)
		sort.SliceStable(t.merges, func(i, j int) bool { return t.merges[i].r1 < t.merges[j].r1 })
	}()
	rows, err := f.Rows(t.sheet)
	if err != nil {
		f.Close()
		return nil, &FileError{File: name, Sheet: t.sheet, Msg: "cannot read the sheet", Err: err}
	}
	t.p = startPipe(ctx, func(emit func(int, []string) bool) error {
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
			cells, err := rows.Columns(rawValues)
			if err != nil {
				return fmt.Errorf("row %d: %w", n, err)
			}
			for i, c := range cells {
				if strings.Contains(c, "\r\n") {
					cells[i] = strings.ReplaceAll(c, "\r\n", "\n")
				}
			}
			if !emit(n, cells) {
				return nil
			}
		}
		return rows.Error()
	})
	return t, nil
}

// sheetHasHeader reports whether one of the first rows of sheet is a
// ledger header.
func sheetHasHeader(f *excelize.File, sheet string) (bool, error) {
	rows, err := f.Rows(sheet)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	for i := 0; i < headerScanRows && rows.Next(); i++ {
		cells, err := rows.Columns(rawValues)
		if err != nil {
			return false, err
		}
		if knownHeaders(cells) >= minKnownHeaders {
			return true, nil
		}
	}
	return false, rows.Error()
}

func (t *xlsxTable) Name() string   { return t.sheet }
func (t *xlsxTable) Date1904() bool { return t.date1904 }
func (t *xlsxTable) Err() error     { return t.err }

func (t *xlsxTable) Notes() []string {
	<-t.mergesReady
	if t.mergeErr != nil {
		return append(t.notes, "merged cells were not read: "+t.mergeErr.Error())
	}
	return t.notes
}

func (t *xlsxTable) Next() (int, []string, bool) {
	if t.done {
		return 0, nil, false
	}
	<-t.mergesReady
	r, ok := t.p.next()
	if !ok {
		t.done = true
		t.err = t.p.err
		return 0, nil, false
	}
	if len(t.merges) > 0 {
		r.cells = t.fillMerged(r.n, r.cells)
	}
	return r.n, r.cells, true
}

// fillMerged gives every cell of a merged range the range's top-left value
// (Excel keeps the value only there).
func (t *xlsxTable) fillMerged(row int, cells []string) []string {
	for t.mi < len(t.merges) && t.merges[t.mi].r1 <= row {
		if t.merges[t.mi].r2 >= row {
			t.active = append(t.active, t.merges[t.mi])
		}
		t.mi++
	}
	keep := t.active[:0]
	for _, m := range t.active {
		if m.r2 < row {
			delete(t.topLeft, m)
			continue
		}
		keep = append(keep, m)
		if m.r1 == row {
			v := ""
			if m.c1-1 < len(cells) {
				v = cells[m.c1-1]
			}
			t.topLeft[m] = v
		}
		v := t.topLeft[m]
		for len(cells) < m.c2 {
			cells = append(cells, "")
		}
		for c := m.c1; c <= m.c2; c++ {
			cells[c-1] = v
		}
	}
	t.active = keep
	return cells
}

func (t *xlsxTable) Close() error {
	t.p.close()
	<-t.mergesReady
	return t.f.Close()
}
