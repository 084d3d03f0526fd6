package sheet

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf16"
)

// table is one sheet being read, row by row.
type table interface {
	// Name is the sheet's name (for .csv: the file name, as Excel shows it).
	Name() string
	// Next returns the next row: its 1-based number and its cells.
	Next() (row int, cells []string, ok bool)
	// Err is the error that ended the rows early, if any.
	Err() error
	// Date1904 reports whether serial dates count from 1904.
	Date1904() bool
	// Notes are things worth telling the user that are not errors.
	Notes() []string
	Close() error
}

var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
	// encryptionInfo is the stream name an encrypted OOXML package holds,
	// in UTF-16LE as the compound file directory writes it.
	encryptionInfo = func() []byte {
		var b []byte
		for _, u := range utf16.Encode([]rune("EncryptionInfo")) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}()
)

// openTable reads the file at path and opens the sheet to import: an .xlsx
// workbook (by content, whatever its name) or else a CSV text file. sheet
// chooses the worksheet of a workbook ("" = the first with a ledger header).
func openTable(ctx context.Context, path, sheet string, log *slog.Logger) (table, error) {
	name := filepath.Base(path)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{File: name, Msg: "cannot read the file", Err: err}
	}
	return openBytes(ctx, name, data, sheet, log)
}

// openBytes is openTable over the file's bytes; name is used in messages
// and to tell .xlsx from .csv when the content does not. log hears when
// the fast .xlsx reader hands over to excelize.
func openBytes(ctx context.Context, name string, data []byte, sheet string, log *slog.Logger) (table, error) {
	if len(bytes.TrimSpace(bytes.TrimPrefix(data, utf8BOM))) == 0 {
		return nil, &FileError{File: name, Msg: "the file is empty; export the ledger sheet from Excel again"}
	}
	ext := strings.ToLower(filepath.Ext(name))
	switch {
	case bytes.HasPrefix(data, zipMagic):
		return openXLSX(ctx, name, data, sheet, log)
	case bytes.HasPrefix(data, oleMagic):
		if bytes.Contains(data, encryptionInfo) {
			return nil, &FileError{File: name, Msg: "the workbook is encrypted (password-protected); fabu cannot read it: in Excel, remove the password (File → Info → Protect Workbook) and save a copy"}
		}
		return nil, &FileError{File: name, Msg: "this is an old-format .xls (or other OLE) file, not an .xlsx workbook: in Excel, save it as .xlsx (Excel Workbook) or .csv"}
	case ext == ".xlsx" || ext == ".xlsm" || ext == ".xls":
		return nil, &FileError{File: name, Msg: "this is not a spreadsheet: an " + ext + " workbook is a zip file and this one is not; export the ledger from Excel again"}
	}
	if looksBinary(data) {
		return nil, &FileError{File: name, Msg: "this is not a spreadsheet: it holds binary data, neither an .xlsx workbook nor CSV text"}
	}
	return openCSV(ctx, name, data)
}

// looksBinary reports whether data is not text: NUL bytes or many control
// characters in its first 64 KiB.
func looksBinary(data []byte) bool {
	head := data
	if len(head) > 64<<10 {
		head = head[:64<<10]
	}
	ctl := 0
	for _, c := range head {
		switch {
		case c == 0:
			return true
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f':
			ctl++
		}
	}
	return ctl > len(head)/100+1
}

// rawRow is one row read by a producer goroutine.
type rawRow struct {
	n     int
	cells []string
}

// pipe carries rows from a producer goroutine to the reader in batches, so
// reading the file and parsing/storing rows run in parallel.
type pipe struct {
	ch   chan []rawRow
	stop chan struct{}
	cur  []rawRow
	i    int
	err  error // set by the producer before it closes ch
}

const batchRows = 256

// startPipe runs produce in a goroutine; emit returns false when the reader
// stopped (Close, or ctx done).
func startPipe(ctx context.Context, produce func(emit func(n int, cells []string) bool) error) *pipe {
	p := &pipe{ch: make(chan []rawRow, 64), stop: make(chan struct{})}
	go func() {
		defer close(p.ch)
		batch := make([]rawRow, 0, batchRows)
		send := func() bool {
			if len(batch) == 0 {
				return true
			}
			select {
			case p.ch <- batch:
				batch = make([]rawRow, 0, batchRows)
				return true
			case <-p.stop:
				return false
			case <-ctx.Done():
				p.err = ctx.Err()
				return false
			}
		}
		err := produce(func(n int, cells []string) bool {
			batch = append(batch, rawRow{n, cells})
			if len(batch) == batchRows {
				return send()
			}
			return true
		})
		if err != nil {
			p.err = err
			return
		}
		send()
	}()
	return p
}

func (p *pipe) next() (rawRow, bool) {
	for p.i >= len(p.cur) {
		b, ok := <-p.ch
		if !ok {
			return rawRow{}, false
		}
		p.cur, p.i = b, 0
	}
	r := p.cur[p.i]
	p.cur[p.i] = rawRow{}
	p.i++
	return r, true
}

// close stops the producer and waits for it to end.
func (p *pipe) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	for range p.ch {
	}
}
