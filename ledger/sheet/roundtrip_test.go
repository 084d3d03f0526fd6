package sheet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
)

// textPieces are what random text is made of: Chinese, CSV and XML
// specials, line breaks, things that look like numbers, dates or formulas.
var textPieces = []string{
	"小贷", "账务", "生成文件", "a", "B", " ", "  ", ",", "，", "\"", "'", "\n", "\n\n", "\t", "。", "、", "；", ";",
	"=1+1", "0.30000000000000004", "007", "1e5", "2019/3/1", "43525", "_x0041_", "<b>&amp;</b>", "😀", "ＡＢＣ",
	"é", "ü", "—", "…", "\\", "%s", "是", "否", "高",
}

func randomText(r *rand.Rand, maxPieces int) string {
	var b strings.Builder
	for n := r.IntN(maxPieces + 1); n > 0; n-- {
		b.WriteString(textPieces[r.IntN(len(textPieces))])
	}
	return b.String()
}

func randomDate(r *rand.Rand) ledger.Date {
	if r.IntN(3) == 0 {
		return ledger.Date{}
	}
	if r.IntN(20) == 0 { // before Excel's 1900-03-01, written as text
		return ledger.Date{Year: 1900, Month: time.Month(1 + r.IntN(2)), Day: 1 + r.IntN(28)}
	}
	d := time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(200*365))
	return ledger.DateOf(d)
}

// statusWordsFor are words an import may have kept as the team's word.
var statusWordsFor = map[ledger.Status][]string{
	ledger.StatusRegistered: {"待处理", "未开始", "新建"},
	ledger.StatusInProgress: {"处理中", "开发中"},
	ledger.StatusDevDone:    {"开发完成", "待提测"},
	ledger.StatusInTest:     {"测试中", "已提测"},
	ledger.StatusPassed:     {"测试通过"},
	ledger.StatusFailed:     {"测试不通过", "测试未通过"},
	ledger.StatusApproved:   {"待发版", "已审批"},
	ledger.StatusReleased:   {"已上线", "已发版"},
	ledger.StatusClosed:     {"已关闭", "已取消"},
}

// extraOrder is the column order of the random extras (entries read from
// one sheet keep its column order).
var extraOrder = []string{"备注", "", "上线批次", "", "Note"}

// randomEntries makes n entries as an import leaves them: the team's
// status word when it is not the canonical one, no store-only fields.
func randomEntries(r *rand.Rand, n int) []*ledger.Entry {
	out := make([]*ledger.Entry, n)
	for i := range out {
		var id string
		switch r.IntN(4) {
		case 0:
			id = "T-" + strconv.Itoa(i)
		case 1:
			id = "临时" + strconv.Itoa(i)
		case 2:
			id = fmt.Sprintf("0%02d", i) // a leading zero stays text
		default:
			id = strconv.Itoa(100000 + i)
		}
		e := &ledger.Entry{
			ID: id, System: randomText(r, 2), Subsystem: randomText(r, 2), Module: randomText(r, 2),
			Function: randomText(r, 3), Category: randomText(r, 1), Description: randomText(r, 12),
			HasSQL: ledger.YesNo(r.IntN(3)), ExpectedSolution: randomText(r, 6), TechSolution: randomText(r, 6),
			Proposer: randomText(r, 1), ProposedOn: randomDate(r), Priority: ledger.Priority(r.IntN(4)),
			Status: ledger.Status(r.IntN(10)), BusinessFeedback: randomText(r, 4), ResolutionNote: randomText(r, 4),
			PlannedStart: randomDate(r), PlannedFinish: randomDate(r), TechLead: randomText(r, 1),
			TestStart: randomDate(r), TestFinish: randomDate(r), TestLead: randomText(r, 1),
			TestOpinion: randomText(r, 5), RelatedSystems: randomText(r, 3), RequirementDoc: randomText(r, 2),
		}
		if words := statusWordsFor[e.Status]; len(words) > 0 {
			if w := words[r.IntN(len(words))]; w != e.Status.Chinese() {
				e.StatusText = w // a team word; the canonical one is not kept
			}
		}
		// As read from a sheet with these extra columns: a column's value
		// when not blank, and the first "" column (even blank) when the
		// second "" column has a value.
		vals := make([]string, len(extraOrder))
		for j := range vals {
			if r.IntN(3) == 0 {
				vals[j] = randomText(r, 4)
			}
		}
		secondEmpty := strings.TrimSpace(vals[3]) != ""
		for j, h := range extraOrder {
			if strings.TrimSpace(vals[j]) != "" || (j == 1 && secondEmpty) {
				e.Extras = append(e.Extras, ledger.Extra{Header: h, Value: vals[j]})
			}
		}
		out[i] = e
	}
	return out
}

func diffEntries(t *testing.T, label string, got, want []*ledger.Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d entries back, want %d", label, len(got), len(want))
	}
	bad := 0
	for i := range want {
		if got[i].Equal(want[i]) {
			continue
		}
		if bad++; bad > 3 {
			t.Fatalf("%s: more entries differ", label)
		}
		t.Errorf("%s: entry %q differs: %s", label, want[i].ID, fieldDiff(got[i], want[i]))
	}
}

// TestRoundTripProperty: random entries → export (.xlsx and .csv, both
// header languages, both CSV encodings) → import → the same entries.
func TestRoundTripProperty(t *testing.T) {
	formats := []struct {
		name string
		file string
		opts ExportOptions
	}{
		{"xlsx zh", "r.xlsx", ExportOptions{}},
		{"xlsx en", "r.xlsx", ExportOptions{Lang: "en"}},
		{"csv utf-8 zh", "r.csv", ExportOptions{}},
		{"csv gb18030 en", "r.csv", ExportOptions{Lang: "en", Encoding: "gb18030"}},
		{"csv gb18030 zh", "r.csv", ExportOptions{Encoding: "gb18030"}},
	}
	for seed := uint64(1); seed <= 4; seed++ {
		want := randomEntries(rand.New(rand.NewPCG(seed, 99)), 150)
		for _, f := range formats {
			t.Run(fmt.Sprintf("seed %d %s", seed, f.name), func(t *testing.T) {
				var buf bytes.Buffer
				var err error
				if strings.HasSuffix(f.file, ".xlsx") {
					err = WriteXLSX(&buf, want, f.opts)
				} else {
					err = WriteCSV(&buf, want, f.opts)
				}
				if err != nil {
					t.Fatal(err)
				}
				p, err := ReadBytes(context.Background(), f.file, buf.Bytes(), Options{})
				if err != nil {
					t.Fatal(err)
				}
				diffEntries(t, f.name, p.Entries, want)
			})
		}
	}
}

// TestRoundTripThroughStores: import → export → import into another store
// gives the same entries, and exporting that store gives the same file.
func TestRoundTripThroughStores(t *testing.T) {
	want := randomEntries(rand.New(rand.NewPCG(7, 7)), 200)
	var csv bytes.Buffer
	if err := WriteCSV(&csv, want, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	a, b := newSheetStore(t), newSheetStore(t)
	if _, err := ImportBytes(context.Background(), a, "in.csv", csv.Bytes(), Options{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.xlsx")
	if err := ExportFile(context.Background(), out, allEntries(t, a), ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if res, err := importPath(t, b, out, Options{}); err != nil || res.Added != len(want) {
		t.Fatalf("%+v %v", res, err)
	}
	diffEntries(t, "store b", allEntries(t, b), allEntries(t, a))
	var again bytes.Buffer
	if err := WriteCSV(&again, allEntries(t, b), ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	var first bytes.Buffer
	WriteCSV(&first, allEntries(t, a), ExportOptions{})
	if !bytes.Equal(first.Bytes(), again.Bytes()) {
		t.Error("the CSV of the second store differs from the first's")
	}
}

// TestExportGolden fixes the CSV export of the sample (UTF-8 with BOM,
// Chinese headers in the seed's order, 需求文档 last).
func TestExportGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		opts   ExportOptions
	}{
		{"sample-export.csv", ExportOptions{}},
		{"sample-export-en.csv", ExportOptions{Lang: "en"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			s := newSheetStore(t)
			if _, err := importPath(t, s, filepath.Join("..", "..", "testdata", "sample-ledger.xlsx"), Options{}); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteCSV(&buf, allEntries(t, s), tc.opts); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", tc.golden)
			if *updateGolden {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("export differs from %s (run with -update to accept):\n%s", golden, buf.String())
			}
			if !bytes.HasPrefix(buf.Bytes(), utf8BOM) {
				t.Error("no BOM")
			}
		})
	}
}

func TestExportOptionsRefused(t *testing.T) {
	for _, o := range []ExportOptions{{Lang: "fr"}, {Encoding: "latin1"}} {
		if err := WriteCSV(&bytes.Buffer{}, nil, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if err := ExportFile(context.Background(), filepath.Join(t.TempDir(), "x.txt"), nil, ExportOptions{}); err == nil {
		t.Error("export to .txt accepted")
	}
	long := &ledger.Entry{ID: "1", Description: strings.Repeat("长", 32768)}
	if err := WriteXLSX(&bytes.Buffer{}, []*ledger.Entry{long}, ExportOptions{}); err == nil || !strings.Contains(err.Error(), "more than an Excel cell holds") {
		t.Errorf("over-long cell: %v", err)
	}
}

// TestExportXLSXLayout checks the exported workbook: sheet name, header
// row, date cells, numeric 编号, and extras after 需求文档.
func TestExportXLSXLayout(t *testing.T) {
	es := []*ledger.Entry{
		{ID: "20", System: "小贷", ProposedOn: ledger.Date{Year: 2019, Month: 3, Day: 1}, Extras: []ledger.Extra{{Header: "备注", Value: "x"}}},
		{ID: "007", System: "核心", Extras: []ledger.Extra{{Header: "", Value: "y"}, {Header: "备注", Value: "z"}}},
	}
	path := filepath.Join(t.TempDir(), "l.xlsx")
	if err := ExportFile(context.Background(), path, es, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := ReadFile(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Sheet != DefaultSheetName || p.HeaderRow != 1 {
		t.Errorf("sheet %q header row %d", p.Sheet, p.HeaderRow)
	}
	wantExtras := []ExtraColumn{{Column: "Z", Header: "", Filled: 1}, {Column: "AA", Header: "备注", Filled: 2}}
	if mustJSON(p.Extras) != mustJSON(wantExtras) {
		t.Errorf("extra columns = %+v, want %+v", p.Extras, wantExtras)
	}
	diffEntries(t, "layout", p.Entries, es)
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("export file mode: %v %v", info, err)
	}
}

// fieldDiff lists the JSON fields that differ.
func fieldDiff(got, want *ledger.Entry) string {
	var g, w map[string]any
	json.Unmarshal([]byte(mustJSON(got)), &g)
	json.Unmarshal([]byte(mustJSON(want)), &w)
	var out []string
	for k := range g {
		if _, ok := w[k]; !ok {
			w[k] = nil
		}
	}
	for k := range w {
		if fmt.Sprint(g[k]) != fmt.Sprint(w[k]) {
			out = append(out, fmt.Sprintf("%s: got %q, want %q", k, fmt.Sprint(g[k]), fmt.Sprint(w[k])))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}
