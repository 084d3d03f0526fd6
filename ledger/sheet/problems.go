package sheet

import (
	"fmt"
	"strings"
)

// Problem is one bad cell or row of a sheet.
type Problem struct {
	File     string `json:"file"`
	Sheet    string `json:"sheet"`
	Row      int    `json:"row"`    // 1-based, as Excel shows it
	Column   string `json:"column"` // column letter, e.g. "L"
	Header   string `json:"header"` // the column's header as the sheet writes it
	Value    string `json:"value"`
	Message  string `json:"message"`  // what is wrong
	Expected string `json:"expected"` // what the cell should hold
}

func (p Problem) String() string {
	h := p.Header
	if strings.TrimSpace(h) == "" {
		h = "(no header)"
	}
	s := fmt.Sprintf("%s row %d, column %s (%s): %s", p.Sheet, p.Row, p.Column, h, p.Message)
	if p.Expected != "" {
		s += "; expected " + p.Expected
	}
	return s
}

// maxListed bounds how many problems an error message lists.
const maxListed = 1000

// InvalidError is returned when rows of a sheet are bad and nothing was
// written. Problems holds every one of them, in row order.
type InvalidError struct {
	File     string
	Sheet    string
	Rows     int // bad rows
	Problems []Problem
}

func (e *InvalidError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s) in %d row(s) of sheet %s; nothing was imported (fix them, or use --skip-invalid to import the good rows):",
		e.File, len(e.Problems), e.Rows, e.Sheet)
	for i, p := range e.Problems {
		if i == maxListed {
			fmt.Fprintf(&b, "\n  … and %d more", len(e.Problems)-maxListed)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// FileError is a problem with the whole file: not a spreadsheet, encrypted,
// empty, no header row, no 编号 column. Nothing was written.
type FileError struct {
	File  string
	Sheet string // "" when the problem is not in one sheet
	Msg   string
	Err   error // the underlying cause, if any
}

func (e *FileError) Error() string {
	where := e.File
	if e.Sheet != "" {
		where += ", sheet " + e.Sheet
	}
	s := where + ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FileError) Unwrap() error { return e.Err }
