package ledger

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// openReleaseStore opens a fresh store with a fixed clock and entries of
// the given statuses (ids "1", "2", … in order).
func openReleaseStore(t *testing.T, statuses ...Status) *Store {
	t.Helper()
	now := time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC)
	s, err := Open(filepath.Join(t.TempDir(), "rel.db"), Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	err = s.Update(func(tx *Tx) error {
		for i, st := range statuses {
			e := &Entry{ID: itoa(i + 1), System: "小贷", Status: st}
			if err := tx.PutEntry(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func TestCutReleaseSelectsDevDoneOnce(t *testing.T) {
	s := openReleaseStore(t, StatusDevDone, StatusInProgress, StatusDevDone, StatusReleased, StatusDevDone)
	var first *Release
	err := s.Update(func(tx *Tx) error {
		r, created, err := tx.CutRelease("2026-12-03", "train")
		if err != nil {
			return err
		}
		if !created {
			t.Error("first cut: created = false")
		}
		first = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1", "3", "5"}; !slices.Equal(first.Entries, want) {
		t.Fatalf("entries = %v, want %v", first.Entries, want)
	}
	if first.Digest != ListDigest([]string{"5", "3", "1"}) || first.State != ReleaseOpen {
		t.Errorf("digest/state = %s/%s", first.Digest, first.State)
	}
	err = s.Update(func(tx *Tx) error {
		// A new dev_done entry after the cut is not picked up by cutting again.
		if err := tx.PutEntry(&Entry{ID: "9", Status: StatusDevDone}); err != nil {
			return err
		}
		r, created, err := tx.CutRelease("2026-12-03", "train")
		if err != nil {
			return err
		}
		if created || r.Digest != first.Digest || !slices.Equal(r.Entries, first.Entries) {
			t.Errorf("second cut changed the release: created=%v %v", created, r.Entries)
		}
		for _, id := range first.Entries {
			e, _ := tx.Entry(id)
			if e.Status != StatusInTest || e.Release != "2026-12-03" {
				t.Errorf("entry %s: status %s release %q", id, e.Status, e.Release)
			}
		}
		// Next week's cut takes only what no open release holds.
		next, _, err := tx.CutRelease("2026-12-10", "train")
		if err != nil {
			return err
		}
		if !slices.Equal(next.Entries, []string{"9"}) {
			t.Errorf("next cut = %v, want [9]", next.Entries)
		}
		open, err := tx.OpenReleases()
		if err != nil {
			return err
		}
		if len(open) != 2 || open[0].Name != "2026-12-03" {
			t.Errorf("open releases = %d", len(open))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCutEmptyIsSkippedAndAddReopens(t *testing.T) {
	s := openReleaseStore(t, StatusInProgress)
	err := s.Update(func(tx *Tx) error {
		r, _, err := tx.CutRelease("2026-12-03", "train")
		if err != nil {
			return err
		}
		if r.State != ReleaseSkipped || len(r.Entries) != 0 {
			t.Errorf("empty cut: %s %v", r.State, r.Entries)
		}
		if _, err := tx.AddToRelease("2026-12-03", "1", "cli", ""); !errors.Is(err, ErrReleaseState) {
			t.Errorf("adding an in-progress entry: err = %v, want ErrReleaseState", err)
		}
		if _, err := tx.MoveEntry("1", StatusDevDone, "dev", ""); err != nil {
			return err
		}
		r, err = tx.AddToRelease("2026-12-03", "1", "cli", "urgent")
		if err != nil {
			return err
		}
		if r.State != ReleaseOpen || !r.Holds("1") || len(r.PendingChanges()) != 1 {
			t.Errorf("after add: %s %v %v", r.State, r.Entries, r.Changes)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAddRemoveChangesDigestAndPending(t *testing.T) {
	s := openReleaseStore(t, StatusDevDone, StatusDevDone)
	err := s.Update(func(tx *Tx) error {
		r, _, err := tx.CutRelease("2026-12-03", "train")
		if err != nil {
			return err
		}
		d0 := r.Digest
		if _, err := tx.AddToRelease("2026-12-03", "1", "cli", ""); err == nil {
			t.Error("adding an entry twice succeeded")
		}
		r, err = tx.RemoveFromRelease("2026-12-03", "2", "cli", "not ready")
		if err != nil {
			return err
		}
		if r.Digest == d0 || r.Holds("2") {
			t.Errorf("remove: digest unchanged or still held: %v", r.Entries)
		}
		e, _ := tx.Entry("2")
		if e.Status != StatusDevDone || e.Release != "" {
			t.Errorf("removed entry: %s %q", e.Status, e.Release)
		}
		r, err = tx.AddToRelease("2026-12-03", "2", "cli", "")
		if err != nil {
			return err
		}
		if r.Digest != d0 {
			t.Error("same list, different digest")
		}
		if p := r.PendingChanges(); len(p) != 2 || p[0].Op != "remove" || p[1].Op != "add" {
			t.Errorf("pending = %+v", p)
		}
		r.MarkAnnounced("sit-1")
		if len(r.PendingChanges()) != 0 || r.Changes[0].AnnouncedIn != "sit-1" {
			t.Errorf("after announce: %+v", r.Changes)
		}
		if _, err := tx.RemoveFromRelease("2026-12-03", "7", "cli", ""); err == nil {
			t.Error("removing an entry the release does not hold succeeded")
		}
		if err := tx.SetReleaseState(r, ReleaseAwaitingApproval, "train", ""); err != nil {
			return err
		}
		if _, err := tx.RemoveFromRelease("2026-12-03", "1", "cli", ""); !errors.Is(err, ErrReleaseState) {
			t.Errorf("remove after report: err = %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReturnEntriesAndDecisions(t *testing.T) {
	s := openReleaseStore(t, StatusDevDone, StatusDevDone)
	err := s.Update(func(tx *Tx) error {
		r, _, err := tx.CutRelease("2026-12-03", "train")
		if err != nil {
			return err
		}
		d := Decision{Who: "李经理", MessageID: "<a@b>", Verdict: VerdictReject, Words: "驳回"}
		if !r.AddDecision(d) || r.AddDecision(d) {
			t.Error("AddDecision did not dedupe by Message-ID")
		}
		if err := tx.ReturnEntries(r, StatusDevDone, "train", "rejected"); err != nil {
			return err
		}
		if err := tx.SetReleaseState(r, ReleaseRejected, "train", ""); err != nil {
			return err
		}
		for _, id := range r.Entries {
			e, _ := tx.Entry(id)
			if e.Status != StatusDevDone || e.Release != "" {
				t.Errorf("entry %s after reject: %s %q", id, e.Status, e.Release)
			}
		}
		// A rejected release no longer holds: the next cut takes them again.
		next, _, err := tx.CutRelease("2026-12-10", "train")
		if err != nil {
			return err
		}
		if len(next.Entries) != 2 {
			t.Errorf("next cut after reject = %v", next.Entries)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx *Tx) error {
		r, err := tx.Release("2026-12-03")
		if err != nil {
			return err
		}
		if r.State != ReleaseRejected || r.RejectedAt.IsZero() || len(r.Decisions) != 1 {
			t.Errorf("stored: %+v", r)
		}
		if _, err := tx.Release("2026-01-01"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing release: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReleaseNameMustBeADate(t *testing.T) {
	s := openReleaseStore(t)
	for _, name := range []string{"", "2026-13-01", "next week", "2026/12/03"} {
		err := s.Update(func(tx *Tx) error {
			_, _, err := tx.CutRelease(name, "cli")
			return err
		})
		if err == nil {
			t.Errorf("CutRelease(%q) succeeded", name)
		}
	}
}
