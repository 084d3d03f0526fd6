package main

import (
	"bufio"
	"io"
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// printTable writes rows under header as an aligned table. Columns are
// padded by display width: East Asian wide and fullwidth characters (汉字,
// ＡＢＣ) take two terminal columns, combining marks and zero-width
// characters none. Line breaks and tabs inside a cell are shown as spaces;
// no line ends in padding.
func printTable(w io.Writer, header []string, rows [][]string) error {
	ncol := len(header)
	for _, r := range rows {
		ncol = max(ncol, len(r))
	}
	clean := func(r []string) []string {
		out := make([]string, ncol)
		for i := range out {
			if i < len(r) {
				out[i] = flattenCell(r[i])
			}
		}
		return out
	}
	head := clean(header)
	body := make([][]string, len(rows))
	widths := make([]int, ncol)
	for i, c := range head {
		widths[i] = textWidth(c)
	}
	for j, r := range rows {
		body[j] = clean(r)
		for i, c := range body[j] {
			widths[i] = max(widths[i], textWidth(c))
		}
	}
	bw := bufio.NewWriter(w)
	writeRow := func(cells []string) {
		last := len(cells) - 1
		for last > 0 && cells[last] == "" {
			last--
		}
		for i := 0; i <= last; i++ {
			if i > 0 {
				bw.WriteString("  ")
			}
			bw.WriteString(cells[i])
			if i < last {
				bw.WriteString(strings.Repeat(" ", widths[i]-textWidth(cells[i])))
			}
		}
		bw.WriteByte('\n')
	}
	if len(header) > 0 {
		writeRow(head)
		rule := make([]string, ncol)
		for i, wd := range widths {
			rule[i] = strings.Repeat("-", max(wd, 1))
		}
		writeRow(rule)
	}
	for _, r := range body {
		writeRow(r)
	}
	return bw.Flush()
}

// flattenCell puts a cell on one line.
func flattenCell(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", " ")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
}

// textWidth is the number of terminal columns s takes (East Asian wide and
// fullwidth runes 2, combining and zero-width runes 0).
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeCols(r)
	}
	return n
}

func runeCols(r rune) int {
	switch {
	case r < 0x20 || (r >= 0x7f && r < 0xa0):
		return 0
	case r < 0x7f:
		return 1
	case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || unicode.Is(unicode.Cf, r):
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// truncateCols shortens s to at most max display columns, ending in "…"
// when cut.
func truncateCols(s string, max int) string {
	if textWidth(s) <= max {
		return s
	}
	var b strings.Builder
	w := 0
	for _, r := range s {
		rw := runeCols(r)
		if w+rw > max-1 {
			break
		}
		b.WriteRune(r)
		w += rw
	}
	b.WriteString("…")
	return b.String()
}
