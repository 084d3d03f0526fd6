package reply

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Result is one tester's outcome for one entry. ID "*" stands for every
// entry ("全部通过", "all pass").
type Result struct {
	ID      string `json:"id"`
	Outcome string `json:"outcome"` // "pass" or "fail"
	Note    string `json:"note"`
}

// Outcomes of a Result.
const (
	OutcomePass = "pass"
	OutcomeFail = "fail"
)

// idList matches entry IDs: "21", "#21", "21号", "20、21", "20, 21 and 22".
var idList = regexp.MustCompile(`#?\d{1,6}(?:\s*号)?(?:\s*(?:[,、/&和及]|and)\s*#?\d{1,6}(?:\s*号)?)*`)

var idNumber = regexp.MustCompile(`\d{1,6}`)

// idMatch is an ID list found in the folded text.
type idMatch struct {
	a, b int
	ids  []string
}

// findIDLists returns the ID lists in s that stand on their own: not part of
// a date, a time, a version or a word.
func findIDLists(s string) []idMatch {
	var out []idMatch
	for _, loc := range idList.FindAllStringIndex(s, 200) {
		a, b := loc[0], loc[1]
		if a > 0 && strings.ContainsRune("-./:_", rune(s[a-1])) || a > 0 && isWordByte(s[a-1]) {
			continue
		}
		if b < len(s) && (isWordByte(s[b]) || strings.ContainsRune("-./:_年月日点點", firstRune(s[b:]))) {
			continue
		}
		ids := idNumber.FindAllString(s[a:b], 50)
		out = append(out, idMatch{a: a, b: b, ids: ids})
	}
	return out
}

func firstRune(s string) rune {
	for _, r := range s {
		return r
	}
	return 0
}

// skipSep returns the index after blanks and at most one separator
// (":", ".", "-", "、") starting at i.
func skipSep(s string, i int) int {
	i = skipBlank(s, i)
	if i < len(s) && strings.ContainsRune(":.-、", rune(s[i])) {
		i++
	} else if strings.HasPrefix(s[i:], "、") {
		i += len("、")
	}
	return skipBlank(s, i)
}

func skipBlank(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// backBlank returns the index before trailing blanks of s[:i].
func backBlank(s string, i int) int {
	for i > 0 && (s[i-1] == ' ' || s[i-1] == '\t') {
		i--
	}
	return i
}

// prefixWord returns the longest word of words that s[i:] starts with.
func prefixWord(s string, i int, words []string) string {
	best := ""
	for _, w := range words {
		if len(w) > len(best) && strings.HasPrefix(s[i:], w) {
			end := i + len(w)
			if isWordByte(w[len(w)-1]) && end < len(s) && isWordByte(s[end]) {
				continue
			}
			best = w
		}
	}
	return best
}

// suffixWord returns the longest word of words that s[:i] ends with.
func suffixWord(s string, i int, words []string) string {
	best := ""
	for _, w := range words {
		if len(w) > len(best) && strings.HasSuffix(s[:i], w) {
			start := i - len(w)
			if isWordByte(w[0]) && start > 0 && isWordByte(s[start-1]) {
				continue
			}
			best = w
		}
	}
	return best
}

// parseResults finds per-entry outcomes ("20 通过", "21 不通过 登录报错",
// "#21 fail: reason") line by line, masks them in buf, and returns them with
// the spans that matched.
func parseResults(f folded, buf []byte, w Words) ([]Result, []span) {
	outcomes := append(append([]string{}, w.Fail...), w.Pass...)
	var results []Result
	var spans []span
	lineStart := 0
	s := f.s
	for lineStart <= len(s) {
		lineEnd := strings.IndexByte(s[lineStart:], '\n')
		if lineEnd < 0 {
			lineEnd = len(s)
		} else {
			lineEnd += lineStart
		}
		line := string(buf[lineStart:lineEnd])
		type hit struct {
			a, b, noteFrom int
			ids            []string
			outcome        string
		}
		var hits []hit
		for _, m := range findIDLists(line) {
			j := skipSep(line, m.b)
			word := prefixWord(line, j, outcomes)
			if word == "" {
				continue
			}
			out := OutcomePass
			if contains(w.Fail, word) {
				out = OutcomeFail
			}
			hits = append(hits, hit{a: m.a, b: j + len(word), noteFrom: j + len(word), ids: m.ids, outcome: out})
		}
		for k, h := range hits {
			noteEnd := len(line)
			if k+1 < len(hits) {
				noteEnd = hits[k+1].a
			}
			note := trimNote(f.origSpan(lineStart+h.noteFrom, lineStart+noteEnd))
			for _, id := range h.ids {
				results = append(results, Result{ID: id, Outcome: h.outcome, Note: note})
			}
			spans = append(spans, span{a: lineStart + h.a, b: lineStart + h.b, word: f.origSpan(lineStart+h.a, lineStart+h.b)})
			mask(buf, lineStart+h.a, lineStart+noteEnd)
		}
		lineStart = lineEnd + 1
	}
	return results, spans
}

// entryDecision is an approval's exception ("21 除外", "except 21") or an
// entry-targeted rejection ("21 不发", "驳回 21").
type entryDecision struct {
	a, b   int
	wa, wb int // the Except or reject word itself
	ids    []string
	reject bool
	word   string
}

// findEntryDecisions finds ID lists next to an Except word (exclusions) or a
// Reject/Negated word (rejections of single entries), masks them in buf, and
// masks a hedge ("但", "but") just before them, which only introduces them.
func findEntryDecisions(f folded, buf []byte, w Words) []entryDecision {
	rejects := append(append([]string{}, w.Reject...), w.Negated...)
	var out []entryDecision
	s := string(buf)
	for _, m := range findIDLists(s) {
		a, b := m.a, m.b
		after := skipBlank(s, b)
		before := backBlank(s, a)
		var d entryDecision
		switch {
		case suffixWord(s, before, w.Except) != "":
			word := suffixWord(s, before, w.Except)
			end := b
			if tail := prefixWord(s, skipBlank(s, b), []string{"以外", "之外", "外"}); tail != "" {
				end = skipBlank(s, b) + len(tail)
			}
			d = entryDecision{a: before - len(word), b: end, wa: before - len(word), wb: before, ids: m.ids}
		case prefixWord(s, after, w.Except) != "":
			word := prefixWord(s, after, w.Except)
			d = entryDecision{a: a, b: after + len(word), wa: after, wb: after + len(word), ids: m.ids}
		case prefixWord(s, after, rejects) != "":
			word := prefixWord(s, after, rejects)
			d = entryDecision{a: a, b: after + len(word), wa: after, wb: after + len(word), ids: m.ids, reject: true}
		case suffixWord(s, before, rejects) != "":
			word := suffixWord(s, before, rejects)
			d = entryDecision{a: before - len(word), b: b, wa: before - len(word), wb: before, ids: m.ids, reject: true}
		default:
			continue
		}
		lead := backBlank(s, d.a)
		if h := suffixWord(s, lead, w.Hedges); h != "" {
			d.a = lead - len(h)
		}
		d.word = f.origSpan(d.a, d.b)
		mask(buf, d.a, d.b)
		out = append(out, d)
	}
	return out
}

// trimNote trims blanks and punctuation around a note or reason, and a
// leading "原因：" / "reason:".
func trimNote(s string) string {
	t := strings.TrimFunc(s, isNoteEdge)
	for _, p := range []string{"原因", "理由", "reason", "因为", "因為"} {
		if len(t) > len(p) && strings.EqualFold(t[:len(p)], p) {
			rest := strings.TrimLeft(t[len(p):], " \t")
			if strings.HasPrefix(rest, ":") || strings.HasPrefix(rest, "：") || strings.HasPrefix(rest, "是") {
				t = strings.TrimFunc(strings.TrimPrefix(rest, "是"), isNoteEdge)
			}
			break
		}
	}
	r := []rune(t)
	if len(r) > 500 {
		t = string(r[:500])
	}
	return t
}

func isNoteEdge(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsPunct(r) && r != '#' && r != '(' && r != ')' && r != '（' && r != '）' && r != '"' && r != '“' && r != '”'
}

func contains(list []string, s string) bool {
	for _, w := range list {
		if w == s {
			return true
		}
	}
	return false
}

// lowered returns the words folded like the text, longest first, without
// empty ones. Words already folded (the defaults) are not copied rune by
// rune.
func lowered(words []string) []string {
	out := make([]string, 0, len(words))
	for _, w := range words {
		w = strings.TrimSpace(w)
		if needsFold(w) {
			w = foldText(w).s
		}
		if w != "" {
			out = append(out, w)
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// needsFold reports whether foldText would change s.
func needsFold(s string) bool {
	for _, r := range s {
		if r >= 'A' && r <= 'Z' || r >= 0x80 && foldRune(r) != r || r == utf8.RuneError {
			return true
		}
	}
	return false
}
