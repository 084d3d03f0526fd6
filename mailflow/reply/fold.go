package reply

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// folded is a lower-cased, width-folded copy of a text ("ＯＫ，同意" →
// "ok,同意") with the byte offset in the original of each folded byte, so
// that matches can be reported in the sender's own spelling.
type folded struct {
	orig string
	s    string
	off  []int // len(s)+1 entries
}

func foldText(orig string) folded {
	var sb strings.Builder
	sb.Grow(len(orig))
	off := make([]int, 0, len(orig)+1)
	if !needsFold(orig) {
		for i := 0; i <= len(orig); i++ {
			off = append(off, i)
		}
		return folded{orig: orig, s: orig, off: off}
	}
	for i, r := range orig {
		f := foldRune(r)
		n := sb.Len()
		sb.WriteRune(f)
		for k := n; k < sb.Len(); k++ {
			off = append(off, i)
		}
	}
	off = append(off, len(orig))
	return folded{orig: orig, s: sb.String(), off: off}
}

// foldRune maps full-width forms to ASCII (U+FF01..U+FF5E), NBSP and U+3000
// to spaces, curly apostrophes to "'", and lower-cases letters. CJK
// ideographs are returned as they are.
func foldRune(r rune) rune {
	switch {
	case r < 0x80:
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	case r == '\u00a0' || r == '\u3000':
		return ' '
	case r == '\u2019' || r == '\u2018':
		return '\''
	case r >= 0xff01 && r <= 0xff5e:
		return foldRune(r - 0xfee0)
	case r >= 0x2e80 && r <= 0x9fff, r >= 0xac00 && r <= 0xd7af:
		return r
	}
	return unicode.ToLower(r)
}

// origSpan returns the original text of folded bytes [a, b).
func (f folded) origSpan(a, b int) string {
	a, b = max(0, min(a, len(f.s))), max(0, min(b, len(f.s)))
	if a >= b {
		return ""
	}
	return f.orig[f.off[a]:f.off[b]]
}

// origFrom returns the original text from folded byte a to the end.
func (f folded) origFrom(a int) string {
	a = max(0, min(a, len(f.s)))
	return f.orig[f.off[a]:]
}

// span is a match in the folded text.
type span struct {
	a, b int
	word string
}

// isWordByte reports ASCII letters and digits (English word boundaries).
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '\''
}

// findWord returns the occurrences of w in s; a word that starts or ends
// with an ASCII letter must not touch another ASCII letter there.
func findWord(s, w string, limit int) []span {
	if w == "" {
		return nil
	}
	var out []span
	from := 0
	for len(out) < limit {
		i := strings.Index(s[from:], w)
		if i < 0 {
			break
		}
		a := from + i
		b := a + len(w)
		from = a + max(1, utf8RuneLenAt(s, a))
		if isWordByte(w[0]) && a > 0 && isWordByte(s[a-1]) {
			continue
		}
		if isWordByte(w[len(w)-1]) && b < len(s) && isWordByte(s[b]) {
			continue
		}
		out = append(out, span{a: a, b: b, word: w})
	}
	return out
}

// findWordBytes is findWord on a byte slice.
func findWordBytes(s []byte, w string, limit int) []span {
	if w == "" {
		return nil
	}
	var out []span
	wb := []byte(w)
	from := 0
	for len(out) < limit {
		i := bytes.Index(s[from:], wb)
		if i < 0 {
			break
		}
		a := from + i
		b := a + len(w)
		_, n := utf8.DecodeRune(s[a:])
		from = a + max(1, n)
		if isWordByte(w[0]) && a > 0 && isWordByte(s[a-1]) {
			continue
		}
		if isWordByte(w[len(w)-1]) && b < len(s) && isWordByte(s[b]) {
			continue
		}
		out = append(out, span{a: a, b: b, word: w})
	}
	return out
}

func utf8RuneLenAt(s string, i int) int {
	_, n := utf8.DecodeRuneInString(s[i:])
	return n
}

// mask overwrites bytes [a, b) of buf with spaces.
func mask(buf []byte, a, b int) {
	for k := max(0, a); k < b && k < len(buf); k++ {
		buf[k] = ' '
	}
}

// isMasked reports whether [a, b) of buf still holds the text of s there.
func intact(buf []byte, s string, a, b int) bool {
	return string(buf[a:b]) == s[a:b]
}
