package ledger

import (
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
)

func TestPutEntriesBulk(t *testing.T) {
	s := newStoreAt(t, filepath.Join(t.TempDir(), "fabu.db"))
	const n = 5000
	es := make([]*Entry, n)
	for i := range es {
		es[i] = &Entry{ID: strconv.Itoa(i + 1), System: "小贷", Description: "第" + strconv.Itoa(i) + "条"}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { es[i], es[j] = es[j], es[i] })
	if err := s.Update(func(tx *Tx) error {
		if err := tx.PutEntry(&Entry{ID: "7", System: "old"}); err != nil {
			return err
		}
		return tx.PutEntries(es)
	}); err != nil {
		t.Fatal(err)
	}
	s.View(func(tx *Tx) error {
		got, err := tx.Entries()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("%d entries, want %d", len(got), n)
		}
		for i, e := range got {
			if e.ID != strconv.Itoa(i+1) || e.Description != "第"+strconv.Itoa(i)+"条" || e.System != "小贷" {
				t.Fatalf("entry %d = %+v", i, e)
			}
		}
		if c, _ := tx.EntryCount(); c != n {
			t.Errorf("EntryCount = %d", c)
		}
		return nil
	})
	if err := s.Update(func(tx *Tx) error { return tx.PutEntries([]*Entry{{ID: "1"}, {ID: " "}}) }); err == nil {
		t.Error("an entry without id was stored")
	}
	if err := s.View(func(tx *Tx) error { return tx.PutEntries([]*Entry{{ID: "1"}}) }); err == nil {
		t.Error("PutEntries wrote in a read transaction")
	}
	if err := s.Update(func(tx *Tx) error { return tx.PutEntries(nil) }); err != nil {
		t.Errorf("no entries: %v", err)
	}
}
