//go:build unix

package sheet

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/xuri/excelize/v2"
)

// benchEntries makes n entries shaped like a team's ledger rows: about
// half the columns filled, short Chinese text, dates, a few systems.
func benchEntries(n int) []*ledger.Entry {
	systems := []string{"小贷", "核心", "信贷", "网银", "支付", "理财", "票据", "国结", "柜面", "渠道"}
	statuses := []ledger.Status{ledger.StatusRegistered, ledger.StatusInProgress, ledger.StatusDevDone, ledger.StatusInTest, ledger.StatusPassed, ledger.StatusReleased}
	out := make([]*ledger.Entry, n)
	for i := range out {
		d := ledger.Date{Year: 2020 + i%7, Month: time.Month(1 + i%12), Day: 1 + i%28}
		out[i] = &ledger.Entry{
			ID:             strconv.Itoa(i + 1),
			System:         systems[i%len(systems)],
			Subsystem:      "账务",
			Module:         "接口",
			Function:       "生成文件" + strconv.Itoa(i%50),
			Category:       []string{"新功能", "缺陷", "优化", "数据修复"}[i%4],
			Description:    "第" + strconv.Itoa(i) + "号需求：日终批量生成对账文件，字段见需求文档",
			HasSQL:         ledger.YesNo(1 + i%2),
			TechSolution:   "可以修改",
			Proposer:       "琳琳",
			ProposedOn:     d,
			Priority:       ledger.Priority(1 + i%3),
			Status:         statuses[i%len(statuses)],
			PlannedStart:   d,
			PlannedFinish:  d,
			TechLead:       "王工",
			TestLead:       []string{"琳琳", "小周"}[i%2],
			RequirementDoc: "docs/req-" + strconv.Itoa(i+1) + ".docx",
		}
	}
	return out
}

func writeBenchFile(b *testing.B, dir, ext string, n int) string {
	b.Helper()
	path := filepath.Join(dir, fmt.Sprintf("ledger-%d.%s", n, ext))
	if err := ExportFile(context.Background(), path, benchEntries(n), ExportOptions{}); err != nil {
		b.Fatal(err)
	}
	if ext == "sst.xlsx" {
		toSharedStrings(b, path)
	}
	return path
}

// toSharedStrings rewrites an .xlsx of the exporter (inline strings) the
// way Excel writes one: every string cell a shared string.
func toSharedStrings(b *testing.B, path string) {
	b.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		b.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	inline := regexp.MustCompile(`t="inlineStr"><is><t([^>]*)>(.*?)</t></is>`)
	index := map[string]int{}
	var sst strings.Builder
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			b.Fatal(err)
		}
		switch zf.Name {
		case "xl/worksheets/sheet1.xml":
			body = inline.ReplaceAllFunc(body, func(m []byte) []byte {
				item := string(inline.ReplaceAll(m, []byte(`<si><t$1>$2</t></si>`)))
				i, ok := index[item]
				if !ok {
					i = len(index)
					index[item] = i
					sst.WriteString(item)
				}
				return []byte(fmt.Sprintf(`t="s"><v>%d</v>`, i))
			})
		case "xl/_rels/workbook.xml.rels":
			body = bytes.Replace(body, []byte("</Relationships>"), []byte(`<Relationship Id="rIdSST" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>`), 1)
		case "[Content_Types].xml":
			body = bytes.Replace(body, []byte("</Types>"), []byte(`<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`), 1)
		}
		w, err := zw.Create(zf.Name)
		if err != nil {
			b.Fatal(err)
		}
		w.Write(body)
	}
	w, err := zw.Create("xl/sharedStrings.xml")
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"+`<sst xmlns="%s" count="%d" uniqueCount="%d">%s</sst>`,
		"http://schemas.openxmlformats.org/spreadsheetml/2006/main", len(index), len(index), sst.String())
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
}

// TestSheetImportChild is the child process of the import benchmarks: it
// imports FABU_SHEET_BENCH_FILE into FABU_SHEET_BENCH_DB and prints the
// time the import took and its peak RSS (VmHWM: the rusage of a child
// counts the parent's RSS at the exec too, on Linux).
func TestSheetImportChild(t *testing.T) {
	file, db := os.Getenv("FABU_SHEET_BENCH_FILE"), os.Getenv("FABU_SHEET_BENCH_DB")
	if file == "" || db == "" {
		t.Skip("helper process of BenchmarkImport*; run by the benchmarks")
	}
	start := time.Now()
	s, err := ledger.Open(db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ImportFile(context.Background(), s, file, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("child-import-seconds=%f added=%d\n", time.Since(start).Seconds(), res.Added)
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if kib, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				fmt.Printf("child-peak-rss-kib=%s\n", strings.TrimSuffix(strings.TrimSpace(kib), " kB"))
			}
		}
	}
}

// benchImport imports a generated n-row file in a child process per
// iteration (a fresh store each time) and reports the child's peak RSS.
func benchImport(b *testing.B, ext string, n int) {
	dir := b.TempDir()
	path := writeBenchFile(b, dir, ext, n)
	var maxRSS int64
	var childSecs float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		db := filepath.Join(dir, fmt.Sprintf("bench-%d.db", i))
		cmd := exec.Command(os.Args[0], "-test.run=^TestSheetImportChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "FABU_SHEET_BENCH_FILE="+path, "FABU_SHEET_BENCH_DB="+db)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), fmt.Sprintf("added=%d", n)) {
			b.Fatalf("child did not import %d rows:\n%s", n, out)
		}
		var rss int64 // KiB
		if i := strings.Index(string(out), "child-peak-rss-kib="); i >= 0 {
			fmt.Sscanf(string(out[i:]), "child-peak-rss-kib=%d", &rss)
		} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss // KiB on Linux, but at least the parent's RSS at the exec
		}
		maxRSS = max(maxRSS, rss)
		if i := strings.Index(string(out), "child-import-seconds="); i >= 0 {
			var s float64
			fmt.Sscanf(string(out[i:]), "child-import-seconds=%f", &s)
			childSecs += s
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(maxRSS)/1024, "peak-RSS-MiB")
	b.ReportMetric(childSecs/float64(b.N), "import-s/op")
}

func BenchmarkImportXLSX100k(b *testing.B) { benchImport(b, "xlsx", 100_000) }
func BenchmarkImportCSV100k(b *testing.B)  { benchImport(b, "csv", 100_000) }

// BenchmarkImportXLSXSharedStrings100k imports the same rows from an .xlsx
// laid out as Excel saves it: strings in the shared strings part.
func BenchmarkImportXLSXSharedStrings100k(b *testing.B) { benchImport(b, "sst.xlsx", 100_000) }

// BenchmarkExcelizeRowsOnly100k is the floor under the .xlsx import: only
// excelize's streaming iterator (f.Rows, raw values) over the same file,
// nothing parsed or stored.
func BenchmarkExcelizeRowsOnly100k(b *testing.B) {
	path := writeBenchFile(b, b.TempDir(), "xlsx", 100_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := excelize.OpenFile(path)
		if err != nil {
			b.Fatal(err)
		}
		rows, err := f.Rows(DefaultSheetName)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for rows.Next() {
			if _, err := rows.Columns(rawValues); err != nil {
				b.Fatal(err)
			}
			n++
		}
		rows.Close()
		f.Close()
		if n != 100_001 {
			b.Fatalf("%d rows", n)
		}
	}
}

// BenchmarkFastReaderRowsOnly100k is the floor under the .xlsx import
// now: excelize opens the workbook, the fast reader reads the rows of the
// same file (the worksheet is over excelize's in-memory limit, so it
// inflates the zip entry itself), nothing parsed or stored.
func BenchmarkFastReaderRowsOnly100k(b *testing.B) {
	path := writeBenchFile(b, b.TempDir(), "xlsx", 100_000)
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		s, closeScan, why := newXLSXParts(f, data).openSheet(DefaultSheetName)
		if why != nil {
			b.Fatal(why)
		}
		n := 0
		for {
			_, _, ok, why := s.next()
			if why != nil {
				b.Fatal(why)
			}
			if !ok {
				break
			}
			n++
		}
		closeScan()
		f.Close()
		if n != 100_001 {
			b.Fatalf("%d rows", n)
		}
	}
}

// BenchmarkReadCSV100k and BenchmarkReadXLSX100k read and parse without a
// store (ReadFile), in-process.
func BenchmarkReadCSV100k(b *testing.B)  { benchRead(b, "csv") }
func BenchmarkReadXLSX100k(b *testing.B) { benchRead(b, "xlsx") }

func benchRead(b *testing.B, ext string) {
	path := writeBenchFile(b, b.TempDir(), ext, 100_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := ReadFile(context.Background(), path, Options{})
		if err != nil || len(p.Entries) != 100_000 {
			b.Fatalf("%v", err)
		}
	}
}
