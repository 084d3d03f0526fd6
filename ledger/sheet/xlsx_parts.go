package sheet

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/xuri/excelize/v2"
)

// xlsxParts finds the parts of an opened workbook the way excelize finds
// them, so that the fast reader reads the very bytes excelize would: the
// worksheet part of a sheet name (excelize's sheet map: the workbook's
// relationships resolved as excelize resolves them), the shared strings
// (excelize's fixed xl/sharedStrings.xml, in any letter case), each from
// excelize's in-memory copy or, for a part excelize keeps in a temporary
// file, from the zip entry. Anything ambiguous (two zip entries for one
// part, two sheets whose names differ only in case, Strict Open XML, a
// part that encoding/xml cannot decode here) is an errUnsupported.
type xlsxParts struct {
	f      *excelize.File
	zr     *zip.Reader
	byName map[string][]*zip.File // zip entries by the part name excelize gives them

	sheetsDone bool
	sheets     map[string]string // sheet name → worksheet part
	sheetsErr  *scanError

	sstDone bool
	sst     []string
	sstErr  *scanError

	ctChecked bool
	ctErr     *scanError
}

func newXLSXParts(f *excelize.File, data []byte) *xlsxParts {
	p := &xlsxParts{f: f, byName: map[string][]*zip.File{}}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return p // every lookup then finds no entry; excelize reads
	}
	p.zr = zr
	for _, zf := range zr.File {
		n := excelizePartName(zf.Name)
		p.byName[n] = append(p.byName[n], zf)
	}
	return p
}

// excelizePartName is the name excelize files a zip entry under.
func excelizePartName(name string) string {
	n := strings.ReplaceAll(name, "\\", "/")
	switch strings.ToLower(n) {
	case "[content_types].xml":
		return "[Content_Types].xml"
	case "xl/sharedstrings.xml":
		return sstPartName
	}
	return n
}

const sstPartName = "xl/sharedStrings.xml"

func unsupportedf(format string, args ...any) *scanError {
	return &scanError{kind: errUnsupported, msg: fmt.Sprintf(format, args...)}
}

// pkgBytes is excelize's in-memory copy of a part.
func (p *xlsxParts) pkgBytes(name string) ([]byte, bool) {
	v, ok := p.f.Pkg.Load(name)
	if !ok {
		return nil, false
	}
	b, _ := v.([]byte)
	return b, true
}

func (p *xlsxParts) exists(name string) bool {
	_, ok := p.pkgBytes(name)
	return ok || len(p.byName[name]) > 0
}

// relsMirror and relMirror copy excelize's xlsxRelationships types.
type relsMirror struct {
	XMLName       xml.Name    `xml:"http://schemas.openxmlformats.org/package/2006/relationships Relationships"`
	Relationships []relMirror `xml:"Relationship"`
}

type relMirror struct {
	ID         string `xml:"Id,attr"`
	Target     string `xml:",attr"`
	Type       string `xml:",attr"`
	TargetMode string `xml:",attr,omitempty"`
}

// decodeMirror decodes an in-memory part as excelize does (an empty part
// is no error); Strict Open XML, which excelize rewrites first, is
// unsupported here.
func (p *xlsxParts) decodeMirror(name string, v any) (present bool, err *scanError) {
	b, ok := p.pkgBytes(name)
	if !ok {
		return false, nil
	}
	if bytes.Contains(b, []byte("purl.oclc.org")) {
		return true, unsupportedf("%s is Strict Open XML", name)
	}
	if err := xml.NewDecoder(bytes.NewReader(b)).Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return true, unsupportedf("%s: %v", name, err)
	}
	return true, nil
}

// workbookPath is excelize's getWorkbookPath.
func (p *xlsxParts) workbookPath() (string, *scanError) {
	var rels relsMirror
	if _, err := p.decodeMirror("_rels/.rels", &rels); err != nil {
		return "", err
	}
	for _, r := range rels.Relationships {
		if r.Type == excelize.SourceRelationshipOfficeDocument {
			return strings.TrimPrefix(r.Target, "/"), nil
		}
	}
	return "", nil
}

// workbookRelsPath is excelize's getWorkbookRelsPath.
func workbookRelsPath(wbPath string) string {
	if filepath.Dir(wbPath) == "." {
		return "_rels/" + filepath.Base(wbPath) + ".rels"
	}
	return strings.TrimPrefix(filepath.Dir(wbPath)+"/_rels/"+filepath.Base(wbPath)+".rels", "/")
}

// worksheetPath is excelize's getWorksheetPath.
func worksheetPath(wbPath, target string) string {
	if strings.HasPrefix(target, "/") {
		return filepath.ToSlash(strings.TrimPrefix(strings.ReplaceAll(filepath.Clean(target), "\\", "/"), "/"))
	}
	return filepath.ToSlash(strings.TrimPrefix(
		strings.ReplaceAll(filepath.Clean(fmt.Sprintf("%s/%s", filepath.Dir(wbPath), target)), "\\", "/"), "/"))
}

// sheetMap is excelize's getSheetMap: sheet name → worksheet part.
func (p *xlsxParts) sheetMap() (map[string]string, *scanError) {
	if p.sheetsDone {
		return p.sheets, p.sheetsErr
	}
	p.sheetsDone = true
	p.sheets, p.sheetsErr = p.buildSheetMap()
	return p.sheets, p.sheetsErr
}

func (p *xlsxParts) buildSheetMap() (map[string]string, *scanError) {
	if p.zr == nil || p.f.WorkBook == nil {
		return nil, unsupportedf("the workbook was not read")
	}
	wbPath, err := p.workbookPath()
	if err != nil {
		return nil, err
	}
	var rels relsMirror
	present, err := p.decodeMirror(workbookRelsPath(wbPath), &rels)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	if !present {
		return m, nil
	}
	for _, s := range p.f.WorkBook.Sheets.Sheet {
		for _, r := range rels.Relationships {
			if r.ID == s.ID {
				if path := worksheetPath(wbPath, r.Target); p.exists(path) {
					m[s.Name] = path
				}
			}
		}
	}
	return m, nil
}

// sheetPart is the worksheet part excelize reads for sheet.
func (p *xlsxParts) sheetPart(sheet string) (string, *scanError) {
	m, err := p.sheetMap()
	if err != nil {
		return "", err
	}
	part := ""
	for name, path := range m {
		if strings.EqualFold(name, sheet) {
			if part != "" && part != path {
				return "", unsupportedf("two sheets are named %q but for letter case", sheet)
			}
			part = path
		}
	}
	if part == "" {
		return "", unsupportedf("excelize has no worksheet part for sheet %q", sheet)
	}
	return part, nil
}

// maxInflatedPart caps a part the fast reader reads whole into memory:
// shared strings excelize keeps in a temporary file (over 16 MiB). A
// 100,000-row ledger's are a few MiB; past the cap excelize reads, from
// its file, without holding them all.
const maxInflatedPart = 64 << 20

// sharedStrings reads the shared strings excelize would look cells up in.
func (p *xlsxParts) sharedStrings() ([]string, *scanError) {
	if p.sstDone {
		return p.sst, p.sstErr
	}
	p.sstDone = true
	entries := p.byName[sstPartName]
	if len(entries) > 1 {
		p.sstErr = unsupportedf("the zip holds %d shared strings parts", len(entries))
		return nil, p.sstErr
	}
	if b, ok := p.pkgBytes(sstPartName); ok {
		p.sst, p.sstErr = readSST(b, false)
		return p.sst, p.sstErr
	}
	if len(entries) == 0 {
		return nil, nil
	}
	zf := entries[0]
	if zf.UncompressedSize64 > maxInflatedPart {
		p.sstErr = unsupportedf("the shared strings part is over %d MiB", maxInflatedPart>>20)
		return nil, p.sstErr
	}
	rc, err := zf.Open()
	if err != nil {
		p.sstErr = unsupportedf("open %s: %v", zf.Name, err)
		return nil, p.sstErr
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxInflatedPart+1))
	if err != nil || len(b) > maxInflatedPart {
		p.sstErr = unsupportedf("read %s: %v", zf.Name, err)
		return nil, p.sstErr
	}
	p.sst, p.sstErr = readSST(b, true)
	return p.sst, p.sstErr
}

// ctTypesMirror and the types below copy excelize's xlsxTypes.
type ctTypesMirror struct {
	XMLName   xml.Name           `xml:"http://schemas.openxmlformats.org/package/2006/content-types Types"`
	Defaults  []ctDefaultMirror  `xml:"Default"`
	Overrides []ctOverrideMirror `xml:"Override"`
}

type ctOverrideMirror struct {
	PartName    string `xml:",attr"`
	ContentType string `xml:",attr"`
}

type ctDefaultMirror struct {
	Extension   string `xml:",attr"`
	ContentType string `xml:",attr"`
}

// cellsReady checks what excelize's Rows.Columns checks before its first
// row: the shared strings (read here) and, when it has not read them yet,
// the content types part (excelize fails that first call when it cannot
// decode it).
func (p *xlsxParts) cellsReady() ([]string, *scanError) {
	sst, err := p.sharedStrings()
	if err != nil {
		return nil, err
	}
	if p.f.SharedStrings == nil && p.f.ContentTypes == nil && !p.ctChecked {
		p.ctChecked = true
		var ct ctTypesMirror
		_, p.ctErr = p.decodeMirror("[Content_Types].xml", &ct)
	}
	if p.ctErr != nil {
		return nil, p.ctErr
	}
	return sst, nil
}

// openSheet starts the fast reader on the worksheet of sheet. close ends
// it.
func (p *xlsxParts) openSheet(sheet string) (s *sheetScan, close func(), err *scanError) {
	part, err := p.sheetPart(sheet)
	if err != nil {
		return nil, nil, err
	}
	sst, err := p.cellsReady()
	if err != nil {
		return nil, nil, err
	}
	entries := p.byName[part]
	if len(entries) > 1 {
		return nil, nil, unsupportedf("the zip holds %d entries for %s", len(entries), part)
	}
	if b, ok := p.pkgBytes(part); ok && len(b) > 0 {
		return newSheetScan(newXMLTokBytes(b), sst), func() {}, nil
	}
	if len(entries) == 0 {
		return nil, nil, unsupportedf("the worksheet part %s is empty", part)
	}
	rc, oerr := entries[0].Open()
	if oerr != nil {
		return nil, nil, unsupportedf("open %s: %v", part, oerr)
	}
	ra := newReadAhead(rc)
	return newSheetScan(newXMLTok(ra), sst), func() { ra.close(); rc.Close() }, nil
}

// readAhead reads r in a goroutine, a few chunks ahead, so that inflating
// a zip entry and tokenizing it run on two cores.
type readAhead struct {
	full chan aheadChunk
	free chan []byte
	stop chan struct{}
	done chan struct{}
	cur  []byte
	buf  []byte
	err  error
}

type aheadChunk struct {
	buf []byte
	n   int
	err error
}

const (
	aheadChunkSize = 1 << 20
	aheadChunks    = 4
)

func newReadAhead(r io.Reader) *readAhead {
	a := &readAhead{full: make(chan aheadChunk, aheadChunks), free: make(chan []byte, aheadChunks+1),
		stop: make(chan struct{}), done: make(chan struct{})}
	for i := 0; i < aheadChunks+1; i++ {
		a.free <- make([]byte, aheadChunkSize)
	}
	go func() {
		defer close(a.done)
		for {
			var buf []byte
			select {
			case buf = <-a.free:
			case <-a.stop:
				return
			}
			n, err := io.ReadFull(r, buf)
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			select {
			case a.full <- aheadChunk{buf, n, err}:
			case <-a.stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return a
}

func (a *readAhead) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.err != nil {
			return 0, a.err
		}
		if a.buf != nil {
			a.free <- a.buf
			a.buf = nil
		}
		c := <-a.full
		a.buf, a.cur, a.err = c.buf, c.buf[:c.n], c.err
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// close stops the reading goroutine and waits for it, so that r can be
// closed.
func (a *readAhead) close() {
	close(a.stop)
	<-a.done
}

// xlsxSIMirror and the types below copy the field types and XML tags of
// excelize's xlsxSI and what it holds (TestMirrorTypesMatchExcelize
// compares them), so that encoding/xml decodes a string item into them
// exactly as into excelize's own, errors included.
type xlsxSIMirror struct {
	T          *xlsxTMirror             `xml:"t,omitempty"`
	R          []xlsxRMirror            `xml:"r"`
	RPh        []*xlsxPhoneticRunMirror `xml:"rPh"`
	PhoneticPr *xlsxPhoneticPrMirror    `xml:"phoneticPr"`
}

type xlsxRMirror struct {
	XMLName xml.Name       `xml:"r"`
	RPr     *xlsxRPrMirror `xml:"rPr"`
	T       *xlsxTMirror   `xml:"t"`
}

type xlsxTMirror struct {
	XMLName xml.Name `xml:"t"`
	Space   xml.Attr `xml:"space,attr,omitempty"`
	Val     string   `xml:",chardata"`
}

type xlsxRPrMirror struct {
	RFont     *attrValStringMirror `xml:"rFont"`
	Charset   *attrValIntMirror    `xml:"charset"`
	Family    *attrValIntMirror    `xml:"family"`
	B         *attrValBoolMirror   `xml:"b"`
	I         *attrValBoolMirror   `xml:"i"`
	Strike    *attrValBoolMirror   `xml:"strike"`
	Outline   *attrValBoolMirror   `xml:"outline"`
	Shadow    *attrValBoolMirror   `xml:"shadow"`
	Condense  *attrValBoolMirror   `xml:"condense"`
	Extend    *attrValBoolMirror   `xml:"extend"`
	Color     *xlsxColorMirror     `xml:"color"`
	Sz        *attrValFloatMirror  `xml:"sz"`
	U         *attrValStringMirror `xml:"u"`
	VertAlign *attrValStringMirror `xml:"vertAlign"`
	Scheme    *attrValStringMirror `xml:"scheme"`
}

type attrValStringMirror struct {
	Val *string `xml:"val,attr"`
}

type attrValIntMirror struct {
	Val *int `xml:"val,attr"`
}

type attrValBoolMirror struct {
	Val *bool `xml:"val,attr"`
}

type attrValFloatMirror struct {
	Val *float64 `xml:"val,attr"`
}

type xlsxColorMirror struct {
	Auto    bool    `xml:"auto,attr,omitempty"`
	RGB     string  `xml:"rgb,attr,omitempty"`
	Indexed int     `xml:"indexed,attr,omitempty"`
	Theme   *int    `xml:"theme,attr"`
	Tint    float64 `xml:"tint,attr,omitempty"`
}

type xlsxPhoneticRunMirror struct {
	Sb uint32 `xml:"sb,attr"`
	Eb uint32 `xml:"eb,attr"`
	T  string `xml:"t"`
}

type xlsxPhoneticPrMirror struct {
	XMLName   xml.Name `xml:"phoneticPr"`
	Alignment string   `xml:"alignment,attr,omitempty"`
	FontID    *int     `xml:"fontId,attr"`
	Type      string   `xml:"type,attr,omitempty"`
}

// String is excelize's xlsxSI.String: the text and the runs' texts, with
// the _xHHHH_ escapes undone.
func (x xlsxSIMirror) String() string {
	var b strings.Builder
	if x.T != nil {
		b.WriteString(x.T.Val)
	}
	for _, r := range x.R {
		if r.T != nil {
			b.WriteString(r.T.Val)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return bstrUnmarshal(b.String())
}
