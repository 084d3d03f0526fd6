package sheet

import (
	"archive/zip"
	"bytes"
	"io"
	"testing"
)

// bookParts is a workbook built part by part.
type bookParts []struct{ name, body string }

func (b bookParts) with(name, body string) bookParts {
	out := append(bookParts(nil), b...)
	for i := range out {
		if out[i].name == name {
			out[i].body = body
			return out
		}
	}
	return append(out, struct{ name, body string }{name, body})
}

func (b bookParts) without(name string) bookParts {
	var out bookParts
	for _, p := range b {
		if p.name != name {
			out = append(out, p)
		}
	}
	return out
}

func (b bookParts) zip(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range b {
		w, err := zw.Create(p.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, p.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const (
	relsNS  = "http://schemas.openxmlformats.org/package/2006/relationships"
	docRels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
)

// minimalBook is a one-sheet workbook with sheetXML as its worksheet and
// sstXML (unless "") as its shared strings.
func minimalBook(sheetXML, sstXML string) bookParts {
	b := bookParts{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
			`</Types>`},
		{"_rels/.rels", `<Relationships xmlns="` + relsNS + `"><Relationship Id="rId1" Type="` + docRels + `/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<workbook xmlns="` + mainNS + `" xmlns:r="` + docRels + `"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<Relationships xmlns="` + relsNS + `"><Relationship Id="rId1" Type="` + docRels + `/worksheet" Target="worksheets/sheet1.xml"/>` +
			`<Relationship Id="rId2" Type="` + docRels + `/sharedStrings" Target="sharedStrings.xml"/></Relationships>`},
		{"xl/worksheets/sheet1.xml", sheetXML},
	}
	if sstXML != "" {
		b = append(b, struct{ name, body string }{"xl/sharedStrings.xml", sstXML})
	}
	return b
}

// ws wraps rows in a worksheet.
func ws(rows string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<worksheet xmlns="` + mainNS + `" xmlns:r="` + docRels + `"><dimension ref="A1"/><sheetData>` + rows + `</sheetData><pageMargins left="0.7"/></worksheet>`
}

// plainSST holds a plain string, rich text with phonetic runs, an
// escaped control character and an empty item.
const plainSST = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
	`<sst xmlns="` + mainNS + `" count="5" uniqueCount="5"><si><t>编号</t></si>` +
	`<si><r><rPr><b/><sz val="11"/><color rgb="FFFF0000"/><rFont val="宋体"/><charset val="134"/></rPr><t xml:space="preserve">小贷 </t></r><r><t>核心</t></r>` +
	`<rPh sb="0" eb="2"><t>ショウタイ</t></rPh><phoneticPr fontId="1" type="noConversion"/></si>` +
	`<si><t>a_x000D_b_x005F_x000D_</t></si><si><t/></si><si><t>&lt;&#x4E2D;&amp;</t></si></sst>`

// sheetCases are worksheets (and shared strings) at the edges of what the
// fast reader reads itself; fast says whether it must read them to the
// end itself (false: it hands over to excelize, which must then give the
// same rows as excelize alone).
var sheetCases = []struct {
	name  string
	parts bookParts
	fast  bool
}{
	{"shared strings with rich text and phonetic runs", minimalBook(ws(
		`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c></row>`+
			`<row r="2"><c r="A2" t="s"><v> 1 </v></c><c r="B2" t="s"><v>99</v></c><c r="C2" t="s"><v>x</v></c><c r="D2" t="s"><v>-1</v></c><c r="E2" t="s"><v/></c></row>`), plainSST), true},
	{"inline strings, entities, CDATA, comments", minimalBook(ws(
		`<row r="1"><c r="A1" t="inlineStr"><is><t xml:space="preserve"> a&amp;b&lt;c&gt; &#10;&#x4E2D;&#13;&#10;</t></is></c>`+
			`<c r="B1" t="inlineStr"><is><!-- note --><t><![CDATA[<x>&amp;]]>tail</t></is></c>`+
			`<c r="C1"><v><![CDATA[12]]>.5</v></c><c r="D1" t="inlineStr"><is><t>line1`+"\r\n"+`line2`+"\r"+`x</t></is></c></row>`), ""), true},
	{"inline rich text", minimalBook(ws(
		`<row r="1"><c r="A1" t="inlineStr"><is><r><rPr><i/></rPr><t>斜</t></r><r><t xml:space="preserve"> 体</t></r></is></c><c r="B1" t="inlineStr"><is/></c></row>`), ""), true},
	{"value types", minimalBook(ws(
		`<row r="1"><c r="A1" t="b"><v>1</v></c><c r="B1" t="e"><v>#N/A</v></c><c r="C1" t="d"><v>2026-11-27T00:00:00</v></c><c r="D1" t="str"><v>text</v></c>`+
			`<c r="E1" t="n"><v>1.50</v></c><c r="F1" s="3"><v>45394</v></c><c r="G1" t="weird"><v>w</v></c><c r="H1" t=""><v>e</v></c><c r="I1" t="inlineStr"><v>v only</v></c>`+
			`<c r="J1" t="s" s="1"><v>0</v><is><t>ignored</t></is></c></row>`), plainSST), true},
	{"formulas", minimalBook(ws(
		`<row r="1"><c r="A1"><f>SUM(B1:C1)</f><v>3</v></c><c r="B1"><f t="shared" ref="B1:B3" si="0" ca="1"/></c><c r="C1"><f aca="false">x</f></c><c r="D1" t="str"><f>"a"</f><v></v></c></row>`), ""), true},
	{"formula with a bad index", minimalBook(ws(`<row r="1"><c r="A1"><f si="x">1</f><v>1</v></c></row>`), ""), false},
	{"formula with a bad flag", minimalBook(ws(`<row r="1"><c r="A1"><f ca="maybe">1</f><v>1</v></c></row>`), ""), false},
	{"rows and cells without r", minimalBook(ws(
		`<row><c><v>1</v></c><c/><c><v>3</v></c></row><row r="4"><c r="C4"><v>x</v></c><c><v>y</v></c></row><row><c r="B5"/><c><v>z</v></c></row><row r="0"><c><v>r0</v></c></row>`), ""), true},
	{"gaps, empty and self-closing rows", minimalBook(ws(
		`<row r="3" spans="1:3"/><row r="5"><c r="E5" s="2"/></row><row r="9"><c r="AA9"><v>far</v></c></row>`), ""), true},
	{"more than one value element", minimalBook(ws(`<row r="1"><c r="A1"><v>1</v><v>2</v></c></row>`), ""), true},
	{"_x escapes", minimalBook(ws(
		`<row r="1"><c r="A1" t="inlineStr"><is><t>_x000D__x000a__x005F_x0041__x00_ _xD800_ _x4e2d_</t></is></c><c r="B1"><v>_x000D_</v></c></row>`), ""), true},
	{"prefixed names", minimalBook(`<x:worksheet xmlns:x="`+mainNS+`"><x:sheetData><x:row x:r="1"><x:c r="B1" x:t="inlineStr"><x:is><x:t>p</x:t></x:is></x:c></x:row></x:sheetData></x:worksheet>`, ""), true},
	{"Strict Open XML worksheet", minimalBook(`<worksheet xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet>`, ""), true},
	{"byte order mark", minimalBook("\uFEFF"+ws(`<row r="1"><c r="A1"><v>1</v></c></row>`), ""), true},
	{"empty sheetData", minimalBook(ws(``), ""), true},
	{"no sheetData", minimalBook(`<worksheet xmlns="`+mainNS+`"><dimension ref="A1"/></worksheet>`, ""), true},
	{"rich text run with a bad size", minimalBook(ws(`<row r="1"><c r="A1" t="inlineStr"><is><r><rPr><sz val="big"/></rPr><t>x</t></r></is></c><c r="B1"><v>2</v></c></row>`), ""), false},
	{"shared string with a bad size", minimalBook(ws(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`),
		`<sst xmlns="`+mainNS+`"><si><r><rPr><sz val="big"/></rPr><t>x</t></r></si></sst>`), false},
	{"phonetic run with a bad offset", minimalBook(ws(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`),
		`<sst xmlns="`+mainNS+`"><si><t>x</t><rPh sb="-1" eb="1"><t>y</t></rPh></si></sst>`), false},
	{"shared strings with a bad count", minimalBook(ws(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`),
		`<sst xmlns="`+mainNS+`" count="many"><si><t>x</t></si></sst>`), false},
	{"shared strings without namespace", minimalBook(ws(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`), `<sst><si><t>x</t></si></sst>`), false},
	{"Strict shared strings", minimalBook(ws(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`),
		`<sst xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"><si><t>http://purl.oclc.org/ooxml/spreadsheetml/main</t></si></sst>`), false},
	{"shared strings with an unknown element", minimalBook(ws(`<row r="1"><c r="A1" t="s"><v>1</v></c></row>`),
		`<sst xmlns="`+mainNS+`"><si><t>x</t></si><extLst><si><t>y</t></si></extLst><si><t>z</t></si></sst>`), false},
	{"broken shared strings", minimalBook(ws(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`), `<sst xmlns="`+mainNS+`"><si><t>x</si></sst>`), false},
	{"broken content types", minimalBook(ws(`<row r="1"><c r="A1"><v>1</v></c></row>`), "").with("[Content_Types].xml", `<Types`), false},
	{"rows out of order", minimalBook(ws(`<row r="2"><c r="A2"><v>2</v></c></row><row r="1"><c r="B1"><v>1</v></c></row><row r="3"><c r="A3"><v>3</v></c></row>`), ""), false},
	{"row repeated", minimalBook(ws(`<row r="1"><c r="A1"><v>1</v></c></row><row r="1"><c r="B1"><v>1b</v></c></row>`), ""), false},
	{"cells out of order", minimalBook(ws(`<row r="1"><c r="C1"><v>c</v></c><c r="A1"><v>a</v></c></row><row r="2"><c r="A2"><v>2</v></c></row>`), ""), false},
	{"cell repeated", minimalBook(ws(`<row r="1"><c r="A1"><v>1</v></c><c r="A1"><v>2</v></c></row>`), ""), false},
	{"bad cell reference", minimalBook(ws(`<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="2B"><v>x</v></c></row>`), ""), false},
	{"cell past the last column", minimalBook(ws(`<row r="1"><c r="XFE1"><v>1</v></c></row>`), ""), false},
	{"bad row number", minimalBook(ws(`<row r="1"><c r="A1"><v>1</v></c></row><row r="x"><c r="A2"><v>2</v></c></row>`), ""), false},
	{"bad first row number", minimalBook(ws(`<row r="one"><c r="A1"><v>1</v></c></row>`), ""), false},
	{"row past the last row", minimalBook(ws(`<row r="1"><c r="A1"><v>1</v></c></row><row r="1048577"><c r="A1048577"><v>2</v></c></row>`), ""), false},
	{"bad style", minimalBook(ws(`<row r="1"><c r="A1" s="x"><v>1</v></c></row>`), ""), false},
	{"element between rows", minimalBook(ws(`<row r="1"><c r="A1"><v>1</v></c></row><c r="B1"><v>stray</v></c><row r="2"><c r="A2"><v>2</v></c></row>`), ""), false},
	{"element in a row", minimalBook(ws(`<row r="1"><extLst/><c r="A1"><v>1</v></c></row>`), ""), false},
	{"element in a cell", minimalBook(ws(`<row r="1"><c r="A1"><extLst><v>9</v></extLst><v>1</v></c></row>`), ""), false},
	{"element in a value", minimalBook(ws(`<row r="1"><c r="A1"><v>1<b>2</b>3</v></c></row>`), ""), false},
	{"row before sheetData", minimalBook(`<worksheet xmlns="`+mainNS+`"><sheetViews><row r="7"><c r="A7"><v>early</v></c></row></sheetViews><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet>`, ""), false},
	{"row after sheetData", minimalBook(`<worksheet xmlns="`+mainNS+`"><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData><extLst><row r="5"><c r="A5"><v>late</v></c></row></extLst></worksheet>`, ""), false},
	{"truncated worksheet", minimalBook(ws(`<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2</v></c></row>`)[:200], ""), false},
	{"unknown entity", minimalBook(ws(`<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>&nbsp;</t></is></c></row>`), ""), false},
	{"doctype", minimalBook(`<!DOCTYPE worksheet>`+ws(`<row r="1"><c r="A1"><v>1</v></c></row>`), ""), false},
	{"declared in ISO-8859-1", minimalBook(`<?xml version="1.0" encoding="ISO-8859-1"?><worksheet xmlns="`+mainNS+`"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>caf`+"\xe9"+`</t></is></c></row></sheetData></worksheet>`, ""), false},
	{"control character", minimalBook(ws(`<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>`+"\x01"+`</v></c></row>`), ""), false},
	{"two zip entries for the worksheet", append(minimalBook(ws(`<row r="1"><c r="A1"><v>first</v></c></row>`), ""),
		struct{ name, body string }{"xl/worksheets/sheet1.xml", ws(`<row r="1"><c r="A1"><v>second</v></c></row>`)}), false},
	{"absolute target and backslashes", minimalBook(ws(`<row r="1"><c r="A1"><v>1</v></c></row>`), "").
		with("xl/_rels/workbook.xml.rels", `<Relationships xmlns="`+relsNS+`"><Relationship Id="rId1" Type="`+docRels+`/worksheet" Target="/xl/worksheets/sheet1.xml"/></Relationships>`), true},
	{"shared strings in upper case", minimalBook(ws(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`), "").
		with("XL/SharedStrings.xml", `<sst xmlns="`+mainNS+`"><si><t>upper</t></si></sst>`), true},
	{"no shared strings part", minimalBook(ws(`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>1</v></c></row>`), ""), true},
	// excelize cannot open the sheet's rows: the import fails before any row.
	{"no workbook relationships", minimalBook(ws(`<row r="1"><c r="A1"><v>1</v></c></row>`), "").without("xl/_rels/workbook.xml.rels"), true},
}
