package ledger

import (
	"errors"
	"slices"
	"testing"
)

// queueMails queues one mail per id (two recipients each) in one transaction.
func queueMails(t *testing.T, s *Store, ids ...string) {
	t.Helper()
	err := s.Update(func(tx *Tx) error {
		for _, id := range ids {
			m := &OutboxMail{ID: id, MessageID: "fabu." + id + "@example.com", Step: "testlist", Subject: "s " + id, From: "fabu@example.com",
				Recipients: []OutboxRecipient{{Addr: "a@example.com"}, {Addr: "b@example.com"}}}
			if _, err := tx.Enqueue(m, []byte("Subject: s\r\n\r\n"+id+"\r\n")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// changeMail applies fn to mail id and stores it.
func changeMail(t *testing.T, s *Store, id string, fn func(m *OutboxMail)) {
	t.Helper()
	err := s.Update(func(tx *Tx) error {
		m, err := tx.OutboxMail(id)
		if err != nil {
			return err
		}
		fn(m)
		return tx.PutOutboxMail(m)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// activeIDs lists ActiveOutboxMails in a read (write == false) or write
// transaction.
func activeIDs(t *testing.T, s *Store, write bool) []string {
	t.Helper()
	var ids []string
	fn := func(tx *Tx) error {
		ms, err := tx.ActiveOutboxMails()
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		return err
	}
	var err error
	if write {
		err = s.Update(fn)
	} else {
		err = s.View(fn)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// indexKeys returns the keys of the index bucket, and whether it exists.
func indexKeys(t *testing.T, s *Store) ([]string, bool) {
	t.Helper()
	var keys []string
	found := false
	s.View(func(tx *Tx) error {
		b := tx.lookupBucket(outboxActivePath...)
		if b == nil {
			return nil
		}
		found = true
		return b.ForEach(func(k, _ []byte) error { keys = append(keys, string(k)); return nil })
	})
	return keys, found
}

// dropIndex deletes the index bucket: the store then looks like one
// written before the index existed.
func dropIndex(t *testing.T, s *Store) {
	t.Helper()
	err := s.Update(func(tx *Tx) error {
		out := tx.lookupBucket(outboxPath...)
		if out == nil {
			return errors.New("no outbox bucket")
		}
		return out.DeleteBucket([]byte(outboxActiveName))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOutboxMailActive(t *testing.T) {
	failed := []OutboxRecipient{{Addr: "a@x", State: RcptSent}, {Addr: "b@x", State: RcptFailed}}
	sent := []OutboxRecipient{{Addr: "a@x", State: RcptSent}}
	for _, tc := range []struct {
		name string
		m    OutboxMail
		want bool
	}{
		{"queued", OutboxMail{State: OutboxQueued, Recipients: []OutboxRecipient{{Addr: "a@x", State: RcptPending}}}, true},
		{"sending", OutboxMail{State: OutboxSending}, true},
		{"done, all delivered", OutboxMail{State: OutboxDone, Recipients: sent}, false},
		{"done, a refusal not yet alerted", OutboxMail{State: OutboxDone, Recipients: failed}, true},
		{"done, a refusal alerted", OutboxMail{State: OutboxDone, Recipients: failed, Alerted: true}, false},
		{"done alert mail with a refusal", OutboxMail{State: OutboxDone, Recipients: failed, AlertOf: "x"}, false},
		{"dropped", OutboxMail{State: OutboxDropped, Recipients: []OutboxRecipient{{Addr: "a@x", State: RcptPending}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.m.Active(); got != tc.want {
				t.Errorf("Active() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOutboxIndexFollowsEveryChange(t *testing.T) {
	s := openReleaseStore(t)
	queueMails(t, s, "m1", "m2", "m3", "m4", "m5")
	if got := activeIDs(t, s, false); !slices.Equal(got, []string{"m1", "m2", "m3", "m4", "m5"}) {
		t.Fatalf("after queueing: %v", got)
	}
	at := s.Now()
	deliver := func(m *OutboxMail) {
		for i := range m.Recipients {
			m.Recipients[i].State = RcptSent
		}
		m.Settle(at)
	}
	changeMail(t, s, "m1", deliver)
	changeMail(t, s, "m2", func(m *OutboxMail) { m.State = OutboxSending })
	changeMail(t, s, "m3", func(m *OutboxMail) {
		m.Recipients[0].State, m.Recipients[1].State = RcptSent, RcptFailed
		m.Settle(at)
	})
	changeMail(t, s, "m4", func(m *OutboxMail) { m.State = OutboxDropped })
	for _, write := range []bool{false, true} {
		if got := activeIDs(t, s, write); !slices.Equal(got, []string{"m2", "m3", "m5"}) {
			t.Errorf("write=%v: active %v, want m2 m3 m5", write, got)
		}
	}
	// The refusal is alerted: m3 is settled for good. m1 is retried.
	changeMail(t, s, "m3", func(m *OutboxMail) { m.Alerted = true })
	changeMail(t, s, "m1", func(m *OutboxMail) {
		m.Recipients[0].State = RcptPending
		m.Settle(at)
	})
	if got := activeIDs(t, s, false); !slices.Equal(got, []string{"m1", "m2", "m5"}) {
		t.Errorf("after alert and retry: %v, want m1 m2 m5", got)
	}
	if keys, ok := indexKeys(t, s); !ok || !slices.Equal(keys, []string{"m1", "m2", "m5"}) {
		t.Errorf("index keys %v (exists %v)", keys, ok)
	}
	// Listing the whole outbox is unchanged: every mail, the index not among them.
	s.View(func(tx *Tx) error {
		all, err := tx.OutboxMails()
		if err != nil || len(all) != 5 {
			t.Errorf("OutboxMails = %d mails, %v", len(all), err)
		}
		return nil
	})
}

// TestOutboxIndexBuiltForAnOlderStore: a store written before the index
// existed has mails but no index. Reads scan; the first write builds the
// whole index (not only the mail it writes).
func TestOutboxIndexBuiltForAnOlderStore(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, s *Store)
	}{
		{"by a worker's write transaction", func(t *testing.T, s *Store) { activeIDs(t, s, true) }},
		{"by a state change of one mail", func(t *testing.T, s *Store) {
			changeMail(t, s, "m3", func(m *OutboxMail) { m.State = OutboxSending })
		}},
		{"by a new mail", func(t *testing.T, s *Store) { queueMails(t, s, "m5") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openReleaseStore(t)
			queueMails(t, s, "m1", "m2", "m3", "m4")
			changeMail(t, s, "m1", func(m *OutboxMail) {
				for i := range m.Recipients {
					m.Recipients[i].State = RcptSent
				}
				m.Settle(s.Now())
			})
			dropIndex(t, s)
			if _, ok := indexKeys(t, s); ok {
				t.Fatal("the index is still there")
			}
			if got := activeIDs(t, s, false); !slices.Equal(got, []string{"m2", "m3", "m4"}) {
				t.Errorf("read without an index: %v", got)
			}
			if _, ok := indexKeys(t, s); ok {
				t.Fatal("a read transaction created the index")
			}
			tc.write(t, s)
			keys, ok := indexKeys(t, s)
			if !ok {
				t.Fatal("the write did not build the index")
			}
			for _, want := range []string{"m2", "m3", "m4"} {
				if !slices.Contains(keys, want) {
					t.Errorf("index %v lacks %s", keys, want)
				}
			}
			if slices.Contains(keys, "m1") {
				t.Errorf("index %v holds the delivered m1", keys)
			}
		})
	}
}

// TestOutboxIndexDropsStaleEntries: an index entry whose mail is gone or
// settled (which the ledger's writes never leave) is skipped, and removed
// by a write transaction.
func TestOutboxIndexDropsStaleEntries(t *testing.T) {
	s := openReleaseStore(t)
	queueMails(t, s, "m1", "m2")
	err := s.Update(func(tx *Tx) error {
		idx := tx.lookupBucket(outboxActivePath...)
		if err := idx.Put([]byte("gone"), []byte(OutboxQueued)); err != nil {
			return err
		}
		// m2 settled behind the index's back.
		m, err := tx.OutboxMail("m2")
		if err != nil {
			return err
		}
		m.State = OutboxDone
		return tx.PutJSON(outboxPath, m.ID, m)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := activeIDs(t, s, false); !slices.Equal(got, []string{"m1"}) {
		t.Errorf("read: %v", got)
	}
	if got := activeIDs(t, s, true); !slices.Equal(got, []string{"m1"}) {
		t.Errorf("write: %v", got)
	}
	if keys, _ := indexKeys(t, s); !slices.Equal(keys, []string{"m1"}) {
		t.Errorf("index after a write: %v", keys)
	}
}
