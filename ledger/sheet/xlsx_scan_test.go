package sheet

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/xuri/excelize/v2"
)

// readResult is what a reader gave for a sheet: the rows (number and
// cells, as emitted), the error it ended with, and (fast reader) why it
// handed over to excelize.
type readResult struct {
	nums     []int
	rows     [][]string
	err      string
	fallback string
}

// maxTestRows caps the rows read from a test workbook (a row numbered
// 1,000,000 makes a million empty rows before it).
const maxTestRows = 5000

func (r *readResult) emit(n int, cells []string) bool {
	r.nums = append(r.nums, n)
	r.rows = append(r.rows, cells)
	return len(r.nums) < maxTestRows
}

// referenceRead reads the only (or first) sheet of data the way the
// reader did before the fast reader: excelize's streaming iterator, raw
// values, CR LF as LF (a copy of that code, so that the reference does
// not move with the code under test).
func referenceRead(data []byte) (readResult, bool) {
	var res readResult
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return res, false
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return res, false
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return res, false
	}
	defer rows.Close()
	err = func() error {
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
			if !res.emit(n, cells) {
				return nil
			}
		}
		return rows.Error()
	}()
	if err != nil {
		res.err = err.Error()
	}
	return res, true
}

// fastRead reads the same sheet as the import does now: the fast reader,
// and excelize from where it stops.
func fastRead(data []byte) (readResult, bool) {
	var res readResult
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return res, false
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return res, false
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return res, false
	}
	defer rows.Close()
	res.fallback, err = sheetRows(newXLSXParts(f, data), rows, sheets[0], res.emit)
	if err != nil {
		res.err = err.Error()
	}
	return res, true
}

// compareReaders fails unless the fast reader gives what the reference
// gives for data, and reports whether the fast reader read it all (true
// too when excelize cannot open the sheet: there are no rows to read).
func compareReaders(t *testing.T, data []byte) (fast bool) {
	t.Helper()
	want, wok := referenceRead(data)
	got, gok := fastRead(data)
	if wok != gok {
		t.Fatalf("excelize opens the workbook: reference %v, fast %v", wok, gok)
	}
	if !wok {
		return true
	}
	if !reflect.DeepEqual(got.nums, want.nums) {
		t.Fatalf("row numbers differ (fallback %q):\n got %v\nwant %v", got.fallback, head(got.nums), head(want.nums))
	}
	for i := range want.rows {
		if !reflect.DeepEqual(got.rows[i], want.rows[i]) {
			t.Fatalf("row %d differs (fallback %q):\n got %q\nwant %q", want.nums[i], got.fallback, got.rows[i], want.rows[i])
		}
	}
	if got.err != want.err {
		t.Fatalf("error differs (fallback %q):\n got %q\nwant %q", got.fallback, got.err, want.err)
	}
	return got.fallback == ""
}

func head(n []int) []int { return n[:min(len(n), 20)] }

// cellTextPieces make up random cell text: what XML must escape, line ends,
// OOXML's _xHHHH_ escapes, Chinese, spaces that matter.
var cellTextPieces = []string{
	"a", "Z", "编号", "小贷核心", "中文", " ", "  lead", "trail  ", "&", "<", ">", `"`, "'", "&amp;",
	"\n", "\r\n", "\r", "\t", "_x000D_", "_x005F_", "_x4E2D_", "_xd83d_", "😀", "=1+1", "1.5", "0", "-3",
	"TRUE", "]]>", "\u00a0", "x:y", "2026-11-27", "45394", "第1号需求：日终批量", "\u3000",
}

func randText(r *rand.Rand) string {
	var b strings.Builder
	for n := r.IntN(4); n >= 0; n-- {
		b.WriteString(cellTextPieces[r.IntN(len(cellTextPieces))])
	}
	return b.String()
}

// randValue is a random cell value for excelize's writers.
func randValue(r *rand.Rand, stream bool) any {
	switch r.IntN(12) {
	case 0:
		return r.IntN(100000)
	case 1:
		return r.Float64() * 1e6
	case 2:
		return time.Date(1990+r.IntN(60), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), 0, 0, 0, time.UTC)
	case 3:
		return r.IntN(2) == 0
	case 4:
		return []excelize.RichTextRun{
			{Text: randText(r), Font: &excelize.Font{Bold: true, Size: 11, Color: "FF0000"}},
			{Text: randText(r)},
		}
	case 5:
		if stream {
			return excelize.Cell{Formula: "SUM(A1:A2)", Value: r.IntN(10)}
		}
		return nil
	case 6:
		return ""
	}
	return randText(r)
}

// randWorkbook writes a workbook with excelize: rows with gaps, sparse
// cells, dates, rich text, merges; through the StreamWriter (inline
// strings) or cell by cell (shared strings).
func randWorkbook(t *testing.T, r *rand.Rand, stream bool) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	const sh = "Sheet1"
	dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		t.Fatal(err)
	}
	rowCount, cols := 1+r.IntN(40), 1+r.IntN(30)
	if stream {
		sw, err := f.NewStreamWriter(sh)
		if err != nil {
			t.Fatal(err)
		}
		row := 0
		for i := 0; i < rowCount; i++ {
			row += 1 + r.IntN(3)*r.IntN(2)
			vals := make([]any, cols)
			for c := range vals {
				if r.IntN(3) > 0 {
					vals[c] = randValue(r, true)
				}
			}
			cell, _ := excelize.CoordinatesToCellName(1+r.IntN(2), row)
			if err := sw.SetRow(cell, vals); err != nil {
				t.Fatal(err)
			}
		}
		if r.IntN(2) == 0 {
			if err := sw.MergeCell("B2", "C4"); err != nil {
				t.Fatal(err)
			}
		}
		if err := sw.Flush(); err != nil {
			t.Fatal(err)
		}
	} else {
		for i := 0; i < rowCount*cols/2; i++ {
			cell, _ := excelize.CoordinatesToCellName(1+r.IntN(cols), 1+r.IntN(rowCount*2))
			var err error
			switch v := randValue(r, false).(type) {
			case []excelize.RichTextRun:
				err = f.SetCellRichText(sh, cell, v)
			case time.Time:
				if err = f.SetCellValue(sh, cell, v); err == nil {
					err = f.SetCellStyle(sh, cell, cell, dateStyle)
				}
			case nil:
				err = f.SetCellFormula(sh, cell, "1+1")
			default:
				err = f.SetCellValue(sh, cell, v)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if r.IntN(2) == 0 {
			if err := f.MergeCell(sh, "A1", "B2"); err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFastReaderMatchesExcelize: on workbooks excelize writes (both ways),
// the fast reader reads every row itself and gives what excelize gives.
func TestFastReaderMatchesExcelize(t *testing.T) {
	for _, stream := range []bool{false, true} {
		for seed := uint64(1); seed <= 40; seed++ {
			t.Run(fmt.Sprintf("stream=%v/seed=%d", stream, seed), func(t *testing.T) {
				data := randWorkbook(t, rand.New(rand.NewPCG(seed, 7)), stream)
				if !compareReaders(t, data) {
					got, _ := fastRead(data)
					t.Fatalf("the fast reader handed an excelize-written workbook over to excelize: %s", got.fallback)
				}
			})
		}
	}
}

func TestFastReaderEdgeCases(t *testing.T) {
	for _, tc := range sheetCases {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.parts.zip(t)
			fast := compareReaders(t, data)
			if fast != tc.fast {
				got, _ := fastRead(data)
				t.Errorf("fast reader read it all: %v, want %v (fallback %q)", fast, tc.fast, got.fallback)
			}
		})
	}
}

// TestFastReaderStreams: a worksheet read as a stream through a small
// buffer, a few bytes at a time, gives the rows it gives read in memory.
func TestFastReaderStreams(t *testing.T) {
	var cases []string
	for _, tc := range sheetCases {
		for _, p := range tc.parts {
			if p.name == "xl/worksheets/sheet1.xml" {
				cases = append(cases, p.body)
			}
		}
	}
	for seed := uint64(1); seed <= 6; seed++ {
		data := randWorkbook(t, rand.New(rand.NewPCG(seed, 9)), seed%2 == 0)
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, zf := range zr.File {
			if strings.HasPrefix(zf.Name, "xl/worksheets/") {
				rc, _ := zf.Open()
				b, _ := io.ReadAll(rc)
				rc.Close()
				cases = append(cases, string(b))
			}
		}
	}
	sst, err := readSST([]byte(plainSST), false)
	if err != nil {
		t.Fatal(err)
	}
	read := func(s *sheetScan) (out []string) {
		for {
			n, cells, ok, why := s.next()
			if why != nil {
				return append(out, "stopped: "+why.msg)
			}
			if !ok {
				return out
			}
			out = append(out, fmt.Sprintf("%d %q", n, cells))
		}
	}
	for i, x := range cases {
		want := read(newSheetScan(newXMLTokBytes([]byte(x)), sst))
		for _, r := range []io.Reader{iotest.OneByteReader(strings.NewReader(x)), iotest.HalfReader(strings.NewReader(x)), iotest.DataErrReader(strings.NewReader(x))} {
			got := read(newSheetScan(newXMLTokSize(r, 8, 1<<20), sst))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("case %d streamed:\n got %q\nwant %q", i, got, want)
			}
		}
	}
}

// TestFastReaderLargeSheet: a worksheet over excelize's in-memory limit
// (excelize keeps it in a temporary file; the fast reader inflates the
// zip entry itself, reading ahead in a goroutine).
func TestFastReaderLargeSheet(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads a 17 MB worksheet")
	}
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("长文本 & <long> text ", 40)
	for row := 1; row <= 2200; row++ {
		vals := []any{row, long, "第" + fmt.Sprint(row) + "行", 45394.5, long, long, long, long, long}
		if err := sw.SetRow(fmt.Sprintf("A%d", row), vals); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data := buf.Bytes()
	zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	for _, zf := range zr.File {
		if zf.Name == "xl/worksheets/sheet1.xml" && zf.UncompressedSize64 <= excelize.StreamChunkSize {
			t.Fatalf("the worksheet is %d bytes, not over excelize's %d", zf.UncompressedSize64, excelize.StreamChunkSize)
		}
	}
	if !compareReaders(t, data) {
		t.Fatal("the fast reader handed the large sheet over to excelize")
	}
	tb, err := openBytes(context.Background(), "big.xlsx", data, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	rows := 0
	for _, _, ok := tb.Next(); ok; _, _, ok = tb.Next() {
		rows++
	}
	if rows != 2200 || tb.Err() != nil || tb.(*xlsxTable).fallback != "" {
		t.Fatalf("%d rows, err %v, fallback %q", rows, tb.Err(), tb.(*xlsxTable).fallback)
	}
}

// TestMirrorTypesMatchExcelize: the copies of excelize's XML types decode
// as the originals do: same fields, types and tags (checked again on an
// excelize upgrade).
func TestMirrorTypesMatchExcelize(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	sst := reflect.TypeOf(f.SharedStrings).Elem()
	si, _ := sst.FieldByName("SI")
	sameXMLType(t, reflect.TypeOf(xlsxSIMirror{}), si.Type.Elem(), "xlsxSI")
	sameXMLType(t, reflect.TypeOf(ctTypesMirror{}), reflect.TypeOf(f.ContentTypes).Elem(), "xlsxTypes")

	// readFormula checks the attributes of <f> that can fail to decode:
	// those must be all of excelize's xlsxF bool and int attributes.
	if err := f.SetCellFormula("Sheet1", "A1", "1+1"); err != nil {
		t.Fatal(err)
	}
	wsv, ok := f.Sheet.Load("xl/worksheets/sheet1.xml")
	if !ok {
		t.Fatal("excelize keeps no loaded worksheet")
	}
	typ := reflect.TypeOf(wsv).Elem()
	for _, name := range []string{"SheetData", "Row", "C", "F"} {
		sf, ok := typ.FieldByName(name)
		if !ok {
			t.Fatalf("excelize's worksheet types have no %s", name)
		}
		typ = sf.Type
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
	}
	checked := map[string]bool{"aca": true, "dt2D": true, "dtr": true, "del1": true, "del2": true, "ca": true, "bx": true, "si": true}
	for i := 0; i < typ.NumField(); i++ {
		tag := typ.Field(i).Tag.Get("xml")
		name, opts, _ := strings.Cut(tag, ",")
		if !strings.Contains(opts, "attr") {
			continue
		}
		k := typ.Field(i).Type
		if k.Kind() == reflect.Pointer {
			k = k.Elem()
		}
		if k.Kind() != reflect.String && !checked[name] {
			t.Errorf("excelize's xlsxF attribute %q is a %v: readFormula must check it", name, k)
		}
	}
}

func sameXMLType(t *testing.T, mine, theirs reflect.Type, path string) {
	t.Helper()
	if mine.Kind() != theirs.Kind() {
		t.Fatalf("%s: kind %v, excelize %v", path, mine.Kind(), theirs.Kind())
	}
	switch mine.Kind() {
	case reflect.Pointer, reflect.Slice:
		sameXMLType(t, mine.Elem(), theirs.Elem(), path+"[]")
	case reflect.Struct:
		if theirs == reflect.TypeOf(xml.Name{}) || theirs == reflect.TypeOf(xml.Attr{}) {
			if mine != theirs {
				t.Fatalf("%s: %v, excelize %v", path, mine, theirs)
			}
			return
		}
		var fields []reflect.StructField
		for i := 0; i < theirs.NumField(); i++ {
			if theirs.Field(i).IsExported() {
				fields = append(fields, theirs.Field(i))
			}
		}
		if mine.NumField() != len(fields) {
			t.Fatalf("%s: %d fields, excelize %d", path, mine.NumField(), len(fields))
		}
		for i, tf := range fields {
			mf := mine.Field(i)
			if mf.Name != tf.Name || mf.Tag.Get("xml") != tf.Tag.Get("xml") {
				t.Fatalf("%s: field %s `xml:%q`, excelize %s `xml:%q`", path, mf.Name, mf.Tag.Get("xml"), tf.Name, tf.Tag.Get("xml"))
			}
			sameXMLType(t, mf.Type, tf.Type, path+"."+mf.Name)
		}
	}
}

// referenceSheetChoice picks the sheet to import among several the way the
// reader did before the fast reader (a copy of that code): the first whose
// first rows, read by excelize's iterator, hold a ledger header.
func referenceSheetChoice(data []byte) (sheet string, err error) {
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	defer f.Close()
	hasHeader := func(sheet string) (bool, error) {
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
	for _, s := range f.GetSheetList() {
		ok, err := hasHeader(s)
		if err != nil {
			return s, err
		}
		if ok {
			return s, nil
		}
	}
	return "", nil
}

// TestSheetChoiceMatchesExcelize: with several sheets, the fast reader
// picks the sheet excelize's iterator picks, or fails where it fails.
func TestSheetChoiceMatchesExcelize(t *testing.T) {
	header := `<row r="2"><c r="A2" t="inlineStr"><is><t>编号</t></is></c><c r="B2" t="inlineStr"><is><t>系统</t></is></c><c r="C2" t="inlineStr"><is><t>子系统</t></is></c></row>`
	caption := `<row r="1"><c r="A1" t="inlineStr"><is><t>上线运维台帐</t></is></c></row>`
	late := strings.Replace(header, `r="2"`, `r="31"`, 1)
	late = strings.ReplaceAll(late, `2"`, `31"`)
	threeSheets := func(s1, s2, s3 string) []byte {
		b := minimalBook(s1, "").
			with("xl/workbook.xml", `<workbook xmlns="`+mainNS+`" xmlns:r="`+docRels+`"><sheets><sheet name="说明" sheetId="1" r:id="rId1"/><sheet name="数据" sheetId="2" r:id="rId3"/><sheet name="台帐" sheetId="3" r:id="rId4"/></sheets></workbook>`).
			with("xl/_rels/workbook.xml.rels", `<Relationships xmlns="`+relsNS+`"><Relationship Id="rId1" Type="`+docRels+`/worksheet" Target="worksheets/sheet1.xml"/>`+
				`<Relationship Id="rId3" Type="`+docRels+`/worksheet" Target="worksheets/sheet2.xml"/><Relationship Id="rId4" Type="`+docRels+`/worksheet" Target="worksheets/sheet3.xml"/></Relationships>`).
			with("xl/worksheets/sheet2.xml", s2).with("xl/worksheets/sheet3.xml", s3)
		return b.zip(t)
	}
	cases := []struct {
		name       string
		data       []byte
		fastChoice bool // the fast reader decides every sheet itself
	}{
		{"header on the last sheet", threeSheets(ws(caption), ws(`<row r="1"><c r="A1"><v>1</v></c></row>`), ws(caption+header)), true},
		{"header on the second sheet", threeSheets(ws(caption), ws(header), ws(header)), true},
		{"header below the rows looked at", threeSheets(ws(caption), ws(late), ws(caption+header)), true},
		{"no sheet has the header", threeSheets(ws(caption), ws(late), ws(``)), true},
		{"first sheet's rows out of order", threeSheets(ws(`<row r="3"><c r="A3"><v>3</v></c></row>`+header), ws(header), ws(header)), false},
		{"first sheet's row number bad", threeSheets(ws(`<row r="x"><c r="A1"><v>3</v></c></row>`), ws(header), ws(header)), false},
		{"second sheet broken after its header", threeSheets(ws(caption), ws(header+`<row r="3"><c r="A3"><v>&bad;</v></c></row>`), ws(header)), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, werr := referenceSheetChoice(tc.data)
			tb, err := openBytes(context.Background(), "many.xlsx", tc.data, "", nil)
			got := ""
			if err == nil {
				got = tb.Name()
				tb.Close()
			}
			var fe *FileError
			switch {
			case werr != nil:
				if !errors.As(err, &fe) || fe.Sheet != want || fe.Err == nil || fe.Err.Error() != werr.Error() {
					t.Fatalf("excelize fails on sheet %s (%v); fast reader: %q, %v", want, werr, got, err)
				}
			case want == "":
				if err == nil || !strings.Contains(err.Error(), "none of the sheets") {
					t.Fatalf("no sheet has a header; fast reader: %q, %v", got, err)
				}
			case got != want:
				t.Fatalf("fast reader picks %q (%v), excelize %q", got, err, want)
			}
			// Whether the fast reader decided alone: it needs no excelize
			// iterator, which would load excelize's shared strings.
			f, _ := excelize.OpenReader(bytes.NewReader(tc.data))
			defer f.Close()
			parts := newXLSXParts(f, tc.data)
			alone := true
			for _, s := range f.GetSheetList() {
				sc, closeScan, why := parts.openSheet(s)
				if why != nil {
					alone = false
					break
				}
				found, decided := scanHeader(sc)
				closeScan()
				if !decided {
					alone = false
					break
				}
				if found {
					break
				}
			}
			if alone != tc.fastChoice {
				t.Fatalf("fast reader decided alone: %v, want %v", alone, tc.fastChoice)
			}
		})
	}
}

// TestFastReaderLargeSharedStrings: shared strings over excelize's
// in-memory limit (excelize looks them up in a temporary file, item by
// item; the fast reader inflates and reads them whole).
func TestFastReaderLargeSharedStrings(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads 17 MB of shared strings")
	}
	f := excelize.NewFile()
	long := strings.Repeat("共享字符串 & <text> ", 450)
	for row := 1; row <= 100; row++ {
		for col := 1; col <= 20; col++ {
			cell, _ := excelize.CoordinatesToCellName(col, row)
			if err := f.SetCellStr("Sheet1", cell, fmt.Sprint(row, "/", col, " ", long)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data := buf.Bytes()
	zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	for _, zf := range zr.File {
		if zf.Name == "xl/sharedStrings.xml" && zf.UncompressedSize64 <= excelize.StreamChunkSize {
			t.Fatalf("the shared strings are %d bytes, not over excelize's %d", zf.UncompressedSize64, excelize.StreamChunkSize)
		}
	}
	if !compareReaders(t, data) {
		got, _ := fastRead(data)
		t.Fatalf("the fast reader handed the sheet over to excelize: %s", got.fallback)
	}
}
