package reply

import (
	"fmt"
	"io"
	"time"
)

// Explanation is the whole trail of understanding one reply. Its JSON field
// names are a promise to users' scripts: keep them. Lists are never null.
type Explanation struct {
	Subject    string   `json:"subject"`
	From       string   `json:"from"`      // address
	FromName   string   `json:"from_name"` // display name
	MessageID  string   `json:"message_id"`
	InReplyTo  string   `json:"in_reply_to"`
	References []string `json:"references"`
	Date       string   `json:"date"` // RFC 3339, "" when absent
	Charset    string   `json:"charset"`
	HTML       bool     `json:"html"`      // the text came from an HTML part
	HTMLCut    string   `json:"html_cut"`  // the HTML quote marker cut at
	Truncated  bool     `json:"truncated"` // a body part was over the text limit

	AutoReply       bool   `json:"auto_reply"`
	AutoReplySignal string `json:"auto_reply_signal"`

	TrimRule string `json:"trim_rule"`
	NewText  string `json:"new_text"`

	Intent       string   `json:"intent"` // approve|reject|done|results|unclear|partial
	MatchedWords []string `json:"matched_words"`
	Reason       string   `json:"reason"`
	Results      []Result `json:"results"`
	Excluded     []string `json:"excluded"`
	Why          string   `json:"why"`
}

// Explain parses a mail, checks for an auto-reply, trims it to its new text
// and classifies it with DefaultWords. An auto-reply is always unclear,
// whatever its text says.
func Explain(r io.Reader, opts Options) (*Explanation, error) {
	return ExplainWords(r, opts, builtinWords)
}

// ExplainWords is Explain with a team's own word lists.
func ExplainWords(r io.Reader, opts Options, words Words) (*Explanation, error) {
	m, err := Parse(r, opts)
	if err != nil {
		return nil, fmt.Errorf("explaining reply: %w", err)
	}
	return ExplainMessage(m, words), nil
}

// ExplainMessage runs auto-reply detection, Trim and Classify on a parsed
// message.
func ExplainMessage(m *Message, words Words) *Explanation {
	e := &Explanation{
		Subject: m.Subject, From: m.From.Addr, FromName: m.From.Name,
		MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: nonNil(m.References),
		Charset: m.Charset, HTML: m.FromHTML, HTMLCut: m.HTMLCut, Truncated: m.Truncated,
		MatchedWords: []string{}, Results: []Result{}, Excluded: []string{},
	}
	if !m.Date.IsZero() {
		e.Date = m.Date.Format(time.RFC3339)
	}
	e.AutoReply, e.AutoReplySignal = DetectAutoReply(m.Header)
	e.NewText, e.TrimRule = Trim(m.TextBody)
	if m.HTMLCut != "" {
		e.TrimRule = "html cut at " + m.HTMLCut + "; " + e.TrimRule
	}
	in := Classify(e.NewText, words)
	if e.AutoReply {
		in = Intent{Kind: IntentUnclear, Matched: in.Matched,
			Why: "automatic reply (" + e.AutoReplySignal + "): its words never decide"}
	}
	e.Intent = string(in.Kind)
	e.MatchedWords = nonNil(in.Matched)
	e.Reason = in.Reason
	e.Excluded = nonNil(in.Excluded)
	e.Why = in.Why
	if in.Results != nil {
		e.Results = in.Results
	}
	return e
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
