package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/intake"
)

// releaseTrail is what `fabu release show` adds about the mail of a
// release: every mail sent and received for it with what became of it,
// and the votes and out-of-office relays the reply intake kept.
type releaseTrail struct {
	Votes    []intake.Vote     `json:"votes"`
	Relays   []intake.Relay    `json:"relays"`
	Sent     []releaseMailOut  `json:"mails_sent"`
	Received []ledger.Received `json:"mails_received"`
}

// releaseMailOut is a mail the outbox queued for the release.
type releaseMailOut struct {
	Queued     time.Time          `json:"queued"`
	Step       string             `json:"step"`
	Kind       string             `json:"kind"`
	Subject    string             `json:"subject"`
	MessageID  string             `json:"message_id"`
	State      ledger.OutboxState `json:"state"`
	Recipients []string           `json:"recipients"`
	Failed     []string           `json:"failed,omitempty"`
	Done       time.Time          `json:"done_at,omitzero"`
}

// loadReleaseTrail reads the mail trail of release name.
func loadReleaseTrail(tx *ledger.Tx, name string) (*releaseTrail, error) {
	t := &releaseTrail{Votes: []intake.Vote{}, Relays: []intake.Relay{}, Sent: []releaseMailOut{}, Received: []ledger.Received{}}
	var err error
	if t.Votes, err = intake.Votes(tx, name); err != nil {
		return nil, err
	}
	if t.Relays, err = intake.Relays(tx, name); err != nil {
		return nil, err
	}
	if t.Votes == nil {
		t.Votes = []intake.Vote{}
	}
	if t.Relays == nil {
		t.Relays = []intake.Relay{}
	}
	mails, err := tx.OutboxMails()
	if err != nil {
		return nil, err
	}
	for _, om := range mails {
		if om.Release != name {
			continue
		}
		mo := releaseMailOut{Queued: om.Created, Step: om.Step, Kind: om.Kind, Subject: om.Subject, MessageID: om.MessageID,
			State: om.State, Done: om.DoneAt, Recipients: []string{}}
		for _, rc := range om.Recipients {
			mo.Recipients = append(mo.Recipients, rc.Addr)
			if rc.State == ledger.RcptFailed {
				mo.Failed = append(mo.Failed, rc.Addr)
			}
		}
		t.Sent = append(t.Sent, mo)
	}
	in, err := tx.ReceivedList(ledger.ReceivedFilter{Release: name})
	if err != nil {
		return nil, err
	}
	for i := len(in) - 1; i >= 0; i-- { // oldest first, like the mails sent
		t.Received = append(t.Received, in[i])
	}
	return t, nil
}

// writeReleaseTrail prints the trail for people, times in loc.
func writeReleaseTrail(w io.Writer, loc *time.Location, t *releaseTrail) error {
	at := func(x time.Time) string {
		if x.IsZero() {
			return "-"
		}
		return x.In(loc).Format("01-02 15:04")
	}
	if len(t.Votes) > 0 {
		fmt.Fprintln(w, "\nvotes (each decider's latest word; counted on the report it answered):")
		var rows [][]string
		for _, v := range t.Votes {
			note := v.Reason
			if len(v.Excluded) > 0 && note == "" {
				note = "except " + strings.Join(v.Excluded, ", ")
			}
			rows = append(rows, []string{at(v.At), v.Who, v.Role, v.Verdict, trainAbbrev(v.Digest, 12), note})
		}
		if err := printTable(w, []string{"WHEN", "WHO", "ROLE", "VERDICT", "REPORT", "NOTE"}, rows); err != nil {
			return err
		}
	}
	for _, r := range t.Relays {
		fmt.Fprintf(w, "\nout-of-office of %s (%s) relayed %s, reply %s\n", r.Manager, r.Email, at(r.At), r.MessageID)
	}
	fmt.Fprintf(w, "\nmails sent (%d):\n", len(t.Sent))
	if len(t.Sent) > 0 {
		var rows [][]string
		for _, m := range t.Sent {
			state := string(m.State)
			if len(m.Failed) > 0 {
				state += " (refused: " + strings.Join(m.Failed, ", ") + ")"
			}
			rows = append(rows, []string{at(m.Queued), m.Step, m.Kind, truncateCols(strings.Join(m.Recipients, ", "), 40), state, truncateCols(m.Subject, 44)})
		}
		if err := printTable(w, []string{"QUEUED", "STEP", "KIND", "TO", "STATE", "SUBJECT"}, rows); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nmails received (%d):\n", len(t.Received))
	if len(t.Received) > 0 {
		var rows [][]string
		for _, m := range t.Received {
			verdict := m.Verdict
			if m.DuplicateCount > 0 {
				verdict += fmt.Sprintf(" (+%d copies)", m.DuplicateCount)
			}
			rows = append(rows, []string{at(m.ProcessedAt), truncateCols(m.From, 30), m.Step, verdict, truncateCols(flattenCell(m.Reason), 70)})
		}
		if err := printTable(w, []string{"READ", "FROM", "STEP", "VERDICT", "WHAT BECAME OF IT"}, rows); err != nil {
			return err
		}
	}
	return nil
}
