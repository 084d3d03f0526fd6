package ledger

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// AuditRecord is one line of the audit log: who changed what, when.
type AuditRecord struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`             // person, "cli", "import", "train", "imap" …
	Action  string    `json:"action"`            // e.g. "entry.set", "release.cut", "reply.ignored"
	Subject string    `json:"subject"`           // e.g. entry id, release, Message-ID
	Field   string    `json:"field,omitempty"`   // for field changes
	Old     string    `json:"old,omitempty"`     // old value
	New     string    `json:"new,omitempty"`     // new value
	Detail  string    `json:"detail,omitempty"`  // free text: reason, words, file
	Release string    `json:"release,omitempty"` // release it concerns, if any
}

// Audit appends r to the audit log (Seq and, when zero, Time are filled in).
func (t *Tx) Audit(r AuditRecord) error {
	seq, err := t.NextSeq(BucketAudit)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	r.Seq = seq
	if r.Time.IsZero() {
		r.Time = t.now
	}
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return t.PutJSON([]string{BucketAudit}, string(k[:]), r)
}

// AuditLog returns the audit records in order, those with subject (or all
// when subject is "").
func (t *Tx) AuditLog(subject string) ([]AuditRecord, error) {
	var out []AuditRecord
	err := t.ForEachRaw([]string{BucketAudit}, "", func(k, v []byte) error {
		var r AuditRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode audit record: %w", err)
		}
		if subject == "" || r.Subject == subject || r.Release == subject {
			out = append(out, r)
		}
		return nil
	})
	return out, err
}
