package sheet

import "testing"

// FuzzSheetXML feeds arbitrary bytes to the fast .xlsx reader as a
// worksheet part and as a shared strings part: its tokenizer must agree
// with encoding/xml token for token (same tokens; a syntax error only where
// encoding/xml fails; see checkTokens), and the rows read from a workbook
// holding those parts — the fast reader, then excelize from wherever it
// stops — must be exactly the rows excelize's iterator alone gives, with
// the same error. Nothing may panic or hang; rows are capped at
// maxTestRows and a token at the tokenizer's buffer cap. Seeds: the
// tokenizer and worksheet cases of the tests.
func FuzzSheetXML(f *testing.F) {
	for _, tc := range tokenizerCases {
		f.Add([]byte(tc.xml), []byte(nil))
	}
	for _, tc := range sheetCases {
		var sheet, sst []byte
		for _, p := range tc.parts {
			switch p.name {
			case "xl/worksheets/sheet1.xml":
				sheet = []byte(p.body)
			case "xl/sharedStrings.xml":
				sst = []byte(p.body)
			}
		}
		f.Add(sheet, sst)
	}
	f.Fuzz(func(t *testing.T, sheet, sst []byte) {
		checkTokens(t, sheet)
		if len(sst) > 0 {
			checkTokens(t, sst)
		}
		compareReaders(t, minimalBook(string(sheet), string(sst)).zip(t))
	})
}
