package sheet

import (
	"context"
	"os"
	"reflect"
	"testing"
	"time"
	"bytes"
	"log/slog"

	"github.com/xuri/excelize/v2"
)

func TestZZSpeed(t *testing.T) {
	path := "/tmp/sheetwork/ledger-100000.xlsx"
	for i := 0; i < 2; i++ {
		st := time.Now()
		p, err := ReadFile(context.Background(), path, Options{Logger: slog.Default()})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("ReadFile xlsx %v entries %d", time.Since(st), len(p.Entries))
	}
	st := time.Now()
	p, err := ReadFile(context.Background(), "/tmp/sheetwork/ledger-100000.csv", Options{})
	t.Logf("ReadFile csv %v %v", time.Since(st), err == nil && len(p.Entries) == 100000)
	data, _ := os.ReadFile(path)
	f, _ := excelize.OpenReader(bytes.NewReader(data))
	parts := newXLSXParts(f, data)
	st = time.Now()
	s, cl, why := parts.openSheet(DefaultSheetName)
	if why != nil {
		t.Fatal(why)
	}
	var fast [][]string
	for {
		_, cells, ok, why := s.next()
		if why != nil {
			t.Fatal(why)
		}
		if !ok {
			break
		}
		fast = append(fast, cells)
	}
	cl()
	t.Logf("scan only %v rows %d", time.Since(st), len(fast))
	rows, _ := f.Rows(DefaultSheetName)
	i := 0
	for rows.Next() {
		c, _ := rows.Columns(rawValues)
		if !reflect.DeepEqual(c, fast[i]) {
			t.Fatalf("row %d: %q vs %q", i+1, c, fast[i])
		}
		i++
	}
	if i != len(fast) {
		t.Fatal(i)
	}
}
