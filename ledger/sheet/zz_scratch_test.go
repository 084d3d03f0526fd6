package sheet

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

func TestZZScratch(t *testing.T) {
	path := "/tmp/sheetwork/ledger-100000.xlsx"
	if _, err := os.Stat(path); err != nil {
		if err := ExportFile(context.Background(), path, benchEntries(100000), ExportOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := ExportFile(context.Background(), "/tmp/sheetwork/ledger-100000.csv", benchEntries(100000), ExportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(path)
	st := time.Now()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("OpenReader %v", time.Since(st))
	f.Close()
	st = time.Now()
	zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		n, _ := io.Copy(io.Discard, rc)
		rc.Close()
		t.Logf("%s %d", zf.Name, n)
	}
	t.Logf("inflate all %v", time.Since(st))
	st = time.Now()
	m, err := sheetMerges(data, DefaultSheetName)
	t.Logf("merges %v %d %v", time.Since(st), len(m), err)
}
