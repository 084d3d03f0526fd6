package sheet

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/xuri/excelize/v2"
)

// xlsxTable reads one worksheet in a goroutine, raw cell values (date
// cells give their serial number), and fills merged ranges with their
// top-left value. excelize opens the workbook; the rows are read by the
// fast reader (sheetScan), which gives exactly what excelize's streaming
// row iterator gives; where it cannot vouch for that it stops before the
// row concerned, says why in the log, and excelize's iterator reads from
// that row on.
type xlsxTable struct {
	f        *excelize.File
	sheet    string
	p        *pipe
	date1904 bool
	notes    []string
	err      error
	done     bool
	// fallback is why excelize read (some of) the rows, "" when the fast
	// reader read them all; set by the producer before the rows end.
	fallback string

	mergesReady chan struct{}
	merges      []mergeRange // sorted by top row
	mergeErr    error
	mi          int          // next merge to activate
	active      []mergeRange // merges covering the current row
	topLeft     map[mergeRange]string
}

var rawValues = excelize.Options{RawCellValue: true}

func openXLSX(ctx context.Context, name string, data []byte, want string, log *slog.Logger) (table, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !hasWorkbookPart(data) {
		return nil, &FileError{File: name, Msg: "this zip file is not an Excel workbook: it has no worksheets (is it a Word or other Office file?)"}
	}
	// The merged ranges are read from the zip entry while excelize opens
	// the workbook, for the sheet it most likely is: the one asked for, or
	// the first.
	guess := want
	if guess == "" {
		guess = firstSheetName(data)
	}
	early := startMerges(data, guess)
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return nil, &FileError{File: name, Msg: "this is not a readable .xlsx workbook (save it from Excel as .xlsx again)", Err: err}
	}
	t := &xlsxTable{f: f, mergesReady: make(chan struct{}), topLeft: map[mergeRange]string{}}
	parts := newXLSXParts(f, data)
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
			ok, err := sheetHasHeader(f, parts, s)
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
	merges := early
	if t.sheet != guess {
		merges = startMerges(data, t.sheet)
	}
	go func() {
		defer close(t.mergesReady)
		m := <-merges
		t.merges, t.mergeErr = m.ranges, m.err
		sort.SliceStable(t.merges, func(i, j int) bool { return t.merges[i].r1 < t.merges[j].r1 })
	}()
	rows, err := f.Rows(t.sheet)
	if err != nil {
		f.Close()
		return nil, &FileError{File: name, Sheet: t.sheet, Msg: "cannot read the sheet", Err: err}
	}
	t.p = startPipe(ctx, func(emit func(int, []string) bool) error {
		defer rows.Close()
		var err error
		t.fallback, err = sheetRows(parts, rows, t.sheet, emit)
		if t.fallback != "" {
			log.Info("ledger import: the fast .xlsx reader stopped; excelize reads the rest", "file", name, "sheet", t.sheet,
				"reason", t.fallback)
		}
		return err
	})
	return t, nil
}

// sheetRows emits the rows of sheet: from the fast reader, then, if it
// stops before the end, from excelize's iterator rows (opened on the
// sheet, not yet read) after the rows it emitted. fallback says why
// excelize read, "" when it did not.
func sheetRows(parts *xlsxParts, rows *excelize.Rows, sheet string, emit func(int, []string) bool) (fallback string, err error) {
	n, stopped, why := scanRows(parts, sheet, emit)
	if why == nil || stopped {
		return "", nil
	}
	return fmt.Sprintf("from row %d: %v", n+1, why), excelizeRows(rows, n, emit)
}

// scanRows emits the rows the fast reader reads: n is the number of the
// last one, stopped is true when emit asked to stop, why is set when the
// fast reader stopped before the end.
func scanRows(parts *xlsxParts, sheet string, emit func(int, []string) bool) (n int, stopped bool, why *scanError) {
	s, closeScan, why := parts.openSheet(sheet)
	if why != nil {
		return 0, false, why
	}
	defer closeScan()
	for {
		row, cells, ok, why := s.next()
		if !ok {
			return n, false, why
		}
		n = row
		if !emit(row, cells) {
			return n, true, nil
		}
	}
}

// excelizeRows emits the rows of excelize's iterator after the first skip
// (which the fast reader emitted).
func excelizeRows(rows *excelize.Rows, skip int, emit func(int, []string) bool) error {
	n := 0
	for rows.Next() {
		n++
		cells, err := rows.Columns(rawValues)
		if n <= skip {
			if err != nil {
				return fmt.Errorf("row %d: excelize cannot read the row the fast reader read: %w", n, err)
			}
			continue
		}
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
	if n < skip {
		return fmt.Errorf("excelize reads %d rows where the fast reader read %d", n, skip)
	}
	return rows.Error()
}

// sheetHasHeader reports whether one of the first rows of sheet is a
// ledger header: from the fast reader, or excelize's iterator where the
// fast reader stops first.
func sheetHasHeader(f *excelize.File, parts *xlsxParts, sheet string) (bool, error) {
	if s, closeScan, why := parts.openSheet(sheet); why == nil {
		found, decided := scanHeader(s)
		closeScan()
		if decided {
			return found, nil
		}
	}
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

// scanHeader is sheetHasHeader over the fast reader; decided is false when
// it stopped before it could tell.
func scanHeader(s *sheetScan) (found, decided bool) {
	for i := 0; i < headerScanRows; i++ {
		_, cells, ok, why := s.next()
		if why != nil {
			return false, false
		}
		if !ok {
			return false, true
		}
		if knownHeaders(cells) >= minKnownHeaders {
			return true, true
		}
	}
	return false, true
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
