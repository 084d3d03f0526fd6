package sheet

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/xuri/excelize/v2"
)

// mergeRange is a merged cell range, 1-based and inclusive.
type mergeRange struct{ r1, c1, r2, c2 int }

// sheetMerges returns the merged ranges of a worksheet. excelize's
// GetMergeCells loads the whole worksheet into memory; this reads the
// worksheet part as a stream and picks out the <mergeCell ref="…"/>
// elements, which follow the sheet data.
func sheetMerges(data []byte, sheet string) ([]mergeRange, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	part, err := sheetPart(zr, sheet)
	if err != nil {
		return nil, err
	}
	rc, err := zr.Open(part)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", part, err)
	}
	defer rc.Close()
	return scanMerges(rc)
}

var mergeCellName = []byte("mergeCell")

// mergesResult is what sheetMerges returned.
type mergesResult struct {
	ranges []mergeRange
	err    error
}

// startMerges runs sheetMerges in a goroutine.
func startMerges(data []byte, sheet string) <-chan mergesResult {
	ch := make(chan mergesResult, 1)
	go func() {
		ranges, err := sheetMerges(data, sheet)
		ch <- mergesResult{ranges, err}
	}()
	return ch
}

// firstSheetName is the name of the first sheet the workbook part lists,
// "" when that cannot be read.
func firstSheetName(data []byte) string {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return ""
	}
	rc, err := zr.Open(workbookPart(zr))
	if err != nil {
		return ""
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "sheet" {
			for _, a := range se.Attr {
				if a.Name.Local == "name" && a.Name.Space == "" {
					return a.Value
				}
			}
			return ""
		}
	}
}

// scanMerges finds the mergeCell elements of a worksheet's XML.
func scanMerges(r io.Reader) ([]mergeRange, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 256<<10), 64<<20)
	// Tokens are the bytes before each '>'. Only a token holding
	// "mergeCell" can be a mergeCell tag: the tokens before the next one
	// are skipped in bulk (a worksheet has millions of tags), as one empty
	// token (a nil token would make the Scanner read on, and stop at EOF).
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		end := len(data)
		if k := bytes.Index(data, mergeCellName); k >= 0 {
			end = k
		}
		if i := bytes.LastIndexByte(data[:end], '>'); i >= 0 {
			return i + 1, data[:0], nil
		}
		if i := bytes.IndexByte(data, '>'); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	var out []mergeRange
	for sc.Scan() {
		tok := sc.Bytes()
		lt := bytes.LastIndexByte(tok, '<')
		if lt < 0 {
			continue
		}
		tag := tok[lt+1:]
		sp := bytes.IndexAny(tag, " \t\r\n/")
		if sp < 0 {
			continue
		}
		name := tag[:sp]
		if c := bytes.IndexByte(name, ':'); c >= 0 {
			name = name[c+1:]
		}
		if string(name) != "mergeCell" {
			continue
		}
		ref := attr(tag[sp:], "ref")
		m, err := parseRange(ref)
		if err != nil {
			return out, fmt.Errorf("merged range %q: %w", ref, err)
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// attr returns the value of attribute name in the attribute text of a tag.
func attr(attrs []byte, name string) string {
	s := string(attrs)
	for {
		i := strings.Index(s, name+"=")
		if i < 0 {
			return ""
		}
		if i > 0 && s[i-1] != ' ' && s[i-1] != '\t' && s[i-1] != '\n' && s[i-1] != '\r' {
			s = s[i+len(name)+1:]
			continue
		}
		s = s[i+len(name)+1:]
		if s == "" || (s[0] != '"' && s[0] != '\'') {
			return ""
		}
		q := s[0]
		end := strings.IndexByte(s[1:], q)
		if end < 0 {
			return ""
		}
		return s[1 : 1+end]
	}
}

func parseRange(ref string) (mergeRange, error) {
	a, b, ok := strings.Cut(ref, ":")
	if !ok {
		b = a
	}
	c1, r1, err := excelize.CellNameToCoordinates(a)
	if err != nil {
		return mergeRange{}, err
	}
	c2, r2, err := excelize.CellNameToCoordinates(b)
	if err != nil {
		return mergeRange{}, err
	}
	return mergeRange{r1: min(r1, r2), c1: min(c1, c2), r2: max(r1, r2), c2: max(c1, c2)}, nil
}

// hasWorkbookPart reports whether a zip holds a spreadsheet workbook part
// (so a .docx renamed .xlsx is told apart from a broken workbook).
func hasWorkbookPart(data []byte) bool {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return true // let excelize say what is wrong with it
	}
	_, err = zr.Open(workbookPart(zr))
	return err == nil
}

// workbookPart is the zip part of the workbook, from the package's
// relationships (xl/workbook.xml when they say nothing).
func workbookPart(zr *zip.Reader) string {
	wbPart := "xl/workbook.xml"
	if rels, err := readRels(zr, "_rels/.rels"); err == nil {
		for _, r := range rels {
			if strings.HasSuffix(r.Type, "/officeDocument") {
				wbPart = resolvePart("", r.Target)
			}
		}
	}
	return wbPart
}

// sheetPart finds the zip part of the named worksheet through the
// workbook's relationships.
func sheetPart(zr *zip.Reader, sheet string) (string, error) {
	wbPart := workbookPart(zr)
	rid, err := sheetRelID(zr, wbPart, sheet)
	if err != nil {
		return "", err
	}
	dir, file := path.Split(wbPart)
	rels, err := readRels(zr, dir+"_rels/"+file+".rels")
	if err != nil {
		return "", err
	}
	for _, r := range rels {
		if r.ID == rid {
			return resolvePart(dir, r.Target), nil
		}
	}
	return "", fmt.Errorf("the workbook names no part for sheet %q", sheet)
}

func resolvePart(dir, target string) string {
	if strings.HasPrefix(target, "/") {
		return strings.TrimPrefix(target, "/")
	}
	return path.Clean(path.Join(dir, target))
}

type rel struct {
	ID     string `xml:"Id,attr"`
	Type   string `xml:"Type,attr"`
	Target string `xml:"Target,attr"`
}

func readRels(zr *zip.Reader, name string) ([]rel, error) {
	rc, err := zr.Open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var doc struct {
		Rels []rel `xml:"Relationship"`
	}
	if err := xml.NewDecoder(rc).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return doc.Rels, nil
}

// sheetRelID returns the relationship id of the named sheet in workbook.xml.
func sheetRelID(zr *zip.Reader, wbPart, sheet string) (string, error) {
	rc, err := zr.Open(wbPart)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return "", fmt.Errorf("%s has no sheet %q", wbPart, sheet)
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", wbPart, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "sheet" {
			continue
		}
		var name, id string
		for _, a := range se.Attr {
			switch {
			case a.Name.Local == "name" && a.Name.Space == "":
				name = a.Value
			case a.Name.Local == "id" && a.Name.Space != "":
				id = a.Value
			}
		}
		if name == sheet {
			return id, nil
		}
	}
}
