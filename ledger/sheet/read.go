package sheet

import (
	"context"
	"path/filepath"

	"github.com/fabu-team/fabu/ledger"
)

// Parsed is a sheet read without a store.
type Parsed struct {
	File      string
	Sheet     string
	HeaderRow int
	Rows      int // non-empty data rows
	// Entries are the good rows, in sheet order.
	Entries []*ledger.Entry
	// Problems are the bad rows' problems, in row order.
	Problems []Problem
	BadRows  int
	Extras   []ExtraColumn
	Notes    []string
}

// ReadFile reads the ledger sheet at path into entries, the way ImportFile
// does but without a store. Bad rows give an *InvalidError unless
// opts.SkipInvalid, when they are listed in Parsed.Problems.
func ReadFile(ctx context.Context, path string, opts Options) (*Parsed, error) {
	opts.defaults()
	t, err := openTable(ctx, path, opts.Sheet, opts.Logger)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	return readTable(ctx, t, filepath.Base(path), opts)
}

// ReadBytes is ReadFile over a file's content; name is its file name.
func ReadBytes(ctx context.Context, name string, data []byte, opts Options) (*Parsed, error) {
	opts.defaults()
	t, err := openBytes(ctx, name, data, opts.Sheet, opts.Logger)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	return readTable(ctx, t, name, opts)
}

func readTable(ctx context.Context, t table, name string, opts Options) (*Parsed, error) {
	hdr, err := findHeader(t, name)
	if err != nil {
		return nil, err
	}
	p := &parser{file: name, sheet: t.Name(), hdr: hdr, words: opts.Words, date1904: t.Date1904()}
	out := &Parsed{File: name, Sheet: t.Name(), HeaderRow: hdr.Row}
	var probs problems
	out.Rows, err = eachRow(ctx, t, p, &probs, func(row int, id string, cells []string) error {
		e := &ledger.Entry{ID: id}
		if rp := p.apply(e, row, cells); len(rp) > 0 {
			probs.addRow(rp)
			return nil
		}
		out.Entries = append(out.Entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Problems, out.BadRows = probs.list, probs.rows
	out.Extras = extraColumns(hdr)
	out.Notes = t.Notes()
	if probs.rows > 0 && !opts.SkipInvalid {
		return out, &InvalidError{File: name, Sheet: t.Name(), Rows: probs.rows, Problems: probs.list}
	}
	return out, nil
}
