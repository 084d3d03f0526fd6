package intake

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fabu-team/fabu/ledger"
)

// BucketIntake holds the intake's own records below a train:
//
//	intake/votes/<release>/<person>   → Vote: each decider's latest word
//	intake/relays/<release>/<address> → Relay: an out-of-office relayed
const BucketIntake = "intake"

func votesPath(release string) []string  { return []string{BucketIntake, "votes", release} }
func relaysPath(release string) []string { return []string{BucketIntake, "relays", release} }

// Vote is one manager's (or deputy's) latest word on a release, kept so
// that an N-of-M rule can count distinct deciders. A vote counts only for
// the report it answered (Digest): after the report changed, the earlier
// votes are kept but no longer counted.
type Vote struct {
	Who       string    `json:"who"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	Verdict   string    `json:"verdict"` // approve | reject
	Digest    string    `json:"digest"`  // report digest the vote answered
	MessageID string    `json:"message_id"`
	At        time.Time `json:"at"`
	Excluded  []string  `json:"excluded,omitempty"` // entries an approval leaves out
	Reason    string    `json:"reason,omitempty"`
}

// Relay records that a manager's out-of-office reply to a release's report
// was relayed (once per manager and release).
type Relay struct {
	Manager   string    `json:"manager"`
	Email     string    `json:"email"`
	MessageID string    `json:"message_id"`
	At        time.Time `json:"at"`
}

// putVote stores v as its author's latest vote on release.
func putVote(tx *ledger.Tx, release string, v Vote) error {
	if err := tx.PutJSON(votesPath(release), v.Who, v); err != nil {
		return fmt.Errorf("record vote of %s on %s: %w", v.Who, release, err)
	}
	return nil
}

// Votes returns the latest vote of each decider on release, in name order.
func Votes(tx *ledger.Tx, release string) ([]Vote, error) {
	var out []Vote
	err := tx.ForEachRaw(votesPath(release), "", func(k, v []byte) error {
		var x Vote
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("decode vote %q on %s: %w", k, release, err)
		}
		out = append(out, x)
		return nil
	})
	return out, err
}

// tally is what the votes on the current report add up to.
type tally struct {
	approvers, rejecters []string
	excluded             []string // union of the approvals' exclusions
}

func countVotes(votes []Vote, digest string) tally {
	var t tally
	for _, v := range votes {
		if v.Digest != digest {
			continue
		}
		switch v.Verdict {
		case ledger.VerdictApprove:
			t.approvers = append(t.approvers, v.Who)
			for _, id := range v.Excluded {
				if !slices.Contains(t.excluded, id) {
					t.excluded = append(t.excluded, id)
				}
			}
		case ledger.VerdictReject:
			t.rejecters = append(t.rejecters, v.Who)
		}
	}
	slices.SortFunc(t.excluded, func(a, b string) int {
		switch {
		case ledger.LessID(a, b):
			return -1
		case ledger.LessID(b, a):
			return 1
		}
		return 0
	})
	return t
}

// relayed returns the relay of manager email's out-of-office for release,
// or nil.
func relayed(tx *ledger.Tx, release, email string) (*Relay, error) {
	var r Relay
	err := tx.GetJSON(relaysPath(release), strings.ToLower(email), &r)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// Relays returns every out-of-office relayed for release.
func Relays(tx *ledger.Tx, release string) ([]Relay, error) {
	var out []Relay
	err := tx.ForEachRaw(relaysPath(release), "", func(k, v []byte) error {
		var r Relay
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode relay %q of %s: %w", k, release, err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

func putRelay(tx *ledger.Tx, release string, r Relay) error {
	return tx.PutJSON(relaysPath(release), strings.ToLower(r.Email), r)
}

// decide records the vote of the call's sender and, when the rule is met,
// decides the release: approve (leaving out the entries the approvals
// excluded) or reject.
func (c *call) decide(d ledger.Decision, digest string, excluded []string) (string, string, error) {
	rule := c.h.o.Rule
	v := Vote{Who: d.Who, Email: d.Email, Role: d.Role, Verdict: d.Verdict, Digest: digest, MessageID: d.MessageID,
		At: d.At, Excluded: excluded, Reason: d.Reason}
	if err := putVote(c.tx, c.rel.Name, v); err != nil {
		return "", "", err
	}
	votes, err := Votes(c.tx, c.rel.Name)
	if err != nil {
		return "", "", err
	}
	t := countVotes(votes, digest)
	need, have, word := rule.Approvals, len(t.approvers), "approval"
	if d.Verdict == ledger.VerdictReject {
		need, have, word = rule.Rejections, len(t.rejecters), "rejection"
	}
	if have < need {
		c.rel.AddDecision(d)
		if err := c.tx.PutRelease(c.rel); err != nil {
			return "", "", err
		}
		// The voter learns that the vote counts and where the count stands.
		if err := c.h.tr.VoteRecorded(c.tx, c.rel.Name, d, have, need); err != nil {
			return "", "", stepError("mail the vote receipt", err)
		}
		c.hd.act("recorded the %s of %s: %d of %d needed", word, d.Who, have, need)
		if d.Email != "" {
			c.hd.Mailed = true
			c.hd.act("mailed %s a receipt: the %s counts, %d of %d", d.Who, word, have, need)
		}
		return VerdictVote, fmt.Sprintf("%s by %s recorded (%d of %d needed; so far: %s)", word, d.Who, have, need,
			strings.Join(append(t.approvers, t.rejecters...), ", ")), nil
	}
	if d.Verdict == ledger.VerdictReject {
		if err := c.h.tr.Reject(c.tx, c.rel.Name, d); err != nil {
			return "", "", stepError("reject release "+c.rel.Name, err)
		}
		c.hd.Mailed = true
		c.hd.act("rejected release %s (reason: %s); mailed the testers and tech leads, and a receipt to %s", c.rel.Name, d.Reason, d.Who)
		return VerdictDecided, fmt.Sprintf("release %s rejected by %s: %s", c.rel.Name, strings.Join(t.rejecters, ", "), clip(d.Reason, 200)), nil
	}
	if len(t.excluded) > 0 {
		if err := c.exclude(t.excluded, d); err != nil {
			return "", "", err
		}
	}
	if err := c.h.tr.Approve(c.tx, c.rel.Name, d); err != nil {
		return "", "", stepError("approve release "+c.rel.Name, err)
	}
	c.hd.Mailed = true
	c.hd.act("approved release %s; mailed ops the release and a receipt to %s", c.rel.Name, d.Who)
	reason := fmt.Sprintf("release %s approved by %s", c.rel.Name, strings.Join(t.approvers, ", "))
	if len(t.excluded) > 0 {
		reason += " except " + strings.Join(t.excluded, ", ")
	}
	return VerdictDecided, reason, nil
}

// exclude takes the entries an approval left out back to the ledger
// (development finished, for a later train) and keeps the change pending,
// so that the release mail to ops announces it.
func (c *call) exclude(ids []string, d ledger.Decision) error {
	rel, err := c.tx.Release(c.rel.Name)
	if err != nil {
		return err
	}
	note := c.h.say(fmt.Sprintf("%s 审批时排除（“%s”）", d.Who, clip(d.Words, 60)),
		fmt.Sprintf("left out by %s at approval (\"%s\")", d.Who, clip(d.Words, 60)))
	var done []string
	for _, id := range ids {
		if rel.Holds(id) {
			done = append(done, id)
		}
	}
	old := rel.Digest
	if err := c.tx.ExcludeEntries(rel, done, ledger.StatusDevDone, d.Who, note); err != nil {
		return err
	}
	for _, id := range done {
		rel.Changes = append(rel.Changes, ledger.ReleaseChange{At: c.tx.Now(), Actor: d.Who, Op: "remove", Entry: id, Note: note})
	}
	if err := c.tx.PutRelease(rel); err != nil {
		return err
	}
	c.rel = rel
	c.hd.act("left entries %s out of release %s (back to dev_done for a later train)", strings.Join(done, ", "), rel.Name)
	return c.tx.Audit(ledger.AuditRecord{Actor: d.Who, Action: "release.exclude", Subject: rel.Name, Old: old, New: rel.Digest,
		Detail: strings.Join(done, ", ") + ": " + note, Release: rel.Name})
}
