package sheet

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadCSV: any bytes read as a ledger CSV either give a *FileError or
// entries and problems that name real places; the entries read give a CSV
// export that reads back to the same entries. Seeds: testdata/fuzz/FuzzReadCSV
// and the CSV goldens.
func FuzzReadCSV(f *testing.F) {
	for _, name := range []string{"sample-export.csv", "sample-export-en.csv"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "golden", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("编号,系统,问题状态\n1,小贷,处理中\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		p, err := ReadBytes(ctx, "f.csv", data, Options{SkipInvalid: true})
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || fe.File != "f.csv" {
				t.Fatalf("error %T is not a *FileError naming the file: %v", err, err)
			}
			return
		}
		for _, pr := range p.Problems {
			if pr.File != "f.csv" || pr.Sheet != "f.csv" || pr.Row <= p.HeaderRow || pr.Column == "" || pr.Message == "" {
				t.Fatalf("problem without a place: %+v", pr)
			}
		}
		if p.BadRows+len(p.Entries) != p.Rows {
			t.Fatalf("%d bad + %d good rows, but %d rows read", p.BadRows, len(p.Entries), p.Rows)
		}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, p.Entries, ExportOptions{}); err != nil {
			t.Fatalf("export of what was read: %v", err)
		}
		q, err := ReadBytes(ctx, "g.csv", buf.Bytes(), Options{})
		if err != nil {
			t.Fatalf("re-read of the export: %v\n%q", err, buf.String())
		}
		if len(q.Entries) != len(p.Entries) {
			t.Fatalf("%d entries back, want %d", len(q.Entries), len(p.Entries))
		}
		for i := range p.Entries {
			if !q.Entries[i].Equal(p.Entries[i]) {
				t.Fatalf("entry %q changed in the round trip: %s", p.Entries[i].ID, fieldDiff(q.Entries[i], p.Entries[i]))
			}
		}
	})
}
