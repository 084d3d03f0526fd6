package reply

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits that keep trimming linear on hostile input.
const (
	attrMaxLines   = 5   // lines an attribution may wrap over
	attrMaxBytes   = 600 // bytes of a joined attribution
	headerWindow   = 15  // lines looked at for a header block
	headerMaxGap   = 2   // non-field lines allowed inside a header block
	headerMinField = 3   // field lines that make a header block
	bannerMaxLines = 5   // lines of a gateway warning paragraph
)

type lineKind uint8

const (
	kindText lineKind = iota
	kindEmpty
	kindQuote
	kindDropped // signature, banner or attribution: never new text
)

// trimmer scans a reply from the top and stops at the first line where the
// quoted original begins.
type trimmer struct {
	lines []string // raw lines
	norm  []string // normalised lines, filled lazily
	done  []bool
	kinds []lineKind
	steps []string
}

// Trim returns the reply's own text: quoted originals, attributions,
// forwarded and header blocks, signatures, phone signatures and gateway
// banners are cut off, for the quoting styles of the clients in
// reply-patterns.md (Outlook, QQ/Exmail/WeCom, Foxmail, NetEase, Coremail,
// Alibaba, Gmail, Apple Mail, Thunderbird, Evolution; Chinese and European
// languages). Lines quoted with ">" never count; new text written between
// quoted blocks is kept. When the original starts before any new text (a
// forward or an empty reply), the result is empty: what follows is taken to
// be the original. how names what was cut, e.g. `attribution at line 3 "在 …
// 写道："; 5 quoted lines dropped`, or "nothing to trim".
func Trim(text string) (newText string, how string) {
	t := newTrimmer(text)
	keep := t.scan()
	return t.render(keep), t.how()
}

func newTrimmer(text string) *trimmer {
	text = strings.TrimPrefix(text, "\ufeff")
	lines := strings.Split(text, "\n")
	return &trimmer{
		lines: lines,
		norm:  make([]string, len(lines)),
		done:  make([]bool, len(lines)),
		kinds: make([]lineKind, len(lines)),
	}
}

// line returns line i normalised (CR, NBSP, U+3000, zero-width removed).
func (t *trimmer) line(i int) string {
	if !t.done[i] {
		t.norm[i] = normalizeLine(t.lines[i])
		t.done[i] = true
	}
	return t.norm[i]
}

func (t *trimmer) isBlank(i int) bool { return strings.TrimSpace(t.line(i)) == "" }

func (t *trimmer) isQuote(i int) bool { return isQuoteLine(t.line(i)) }

func (t *trimmer) step(format string, args ...any) {
	if len(t.steps) < 20 {
		t.steps = append(t.steps, fmt.Sprintf(format, args...))
	}
}

// scan classifies lines from the top and returns the index of the first line
// of the original (len(lines) when none).
func (t *trimmer) scan() int {
	n := len(t.lines)
	fence := false
	quoted := 0
	defer func() {
		if quoted > 0 {
			t.step("%d quoted lines dropped", quoted)
		}
	}()
	for i := 0; i < n; i++ {
		l := t.line(i)
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fence = !fence
			continue
		}
		if fence {
			continue
		}
		if strings.TrimSpace(l) == "" {
			t.kinds[i] = kindEmpty
			continue
		}
		if t.quoteContinuation(i) {
			t.kinds[i] = kindQuote
			quoted++
			continue
		}
		if t.isQuote(i) {
			if s, ok := t.brokenWrap(i); ok {
				if cut, stop := t.attribution(s, i); stop {
					return cut
				}
				continue
			}
			t.kinds[i] = kindQuote
			quoted++
			continue
		}
		if rest, ok := stripTokenBanner(l); ok {
			t.norm[i] = rest
			if !isBannerLine(rest) {
				t.step("banner tag dropped at line %d", i+1)
			}
			if strings.TrimSpace(rest) == "" {
				t.kinds[i] = kindDropped
				continue
			}
			l = rest
		}
		if isBannerLine(l) {
			i = t.dropBanner(i)
			continue
		}
		if isMobileSig(l) {
			t.step("phone signature at line %d %q ends the new text", i+1, short(l))
			return i
		}
		if k := dividerKind(l); k != "" {
			t.step("%s at line %d %q", k, i+1, short(l))
			return t.withDateAbove(i)
		}
		if t.headerBlockAt(i) {
			t.step("header block at line %d %q", i+1, short(l))
			return i
		}
		if mayEndAttribution(l) {
			if s, ok := t.attributionStart(i); ok {
				if cut, stop := t.attribution(s, i); stop {
					return cut
				}
			}
		}
	}
	return n
}

// withDateAbove moves a cut at i up to a bare date line just above it
// (Foxmail: "2026-12-03 19:02", blank, "____").
func (t *trimmer) withDateAbove(i int) int {
	p := i - 1
	for p >= 0 && i-p <= 3 && t.isBlank(p) {
		p--
	}
	if p >= 0 && t.kinds[p] == kindText && bareDate.MatchString(t.line(p)) {
		return p
	}
	return i
}

// attribution handles an attribution on lines s..e: dropped when a quote
// follows it, else the original starts at s.
func (t *trimmer) attribution(s, e int) (int, bool) {
	text := short(t.joined(s, e))
	next := e + 1
	for next < len(t.lines) && next-e <= 3 && t.isBlank(next) {
		next++
	}
	if next < len(t.lines) && t.isQuote(next) {
		for k := s; k <= e; k++ {
			t.kinds[k] = kindDropped
		}
		t.step("attribution %q dropped", text)
		return 0, false
	}
	t.step("attribution at line %d %q", s+1, text)
	return s, true
}

// dropBanner drops a gateway warning paragraph starting at i and returns the
// index of its last line.
func (t *trimmer) dropBanner(i int) int {
	j := i
	for ; j < len(t.lines) && j-i < bannerMaxLines && !t.isBlank(j); j++ {
		t.kinds[j] = kindDropped
	}
	t.step("banner dropped at line %d", i+1)
	return j - 1
}

// brokenWrap recognises a quote-looking tail ("> wrote:", ">:") of an
// attribution whose address wrapped; it returns the attribution's start.
func (t *trimmer) brokenWrap(i int) (int, bool) {
	if !brokenWrapEnd.MatchString(t.line(i)) {
		return 0, false
	}
	p := i - 1
	for p >= 0 && i-p < attrMaxLines && t.isBlank(p) {
		p--
	}
	if p < 0 || t.isQuote(p) {
		return 0, false
	}
	return t.attributionStart(i)
}

// attributionStart tells whether line e ends an attribution and where it
// starts. Joins of up to attrMaxLines lines are tried; the longest one whose
// first line begins like an attribution (On/在/Le/a date ...) and carries a
// date wins, else the shortest valid one, extended over lines left open by
// a wrapped address ("Name <a@b" + "> 写道：").
func (t *trimmer) attributionStart(e int) (int, bool) {
	best, shortest := -1, -1
	for s := e; s >= 0 && e-s < attrMaxLines; s-- {
		if s < e && t.isQuote(s) {
			break
		}
		j := t.joined(s, e)
		if len(j) > attrMaxBytes {
			break
		}
		if t.isBlank(s) || !isAttribution(j) {
			continue
		}
		if shortest < 0 {
			shortest = s
		}
		first := t.line(s)
		if attrStart.MatchString(first) && hasDate.MatchString(first) {
			best = s
		}
	}
	if best >= 0 {
		return best, true
	}
	if shortest < 0 {
		return 0, false
	}
	s := shortest
	for s > 0 && e-s+1 < attrMaxLines && !t.isBlank(s-1) && !t.isQuote(s-1) &&
		(opensAddress(t.line(s-1)) || startsAddress(t.line(s))) {
		s--
	}
	return s, true
}

// startsAddress reports a line that begins with a wrapped address.
func startsAddress(s string) bool {
	t := strings.TrimSpace(s)
	return strings.HasPrefix(t, "<") || strings.HasPrefix(t, "(") || strings.HasPrefix(strings.ToLower(t), "mailto:")
}

// quoteContinuation reports a text line wedged between two quoted lines
// without a blank line: a quoted line whose wrap lost its ">" (at most two
// such lines). Quoted text must not leak into the new text that way.
func (t *trimmer) quoteContinuation(i int) bool {
	if i == 0 || t.kinds[i-1] != kindQuote || t.isQuote(i) {
		return false
	}
	for k := i + 1; k < len(t.lines) && k <= i+2; k++ {
		if t.isBlank(k) {
			return false
		}
		if t.isQuote(k) {
			return true
		}
	}
	return false
}

// opensAddress reports a line that leaves an address open: "Name <a@b" or
// one ending in "<".
func opensAddress(s string) bool {
	t := strings.TrimSpace(s)
	return strings.Count(t, "<") > strings.Count(t, ">")
}

// joined returns lines s..e trimmed and joined by single spaces.
func (t *trimmer) joined(s, e int) string {
	var sb strings.Builder
	for k := s; k <= e; k++ {
		l := strings.TrimSpace(t.line(k))
		if l == "" {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(l)
		if sb.Len() > attrMaxBytes {
			break
		}
	}
	return sb.String()
}

// headerBlockAt tells whether a quoted header block (发件人:/发送时间:/收件人:/
// 主题:, From:/Sent:/To:/Subject: ...) starts at line i: at least
// headerMinField field lines, one of them the sender, with at most
// headerMaxGap other lines between fields (wrapped values, blank lines).
func (t *trimmer) headerBlockAt(i int) bool {
	if !mayBeField(t.line(i)) || !headerField.MatchString(t.line(i)) {
		return false
	}
	fields, gap, from := 0, 0, false
	for k := i; k < len(t.lines) && k-i < headerWindow; k++ {
		l := t.line(k)
		if t.isQuote(k) {
			break
		}
		if mayBeField(l) && headerField.MatchString(l) {
			fields++
			gap = 0
			from = from || fromField.MatchString(l)
			continue
		}
		gap++
		if gap > headerMaxGap {
			break
		}
	}
	return fields >= headerMinField && from
}

// mayBeField: a header field has a colon within its first 40 bytes.
func mayBeField(s string) bool {
	head := s[:min(len(s), 40)]
	return strings.ContainsAny(head, ":：")
}

// render joins the kept text lines before cut, collapsing blank runs.
func (t *trimmer) render(cut int) string {
	var out []string
	blank := false
	for i := 0; i < cut && i < len(t.lines); i++ {
		switch t.kinds[i] {
		case kindQuote, kindDropped:
			continue
		case kindEmpty:
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, strings.TrimRight(t.line(i), " \t"))
	}
	return strings.Join(out, "\n")
}

func (t *trimmer) how() string {
	if len(t.steps) == 0 {
		return "nothing to trim"
	}
	return strings.Join(t.steps, "; ")
}

// short shortens s for a how/why message.
func short(s string) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= 60 {
		return s
	}
	r := []rune(s)
	return string(r[:57]) + "…"
}
