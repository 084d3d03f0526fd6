package sheet

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fabu-team/fabu/ledger"
)

// parser turns the rows of one sheet into entries.
type parser struct {
	file     string
	sheet    string
	hdr      *header
	words    *ledger.StatusWords
	date1904 bool
}

// findHeader reads rows until the header row: the first of the first
// headerScanRows rows naming at least minKnownHeaders ledger columns.
func findHeader(t table, file string) (*header, error) {
	seen := 0
	for seen < headerScanRows {
		row, cells, ok := t.Next()
		if !ok {
			if err := t.Err(); err != nil {
				return nil, &FileError{File: file, Sheet: t.Name(), Msg: "cannot read the sheet", Err: err}
			}
			if seen == 0 {
				return nil, &FileError{File: file, Sheet: t.Name(), Msg: "the sheet is empty: it has no rows"}
			}
			break
		}
		if isBlank(cells) {
			continue
		}
		seen++
		if knownHeaders(cells) >= minKnownHeaders {
			h, err := newHeader(row, cells)
			if err != nil {
				return nil, &FileError{File: file, Sheet: t.Name(), Msg: err.Error()}
			}
			return h, nil
		}
	}
	return nil, &FileError{File: file, Sheet: t.Name(), Msg: fmt.Sprintf(
		"no ledger header row: none of the first %d rows names at least %d of the ledger columns (编号, 系统, 子系统, 所属模块, …, or id, system, subsystem, …); is this the ledger sheet?",
		headerScanRows, minKnownHeaders)}
}

func isBlank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func cellAt(cells []string, i int) string {
	if i < len(cells) {
		return cells[i]
	}
	return ""
}

// rowID returns the row's 编号.
func (p *parser) rowID(cells []string) string {
	return strings.TrimSpace(cellAt(cells, p.hdr.ID.Index))
}

func (p *parser) problem(row int, c *column, value, msg string, k kind) Problem {
	return Problem{File: p.file, Sheet: p.sheet, Row: row, Column: c.Letter, Header: c.Header,
		Value: value, Message: msg, Expected: k.expected()}
}

// apply reads the cells of row into e: the stored entry (a copy) or a new
// one with its ID set. Columns the sheet lacks keep their stored values.
// It returns the row's problems; e is then partly updated and unusable.
func (p *parser) apply(e *ledger.Entry, row int, cells []string) []Problem {
	if len(cells) > len(p.hdr.Cols) {
		p.hdr.widen(len(cells))
	}
	var probs []Problem
	var extras []ledger.Extra
	var groupFilled map[string]bool // headers of several extra columns with a value in this row
	for _, c := range p.hdr.Cols {
		v := cellAt(cells, c.Index)
		if c.Field < 0 {
			if strings.TrimSpace(v) != "" {
				c.Filled++
				if p.hdr.extraN[c.Header] > 1 {
					if groupFilled == nil {
						groupFilled = map[string]bool{}
					}
					groupFilled[c.Header] = true
				}
			}
			continue
		}
		f := fields[c.Field]
		switch f.Kind {
		case kindID:
			continue
		case kindDate:
			in := v
			if p.date1904 {
				in = shift1904(v)
			}
			d, err := parseDateCell(in)
			if err != nil {
				msg, _, _ := strings.Cut(err.Error(), " (write it like")
				probs = append(probs, p.problem(row, c, v, msg, f.Kind))
				continue
			}
			*datePtr(e, f.Name) = d
		case kindStatus:
			s, err := p.words.Parse(v)
			if err != nil {
				probs = append(probs, p.problem(row, c, v, fmt.Sprintf("%q is not a known status", v), f.Kind))
				continue
			}
			if s == e.Status && strings.TrimSpace(v) == statusWord(e, p.words) {
				continue
			}
			_ = e.Set("status", v, p.words)
			if e.StatusText == e.Status.Chinese() {
				e.StatusText = "" // the canonical word is no team word to keep
			}
		case kindYesNo:
			if err := e.Set(f.Name, v, p.words); err != nil {
				probs = append(probs, p.problem(row, c, v, fmt.Sprintf("%q is not a yes/no value", v), f.Kind))
			}
		case kindPriority:
			if err := e.Set(f.Name, v, p.words); err != nil {
				probs = append(probs, p.problem(row, c, v, fmt.Sprintf("%q is not a priority", v), f.Kind))
			}
		default:
			if err := e.Set(f.Name, v, p.words); err != nil {
				probs = append(probs, p.problem(row, c, v, err.Error(), f.Kind))
			}
		}
	}
	// Extras in column order: a column's value when it is not blank; for a
	// header several columns share (the seed's empty header, say), all of
	// them up to the last with a value, so the entry's n-th extra of that
	// header is the sheet's n-th column of it.
	for _, c := range p.hdr.Cols {
		if c.Field >= 0 {
			continue
		}
		v := cellAt(cells, c.Index)
		if groupFilled[c.Header] || (p.hdr.extraN[c.Header] == 1 && strings.TrimSpace(v) != "") {
			extras = append(extras, ledger.Extra{Header: c.Header, Value: v})
		}
	}
	p.mergeExtras(e, trimTrailingBlanks(extras))
	return probs
}

// trimTrailingBlanks drops the blank extras that no extra of the same
// header with a value follows.
func trimTrailingBlanks(x []ledger.Extra) []ledger.Extra {
	var valued map[string]bool
	out := x[:0:0]
	for i := len(x) - 1; i >= 0; i-- {
		if strings.TrimSpace(x[i].Value) != "" {
			if valued == nil {
				valued = map[string]bool{}
			}
			valued[x[i].Header] = true
		} else if !valued[x[i].Header] {
			continue
		}
		out = append(out, x[i])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// mergeExtras sets the entry's extras from the sheet: for every header the
// sheet has as an extra column, the sheet's non-blank values in column
// order; extras under other headers (from an earlier sheet) stay, first.
func (p *parser) mergeExtras(e *ledger.Entry, fromSheet []ledger.Extra) {
	var out []ledger.Extra
	for _, x := range e.Extras {
		if _, inSheet := p.hdr.extraN[x.Header]; !inSheet {
			out = append(out, x)
		}
	}
	out = append(out, fromSheet...)
	if len(out) == 0 {
		out = nil
	}
	e.Extras = out
}

// datePtr returns the date field name of e.
func datePtr(e *ledger.Entry, name string) *ledger.Date {
	switch name {
	case "proposed_on":
		return &e.ProposedOn
	case "planned_start":
		return &e.PlannedStart
	case "planned_finish":
		return &e.PlannedFinish
	case "test_start":
		return &e.TestStart
	case "test_finish":
		return &e.TestFinish
	}
	panic("sheet: " + name + " is not a date field")
}

// statusWord is the status as the sheet shows it: the team's own word
// (default or configured) while it still means the status, else the
// canonical Chinese word.
func statusWord(e *ledger.Entry, words *ledger.StatusWords) string {
	if e.StatusText != "" {
		if s, ok := words.Lookup(e.StatusText); ok && s == e.Status {
			return e.StatusText
		}
	}
	return e.Status.Chinese()
}

// parseDateCell is ledger.ParseDate with a fast path for the YYYY-MM-DD
// that exports write (a bulk import reads hundreds of thousands of them).
func parseDateCell(s string) (ledger.Date, error) {
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		y, m, d := digits(s[0:4]), digits(s[5:7]), digits(s[8:10])
		if y >= 1900 && m >= 1 && m <= 12 && d >= 1 && d <= 28 {
			return ledger.Date{Year: y, Month: time.Month(m), Day: d}, nil
		}
	}
	return ledger.ParseDate(s)
}

// digits reads a run of ASCII digits, or returns -1.
func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// shift1904 turns a serial day number of the 1904 date system into one of
// the 1900 system; other text is returned as is.
func shift1904(v string) string {
	s := strings.TrimSpace(v)
	if s == "" || strings.ContainsAny(s, "/-年eE+") {
		return v
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 2958465 {
		return v
	}
	return strconv.FormatFloat(f+1462, 'f', -1, 64)
}

// cloneEntry copies e so the copy's Extras can change on their own.
func cloneEntry(e *ledger.Entry) *ledger.Entry {
	c := *e
	if e.Extras != nil {
		c.Extras = append([]ledger.Extra(nil), e.Extras...)
	}
	return &c
}
