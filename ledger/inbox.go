package ledger

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

var inboxPath = []string{BucketInbox}

// Verdicts the IMAP watcher records on its own; handlers add theirs
// (for example "decided", "ignored", "unclear").
const (
	// VerdictTooLarge: the mail was over the size limit and never downloaded.
	VerdictTooLarge = "too_large"
	// VerdictDuplicate: a mail with a Message-ID already recorded. It is
	// never stored as its own record: the first record gets a Sighting.
	VerdictDuplicate = "duplicate"
	// VerdictFailed: the handler failed permanently on this mail.
	VerdictFailed = "failed"
)

// MaxSightings bounds Received.Duplicates; later sightings only count.
const MaxSightings = 16

// maxMessageIDKey is the longest inbox key accepted (bbolt allows 32 KiB;
// the watcher hashes longer Message-IDs).
const maxMessageIDKey = 1024

// Received is a mail read from an IMAP mailbox and what became of it. It is
// keyed by MessageID: a mail is handled at most once per Message-ID.
type Received struct {
	// MessageID is the key: the header's Message-ID as "<id@host>", or,
	// for a mail without one, a synthetic "sha256:<hex of the raw mail>"
	// (or "uid:<mailbox>/<uidvalidity>/<uid>" when it was never downloaded).
	MessageID   string    `json:"message_id"`
	Mailbox     string    `json:"mailbox"`
	UIDValidity uint32    `json:"uid_validity"`
	UID         uint32    `json:"uid"`
	From        string    `json:"from,omitempty"`
	Subject     string    `json:"subject,omitempty"`
	ReceivedAt  time.Time `json:"received_at"` // the server's INTERNALDATE
	Size        int64     `json:"size"`
	// RawHash is the hex SHA-256 of the raw mail ("" when not downloaded).
	RawHash     string    `json:"raw_hash,omitempty"`
	Verdict     string    `json:"verdict"`
	Reason      string    `json:"reason,omitempty"`
	Release     string    `json:"release,omitempty"`
	Step        string    `json:"step,omitempty"`
	Processed   bool      `json:"processed,omitempty"` // moved to the processed folder
	ProcessedAt time.Time `json:"processed_at"`
	// Duplicates are later deliveries with the same Message-ID (at most
	// MaxSightings); DuplicateCount counts them all.
	Duplicates     []Sighting `json:"duplicates,omitempty"`
	DuplicateCount int        `json:"duplicate_count,omitempty"`
}

// Sighting is one more delivery of an already recorded mail.
type Sighting struct {
	Mailbox     string    `json:"mailbox"`
	UIDValidity uint32    `json:"uid_validity"`
	UID         uint32    `json:"uid"`
	RawHash     string    `json:"raw_hash,omitempty"`
	At          time.Time `json:"at"`
}

// Received returns the record of the mail with messageID, or an error
// wrapping ErrNotFound.
func (t *Tx) Received(messageID string) (*Received, error) {
	var r Received
	if err := t.GetJSON(inboxPath, messageID, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// PutReceived stores r (insert or replace) under r.MessageID;
// ProcessedAt becomes the transaction's time when zero.
func (t *Tx) PutReceived(r *Received) error {
	if strings.TrimSpace(r.MessageID) == "" {
		return fmt.Errorf("received mail without a Message-ID key")
	}
	if len(r.MessageID) > maxMessageIDKey {
		return fmt.Errorf("received mail key is %d bytes, longer than %d", len(r.MessageID), maxMessageIDKey)
	}
	if r.ProcessedAt.IsZero() {
		r.ProcessedAt = t.now
	}
	if err := t.PutJSON(inboxPath, r.MessageID, r); err != nil {
		return fmt.Errorf("record received mail %s: %w", r.MessageID, err)
	}
	return nil
}

// ReceivedFilter selects records for ReceivedList; zero fields match all.
type ReceivedFilter struct {
	Verdict string    // exact verdict
	Release string    // exact release
	Since   time.Time // ProcessedAt at or after
	Limit   int       // at most this many (the newest)
}

// ReceivedList returns the matching records, newest (ProcessedAt) first.
func (t *Tx) ReceivedList(f ReceivedFilter) ([]Received, error) {
	var out []Received
	err := t.ForEachRaw(inboxPath, "", func(k, v []byte) error {
		var r Received
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode received mail %q: %w", k, err)
		}
		if f.Verdict != "" && r.Verdict != f.Verdict {
			return nil
		}
		if f.Release != "" && r.Release != f.Release {
			return nil
		}
		if !f.Since.IsZero() && r.ProcessedAt.Before(f.Since) {
			return nil
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].ProcessedAt.Equal(out[j].ProcessedAt) {
			return out[i].ProcessedAt.After(out[j].ProcessedAt)
		}
		return out[i].MessageID < out[j].MessageID
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}
