// Command gensample writes the sample ledger workbook:
//
//	go run ./ledger/sheet/internal/sample/gensample -o testdata/sample-ledger.xlsx
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/fabu-team/fabu/ledger/sheet/internal/sample"
)

func main() {
	out := flag.String("o", "testdata/sample-ledger.xlsx", "file to write")
	flag.Parse()
	f, err := sample.Workbook()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gensample:", err)
		os.Exit(1)
	}
	defer f.Close()
	if err := f.SaveAs(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gensample:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s (%d entries)\n", *out, len(sample.Rows))
}
