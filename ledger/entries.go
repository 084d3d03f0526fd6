package ledger

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

var entriesPath = []string{BucketEntries}

// Entry returns the entry with id, or an error wrapping ErrNotFound.
func (t *Tx) Entry(id string) (*Entry, error) {
	var e Entry
	if err := t.GetJSON(entriesPath, id, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// PutEntry stores e (insert or replace), without auditing.
func (t *Tx) PutEntry(e *Entry) error {
	if strings.TrimSpace(e.ID) == "" {
		return fmt.Errorf("entry without 编号 (id)")
	}
	return t.PutJSON(entriesPath, e.ID, e)
}

// ForEachEntry calls fn for each entry in key order.
func (t *Tx) ForEachEntry(fn func(e *Entry) error) error {
	return t.ForEachRaw(entriesPath, "", func(k, v []byte) error {
		var e Entry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("decode entry %q: %w", k, err)
		}
		return fn(&e)
	})
}

// Entries returns every entry, ordered by id (numeric ids numerically).
func (t *Tx) Entries() ([]*Entry, error) {
	var out []*Entry
	err := t.ForEachEntry(func(e *Entry) error {
		out = append(out, e)
		return nil
	})
	SortEntries(out)
	return out, err
}

// EntryCount returns the number of entries.
func (t *Tx) EntryCount() (int, error) {
	b, err := t.bucket(entriesPath...)
	if err != nil || b == nil {
		return 0, err
	}
	return b.Stats().KeyN, nil
}

// SortEntries orders entries by id: numeric ids numerically, before others.
func SortEntries(es []*Entry) {
	sort.SliceStable(es, func(i, j int) bool { return LessID(es[i].ID, es[j].ID) })
}

// LessID orders ledger ids: numbers numerically, then text.
func LessID(a, b string) bool {
	na, ea := strconv.ParseInt(a, 10, 64)
	nb, eb := strconv.ParseInt(b, 10, 64)
	switch {
	case ea == nil && eb == nil:
		return na < nb
	case ea == nil:
		return true
	case eb == nil:
		return false
	}
	return a < b
}

// SetEntryField changes one field of an entry, checking the status
// lifecycle, and audits the change with its old and new value.
// It returns the updated entry; an unchanged value writes nothing.
func (t *Tx) SetEntryField(id, field, value, actor string, words *StatusWords) (*Entry, bool, error) {
	e, err := t.Entry(id)
	if err != nil {
		return nil, false, err
	}
	old, err := e.Get(field)
	if err != nil {
		return nil, false, err
	}
	if field == "id" {
		return nil, false, fmt.Errorf("编号 (id) cannot be changed; it is the entry's key")
	}
	before := *e
	if field == "status" {
		if words == nil {
			words = DefaultStatusWords
		}
		to, err := words.Parse(value)
		if err != nil {
			return nil, false, fmt.Errorf("status: %w", err)
		}
		if err := e.SetStatus(to); err != nil {
			return nil, false, err
		}
		if to != before.Status || strings.TrimSpace(value) != old {
			if err := e.Set("status", value, words); err != nil {
				return nil, false, err
			}
		}
	} else if err := e.Set(field, value, words); err != nil {
		return nil, false, fmt.Errorf("%s: %w", field, err)
	}
	if e.Equal(&before) {
		return e, false, nil
	}
	newVal, _ := e.Get(field)
	if err := t.PutEntry(e); err != nil {
		return nil, false, err
	}
	if err := t.Audit(AuditRecord{Actor: actor, Action: "entry.set", Subject: id, Field: field, Old: old, New: newVal}); err != nil {
		return nil, false, err
	}
	return e, true, nil
}

// MoveEntry changes an entry's status through the lifecycle and audits it.
func (t *Tx) MoveEntry(id string, to Status, actor, detail string) (*Entry, error) {
	e, err := t.Entry(id)
	if err != nil {
		return nil, err
	}
	from := e.Status
	if err := e.SetStatus(to); err != nil {
		return nil, err
	}
	if from == to {
		return e, nil
	}
	if err := t.PutEntry(e); err != nil {
		return nil, err
	}
	return e, t.Audit(AuditRecord{Actor: actor, Action: "entry.status", Subject: id, Field: "status", Old: from.Chinese(), New: to.Chinese(), Detail: detail, Release: e.Release})
}
