package ledger

import (
	"path/filepath"
	"testing"
	"time"
)

func openTestStore(t *testing.T, now time.Time) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "fabu.db"), Options{Train: "t1", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCursorRoundTrip(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	s := openTestStore(t, now)

	var got Cursor
	if err := s.View(func(tx *Tx) error {
		var err error
		got, err = tx.Cursor("u@h:993/INBOX")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got != (Cursor{Mailbox: "u@h:993/INBOX"}) {
		t.Fatalf("unread mailbox: got %+v, want the zero cursor", got)
	}

	if err := s.Update(func(tx *Tx) error {
		if err := tx.PutCursor(Cursor{Mailbox: "u@h:993/INBOX", UIDValidity: 7, LastUID: 42}); err != nil {
			return err
		}
		return tx.PutCursor(Cursor{Mailbox: "a@h:993/Replies", UIDValidity: 1, LastUID: 3, UpdatedAt: now.Add(-time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}
	var all []Cursor
	if err := s.View(func(tx *Tx) error {
		var err error
		if got, err = tx.Cursor("u@h:993/INBOX"); err != nil {
			return err
		}
		all, err = tx.Cursors()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := Cursor{Mailbox: "u@h:993/INBOX", UIDValidity: 7, LastUID: 42, UpdatedAt: now}
	if !got.UpdatedAt.Equal(want.UpdatedAt) || got.UIDValidity != 7 || got.LastUID != 42 || got.Mailbox != want.Mailbox {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if len(all) != 2 || all[0].Mailbox != "a@h:993/Replies" || !all[0].UpdatedAt.Equal(now.Add(-time.Hour)) {
		t.Fatalf("Cursors() = %+v", all)
	}

	// Cursors live below the train: another train has none.
	if err := s.View(func(tx *Tx) error {
		c, err := tx.WithTrain("other").Cursor("u@h:993/INBOX")
		if err == nil && c.LastUID != 0 {
			t.Errorf("cursor leaked into another train: %+v", c)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func TestPutCursorNeedsMailbox(t *testing.T) {
	s := openTestStore(t, time.Now())
	err := s.Update(func(tx *Tx) error { return tx.PutCursor(Cursor{Mailbox: " ", LastUID: 1}) })
	if err == nil {
		t.Fatal("PutCursor accepted an empty mailbox name")
	}
}
