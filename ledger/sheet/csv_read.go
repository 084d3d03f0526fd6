package sheet

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// csvTable reads a CSV file: UTF-8 with or without BOM, or, when the bytes
// are not valid UTF-8, GB18030 (a superset of GBK and GB2312, what Excel
// writes for "CSV" on a Chinese Windows). The delimiter is a comma, or a
// semicolon or tab when the first line has more of those.
type csvTable struct {
	name  string
	p     *pipe
	notes []string
	err   error
	done  bool
}

func openCSV(ctx context.Context, name string, data []byte) (table, error) {
	t := &csvTable{name: name}
	text, enc, err := decodeText(data)
	if err != nil {
		return nil, &FileError{File: name, Msg: "cannot decode the text", Err: err}
	}
	if enc != "" {
		t.notes = append(t.notes, "read as "+enc+" text")
	}
	delim := sniffDelimiter(text)
	t.p = startPipe(ctx, func(emit func(int, []string) bool) error {
		return readCSV(text, delim, emit)
	})
	return t, nil
}

// decodeText returns data as UTF-8 without BOM, and the name of the
// encoding it was converted from ("" for UTF-8).
func decodeText(data []byte) ([]byte, string, error) {
	if bytes.HasPrefix(data, utf8BOM) {
		return data[len(utf8BOM):], "", nil
	}
	if utf8.Valid(data) {
		return data, "", nil
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil {
		return nil, "", fmt.Errorf("neither UTF-8 nor GB18030: %w", err)
	}
	return out, "GB18030", nil
}

// sniffDelimiter picks ',' unless the first line has more ';' or tabs.
func sniffDelimiter(text []byte) rune {
	line := text
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	best, n := ',', bytes.Count(line, []byte{','})
	for _, d := range []rune{';', '\t'} {
		if c := bytes.Count(line, []byte(string(d))); c > n {
			best, n = d, c
		}
	}
	return best
}

// readCSV parses text and emits each record with its row number as Excel
// shows it: blank lines count as rows, a record spanning lines is one row.
func readCSV(text []byte, delim rune, emit func(int, []string) bool) error {
	r := csv.NewReader(bytes.NewReader(text))
	r.Comma = delim
	r.FieldsPerRecord = -1
	row := 0
	lastOff := int64(0)
	line := 1 // line number at lastOff
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return fmt.Errorf("row %d (line %d, character %d) is not valid CSV: %v; a field with quotes must be quoted as a whole, with inner quotes doubled (\"\")",
					row+1+max(0, pe.StartLine-line), pe.Line, charColumn(text, pe.Line, pe.Column), pe.Err)
			}
			return err
		}
		start, _ := r.FieldPos(0)
		row += 1 + max(0, start-line)
		off := r.InputOffset()
		line += bytes.Count(text[lastOff:off], []byte{'\n'})
		lastOff = off
		if !emit(row, rec) {
			return nil
		}
	}
}

func (t *csvTable) Name() string    { return t.name }
func (t *csvTable) Date1904() bool  { return false }
func (t *csvTable) Notes() []string { return t.notes }
func (t *csvTable) Err() error      { return t.err }

func (t *csvTable) Next() (int, []string, bool) {
	if t.done {
		return 0, nil, false
	}
	r, ok := t.p.next()
	if !ok {
		t.done = true
		t.err = t.p.err
		return 0, nil, false
	}
	return r.n, r.cells, true
}

func (t *csvTable) Close() error {
	t.p.close()
	return nil
}

// charColumn turns the 1-based byte column of a line into a 1-based
// character column, as an editor shows it.
func charColumn(text []byte, line, col int) int {
	start := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(text[start:], '\n')
		if i < 0 {
			return col
		}
		start += i + 1
	}
	end := min(start+max(col-1, 0), len(text))
	return utf8.RuneCount(text[start:end]) + 1
}
