package reply

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is what a reply asks for.
type Kind string

// The intents a reply can have.
const (
	IntentApprove Kind = "approve" // a manager approves the release
	IntentReject  Kind = "reject"  // a manager rejects it (Reason says why)
	IntentPartial Kind = "partial" // approves all but Excluded entries
	IntentDone    Kind = "done"    // ops confirm the release is out
	IntentResults Kind = "results" // a tester reports per-entry outcomes
	IntentUnclear Kind = "unclear" // nothing may be decided on it
)

// Intent is the classification of a reply's new text.
type Intent struct {
	Kind     Kind
	Matched  []string // the words that decided, as the sender wrote them
	Reason   string   // for a rejection: the text after the reject word
	Results  []Result // for results
	Excluded []string // for partial: the entries left out
	Why      string   // a short explanation, in particular of unclear
}

// Classify decides what a reply's new text (from Trim) asks for. It is
// conservative: approve only when an approve word stands in a plain clause
// of its own ("同意", "同意发布。辛苦", "Approved.") with no negation, no
// question, no condition (但是, 如果, but, if), no reject word and no other
// sentence around the approve word; otherwise unclear. Negated approvals
// (不同意, not approved) are rejections. Per-entry lines ("20 通过",
// "21 fail: 登录报错") are results; "同意，21 除外" is partial.
func Classify(newText string, words Words) Intent {
	c := newClassifier(newText, words)
	return c.classify()
}

// maxClassifyBytes bounds the new text Classify reads: a longer "reply" is
// not a decision anybody typed, and is unclear.
const maxClassifyBytes = 32 << 10

// negatorWindow is how far before a word a negator is looked for, in bytes.
const negatorWindow = 48

// clause is a stretch of text between sentence punctuation.
type clause struct {
	a, b     int
	question bool
	pure     int8 // 0 unknown, 1 pure, -1 not
}

type classifier struct {
	f       folded
	buf     []byte
	w       Words
	clauses []clause

	results    []Result
	resultHits []span
	allPass    []span
	entries    []entryDecision

	rejects         []span // reject words and negated approvals
	negatedReject   []span
	approve         []span // decisive
	approveStrong   bool   // a decisive approve word is a strong one
	approveLoose    []span // strong approve word in a longer clause
	approveQuestion []span
	rejectQuestion  []span
	done            []span
	doneNegated     []span
	hedges          []span
	question        bool
}

func newClassifier(text string, w Words) *classifier {
	f := foldText(text)
	lw := w.matched()
	return &classifier{f: f, buf: []byte(f.s), w: lw}
}

func (c *classifier) classify() Intent {
	if strings.TrimSpace(c.f.s) == "" {
		return Intent{Kind: IntentUnclear, Why: "no new text"}
	}
	if len(c.f.orig) > maxClassifyBytes {
		return Intent{Kind: IntentUnclear, Why: "new text too long to be a decision"}
	}
	c.results, c.resultHits = parseResults(c.f, c.buf, c.w)
	c.allPass = c.find(c.w.AllPass)
	c.entries = findEntryDecisions(c.f, c.buf, c.w)
	c.clauses = splitClauses(string(c.buf), c.w.Questions)
	for _, cl := range c.clauses {
		c.question = c.question || cl.question
	}
	c.scanRejects()
	c.scanApprovals()
	c.scanDone()
	c.hedges = c.find(c.w.Hedges)
	return c.decide()
}

// find returns the intact occurrences of words (longest first) and masks them.
func (c *classifier) find(words []string) []span {
	var out []span
	for _, w := range words {
		for _, sp := range findWordBytes(c.buf, w, 100) {
			if !intact(c.buf, c.f.s, sp.a, sp.b) {
				continue
			}
			mask(c.buf, sp.a, sp.b)
			sp.word = c.f.origSpan(sp.a, sp.b)
			out = append(out, sp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].a < out[j].a })
	return out
}

func (c *classifier) scanRejects() {
	c.rejects = c.find(c.w.Negated)
	for _, sp := range c.find(c.w.Reject) {
		cl := c.clauseAt(sp.a)
		switch {
		case cl != nil && cl.question:
			c.rejectQuestion = append(c.rejectQuestion, sp)
		case c.negatorBefore(sp.a, cl) >= 0:
			c.negatedReject = append(c.negatedReject, sp)
		default:
			c.rejects = append(c.rejects, sp)
		}
	}
}

func (c *classifier) scanApprovals() {
	for _, sp := range c.findBoth(c.w.Approve, c.w.ApproveWeak) {
		strong := contains(c.w.Approve, foldText(sp.word).s)
		cl := c.clauseAt(sp.a)
		pure := cl != nil && c.isPure(cl)
		if !strong && !pure {
			continue // a weak word inside a sentence says nothing
		}
		switch neg := c.negatorBefore(sp.a, cl); {
		case cl != nil && cl.question:
			c.approveQuestion = append(c.approveQuestion, sp)
		case neg >= 0:
			c.rejects = append(c.rejects, span{a: neg, b: sp.b, word: c.f.origSpan(neg, sp.b)})
		case pure:
			c.approve = append(c.approve, sp)
			c.approveStrong = c.approveStrong || strong
		default:
			c.approveLoose = append(c.approveLoose, sp)
		}
	}
}

func (c *classifier) scanDone() {
	for _, sp := range c.findBoth(c.w.Done, c.w.DoneWeak) {
		strong := contains(c.w.Done, foldText(sp.word).s)
		cl := c.clauseAt(sp.a)
		pure := cl != nil && c.isPure(cl)
		switch {
		case !strong && !pure:
		case cl != nil && cl.question, c.negatorBefore(sp.a, cl) >= 0:
			c.doneNegated = append(c.doneNegated, sp)
		default:
			c.done = append(c.done, sp)
		}
	}
}

// findBoth finds the words of two lists together, longest first, so that a
// longer word of either list wins over a shorter one inside it.
func (c *classifier) findBoth(a, b []string) []span {
	all := append(append([]string{}, a...), b...)
	sort.SliceStable(all, func(i, j int) bool { return len(all[i]) > len(all[j]) })
	return c.find(all)
}

func (c *classifier) clauseAt(i int) *clause {
	for k := range c.clauses {
		if i >= c.clauses[k].a && i < c.clauses[k].b {
			return &c.clauses[k]
		}
	}
	return nil
}

// negatorBefore returns where a negator starts in the few words before i in
// the same clause ("不" in "暂不同意", "not" in "not yet approved"), or -1.
func (c *classifier) negatorBefore(i int, cl *clause) int {
	start := 0
	if cl != nil {
		start = cl.a
	}
	start = max(start, i-negatorWindow)
	for start < i && !utf8.RuneStart(c.f.s[start]) {
		start++
	}
	pre := []byte(c.f.s[start:i])
	for _, nn := range c.w.NotNegators {
		for _, sp := range findWord(string(pre), nn, 20) {
			mask(pre, sp.a, sp.b)
		}
	}
	// Chinese negators within the last four runes, English ones within the
	// last three words before i.
	cjk := len(pre)
	for n := 0; n < 4 && cjk > 0; n++ {
		_, size := utf8.DecodeLastRune(pre[:cjk])
		cjk -= size
	}
	en := len(pre)
	for words := 0; en > 0 && words < 3; words++ {
		en = backBlank(string(pre), en)
		for en > 0 && pre[en-1] != ' ' && pre[en-1] != '\n' {
			en--
		}
	}
	best := -1
	for _, n := range c.w.Negators {
		from := cjk
		if isWordByte(n[0]) {
			from = en
		}
		if sps := findWord(string(pre[from:]), n, 1); len(sps) > 0 && (best < 0 || from+sps[0].a < best) {
			best = from + sps[0].a
		}
	}
	if best < 0 {
		return -1
	}
	return start + best
}

var dateTime = regexp.MustCompile(`\d{2,4}\s*年|\d{1,2}\s*月|\d{1,2}\s*[日号]|\d{1,2}\s*[:点]\s*\d{0,2}\s*分?|周[一二三四五六日天]|星期[一二三四五六日天]`)

// isPure tells whether a clause is nothing but approve/done words, filler,
// dates and punctuation, so that an approve word in it is the point of it.
func (c *classifier) isPure(cl *clause) bool {
	if cl.pure != 0 {
		return cl.pure > 0
	}
	s := append([]byte(nil), c.buf[cl.a:cl.b]...)
	for _, list := range [][]string{c.w.Approve, c.w.ApproveWeak, c.w.Done, c.w.DoneWeak, c.w.Filler} {
		for _, w := range list {
			for _, sp := range findWord(string(s), w, 20) {
				mask(s, sp.a, sp.b)
			}
		}
	}
	rest := dateTime.ReplaceAllString(string(s), "")
	pure := strings.IndexFunc(rest, func(r rune) bool {
		return !unicode.IsSpace(r) && !unicode.IsPunct(r) && !unicode.IsSymbol(r)
	}) < 0
	cl.pure = -1
	if pure {
		cl.pure = 1
	}
	return pure
}

// splitClauses splits at sentence punctuation and line ends; a clause is a
// question when it ends in "?" or a question particle, or holds a
// multi-character question word (是否, can we).
func splitClauses(s string, questions []string) []clause {
	var out []clause
	start := 0
	for i, r := range s {
		switch r {
		case ',', '，', '.', '。', ';', '；', '!', '！', '?', '？', '\n':
			end := i + utf8.RuneLen(r)
			out = append(out, clause{a: start, b: end, question: isQuestion(s[start:end], questions)})
			start = end
		}
	}
	if start < len(s) {
		out = append(out, clause{a: start, b: len(s), question: isQuestion(s[start:], questions)})
	}
	return out
}

func isQuestion(cl string, questions []string) bool {
	t := strings.TrimRightFunc(cl, func(r rune) bool { return unicode.IsSpace(r) || r == '~' || r == '～' })
	if strings.HasSuffix(t, "?") || strings.HasSuffix(t, "？") {
		return true
	}
	t = strings.TrimRightFunc(t, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) || r == '了' || r == '啊' || r == '呀'
	})
	for _, q := range questions {
		if utf8.RuneCountInString(q) == 1 {
			if strings.HasSuffix(t, q) {
				return true
			}
			continue
		}
		if len(findWord(t, q, 1)) > 0 {
			return true
		}
	}
	return false
}
