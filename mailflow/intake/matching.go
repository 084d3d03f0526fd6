package intake

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/reply"
	"github.com/fabu-team/fabu/mailflow/token"
)

// How a reply was matched (Match.Via).
const (
	ViaInReplyTo      = "in-reply-to"     // In-Reply-To names a mail the outbox sent
	ViaPlusAddress    = "plus-address"    // To/Cc holds fabu+TOKEN@…
	ViaSubjectTag     = "subject-tag"     // the subject holds [#short]
	ViaReferences     = "references"      // References names a mail the outbox sent
	ViaReferenceToken = "reference-token" // References holds <fabu-token.TOKEN@…>
)

// Match is the release, step and role a reply belongs to.
type Match struct {
	Via     string `json:"via"`
	Release string `json:"release"`
	Step    string `json:"step"`
	// Role is the role whose answer the matched mail asked for ("" for a
	// mail that asks for no answer: a receipt, a notice).
	Role string `json:"role"`
	// MessageID and Kind of the mail replied to, when it is known (a token
	// alone names a release and step but not always the mail).
	MessageID string `json:"message_id,omitempty"`
	Kind      string `json:"kind,omitempty"`
	// Token is the reply token of the matched mail ("" when it carried
	// none); Claims are its verified claims.
	Token  string       `json:"-"`
	Claims token.Claims `json:"-"`
	// Expires is when the token expires (zero without a token).
	Expires time.Time `json:"expires,omitzero"`
}

// refusal is a reason a matched (or half-matched) reply cannot be used.
type refusal struct {
	verdict string
	reason  string
	// notify: a known sender is told (NotifyCannotUse) when the reply
	// meant to decide something.
	notify  bool
	problem string // the words for the sender
}

// candidate is one piece of evidence for a match, in priority order.
type candidate struct {
	via string
	ref *ledger.SentRef // the sent mail, when known
	tok string          // a token read from the mail itself
}

var subjectTag = regexp.MustCompile(`(?i)\[#([a-z2-7]{8})\]`)

// maxTags bounds the subject tags looked up (the last ones count; a
// subject is hostile input).
const maxTags = 10

// tokenRefPrefix starts the msg-id that carries a token in References.
const tokenRefPrefix = "fabu-token."

// match finds what msg answers. It returns (nil, nil) when the mail names
// nothing fabu sent, a refusal when it names something but may not be
// used (a forged, expired or foreign token, or references that disagree).
func (h *Handler) match(tx *ledger.Tx, msg *reply.Message, now time.Time) (*Match, *refusal, error) {
	cands, forged, err := h.candidates(tx, msg)
	if err != nil {
		return nil, nil, err
	}
	if forged != "" {
		return nil, &refusal{verdict: VerdictIgnored, reason: forged}, nil
	}
	if len(cands) == 0 {
		return nil, nil, nil
	}
	var ms []*Match
	for _, c := range cands {
		m, ref := h.resolve(c, now, tx.TrainName())
		if ref != nil {
			if len(ms) == 0 {
				// The most specific evidence is unusable: say why.
				return m, ref, nil
			}
			continue
		}
		ms = append(ms, m)
	}
	primary := ms[0]
	for _, m := range ms[1:] {
		if m.Release != primary.Release {
			return primary, &refusal{verdict: VerdictIgnored,
				reason: fmt.Sprintf("the reply's references disagree: %s names release %s, %s names release %s; nothing is guessed",
					primary.Via, primary.Release, m.Via, m.Release)}, nil
		}
	}
	return primary, nil, nil
}

// candidates collects the evidence of msg in priority order: In-Reply-To,
// the plus-address token, the subject tag, then References from the last
// (the mail replied to) to the first. A token that is present but not
// ours (forged or altered) makes forged non-empty.
func (h *Handler) candidates(tx *ledger.Tx, msg *reply.Message) (out []candidate, forged string, err error) {
	lookup := func(id string) (*ledger.SentRef, error) {
		if strings.TrimSpace(id) == "" {
			return nil, nil
		}
		ref, err := tx.SentByMessageID(id)
		if errors.Is(err, ledger.ErrNotFound) {
			return nil, nil
		}
		return ref, err
	}
	if ref, err := lookup(msg.InReplyTo); err != nil {
		return nil, "", err
	} else if ref != nil {
		out = append(out, candidate{via: ViaInReplyTo, ref: ref})
	}
	for _, a := range slices.Concat(msg.To, msg.Cc) {
		tok := token.FromAddress(a.Addr)
		if tok == "" || (h.dir.HasOwn() && !h.dir.IsOwn(a.Addr)) {
			continue
		}
		if _, err := token.Verify(tok, h.o.Secret, time.Time{}); errors.Is(err, token.ErrForged) || errors.Is(err, token.ErrMalformed) {
			return nil, fmt.Sprintf("the token in %s is not one fabu made (%v): forged, altered, or signed with a secret that has since changed", a.Addr, err), nil
		}
		ref, err := byToken(tx, tok)
		if err != nil {
			return nil, "", err
		}
		out = append(out, candidate{via: ViaPlusAddress, tok: tok, ref: ref})
	}
	tags := subjectTag.FindAllStringSubmatch(msg.Subject, -1)
	for i := len(tags) - 1; i >= 0 && i >= len(tags)-maxTags; i-- {
		ref, err := tx.SentByToken(tags[i][1])
		if errors.Is(err, ledger.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		out = append(out, candidate{via: ViaSubjectTag, ref: ref})
	}
	for i := len(msg.References) - 1; i >= 0; i-- {
		id := msg.References[i]
		if low := strings.ToLower(id); strings.HasPrefix(low, tokenRefPrefix) {
			tok := id[len(tokenRefPrefix):]
			if at := strings.IndexByte(tok, '@'); at >= 0 {
				tok = tok[:at]
			}
			if _, err := token.Verify(tok, h.o.Secret, time.Time{}); errors.Is(err, token.ErrForged) || errors.Is(err, token.ErrMalformed) {
				return nil, fmt.Sprintf("the token in References is not one fabu made (%v)", err), nil
			}
			ref, err := byToken(tx, tok)
			if err != nil {
				return nil, "", err
			}
			out = append(out, candidate{via: ViaReferenceToken, tok: tok, ref: ref})
			continue
		}
		if id == msg.InReplyTo {
			continue
		}
		ref, err := lookup(id)
		if err != nil {
			return nil, "", err
		}
		if ref != nil {
			out = append(out, candidate{via: ViaReferences, ref: ref})
		}
	}
	return out, "", nil
}

// resolve verifies a candidate's token (the one it carries, or the one the
// sent mail carried) and returns its match, or why it cannot be used.
func (h *Handler) resolve(c candidate, now time.Time, trainName string) (*Match, *refusal) {
	m := &Match{Via: c.via}
	tok := c.tok
	if c.ref != nil {
		m.Release, m.Step, m.Role, m.MessageID, m.Kind = c.ref.Release, c.ref.Step, c.ref.Role, c.ref.MessageID, c.ref.Kind
		if tok == "" {
			tok = c.ref.Token
		}
	}
	if tok == "" {
		// A mail that asks for no answer (receipt, notice) carries none;
		// Role stays "".
		m.Role = ""
		return m, nil
	}
	claims, err := token.Verify(tok, h.o.Secret, now)
	if errors.Is(err, token.ErrExpired) && m.Release == "" {
		m.Release, m.Step, m.Role = claims.Release, claims.Step, claims.Role
	}
	switch {
	case errors.Is(err, token.ErrExpired):
		return m, &refusal{verdict: VerdictRefused, notify: true,
			reason: fmt.Sprintf("the reply token of the mail replied to (release %s, step %s) expired at %s",
				claims.Release, claims.Step, claims.Expires.Format(time.RFC3339)),
			problem: h.say(
				fmt.Sprintf("您回复的邮件已过期（%s 失效），请回复最新的一封邮件", h.fmtTime(claims.Expires)),
				fmt.Sprintf("the mail you answered is too old (it expired on %s); please reply to the latest mail", h.fmtTime(claims.Expires)))}
	case err != nil:
		return m, &refusal{verdict: VerdictIgnored, reason: fmt.Sprintf("the reply token is not one fabu made: %v", err)}
	case !claims.ForTrain(trainName):
		return m, &refusal{verdict: VerdictIgnored, reason: "the reply token belongs to another train"}
	}
	m.Token, m.Claims, m.Expires = tok, claims, claims.Expires
	if c.ref == nil || c.ref.Release != claims.Release || c.ref.Step != claims.Step {
		// The token is the authority for what it names.
		m.Release, m.Step, m.Role = claims.Release, claims.Step, claims.Role
	}
	if m.Role == "" {
		m.Role = claims.Role
	}
	return m, nil
}

// byToken returns the sent mail that carried tok, or nil.
func byToken(tx *ledger.Tx, tok string) (*ledger.SentRef, error) {
	ref, err := tx.SentByToken(token.Short(tok))
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(ref.Token, tok) {
		return nil, nil // a short-id collision: trust only the token
	}
	return ref, nil
}
