package sheet

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabu-team/fabu/ledger/sheet/internal/sample"
	"github.com/xuri/excelize/v2"
)

// badCellsWorkbook is the seed-like sheet with one bad thing per kind.
func badCellsWorkbook(t *testing.T) *excelize.File {
	t.Helper()
	rows := [][]string{sampleRow(t, "21"), sampleRow(t, "22"), sampleRow(t, "23"), sampleRow(t, "24"), sampleRow(t, "25"), sampleRow(t, "26")}
	rows[0][11] = "2019/2/30" // row 3, L 提出日期
	rows[1][7] = "可能"         // row 4, H 是否有SQL脚本
	rows[1][12] = "最高"        // row 4, M 优先级
	rows[2][13] = "搁置"        // row 5, N 问题状态
	rows[3][0] = ""           // row 6, A 编号 empty
	rows[4][0] = "21"         // row 7, A 编号 twice
	return seedWorkbook(t, rows)
}

// TestImportBadInput: every bad input is a clear error naming where, and
// the store is left exactly as it was.
func TestImportBadInput(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...)
	ole := append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 512)...)
	cases := []struct {
		name string
		file func(t *testing.T) string
		opts Options
		// kind is "invalid" (*InvalidError) or "file" (*FileError).
		kind string
		want []string
	}{
		{
			name: "bad cells in xlsx",
			file: func(t *testing.T) string { return saveWorkbook(t, badCellsWorkbook(t), "bad.xlsx") },
			kind: "invalid",
			want: []string{
				"bad.xlsx: 6 problem(s) in 5 row(s) of sheet 上线运维台帐; nothing was imported",
				`上线运维台帐 row 3, column L (提出日期): "2019/2/30" is not a valid date (2019-02 has no day 30); expected a date such as 2019/3/1`,
				`上线运维台帐 row 4, column H (是否有SQL脚本): "可能" is not a yes/no value; expected 是 or 否`,
				`上线运维台帐 row 4, column M (优先级): "最高" is not a priority; expected 高, 中 or 低`,
				`上线运维台帐 row 5, column N (问题状态): "搁置" is not a known status; expected a status word such as 待处理`,
				`上线运维台帐 row 6, column A (编号): 编号 is empty`,
				`上线运维台帐 row 7, column A (编号): 编号 21 is already in row 3 of this sheet`,
			},
		},
		{
			name: "bad cells in csv count blank lines as rows",
			file: func(t *testing.T) string {
				return writeTemp(t, "bad.csv", []byte("编号,系统,提出日期\n\n1,小贷,明天\n\"2\",\"核心\n网银\",2019/3/1\n3,信贷,20190230\n"))
			},
			kind: "invalid",
			want: []string{`bad.csv row 3, column C (提出日期): "明天" is not a date`, `bad.csv row 5, column C (提出日期): "20190230" is not a valid date`, "2 problem(s) in 2 row(s)"},
		},
		{
			name: "duplicate 编号 in csv",
			file: func(t *testing.T) string {
				return writeTemp(t, "dup.csv", []byte("编号,系统,子系统\n20,小贷,账务\n21,核心,存款\n 20 ,信贷,审批\n"))
			},
			kind: "invalid",
			want: []string{"dup.csv row 4, column A (编号): 编号 20 is already in row 2 of this sheet"},
		},
		{
			name: "no 编号 column",
			file: func(t *testing.T) string {
				f := excelize.NewFile()
				f.SetSheetName("Sheet1", "台帐")
				f.SetSheetRow("台帐", "A1", &[]any{"上线运维台帐"})
				f.SetSheetRow("台帐", "A2", &[]any{"系统", "子系统", "问题描述", "问题状态"})
				f.SetSheetRow("台帐", "A3", &[]any{"小贷", "账务", "x", "处理中"})
				return saveWorkbook(t, f, "noid.xlsx")
			},
			opts: Options{SkipInvalid: true},
			kind: "file",
			want: []string{"noid.xlsx, sheet 台帐: the header row 2 (系统, 子系统, 问题描述, 问题状态) has no 编号 (id) column"},
		},
		{
			name: "a column named twice",
			file: func(t *testing.T) string {
				return writeTemp(t, "twice.csv", []byte("编号,系统,子系统,System\n1,小贷,账务,核心\n"))
			},
			kind: "file",
			want: []string{"twice.csv, sheet twice.csv: the header row 1 names column 系统 (system) twice: in B (\"系统\") and in D (\"System\")"},
		},
		{
			name: "not a spreadsheet named .xlsx",
			file: func(t *testing.T) string { return writeTemp(t, "photo.xlsx", png) },
			kind: "file",
			want: []string{"photo.xlsx: this is not a spreadsheet: an .xlsx workbook is a zip file and this one is not"},
		},
		{
			name: "binary named .csv",
			file: func(t *testing.T) string { return writeTemp(t, "photo.csv", png) },
			kind: "file",
			want: []string{"photo.csv: this is not a spreadsheet: it holds binary data"},
		},
		{
			name: "a zip that is not a workbook",
			file: func(t *testing.T) string {
				var b bytes.Buffer
				zw := zip.NewWriter(&b)
				w, _ := zw.Create("word/document.xml")
				w.Write([]byte("<w:document/>"))
				zw.Close()
				return writeTemp(t, "letter.xlsx", b.Bytes())
			},
			kind: "file",
			want: []string{"letter.xlsx: this zip file is not an Excel workbook: it has no worksheets (is it a Word or other Office file?)"},
		},
		{
			name: "encrypted xlsx",
			file: func(t *testing.T) string {
				f, _ := sample.Workbook()
				return saveWorkbook(t, f, "secret.xlsx", excelize.Options{Password: "s3cret"})
			},
			kind: "file",
			want: []string{"secret.xlsx: the workbook is encrypted (password-protected); fabu cannot read it"},
		},
		{
			name: "old .xls",
			file: func(t *testing.T) string { return writeTemp(t, "old.xls", ole) },
			kind: "file",
			want: []string{"old.xls: this is an old-format .xls (or other OLE) file, not an .xlsx workbook: in Excel, save it as .xlsx"},
		},
		{
			name: "empty file",
			file: func(t *testing.T) string { return writeTemp(t, "empty.xlsx", nil) },
			kind: "file",
			want: []string{"empty.xlsx: the file is empty"},
		},
		{
			name: "csv with only a BOM and blank lines",
			file: func(t *testing.T) string { return writeTemp(t, "blank.csv", []byte("\ufeff\r\n\r\n  \n")) },
			kind: "file",
			want: []string{"blank.csv: the file is empty"},
		},
		{
			name: "workbook with an empty sheet",
			file: func(t *testing.T) string { return saveWorkbook(t, excelize.NewFile(), "nothing.xlsx") },
			kind: "file",
			want: []string{"nothing.xlsx, sheet Sheet1: the sheet is empty: it has no rows"},
		},
		{
			name: "text that is not the ledger",
			file: func(t *testing.T) string { return writeTemp(t, "notes.csv", []byte("买菜,做饭\n洗碗,睡觉\n")) },
			kind: "file",
			want: []string{"notes.csv, sheet notes.csv: no ledger header row: none of the first 30 rows names at least 3 of the ledger columns"},
		},
		{
			name: "broken csv quoting",
			file: func(t *testing.T) string {
				return writeTemp(t, "q.csv", []byte("编号,系统,子系统\n1,小贷,账务\n2,\"核心\"x,存款\n"))
			},
			kind: "file",
			want: []string{"q.csv, sheet q.csv: cannot read the sheet: row 3 (line 3, character 6) is not valid CSV"},
		},
		{
			name: "a sheet that is not there",
			file: func(t *testing.T) string { f, _ := sample.Workbook(); return saveWorkbook(t, f, "s.xlsx") },
			opts: Options{Sheet: "Sheet9"},
			kind: "file",
			want: []string{`s.xlsx: the workbook has no sheet "Sheet9" (its sheets: 上线运维台帐)`},
		},
		{
			name: "no sheet of several has the header",
			file: func(t *testing.T) string {
				f := excelize.NewFile()
				f.NewSheet("数据")
				f.SetSheetRow("Sheet1", "A1", &[]any{"说明"})
				f.SetSheetRow("数据", "A1", &[]any{"a", "b"})
				return saveWorkbook(t, f, "two.xlsx")
			},
			kind: "file",
			want: []string{"two.xlsx: none of the sheets (Sheet1, 数据) has a ledger header row"},
		},
		{
			name: "missing file",
			file: func(t *testing.T) string { return filepath.Join(t.TempDir(), "gone.xlsx") },
			kind: "file",
			want: []string{"gone.xlsx: cannot read the file"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSheetStore(t)
			f, _ := sample.Workbook()
			if _, err := importPath(t, s, saveWorkbook(t, f, "sample.xlsx"), Options{}); err != nil {
				t.Fatal(err)
			}
			before := backupBytes(t, s)
			path := tc.file(t)
			res, err := importPath(t, s, path, tc.opts)
			if err == nil {
				t.Fatalf("import succeeded: %+v", res)
			}
			var inv *InvalidError
			var fe *FileError
			switch tc.kind {
			case "invalid":
				if !errors.As(err, &inv) {
					t.Fatalf("err is %T, want *InvalidError: %v", err, err)
				}
			case "file":
				if !errors.As(err, &fe) {
					t.Fatalf("err is %T, want *FileError: %v", err, err)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if !bytes.Equal(before, backupBytes(t, s)) {
				t.Error("the store changed")
			}
		})
	}
}

// TestInvalidErrorGolden fixes the whole report of bad cells, and that each
// problem carries its sheet, row, column, header and value.
func TestInvalidErrorGolden(t *testing.T) {
	s := newSheetStore(t)
	_, err := importPath(t, s, saveWorkbook(t, badCellsWorkbook(t), "bad.xlsx"), Options{})
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("err = %v", err)
	}
	first := inv.Problems[0]
	if first.File != "bad.xlsx" || first.Sheet != "上线运维台帐" || first.Row != 3 || first.Column != "L" || first.Header != "提出日期" || first.Value != "2019/2/30" {
		t.Errorf("problem = %+v", first)
	}
	golden := filepath.Join("testdata", "golden", "bad-cells.txt")
	got := err.Error() + "\n"
	if *updateGolden {
		os.MkdirAll(filepath.Dir(golden), 0o755)
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got != string(want) {
		t.Errorf("report differs from %s (run with -update to accept):\n%s", golden, got)
	}
	if len(allEntries(t, s)) != 0 {
		t.Error("entries were written")
	}
}
