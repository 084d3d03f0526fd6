package sheet

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// sheetScan reads the rows of a worksheet part over xmlTok and returns
// exactly what excelize's Rows.Next / Rows.Columns(RawCellValue) return
// for it, with the import's CR LF → LF: row n (1-based, empty rows
// included) holds the raw values (shared strings looked up, inline strings
// joined from their runs, numbers and date serials as written) at the
// cells' columns. Where excelize's result would depend on its quirks —
// rows out of order, cells left of an earlier cell, elements other than
// row/c/v/f/is where values live, attribute values it rejects, anything
// the tokenizer stops on — it stops with an errUnsupported or errSyntax
// *scanError instead, before returning the row concerned, so that the
// caller can let excelize read from that row on.
type sheetScan struct {
	tok *xmlTok
	sst []string

	state   int
	curRow  int // number of the last <row> start tag read
	emitted int // number of the last row returned

	pending    []string
	pendingN   int
	hasPending bool

	rowBuf []byte     // the values of the row being read, back to back
	spans  []cellSpan // where each value of the row is in rowBuf
	vBuf   []byte
	rBuf   []byte
	strBuf []byte
}

type cellSpan struct{ col, start, end int }

const (
	scanBefore = iota // before <sheetData>
	scanIn            // in <sheetData>
	scanAfter         // after </sheetData>: only another <row> would matter
	scanDone
)

func newSheetScan(tok *xmlTok, sst []string) *sheetScan {
	return &sheetScan{tok: tok, sst: sst}
}

// next returns the next row as excelize's iterator would: its number and
// cells (nil for an empty row). ok is false at the end or on err.
func (s *sheetScan) next() (n int, cells []string, ok bool, err *scanError) {
	for {
		if s.hasPending {
			if s.emitted+1 < s.pendingN {
				s.emitted++
				return s.emitted, nil, true, nil
			}
			s.emitted, s.hasPending = s.pendingN, false
			cells, s.pending = s.pending, nil
			return s.emitted, cells, true, nil
		}
		if s.state == scanDone {
			return 0, nil, false, nil
		}
		if err := s.advance(); err != nil {
			s.state = scanDone
			return 0, nil, false, err
		}
	}
}

func (s *sheetScan) unsupported(format string, args ...any) *scanError {
	return &scanError{kind: errUnsupported, offset: s.tok.tokOff, msg: fmt.Sprintf(format, args...)}
}

// advance reads up to the next row (into pending) or the end. A row is
// kept back until the next <row> start tag (or </sheetData>) has been read
// and found plain, because excelize reads that tag while it reads the row
// before: a bad row number there is that row's error, and a number not
// after it merges the next row's cells into it.
func (s *sheetScan) advance() *scanError {
	t := s.tok
	for {
		switch s.state {
		case scanBefore:
			switch t.next() {
			case tokErr:
				return t.err
			case tokEOF:
				s.state = scanDone
				return nil
			case tokStart:
				if string(t.local) == "row" {
					return s.unsupported("a <%s> element outside sheetData", t.name)
				}
				if string(t.local) != "sheetData" {
					continue
				}
				found, err := s.seekRow()
				if err != nil {
					return err
				}
				if !found {
					s.state = scanDone // excelize's Next stops at </sheetData>
					return nil
				}
				s.state = scanIn
			}
		case scanIn:
			n := s.curRow
			cells, err := s.readCells()
			if err != nil {
				return err
			}
			found, err := s.seekRow()
			if err != nil {
				return err
			}
			if !found {
				s.state = scanAfter
			}
			s.pending, s.pendingN, s.hasPending = cells, n, true
			return nil
		case scanAfter:
			switch t.next() {
			case tokErr:
				return t.err
			case tokEOF:
				s.state = scanDone
				return nil
			case tokStart:
				if string(t.local) == "row" {
					return s.unsupported("a <%s> element after sheetData", t.name)
				}
			case tokEnd:
				if string(t.local) == "sheetData" {
					s.state = scanDone
					return nil
				}
			}
		default:
			return nil
		}
	}
}

// seekRow reads on in sheetData to the next <row> start tag (found, and
// its number is s.curRow) or to </sheetData>.
func (s *sheetScan) seekRow() (found bool, err *scanError) {
	t := s.tok
	for {
		switch t.next() {
		case tokErr:
			return false, t.err
		case tokStart:
			if string(t.local) != "row" {
				return false, s.unsupported("a <%s> element in sheetData", t.name)
			}
			return true, s.rowNumber()
		case tokEnd: // </sheetData>: rows are read whole
			return false, nil
		}
	}
}

// atoiFast is strconv.Atoi for short plain digit strings, else ok false.
func atoiFast(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// rowNumber sets s.curRow to the number of the <row> just opened: its r
// attribute (the last one, as excelize reads them), or the row after the
// last one when it has none (or 0).
func (s *sheetScan) rowNumber() *scanError {
	num := 0
	for _, a := range s.tok.attrs {
		if string(a.local) != "r" {
			continue
		}
		v, ok := atoiFast(a.value)
		if !ok {
			var err error
			if v, err = strconv.Atoi(string(a.value)); err != nil {
				return s.unsupported("row number %q", a.value)
			}
		}
		num = v
	}
	if num == 0 {
		num = s.curRow + 1
	}
	switch {
	case num <= s.curRow:
		return s.unsupported("row %d follows row %d", num, s.curRow)
	case num > excelize.TotalRows:
		return s.unsupported("row %d is past the last row Excel has", num)
	}
	s.curRow = num
	return nil
}

// readCells reads the cells of the row just opened, up to its end.
func (s *sheetScan) readCells() ([]string, *scanError) {
	t := s.tok
	s.rowBuf, s.spans = s.rowBuf[:0], s.spans[:0]
	col, last := 0, 0 // excelize's cellCol, and the column of the last value kept
	for {
		k := t.next()
		switch k {
		case tokErr:
			return nil, t.err
		case tokStart:
			if string(t.local) != "c" {
				return nil, s.unsupported("a <%s> element in a row", t.name)
			}
			var err *scanError
			if col, last, err = s.readCell(col+1, last); err != nil {
				return nil, err
			}
			continue
		case tokEnd:
		default:
			continue
		}
		break
	}
	if len(s.spans) == 0 {
		return nil, nil
	}
	str := string(s.rowBuf)
	cells := make([]string, last)
	for _, sp := range s.spans {
		cells[sp.col-1] = str[sp.start:sp.end]
	}
	return cells, nil
}

// Cell types, by the t attribute: raw values are the <v> text except for
// shared strings and inline strings.
const (
	cellRaw = iota
	cellShared
	cellInline
)

// readCell reads the cell whose start tag was just read; col is its column
// unless its r attribute says otherwise. It returns the column (excelize's
// cellCol after the cell) and the column of the last value kept.
func (s *sheetScan) readCell(col, last int) (int, int, *scanError) {
	t := s.tok
	typ := cellRaw
	s.rBuf = s.rBuf[:0]
	for _, a := range t.attrs {
		switch string(a.local) {
		case "r":
			s.rBuf = append(s.rBuf[:0], a.value...)
		case "s":
			if _, ok := atoiFast(a.value); !ok {
				if _, err := strconv.ParseInt(string(a.value), 10, 64); err != nil {
					return 0, 0, s.unsupported("cell style %q", a.value)
				}
			}
		case "t":
			switch string(a.value) {
			case "s":
				typ = cellShared
			case "inlineStr":
				typ = cellInline
			default:
				typ = cellRaw
			}
		}
	}
	if len(s.rBuf) > 0 {
		c, ok := cellColumn(s.rBuf)
		if !ok {
			return 0, 0, s.unsupported("cell reference %q", s.rBuf)
		}
		col = c
	}
	s.vBuf = s.vBuf[:0]
	hasF, hasIS := false, false
	var is string
	for {
		k := t.next()
		switch k {
		case tokErr:
			return 0, 0, t.err
		case tokStart:
			switch string(t.local) {
			case "v":
				v, err := s.readText(s.vBuf[:0])
				if err != nil {
					return 0, 0, err
				}
				s.vBuf = v
			case "f":
				if err := s.readFormula(); err != nil {
					return 0, 0, err
				}
				hasF = true
			case "is":
				if hasIS {
					return 0, 0, s.unsupported("a cell with two inline strings")
				}
				var err *scanError
				if is, err = s.readStringItem(); err != nil {
					return 0, 0, err
				}
				hasIS = true
			default:
				return 0, 0, s.unsupported("a <%s> element in a cell", t.name)
			}
			continue
		case tokEnd:
		default:
			continue
		}
		break
	}
	start := len(s.rowBuf)
	switch {
	case typ == cellShared:
		if len(s.vBuf) > 0 {
			i, ok := atoiFast(s.vBuf)
			if !ok {
				i, _ = strconv.Atoi(strings.TrimSpace(string(s.vBuf)))
			}
			if i >= 0 && i < len(s.sst) {
				s.rowBuf = appendValue(s.rowBuf, s.sst[i])
			}
		}
	case typ == cellInline && hasIS:
		s.rowBuf = appendValue(s.rowBuf, is)
	default:
		s.rowBuf = appendValue(s.rowBuf, s.vBuf)
	}
	if len(s.rowBuf) == start && !hasF {
		return col, last, nil // excelize keeps no empty value without a formula
	}
	if col <= last {
		return 0, 0, s.unsupported("cell in column %d follows column %d", col, last)
	}
	s.spans = append(s.spans, cellSpan{col: col, start: start, end: len(s.rowBuf)})
	return col, col, nil
}

// appendValue appends a cell value with CR LF as LF.
func appendValue[T string | []byte](dst []byte, v T) []byte {
	for {
		i := strings.Index(string(v), "\r\n")
		if i < 0 {
			return append(dst, v...)
		}
		dst = append(dst, v[:i]...)
		dst = append(dst, '\n')
		v = v[i+2:]
	}
}

// cellColumn is the column of a cell reference as excelize's
// CellNameToCoordinates gives it (which also checks the row part).
func cellColumn(ref []byte) (int, bool) {
	// Fast path: A1 … XFD1048576, upper case, no $ and no leading zero.
	i, col := 0, 0
	for i < len(ref) && i < 3 && ref[i] >= 'A' && ref[i] <= 'Z' {
		col = col*26 + int(ref[i]-'A'+1)
		i++
	}
	if i > 0 && i < len(ref) && ref[i] >= '1' && ref[i] <= '9' && len(ref)-i <= 7 {
		row, ok := atoiFast(ref[i:])
		if ok && row <= excelize.TotalRows && col <= excelize.MaxColumns {
			return col, true
		}
	}
	c, _, err := excelize.CellNameToCoordinates(string(ref))
	return c, err == nil
}

// readText appends to dst the character data of the element just opened,
// up to its end, as encoding/xml gives it to a string; an element inside
// is unsupported.
func (s *sheetScan) readText(dst []byte) ([]byte, *scanError) {
	t := s.tok
	for {
		switch t.next() {
		case tokErr:
			return nil, t.err
		case tokText:
			dst = append(dst, t.text...)
		case tokStart:
			return nil, s.unsupported("a <%s> element inside a value", t.name)
		case tokEnd:
			return dst, nil
		}
	}
}

// readFormula checks the attributes of the <f> element just opened as
// encoding/xml checks them when excelize decodes it (its boolean and
// integer attributes must parse) and skips its content.
func (s *sheetScan) readFormula() *scanError {
	t := s.tok
	for _, a := range t.attrs {
		var err error
		v := strings.TrimSpace(string(a.value))
		switch string(a.local) {
		case "aca", "dt2D", "dtr", "del1", "del2", "ca", "bx":
			if len(a.value) > 0 {
				_, err = strconv.ParseBool(v)
			}
		case "si":
			if len(a.value) > 0 {
				_, err = strconv.ParseInt(v, 10, 64)
			}
		}
		if err != nil {
			return s.unsupported("formula attribute %s=%q", a.name, a.value)
		}
	}
	return s.skipElement()
}

// skipElement reads up to the end of the element just opened.
func (s *sheetScan) skipElement() *scanError {
	t := s.tok
	d := t.depth()
	for {
		switch t.next() {
		case tokErr:
			return t.err
		case tokEnd:
			if t.depth() < d {
				return nil
			}
		}
	}
}

// readStringItem reads the string item (<si> of the shared strings, <is>
// of an inline string) whose start tag was just read and returns its text
// as excelize's xlsxSI.String does. A plain <t> is read here; anything
// else (rich text runs, phonetic runs, …) is decoded by encoding/xml into
// a copy of excelize's types, so that it gives excelize's text or error.
func (s *sheetScan) readStringItem() (string, *scanError) {
	t := s.tok
	off, d := t.tokOff, t.depth()
	t.keepFrom(off)
	defer t.release()
	s.strBuf = s.strBuf[:0]
	seenT := false
	for {
		k := t.next()
		switch k {
		case tokErr:
			return "", t.err
		case tokEnd:
			if t.depth() < d {
				if len(s.strBuf) == 0 {
					return "", nil
				}
				return bstrUnmarshal(string(s.strBuf)), nil
			}
		case tokStart:
			if string(t.local) != "t" || seenT {
				return s.decodeStringItem(off, d)
			}
			seenT = true
			if complex, err := s.readPlainT(); err != nil {
				return "", err
			} else if complex {
				return s.decodeStringItem(off, d)
			}
		}
	}
}

// readPlainT appends the text of the <t> just opened to strBuf; complex is
// true (and the <t> left open) when it holds an element.
func (s *sheetScan) readPlainT() (complex bool, err *scanError) {
	t := s.tok
	for {
		switch t.next() {
		case tokErr:
			return false, t.err
		case tokText:
			s.strBuf = append(s.strBuf, t.text...)
		case tokStart:
			return true, nil
		case tokEnd:
			return false, nil
		}
	}
}

// decodeStringItem reads to the end of the string item that began at
// stream offset off (depth d once open) and decodes it with encoding/xml.
func (s *sheetScan) decodeStringItem(off int64, d int) (string, *scanError) {
	t := s.tok
	for t.depth() >= d {
		if t.next() == tokErr {
			return "", t.err
		}
	}
	var si xlsxSIMirror
	if err := xml.NewDecoder(bytes.NewReader(t.rawSince(off))).Decode(&si); err != nil {
		return "", &scanError{kind: errUnsupported, offset: off, msg: fmt.Sprintf("a string item excelize cannot decode: %v", err)}
	}
	return si.String(), nil
}

// bstrUnmarshal undoes the _xHHHH_ escapes of OOXML strings as excelize
// does: _x005F_ is "_", another _xHHHH_ the UTF-16 unit HHHH (nothing for
// a surrogate).
func bstrUnmarshal(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	cursor := 0
	for i := 0; i+7 <= len(s); {
		if s[i] == '_' && s[i+1] == 'x' && isHex4(s[i+2:i+6]) && s[i+6] == '_' {
			b.WriteString(s[cursor:i])
			if s[i:i+7] == "_x005F_" {
				b.WriteByte('_')
			} else {
				v, _ := strconv.Unquote(`"\u` + s[i+2:i+6] + `"`)
				b.WriteString(v)
			}
			i += 7
			cursor = i
			continue
		}
		i++
	}
	b.WriteString(s[cursor:])
	return b.String()
}

func isHex4(s string) bool {
	for i := 0; i < 4; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// mainNS is the SpreadsheetML namespace the shared strings root must be in.
const mainNS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

// readSST reads a shared strings part (all of it in data) into its strings,
// as excelize reads it: decoded whole (largeMode false: the part is in
// memory) or, for a part over excelize's in-memory limit, item by item
// (largeMode true). It accepts only a plain <sst> of <si> items, where
// both ways give the same strings.
func readSST(data []byte, largeMode bool) ([]string, *scanError) {
	if bytes.Contains(data, []byte("purl.oclc.org")) {
		return nil, &scanError{kind: errUnsupported, msg: "Strict Open XML shared strings (excelize rewrites their namespaces)"}
	}
	t := newXMLTokBytes(data)
	s := &sheetScan{tok: t}
	for { // up to the root element
		k := t.next()
		if k == tokErr {
			return nil, t.err
		}
		if k == tokEOF {
			return nil, nil // an empty part: no strings
		}
		if k == tokStart {
			break
		}
	}
	if string(t.name) != "sst" {
		return nil, s.unsupported("shared strings root <%s>", t.name)
	}
	ns := 0
	for _, a := range t.attrs {
		switch string(a.local) {
		case "xmlns":
			if string(a.name) == "xmlns" {
				if string(a.value) != mainNS {
					return nil, s.unsupported("shared strings in namespace %q", a.value)
				}
				ns++
			}
		case "count", "uniqueCount":
			if len(a.value) > 0 {
				if _, err := strconv.ParseInt(strings.TrimSpace(string(a.value)), 10, 64); err != nil {
					return nil, s.unsupported("shared strings %s=%q", a.name, a.value)
				}
			}
		}
	}
	if ns != 1 {
		return nil, s.unsupported("shared strings root without the SpreadsheetML namespace")
	}
	var out []string
	for {
		k := t.next()
		if k == tokErr {
			return nil, t.err
		}
		if k == tokEnd {
			break
		}
		if k != tokStart {
			continue
		}
		if string(t.local) != "si" {
			return nil, s.unsupported("a <%s> element in the shared strings", t.name)
		}
		v, err := s.readStringItem()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if largeMode {
		for {
			switch t.next() {
			case tokErr:
				return nil, t.err
			case tokEOF:
				return out, nil
			case tokStart:
				return nil, s.unsupported("an element after the shared strings root")
			}
		}
	}
	return out, nil
}
