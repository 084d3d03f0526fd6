package reply

import (
	"sort"
	"strings"
)

// decide turns the signals found in the text into an Intent. Every path that
// is not a clean single decision ends in unclear.
func (c *classifier) decide() Intent {
	var entryRejects, exclusions []entryDecision
	for _, e := range c.entries {
		if e.reject {
			entryRejects = append(entryRejects, e)
		} else {
			exclusions = append(exclusions, e)
		}
	}
	approved := len(c.approve) > 0
	strongApprove := c.approveStrong || len(c.approveLoose) > 0

	if len(c.results) > 0 || len(c.allPass) > 0 {
		if noteApprove := c.approveInNotes(); len(noteApprove) > 0 {
			return c.unclear("an approve word with test results", c.resultHits, noteApprove)
		}
		if strongApprove || len(c.rejects) > 0 || len(c.done) > 0 || len(c.negatedReject) > 0 || len(c.entries) > 0 {
			return c.unclear("test results mixed with decision words", c.resultHits, c.allPass, c.approve, c.approveLoose, c.rejects, c.done)
		}
		results := append([]Result{}, c.results...)
		if len(c.allPass) > 0 {
			if c.negatedAllPass() {
				return c.unclear("\"all pass\" is negated", c.allPass)
			}
			results = append([]Result{{ID: "*", Outcome: OutcomePass}}, results...)
		}
		return Intent{Kind: IntentResults, Matched: words(c.allPass, c.resultHits), Results: results,
			Why: "per-entry test results"}
	}

	if len(entryRejects) > 0 && !approved {
		for _, e := range entryRejects {
			c.rejects = append(c.rejects, span{a: e.wa, b: e.wb, word: c.f.origSpan(e.wa, e.wb)})
		}
		entryRejects = nil
	}
	if len(c.rejects) > 0 {
		switch {
		case approved || len(c.approveLoose) > 0:
			return c.unclear("both approve and reject words", c.approve, c.approveLoose, c.rejects)
		case len(c.negatedReject) > 0:
			return c.unclear("a reject word is negated", c.rejects, c.negatedReject)
		case len(exclusions) > 0:
			return c.unclear("a rejection with entry exceptions", c.rejects, entrySpans(exclusions))
		}
		return Intent{Kind: IntentReject, Matched: words(c.rejects), Reason: c.reason(), Why: "reject word"}
	}
	if len(c.negatedReject) > 0 {
		return c.unclear("a reject word is negated", c.negatedReject)
	}
	if len(c.rejectQuestion) > 0 && !approved {
		return c.unclear("a reject word in a question", c.rejectQuestion)
	}

	if len(c.done) > 0 || len(c.doneNegated) > 0 {
		switch {
		case strongApprove:
			return c.unclear("both approve and release-done words", c.approve, c.approveLoose, c.done)
		case len(c.doneNegated) > 0:
			return c.unclear("a release-done word is negated or asked about", c.doneNegated, c.done)
		case c.question:
			return c.unclear("release-done words with a question", c.done)
		case len(c.entries) > 0:
			return c.unclear("release-done words with entry exceptions", c.done, entrySpans(c.entries))
		}
		return Intent{Kind: IntentDone, Matched: words(c.done), Why: "release-done word"}
	}

	if approved {
		switch {
		case c.question:
			return c.unclear("an approval with a question", c.approve, c.approveQuestion)
		case len(c.approveLoose) > 0:
			return c.unclear("an approve word inside a longer sentence", c.approve, c.approveLoose)
		case len(c.hedges) > 0:
			return c.unclear("an approval with a condition", c.approve, c.hedges)
		case len(c.rejectQuestion) > 0:
			return c.unclear("an approval with a reject word in a question", c.approve, c.rejectQuestion)
		}
		ex := append(exclusions, entryRejects...)
		if len(ex) > 0 {
			return Intent{Kind: IntentPartial, Matched: words(c.approve, entrySpans(ex)), Excluded: entryIDs(ex),
				Why: "approval with entries left out"}
		}
		return Intent{Kind: IntentApprove, Matched: words(c.approve), Why: "approve word in a plain clause"}
	}
	switch {
	case len(c.approveLoose) > 0:
		return c.unclear("an approve word inside a longer sentence, not a plain approval", c.approveLoose)
	case len(c.approveQuestion) > 0:
		return c.unclear("an approve word in a question", c.approveQuestion)
	case len(c.entries) > 0:
		return c.unclear("entry exceptions without an approval", entrySpans(c.entries))
	}
	return c.unclear("no decision words")
}

func (c *classifier) unclear(why string, groups ...[]span) Intent {
	return Intent{Kind: IntentUnclear, Matched: words(groups...), Why: why}
}

// approveInNotes finds strong approve words in the notes of results (which
// are masked from the other scans): "20 通过，同意发布" is not plain results.
func (c *classifier) approveInNotes() []span {
	var out []span
	for _, r := range c.results {
		note := foldText(r.Note).s
		for _, w := range c.w.Approve {
			if sps := findWord(note, w, 1); len(sps) > 0 {
				out = append(out, span{a: len(c.f.s), word: w})
			}
		}
	}
	return out
}

// negatedAllPass reports a negator just before an "all pass" phrase.
func (c *classifier) negatedAllPass() bool {
	for _, sp := range c.allPass {
		if c.negatorBefore(sp.a, c.clauseAt(sp.a)) >= 0 {
			return true
		}
	}
	return false
}

// reason is the text after the first reject word, or before it when nothing
// follows.
func (c *classifier) reason() string {
	first := c.rejects[0]
	for _, sp := range c.rejects {
		if sp.a < first.a {
			first = sp
		}
	}
	if r := trimNote(c.f.origFrom(first.b)); r != "" {
		return r
	}
	return trimNote(c.f.origSpan(0, first.a))
}

// words lists the matched words in text order, without repeats.
func words(groups ...[]span) []string {
	var all []span
	for _, g := range groups {
		all = append(all, g...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].a < all[j].a })
	out := []string{}
	seen := map[string]bool{}
	for _, sp := range all {
		w := strings.TrimSpace(sp.word)
		if w != "" && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

func entrySpans(es []entryDecision) []span {
	out := make([]span, 0, len(es))
	for _, e := range es {
		out = append(out, span{a: e.a, b: e.b, word: e.word})
	}
	return out
}

func entryIDs(es []entryDecision) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, e := range es {
		for _, id := range e.ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}
