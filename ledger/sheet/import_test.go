package sheet

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/ledger/sheet/internal/sample"
	"github.com/xuri/excelize/v2"
)

// TestImportSeedLikeSheet imports a sheet built like the seed's and checks
// entry 20 field by field against the seed's row.
func TestImportSeedLikeSheet(t *testing.T) {
	f, err := sample.Workbook()
	if err != nil {
		t.Fatal(err)
	}
	path := saveWorkbook(t, f, "sample.xlsx")

	// The fixture is what it claims: caption row merged over the header,
	// the seed's headers (stray spaces included), an empty 25th header, and
	// entry 20's dates as real date cells.
	check, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	merges, _ := check.GetMergeCells(sample.SheetName)
	if len(merges) != 1 || merges[0].GetStartAxis() != "A1" || merges[0].GetEndAxis() != "Z1" || merges[0].GetCellValue() != "上线运维台帐" {
		t.Fatalf("caption merge = %v", merges)
	}
	for cell, want := range map[string]string{"A2": "编号", "T2": "测试计划  开始时间", "X2": "关联系统", "Y2": "", "Z2": "需求文档"} {
		if got, _ := check.GetCellValue(sample.SheetName, cell); got != want {
			t.Errorf("header %s = %q, want %q", cell, got, want)
		}
	}
	if raw, _ := check.GetCellValue(sample.SheetName, "L3", excelize.Options{RawCellValue: true}); raw != "43525" {
		t.Errorf("L3 raw = %q, want the serial 43525 of a date cell", raw)
	}
	if shown, _ := check.GetCellValue(sample.SheetName, "L3"); shown != "2019/3/1" {
		t.Errorf("L3 shows %q, want 2019/3/1", shown)
	}
	check.Close()

	s := newSheetStore(t)
	res, err := importPath(t, s, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != len(sample.Rows) || res.Updated != 0 || res.Unchanged != 0 || res.Sheet != sample.SheetName || res.HeaderRow != 2 {
		t.Fatalf("result = %+v", res)
	}
	if len(res.Extras) != 0 {
		t.Errorf("the empty 25th column was reported: %+v", res.Extras)
	}
	if got := res.Summary(); got != "imported sample.xlsx: 14 added, 0 updated, 0 unchanged" {
		t.Errorf("summary = %q", got)
	}

	e := entryByID(t, s, "20")
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"编号", e.ID, "20"},
		{"系统", e.System, "小贷"},
		{"子系统", e.Subsystem, "账务"},
		{"所属模块", e.Module, "接口"},
		{"涉及功能", e.Function, "生成文件"},
		{"问题分类", e.Category, "新功能"},
		{"问题描述", e.Description, ""},
		{"是否有SQL脚本", e.HasSQL, ledger.No},
		{"期望解决方案", e.ExpectedSolution, ""},
		{"技术实现方案", e.TechSolution, "可以修改"},
		{"提出人", e.Proposer, "琳琳"},
		{"提出日期", e.ProposedOn, ledger.Date{Year: 2019, Month: 3, Day: 1}},
		{"优先级", e.Priority, ledger.Medium},
		{"问题状态", e.Status, ledger.StatusInProgress},
		{"问题状态 word", e.StatusWord(), "处理中"},
		{"业务部门反馈", e.BusinessFeedback, ""},
		{"解决情况备注", e.ResolutionNote, ""},
		{"计划开始时间", e.PlannedStart, ledger.Date{Year: 2019, Month: 3, Day: 1}},
		{"计划完成时间", e.PlannedFinish, ledger.Date{Year: 2019, Month: 3, Day: 7}},
		{"技术负责人", e.TechLead, "琳琳"},
		{"测试计划  开始时间", e.TestStart, ledger.Date{}},
		{"测试计划完成时间", e.TestFinish, ledger.Date{}},
		{"测试负责人", e.TestLead, ""},
		{"测试意见", e.TestOpinion, ""},
		{"关联系统", e.RelatedSystems, ""},
		{"需求文档", e.RequirementDoc, "docs/req-20.docx"},
		{"extras", len(e.Extras), 0},
		{"release", e.Release, ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("entry 20 %s = %#v, want %#v", c.name, c.got, c.want)
		}
	}

	// Other shapes the sample holds.
	if e := entryByID(t, s, "21"); e.Description != "逾期3天以上的客户每天上午发送一次催收短信，\n短信模板见需求文档。" || e.HasSQL != ledger.Yes || e.TestStart != (ledger.Date{Year: 2026, Month: 11, Day: 23}) {
		t.Errorf("entry 21 = %+v", e)
	}
	if e := entryByID(t, s, "22"); e.ProposedOn != (ledger.Date{Year: 2026, Month: 11, Day: 5}) || e.RequirementDoc != "https://wiki.example.com/req/22" {
		t.Errorf("entry 22 (dates typed 2026-11-05) = %+v", e)
	}
	if e := entryByID(t, s, "23"); e.PlannedFinish != (ledger.Date{Year: 2026, Month: 11, Day: 20}) {
		t.Errorf("entry 23 (dates typed 2026年11月20日) = %+v", e)
	}
	if e := entryByID(t, s, "24"); e.Status != ledger.StatusDevDone || e.StatusWord() != "待提测" {
		t.Errorf("entry 24 status = %s %q", e.Status, e.StatusWord())
	}
	if e := entryByID(t, s, "25"); e.Description != `额度为 "0" 时审批页面报错` {
		t.Errorf("entry 25 description = %q", e.Description)
	}
	systems := map[string]bool{}
	devDone := 0
	for _, e := range allEntries(t, s) {
		systems[e.System] = true
		if e.Status == ledger.StatusDevDone {
			devDone++
		}
	}
	if len(systems) < 4 || devDone < 3 {
		t.Errorf("sample has %d systems and %d entries ready for a cut", len(systems), devDone)
	}
	if log := auditLog(t, s, "sample.xlsx"); len(log) != 1 || log[0].Action != "ledger.import" {
		t.Errorf("import audit = %+v", log)
	}
}

// TestCommittedSampleMatchesGenerator keeps testdata/sample-ledger.xlsx in
// step with the generator (go run ./ledger/sheet/internal/sample/gensample).
func TestCommittedSampleMatchesGenerator(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	committed := filepath.Join(filepath.Dir(here), "..", "..", "testdata", "sample-ledger.xlsx")
	got, err := ReadFile(context.Background(), committed, Options{})
	if err != nil {
		t.Fatalf("%v (regenerate with go run ./ledger/sheet/internal/sample/gensample)", err)
	}
	f, err := sample.Workbook()
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReadFile(context.Background(), saveWorkbook(t, f, "gen.xlsx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Entries) != len(want.Entries) {
		t.Fatalf("committed sample has %d entries, generator %d", len(got.Entries), len(want.Entries))
	}
	for i := range want.Entries {
		if !got.Entries[i].Equal(want.Entries[i]) {
			t.Errorf("entry %s differs from the generator:\n%s\n%s", want.Entries[i].ID, mustJSON(got.Entries[i]), mustJSON(want.Entries[i]))
		}
	}
}

func TestImportTwiceChangesNothing(t *testing.T) {
	f, _ := sample.Workbook()
	path := saveWorkbook(t, f, "sample.xlsx")
	s := newSheetStore(t)
	if _, err := importPath(t, s, path, Options{}); err != nil {
		t.Fatal(err)
	}
	before := backupBytes(t, s)
	res, err := importPath(t, s, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 0 || res.Updated != 0 || res.Unchanged != len(sample.Rows) || res.Changed() {
		t.Errorf("second import = %+v", res)
	}
	if got := res.Summary(); got != "imported sample.xlsx: 0 added, 0 updated, 14 unchanged (nothing changed)" {
		t.Errorf("summary = %q", got)
	}
	if !bytes.Equal(before, backupBytes(t, s)) {
		t.Error("a second import of the same file wrote to the store")
	}
	// Its own export, re-imported, changes nothing either.
	out := filepath.Join(t.TempDir(), "export.xlsx")
	if err := ExportFile(context.Background(), out, allEntries(t, s), ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if res, err := importPath(t, s, out, Options{}); err != nil || res.Changed() {
		t.Errorf("re-import of the export: %+v, %v", res, err)
	}
}

// TestImportStatusIsTheTeamsWord: an entry released in the store that the
// sheet shows as 处理中 becomes 处理中, and the audit log says so.
func TestImportStatusIsTheTeamsWord(t *testing.T) {
	s := newSheetStore(t)
	if err := s.Update(func(tx *ledger.Tx) error {
		return tx.PutEntry(&ledger.Entry{ID: "20", System: "小贷", Status: ledger.StatusReleased, Release: "2026-12-03",
			ReleasedOn: ledger.Date{Year: 2026, Month: 12, Day: 3}, RequirementDoc: "docs/old.docx"})
	}); err != nil {
		t.Fatal(err)
	}
	csv := "编号,系统,问题状态,测试负责人\n20,小贷,处理中,小周\n"
	res, err := importPath(t, s, writeTemp(t, "t.csv", []byte(csv)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Updated != 1 || len(res.StatusChanges) != 1 {
		t.Fatalf("result = %+v", res)
	}
	sc := res.StatusChanges[0]
	if sc.ID != "20" || sc.From != ledger.StatusReleased || sc.To != ledger.StatusInProgress || sc.Lifecycle || sc.Row != 2 {
		t.Errorf("status change = %+v", sc)
	}
	e := entryByID(t, s, "20")
	if e.Status != ledger.StatusInProgress || e.TestLead != "小周" {
		t.Errorf("entry = %+v", e)
	}
	// Columns the sheet lacks keep the stored values.
	if e.Release != "2026-12-03" || e.ReleasedOn != (ledger.Date{Year: 2026, Month: 12, Day: 3}) || e.RequirementDoc != "docs/old.docx" {
		t.Errorf("fields the sheet lacks were lost: %+v", e)
	}
	log := auditLog(t, s, "20")
	var status *ledger.AuditRecord
	for i := range log {
		if log[i].Field == "status" {
			status = &log[i]
		}
	}
	if status == nil || status.Old != "已上线" || status.New != "处理中" || status.Actor != "import" ||
		!strings.Contains(status.Detail, "not a lifecycle move") || !strings.Contains(status.Detail, "t.csv row 2") || !status.Time.Equal(sheetTestClock()) {
		t.Errorf("status audit = %+v (all: %+v)", status, log)
	}
}

// TestImportHeaderVariants: the header under caption rows, English names,
// whitespace anywhere in the Chinese headers, unknown and headerless
// columns kept as extras and reported.
func TestImportHeaderVariants(t *testing.T) {
	csv := "上线运维台帐,,,,,\n" +
		"2026年第48周,,,,,\n" +
		"ID, System ,测试计划 开始时间,测试计划\u3000完成时间,Has_SQL,备注,,REQUIREMENT DOC,问题状态\n" +
		"7,核心,2019/3/8,2019-03-09,Y,加急,无表头的值,docs/req-7.docx,dev done\n" +
		"8,网银,,,否,,,,\n"
	s := newSheetStore(t)
	res, err := importPath(t, s, writeTemp(t, "h.csv", []byte(csv)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.HeaderRow != 3 || res.Added != 2 {
		t.Fatalf("result = %+v", res)
	}
	wantExtras := []ExtraColumn{{Column: "F", Header: "备注", Filled: 1}, {Column: "G", Header: "", Filled: 1}}
	if mustJSON(res.Extras) != mustJSON(wantExtras) {
		t.Errorf("extras reported = %+v, want %+v", res.Extras, wantExtras)
	}
	e := entryByID(t, s, "7")
	if e.System != "核心" || e.TestStart != (ledger.Date{Year: 2019, Month: 3, Day: 8}) || e.TestFinish != (ledger.Date{Year: 2019, Month: 3, Day: 9}) ||
		e.HasSQL != ledger.Yes || e.RequirementDoc != "docs/req-7.docx" || e.Status != ledger.StatusDevDone {
		t.Errorf("entry 7 = %+v", e)
	}
	if mustJSON(e.Extras) != mustJSON([]ledger.Extra{{Header: "备注", Value: "加急"}, {Header: "", Value: "无表头的值"}}) {
		t.Errorf("entry 7 extras = %+v", e.Extras)
	}
	if e := entryByID(t, s, "8"); e.Extras != nil || e.HasSQL != ledger.No {
		t.Errorf("entry 8 = %+v", e)
	}
	// The extras come back on export, after 需求文档, and re-import equal.
	var buf bytes.Buffer
	if err := WriteCSV(&buf, allEntries(t, s), ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	header := strings.SplitN(strings.TrimPrefix(buf.String(), "\ufeff"), "\n", 2)[0]
	if !strings.HasSuffix(header, ",关联系统,需求文档,备注,") {
		t.Errorf("export header = %q", header)
	}
	p, err := ReadBytes(context.Background(), "back.csv", buf.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range allEntries(t, s) {
		if !p.Entries[i].Equal(e) {
			t.Errorf("re-read entry %s = %+v, want %+v", e.ID, p.Entries[i], e)
		}
	}
}

// TestImportDateCells reads real date cells written by excelize in several
// number formats, a datetime, a date typed as text, and the 1904 system.
func TestImportDateCells(t *testing.T) {
	for _, date1904 := range []bool{false, true} {
		t.Run(map[bool]string{false: "1900 system", true: "1904 system"}[date1904], func(t *testing.T) {
			f := excelize.NewFile()
			if date1904 {
				yes := true
				if err := f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &yes}); err != nil {
					t.Fatal(err)
				}
			}
			sh := "Sheet1"
			f.SetSheetRow(sh, "A1", &[]any{"编号", "系统", "提出日期", "计划开始时间", "计划完成时间", "测试计划开始时间", "测试计划完成时间"})
			day := time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC)
			builtin14, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
			cn := "yyyy年m月d日"
			custom, _ := f.NewStyle(&excelize.Style{CustomNumFmt: &cn})
			iso := "yyyy-mm-dd"
			isoStyle, _ := f.NewStyle(&excelize.Style{CustomNumFmt: &iso})
			dt := "yyyy/m/d h:mm"
			dtStyle, _ := f.NewStyle(&excelize.Style{CustomNumFmt: &dt})
			// C2: time.Time (excelize picks the serial and a date format).
			f.SetCellValue(sh, "A2", 1)
			f.SetCellValue(sh, "B2", "小贷")
			f.SetCellValue(sh, "C2", day)
			f.SetCellValue(sh, "D2", day.AddDate(0, 0, 1))
			f.SetCellStyle(sh, "D2", "D2", builtin14)
			f.SetCellValue(sh, "E2", day.AddDate(0, 0, 6))
			f.SetCellStyle(sh, "E2", "E2", custom)
			f.SetCellValue(sh, "F2", day.AddDate(0, 0, 7).Add(18*time.Hour))
			f.SetCellStyle(sh, "F2", "F2", dtStyle)
			f.SetCellValue(sh, "G2", day.AddDate(0, 0, 8))
			f.SetCellStyle(sh, "G2", "G2", isoStyle)
			f.SetCellValue(sh, "A3", 2)
			f.SetCellStr(sh, "C3", "2019/3/1")
			f.SetCellStr(sh, "D3", "2019年3月2日")
			path := saveWorkbook(t, f, "dates.xlsx")
			if date1904 {
				// excelize writes times in the workbook's date system.
				chk, _ := excelize.OpenFile(path)
				raw, _ := chk.GetCellValue(sh, "C2", excelize.Options{RawCellValue: true})
				chk.Close()
				if raw != "42063" {
					t.Fatalf("C2 raw = %q, want the 1904-system serial 42063", raw)
				}
			}
			p, err := ReadFile(context.Background(), path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := func(m time.Month, day int) ledger.Date { return ledger.Date{Year: 2019, Month: m, Day: day} }
			e := p.Entries[0]
			got := []ledger.Date{e.ProposedOn, e.PlannedStart, e.PlannedFinish, e.TestStart, e.TestFinish}
			want := []ledger.Date{d(3, 1), d(3, 2), d(3, 7), d(3, 8), d(3, 9)}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("date column %d = %v, want %v", i, got[i], want[i])
				}
			}
			if e := p.Entries[1]; e.ProposedOn != d(3, 1) || e.PlannedStart != d(3, 2) {
				t.Errorf("dates typed as text: %v %v", e.ProposedOn, e.PlannedStart)
			}
		})
	}
}

// TestImportMergedCells: a merged caption row, and value cells merged down
// a column take the range's top-left value.
func TestImportMergedCells(t *testing.T) {
	rows := [][]string{sampleRow(t, "21"), sampleRow(t, "22"), sampleRow(t, "23")}
	rows[1][1], rows[2][1] = "", "" // 系统 only in the top cell
	rows[1][21], rows[2][21] = "", ""
	f := seedWorkbook(t, rows)
	sh := sample.SheetName
	if err := f.MergeCell(sh, "B3", "B5"); err != nil { // 系统 of rows 3-5
		t.Fatal(err)
	}
	if err := f.MergeCell(sh, "V3", "V5"); err != nil { // 测试负责人
		t.Fatal(err)
	}
	if err := f.MergeCell(sh, "O4", "P4"); err != nil { // 业务部门反馈 over 解决情况备注
		t.Fatal(err)
	}
	f.SetCellStr(sh, "O4", "已确认")
	s := newSheetStore(t)
	res, err := importPath(t, s, saveWorkbook(t, f, "merged.xlsx"), Options{})
	if err != nil || res.Added != 3 {
		t.Fatalf("%+v, %v", res, err)
	}
	for _, id := range []string{"21", "22", "23"} {
		if e := entryByID(t, s, id); e.System != "小贷" || e.TestLead != "琳琳" {
			t.Errorf("entry %s: 系统 %q 测试负责人 %q, want the merged top-left values", id, e.System, e.TestLead)
		}
	}
	if e := entryByID(t, s, "22"); e.BusinessFeedback != "已确认" || e.ResolutionNote != "已确认" {
		t.Errorf("horizontal merge: %q %q", e.BusinessFeedback, e.ResolutionNote)
	}
}

func TestImportCSVEncodings(t *testing.T) {
	text := "编号,系统,问题描述,问题状态\r\n\r\n21,小贷,\"多行\r\n描述, 含\"\"引号\"\"\",开发完成\r\n22,核心,说明,待处理\r\n"
	gb, err := simplifiedChinese(text)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"utf-8":     []byte(text),
		"utf-8 BOM": append([]byte("\ufeff"), text...),
		"gb18030":   gb,
		"semicolon": []byte(strings.NewReplacer(",", ";").Replace("编号,系统,问题描述,问题状态\n21,小贷,\"多行\n描述, 含\"\"引号\"\"\",开发完成\n22,核心,说明,待处理\n")),
		"tab":       []byte("编号\t系统\t问题描述\t问题状态\n21\t小贷\t\"多行\n描述, 含\"\"引号\"\"\"\t开发完成\n22\t核心\t说明\t待处理\n"),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := ReadBytes(context.Background(), "l.csv", data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Entries) != 2 {
				t.Fatalf("entries = %d", len(p.Entries))
			}
			e := p.Entries[0]
			want := "多行\n描述, 含\"引号\""
			if name == "semicolon" {
				want = "多行\n描述; 含\"引号\""
			}
			if e.ID != "21" || e.System != "小贷" || e.Description != want || e.Status != ledger.StatusDevDone {
				t.Errorf("entry = %+v", e)
			}
			if p.Entries[1].System != "核心" {
				t.Errorf("second entry = %+v", p.Entries[1])
			}
		})
	}
}

// TestImportSkipInvalid writes the good rows and lists the bad ones.
func TestImportSkipInvalid(t *testing.T) {
	csv := "编号,系统,提出日期,优先级\n" +
		"1,小贷,2019/3/1,高\n" +
		"2,核心,2019/2/30,中\n" +
		"3,信贷,,最高\n" +
		"1,网银,,低\n" +
		",支付,,\n" +
		"4,网银,2019年3月1日,低\n"
	s := newSheetStore(t)
	res, err := importPath(t, s, writeTemp(t, "skip.csv", []byte(csv)), Options{SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 2 || res.SkippedRows != 4 || len(res.Skipped) != 4 {
		t.Fatalf("result = %s", mustJSON(res))
	}
	wantRows := []int{3, 4, 5, 6}
	for i, p := range res.Skipped {
		if p.Row != wantRows[i] {
			t.Errorf("skipped[%d] row = %d, want %d", i, p.Row, wantRows[i])
		}
	}
	if !strings.Contains(res.Summary(), "2 added, 0 updated, 0 unchanged, 4 row(s) skipped") {
		t.Errorf("summary = %q", res.Summary())
	}
	got := allEntries(t, s)
	if len(got) != 2 || got[0].ID != "1" || got[0].System != "小贷" || got[1].ID != "4" {
		t.Errorf("stored = %s", mustJSON(got))
	}
}

func TestImportHonoursContext(t *testing.T) {
	f, _ := sample.Workbook()
	path := saveWorkbook(t, f, "sample.xlsx")
	s := newSheetStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := backupBytes(t, s)
	if _, err := ImportFile(ctx, s, path, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !bytes.Equal(before, backupBytes(t, s)) {
		t.Error("a cancelled import wrote to the store")
	}
}

func TestImportStatusAliases(t *testing.T) {
	words, err := ledger.NewStatusWords(map[string]string{"待测试": "dev_done"})
	if err != nil {
		t.Fatal(err)
	}
	csv := []byte("编号,系统,问题状态\n1,小贷,待测试\n")
	if _, err := ReadBytes(context.Background(), "a.csv", csv, Options{}); err == nil {
		t.Fatal("an unconfigured word was accepted")
	}
	s := newSheetStore(t)
	if _, err := ImportBytes(context.Background(), s, "a.csv", csv, Options{Words: words}); err != nil {
		t.Fatal(err)
	}
	e := entryByID(t, s, "1")
	if e.Status != ledger.StatusDevDone {
		t.Errorf("status = %s", e.Status)
	}
	// The team's word goes back out, and a re-import changes nothing.
	var buf bytes.Buffer
	if err := WriteCSV(&buf, []*ledger.Entry{e}, ExportOptions{Words: words}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), ",待测试,") {
		t.Errorf("export lost the alias: %q", buf.String())
	}
	if res, err := ImportBytes(context.Background(), s, "b.csv", buf.Bytes(), Options{Words: words}); err != nil || res.Changed() {
		t.Errorf("re-import: %+v %v", res, err)
	}
}
