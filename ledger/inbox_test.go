package ledger

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestReceivedRoundTripAndList(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	s := openTestStore(t, now)

	recs := []Received{
		{MessageID: "<a@x>", UID: 1, Verdict: "decided", Release: "2026-12-03", ProcessedAt: now.Add(-3 * time.Hour)},
		{MessageID: "<b@x>", UID: 2, Verdict: "ignored", ProcessedAt: now.Add(-2 * time.Hour)},
		{MessageID: "sha256:00ff", UID: 3, Verdict: VerdictTooLarge, Size: 1 << 30},
		{MessageID: "<c@x>", UID: 4, Verdict: "decided", Release: "2026-12-10", ProcessedAt: now.Add(-time.Hour)},
	}
	if err := s.Update(func(tx *Tx) error {
		for i := range recs {
			if err := tx.PutReceived(&recs[i]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	err := s.View(func(tx *Tx) error {
		r, err := tx.Received("sha256:00ff")
		if err != nil {
			return err
		}
		if !r.ProcessedAt.Equal(now) || r.Size != 1<<30 {
			t.Errorf("Received = %+v, want ProcessedAt filled with the tx time", r)
		}
		if _, err := tx.Received("<nope@x>"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing record: err = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		f    ReceivedFilter
		want []string
	}{
		{"all newest first", ReceivedFilter{}, []string{"sha256:00ff", "<c@x>", "<b@x>", "<a@x>"}},
		{"by verdict", ReceivedFilter{Verdict: "decided"}, []string{"<c@x>", "<a@x>"}},
		{"by release", ReceivedFilter{Release: "2026-12-03"}, []string{"<a@x>"}},
		{"since", ReceivedFilter{Since: now.Add(-90 * time.Minute)}, []string{"sha256:00ff", "<c@x>"}},
		{"limit keeps newest", ReceivedFilter{Limit: 2}, []string{"sha256:00ff", "<c@x>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []Received
			if err := s.View(func(tx *Tx) error {
				var err error
				got, err = tx.ReceivedList(tc.f)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.MessageID)
			}
			if strings.Join(ids, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("got %v, want %v", ids, tc.want)
			}
		})
	}
}

func TestPutReceivedRejectsBadKeys(t *testing.T) {
	s := openTestStore(t, time.Now())
	tests := []struct {
		name string
		id   string
	}{
		{"empty", ""},
		{"blank", "  "},
		{"too long", "<" + strings.Repeat("x", 2000) + "@x>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Update(func(tx *Tx) error { return tx.PutReceived(&Received{MessageID: tc.id}) })
			if err == nil {
				t.Fatalf("PutReceived(%q) succeeded", tc.id)
			}
		})
	}
}
