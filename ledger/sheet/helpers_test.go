package sheet

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/ledger/sheet/internal/sample"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Golden files in testdata/golden are rewritten with -update.
var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func sheetTestClock() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) }

// newSheetStore opens a real bbolt store in the test's temp dir.
func newSheetStore(t *testing.T) *ledger.Store {
	t.Helper()
	s, err := ledger.Open(filepath.Join(t.TempDir(), "fabu.db"), ledger.Options{Now: sheetTestClock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// backupBytes is a hot backup of the store: equal bytes mean nothing was
// committed in between.
func backupBytes(t *testing.T, s *ledger.Store) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := s.Backup(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func allEntries(t *testing.T, s *ledger.Store) []*ledger.Entry {
	t.Helper()
	var es []*ledger.Entry
	if err := s.View(func(tx *ledger.Tx) error {
		var err error
		es, err = tx.Entries()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return es
}

func entryByID(t *testing.T, s *ledger.Store, id string) *ledger.Entry {
	t.Helper()
	var e *ledger.Entry
	if err := s.View(func(tx *ledger.Tx) error {
		var err error
		e, err = tx.Entry(id)
		return err
	}); err != nil {
		t.Fatalf("entry %s: %v", id, err)
	}
	return e
}

func auditLog(t *testing.T, s *ledger.Store, subject string) []ledger.AuditRecord {
	t.Helper()
	var log []ledger.AuditRecord
	if err := s.View(func(tx *ledger.Tx) error {
		var err error
		log, err = tx.AuditLog(subject)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return log
}

// writeTemp writes data to a file called name in a temp dir.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// saveWorkbook saves f to a temp file called name.
func saveWorkbook(t *testing.T, f *excelize.File, name string, opts ...excelize.Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := f.SaveAs(path, opts...); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

// seedWorkbook builds a workbook laid out like the seed's sheet (caption
// row, the 24 headers, the empty 25th header, 需求文档) holding rows.
func seedWorkbook(t *testing.T, rows [][]string) *excelize.File {
	t.Helper()
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", sample.SheetName); err != nil {
		t.Fatal(err)
	}
	if err := sample.Fill(f, sample.SheetName, rows); err != nil {
		t.Fatal(err)
	}
	return f
}

// sampleRow returns a copy of the sample row of entry id.
func sampleRow(t *testing.T, id string) []string {
	t.Helper()
	for _, r := range sample.Rows {
		if r[0] == id {
			return append([]string(nil), r...)
		}
	}
	t.Fatalf("no sample row %s", id)
	return nil
}

func importPath(t *testing.T, s *ledger.Store, path string, opts Options) (*Result, error) {
	t.Helper()
	return ImportFile(context.Background(), s, path, opts)
}

func mustJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func simplifiedChinese(s string) ([]byte, error) {
	return simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
}
