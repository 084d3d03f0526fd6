package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

var cursorsPath = []string{BucketCursors}

// Cursor is how far the IMAP watcher has read one mailbox: every message
// with a UID up to LastUID under UIDValidity has been handled. A changed
// UIDVALIDITY on the server makes the cursor meaningless (the watcher then
// rescans and relies on the inbox records to skip what it already read).
type Cursor struct {
	// Mailbox is the key the cursor is stored under (the watcher uses
	// "user@host:port/mailbox", so two accounts never share a cursor).
	Mailbox     string    `json:"mailbox"`
	UIDValidity uint32    `json:"uid_validity"`
	LastUID     uint32    `json:"last_uid"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Cursor returns the cursor stored under mailbox. A mailbox never read has
// the zero cursor (UIDValidity 0, LastUID 0) and no error.
func (t *Tx) Cursor(mailbox string) (Cursor, error) {
	var c Cursor
	err := t.GetJSON(cursorsPath, mailbox, &c)
	if errors.Is(err, ErrNotFound) {
		return Cursor{Mailbox: mailbox}, nil
	}
	if err != nil {
		return Cursor{}, fmt.Errorf("read IMAP cursor: %w", err)
	}
	c.Mailbox = mailbox
	return c, nil
}

// PutCursor stores c under c.Mailbox; UpdatedAt becomes the transaction's
// time when zero.
func (t *Tx) PutCursor(c Cursor) error {
	if strings.TrimSpace(c.Mailbox) == "" {
		return fmt.Errorf("IMAP cursor without a mailbox name")
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = t.now
	}
	if err := t.PutJSON(cursorsPath, c.Mailbox, c); err != nil {
		return fmt.Errorf("store IMAP cursor for %s: %w", c.Mailbox, err)
	}
	return nil
}

// Cursors returns every stored cursor, ordered by mailbox key.
func (t *Tx) Cursors() ([]Cursor, error) {
	var out []Cursor
	err := t.ForEachRaw(cursorsPath, "", func(k, v []byte) error {
		var c Cursor
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode IMAP cursor %q: %w", k, err)
		}
		c.Mailbox = string(k)
		out = append(out, c)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Mailbox < out[j].Mailbox })
	return out, err
}
