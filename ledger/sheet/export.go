package sheet

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/fabu-team/fabu/ledger"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// DefaultSheetName is the worksheet an export writes.
const DefaultSheetName = "上线运维台帐"

// ExportOptions configure an export.
type ExportOptions struct {
	// Lang is "zh" (default: the seed's Chinese headers) or "en" (the
	// English field names).
	Lang string
	// Encoding of a .csv: "utf-8" (default, with a BOM so Excel reads it as
	// UTF-8) or "gb18030".
	Encoding string
	// SheetName of an .xlsx (default DefaultSheetName).
	SheetName string
	// Words gives the status words; the team's own word is written back
	// while it still means the entry's status (nil: defaults).
	Words *ledger.StatusWords
}

func (o *ExportOptions) check() error {
	switch o.Lang {
	case "", "zh":
		o.Lang = "zh"
	case "en":
	default:
		return fmt.Errorf("unknown header language %q: use zh or en", o.Lang)
	}
	switch strings.ToLower(strings.ReplaceAll(o.Encoding, "-", "")) {
	case "", "utf8":
		o.Encoding = "utf-8"
	case "gb18030", "gbk":
		o.Encoding = "gb18030"
	default:
		return fmt.Errorf("unknown CSV encoding %q: use utf-8 or gb18030", o.Encoding)
	}
	if o.SheetName == "" {
		o.SheetName = DefaultSheetName
	}
	if o.Words == nil {
		o.Words = ledger.DefaultStatusWords
	}
	return nil
}

// extraKey names one extra column: its header and how many extra columns
// with that header come before it.
type extraKey struct {
	header string
	nth    int
}

// layout is the columns an export writes: the 25 known ones, then the
// extras of all entries in first-seen order.
type layout struct {
	extras []extraKey
	index  map[extraKey]int
}

func newLayout(entries []*ledger.Entry) *layout {
	l := &layout{index: map[extraKey]int{}}
	// Each entry's extras are in its sheet's column order; order the
	// columns so every entry's order is kept (a topological order of
	// "comes before" taken from each entry, ties broken by first sight).
	var seen []extraKey
	first := map[extraKey]int{}
	after := map[extraKey][]extraKey{}
	indeg := map[extraKey]int{}
	edge := map[[2]extraKey]bool{}
	for _, e := range entries {
		n := map[string]int{}
		var prev *extraKey
		for _, x := range e.Extras {
			k := extraKey{x.Header, n[x.Header]}
			n[x.Header]++
			if _, ok := first[k]; !ok {
				first[k] = len(seen)
				seen = append(seen, k)
			}
			if prev != nil && !edge[[2]extraKey{*prev, k}] {
				edge[[2]extraKey{*prev, k}] = true
				after[*prev] = append(after[*prev], k)
				indeg[k]++
			}
			prev = &k
		}
	}
	done := map[extraKey]bool{}
	for len(l.extras) < len(seen) {
		next := -1
		for i, k := range seen {
			if !done[k] && indeg[k] == 0 {
				next = i
				break
			}
		}
		if next < 0 { // contradictory orders: take the first left
			for i, k := range seen {
				if !done[k] {
					next = i
					break
				}
			}
		}
		k := seen[next]
		done[k] = true
		l.index[k] = len(l.extras)
		l.extras = append(l.extras, k)
		for _, m := range after[k] {
			indeg[m]--
		}
	}
	return l
}

func (l *layout) header(lang string) []string {
	out := make([]string, 0, len(fields)+len(l.extras))
	for _, f := range fields {
		if lang == "en" {
			out = append(out, f.Name)
		} else {
			out = append(out, f.Header)
		}
	}
	for _, k := range l.extras {
		out = append(out, k.header)
	}
	return out
}

// cells returns an entry's values in layout order, as text; dates as
// YYYY-MM-DD. dates[i] is set for the date columns.
func (l *layout) cells(e *ledger.Entry, words *ledger.StatusWords, out []string) []string {
	out = out[:0]
	for _, f := range fields {
		var v string
		if f.Kind == kindStatus {
			v = statusWord(e, words)
		} else {
			v, _ = e.Get(f.Name)
		}
		out = append(out, v)
	}
	base := len(out)
	for range l.extras {
		out = append(out, "")
	}
	seen := map[string]int{}
	for _, x := range e.Extras {
		k := extraKey{x.Header, seen[x.Header]}
		seen[x.Header]++
		out[base+l.index[k]] = x.Value
	}
	return out
}

// WriteXLSX writes entries as an .xlsx workbook with excelize's
// StreamWriter: one header row, then a row per entry; dates are date cells
// shown as yyyy/m/d, integer 编号 are numbers, everything else text.
func WriteXLSX(w io.Writer, entries []*ledger.Entry, opts ExportOptions) error {
	if err := opts.check(); err != nil {
		return err
	}
	l := newLayout(entries)
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", opts.SheetName); err != nil {
		return fmt.Errorf("sheet name %q: %w", opts.SheetName, err)
	}
	sw, err := f.NewStreamWriter(opts.SheetName)
	if err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("yyyy/m/d")})
	if err != nil {
		return err
	}
	hdr := l.header(opts.Lang)
	for i := range hdr {
		width := 12.0
		switch {
		case i < len(fields) && (fields[i].Name == "description" || fields[i].Name == "expected_solution" || fields[i].Name == "tech_solution" || fields[i].Name == "requirement_doc"):
			width = 30
		case i < len(fields) && fields[i].Name == "id":
			width = 8
		}
		if err := sw.SetColWidth(i+1, i+1, width); err != nil {
			return err
		}
	}
	row := make([]any, len(hdr))
	for i, h := range hdr {
		row[i] = excelize.Cell{StyleID: bold, Value: h}
	}
	if err := sw.SetRow("A1", row); err != nil {
		return err
	}
	var text []string
	for n, e := range entries {
		text = l.cells(e, opts.Words, text)
		for i, v := range text {
			row[i] = nil
			if v == "" {
				continue
			}
			if n := utf16Len(v); n > excelize.TotalCellChars {
				col := "extra"
				if i < len(fields) {
					col = fields[i].Header
				}
				return fmt.Errorf("entry %s, %s: %d characters is more than an Excel cell holds (%d)", e.ID, col, n, excelize.TotalCellChars)
			}
			switch {
			case i < len(fields) && fields[i].Kind == kindDate:
				if s, ok := dateSerial(v); ok {
					row[i] = excelize.Cell{StyleID: dateStyle, Value: s}
					continue
				}
			case i < len(fields) && fields[i].Kind == kindID:
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n < 1e15 && strconv.FormatInt(n, 10) == v {
					row[i] = n
					continue
				}
			}
			row[i] = v
		}
		cell, _ := excelize.CoordinatesToCellName(1, n+2)
		if err := sw.SetRow(cell, row); err != nil {
			return fmt.Errorf("entry %s: %w", e.ID, err)
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}

func ptr[T any](v T) *T { return &v }

func utf16Len(s string) int {
	if len(s) <= excelize.TotalCellChars/3 {
		return len(s) // an upper bound is enough below the limit
	}
	return len(utf16.Encode([]rune(s)))
}

// dateSerial returns the Excel serial of a YYYY-MM-DD date from
// 1900-03-01 on (earlier days stay text: Excel's 1900 calendar is off there).
func dateSerial(v string) (int64, bool) {
	d, err := ledger.ParseISODate(v)
	if err != nil || d.Year < 1900 || (d.Year == 1900 && d.Month < 3) {
		return 0, false
	}
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	return int64(d.Time(time.UTC).Sub(base) / (24 * time.Hour)), true
}

// WriteCSV writes entries as CSV with one header row: UTF-8 with a BOM, or
// GB18030 when opts.Encoding says so. Dates are YYYY-MM-DD.
func WriteCSV(w io.Writer, entries []*ledger.Entry, opts ExportOptions) error {
	if err := opts.check(); err != nil {
		return err
	}
	l := newLayout(entries)
	bw := bufio.NewWriterSize(w, 64<<10)
	var out io.Writer = bw
	if opts.Encoding == "gb18030" {
		out = simplifiedchinese.GB18030.NewEncoder().Writer(bw)
	} else if _, err := bw.Write(utf8BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(out)
	if err := cw.Write(l.header(opts.Lang)); err != nil {
		return err
	}
	var text []string
	for _, e := range entries {
		text = l.cells(e, opts.Words, text)
		if err := cw.Write(text); err != nil {
			return fmt.Errorf("entry %s: %w", e.ID, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// ExportFile writes entries to path, as .xlsx or .csv by its extension,
// through a temporary file renamed into place.
func ExportFile(ctx context.Context, path string, entries []*ledger.Entry, opts ExportOptions) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".xlsx" && ext != ".csv" {
		return fmt.Errorf("export to %s: the file name must end in .xlsx or .csv", path)
	}
	if err := opts.check(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fabu-export-*"+ext)
	if err != nil {
		return fmt.Errorf("export to %s: %w", path, err)
	}
	err = tmp.Chmod(0o644)
	switch {
	case err != nil:
	case ext == ".xlsx":
		err = WriteXLSX(tmp, entries, opts)
	default:
		err = WriteCSV(tmp, entries, opts)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("export to %s: %w", path, err)
	}
	return nil
}
