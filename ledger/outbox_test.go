package ledger

import (
	"errors"
	"testing"
	"time"
)

func TestEnqueueOnceAndLookups(t *testing.T) {
	s := openReleaseStore(t)
	m := &OutboxMail{ID: "abcdefgh12", MessageID: "fabu.abcdefgh12@example.com", Release: "2026-12-03", Step: "testlist",
		Role: "tester", Token: "v1.tok", ShortToken: "K3M9X2QA", Subject: "s", From: "fabu@example.com",
		Recipients: []OutboxRecipient{{Addr: "a@example.com"}, {Addr: "b@example.com"}}}
	err := s.Update(func(tx *Tx) error {
		created, err := tx.Enqueue(m, []byte("Subject: s\r\n\r\nbody\r\n"))
		if err != nil || !created {
			t.Fatalf("enqueue: %v %v", created, err)
		}
		again := *m
		again.Subject = "changed"
		created, err = tx.Enqueue(&again, []byte("other"))
		if err != nil || created {
			t.Errorf("second enqueue: created=%v err=%v", created, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx *Tx) error {
		got, err := tx.OutboxMail("abcdefgh12")
		if err != nil {
			return err
		}
		if got.Subject != "s" || got.State != OutboxQueued || len(got.Pending()) != 2 || got.Size == 0 {
			t.Errorf("stored mail: %+v", got)
		}
		raw, err := tx.OutboxRaw("abcdefgh12")
		if err != nil || string(raw) != "Subject: s\r\n\r\nbody\r\n" {
			t.Errorf("raw = %q, %v", raw, err)
		}
		ref, err := tx.SentByMessageID("<FABU.abcdefgh12@Example.com>")
		if err != nil || ref.Step != "testlist" || ref.Role != "tester" || ref.Release != "2026-12-03" {
			t.Errorf("SentByMessageID = %+v, %v", ref, err)
		}
		if ref, err := tx.SentByToken("k3m9x2qa"); err != nil || ref.Token != "v1.tok" {
			t.Errorf("SentByToken = %+v, %v", ref, err)
		}
		if _, err := tx.SentByMessageID("nope@x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown id: %v", err)
		}
		if f, err := tx.FindOutboxMail("abcdef"); err != nil || f.ID != m.ID {
			t.Errorf("FindOutboxMail prefix = %v, %v", f, err)
		}
		if _, err := tx.FindOutboxMail("abc"); err == nil {
			t.Error("a 3-character prefix was accepted")
		}
		all, err := tx.OutboxMails()
		if err != nil || len(all) != 1 {
			t.Errorf("OutboxMails = %d, %v", len(all), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOutboxSettle(t *testing.T) {
	s0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	m := &OutboxMail{State: OutboxQueued, Recipients: []OutboxRecipient{{Addr: "a@x", State: RcptSent}, {Addr: "B@x", State: RcptPending}}}
	m.Settle(s0)
	if m.State != OutboxQueued {
		t.Errorf("state = %s", m.State)
	}
	m.Recipient("b@x").State = RcptFailed
	m.Settle(s0)
	if m.State != OutboxDone || len(m.Failed()) != 1 || m.DoneAt != s0 {
		t.Errorf("state = %s failed = %v", m.State, m.Failed())
	}
}

func TestEnqueueRejectsIncompleteMail(t *testing.T) {
	s := openReleaseStore(t)
	err := s.Update(func(tx *Tx) error {
		_, err := tx.Enqueue(&OutboxMail{ID: "x", MessageID: "x@y"}, nil)
		return err
	})
	if err == nil {
		t.Fatal("a mail without recipients was queued")
	}
}
