package sheet

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/fabu-team/fabu/ledger"
)

func benchZZImport(b *testing.B, path string) {
	dir := b.TempDir()
	c0 := cpuNow()
	for i := 0; i < b.N; i++ {
		s, err := ledger.Open(filepath.Join(dir, fmt.Sprint(i, ".db")), ledger.Options{})
		if err != nil {
			b.Fatal(err)
		}
		res, err := ImportFile(context.Background(), s, path, Options{})
		if err != nil || res.Added != 100000 {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(float64((cpuNow()-c0).Milliseconds())/float64(b.N), "cpu-ms/op")
}

func BenchmarkZZImportXLSX(b *testing.B) { benchZZImport(b, "/tmp/sheetwork/ledger-100000.xlsx") }
func BenchmarkZZImportCSV(b *testing.B)  { benchZZImport(b, "/tmp/sheetwork/ledger-100000.csv") }
