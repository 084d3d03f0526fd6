package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ReleaseState is where a release (期次) stands in its week.
//
//	open ──report──▶ awaiting_approval ──approve──▶ approved ──done──▶ released
//	  │                      └──────reject──▶ rejected
//	  └─(nothing to test)──▶ skipped            (any) ──close──▶ closed
type ReleaseState string

const (
	// ReleaseOpen: cut, its entries are in test.
	ReleaseOpen ReleaseState = "open"
	// ReleaseAwaitingApproval: the test-complete report went to the managers.
	ReleaseAwaitingApproval ReleaseState = "awaiting_approval"
	// ReleaseApproved: a manager approved; ops have the release mail.
	ReleaseApproved ReleaseState = "approved"
	// ReleaseRejected: a manager rejected; the entries went back to the ledger.
	ReleaseRejected ReleaseState = "rejected"
	// ReleaseReleased: ops confirmed the release.
	ReleaseReleased ReleaseState = "released"
	// ReleaseClosed: closed by hand without release.
	ReleaseClosed ReleaseState = "closed"
	// ReleaseSkipped: the week had nothing to test (or was skipped).
	ReleaseSkipped ReleaseState = "skipped"
)

// Holds reports whether a release in this state still holds its entries
// (they may not be cut into another release).
func (s ReleaseState) Holds() bool {
	return s == ReleaseOpen || s == ReleaseAwaitingApproval || s == ReleaseApproved
}

// Final reports whether nothing more happens to a release in this state.
func (s ReleaseState) Final() bool {
	return s == ReleaseRejected || s == ReleaseReleased || s == ReleaseClosed || s == ReleaseSkipped
}

// ReleaseChange is one entry added to or removed from an open release by
// hand (`fabu release add/remove`). The next mail of the train announces the
// pending changes and marks them announced.
type ReleaseChange struct {
	At          time.Time `json:"at"`
	Actor       string    `json:"actor"`
	Op          string    `json:"op"` // "add" | "remove"
	Entry       string    `json:"entry"`
	Note        string    `json:"note,omitempty"`
	Announced   bool      `json:"announced,omitempty"`
	AnnouncedIn string    `json:"announced_in,omitempty"` // step whose mail announced it
}

// Verdicts a Decision may carry.
const (
	VerdictApprove = "approve"
	VerdictReject  = "reject"
	VerdictDone    = "done" // ops confirmed the release
)

// Decision is one person's word on a release, kept with where it came from.
type Decision struct {
	Who       string    `json:"who"`   // person's name
	Email     string    `json:"email"` // address the reply came from
	Role      string    `json:"role,omitempty"`
	At        time.Time `json:"at"`
	MessageID string    `json:"message_id"` // of the reply
	Words     string    `json:"words"`      // the words that decided it (new text of the reply)
	Verdict   string    `json:"verdict"`    // approve | reject | done
	Reason    string    `json:"reason,omitempty"`
	RawHash   string    `json:"raw_hash,omitempty"` // sha256 of the raw mail
}

// Release is one week's train (期次), named by its release date.
type Release struct {
	Name    string       `json:"name"` // YYYY-MM-DD
	Train   string       `json:"train"`
	State   ReleaseState `json:"state"`
	Entries []string     `json:"entries"` // ids, ordered by LessID
	// Digest is ListDigest(Entries): it changes with every add/remove.
	Digest string    `json:"digest"`
	CutAt  time.Time `json:"cut_at"`
	CutBy  string    `json:"cut_by,omitempty"`
	// Changes are the hand-made adds/removes, announced or pending.
	Changes []ReleaseChange `json:"changes,omitempty"`
	// Decisions are the managers' and ops' words, in order.
	Decisions []Decision `json:"decisions,omitempty"`
	// ReportDigest binds the approval tokens to the report that was mailed
	// (ReportDigest of its entries and results).
	ReportDigest string    `json:"report_digest,omitempty"`
	ReportedAt   time.Time `json:"reported_at,omitzero"`
	ApprovedAt   time.Time `json:"approved_at,omitzero"`
	RejectedAt   time.Time `json:"rejected_at,omitzero"`
	ReleasedAt   time.Time `json:"released_at,omitzero"`
	ClosedAt     time.Time `json:"closed_at,omitzero"`
	// Excluded lists entries taken out at approval (a test failed).
	Excluded []string `json:"excluded,omitempty"`
	// Thread holds the Message-IDs mailed for this release, first the
	// test list; later mails reference them so clients thread them.
	Thread    []string  `json:"thread,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PendingChanges returns the changes no mail has announced yet.
func (r *Release) PendingChanges() []ReleaseChange {
	var out []ReleaseChange
	for _, c := range r.Changes {
		if !c.Announced {
			out = append(out, c)
		}
	}
	return out
}

// MarkAnnounced marks every pending change as announced by step's mail.
func (r *Release) MarkAnnounced(step string) {
	for i := range r.Changes {
		if !r.Changes[i].Announced {
			r.Changes[i].Announced = true
			r.Changes[i].AnnouncedIn = step
		}
	}
}

// Holds reports whether the release lists entry id.
func (r *Release) Holds(id string) bool { return slices.Contains(r.Entries, id) }

// AddThread appends a Message-ID to the release's thread (once).
func (r *Release) AddThread(messageID string) {
	if messageID != "" && !slices.Contains(r.Thread, messageID) {
		r.Thread = append(r.Thread, messageID)
	}
}

// ListDigest is the digest of an entry list (order-independent): hex
// SHA-256 over the ids sorted by LessID, one per line.
func ListDigest(ids []string) string {
	s := slices.Clone(ids)
	slices.SortFunc(s, func(a, b string) int {
		switch {
		case LessID(a, b):
			return -1
		case LessID(b, a):
			return 1
		}
		return 0
	})
	h := sha256.New()
	for _, id := range s {
		h.Write([]byte(id))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ErrReleaseState is returned (wrapped) when an operation does not fit the
// release's state (e.g. adding an entry to a released release).
var ErrReleaseState = errors.New("release is not in a state that allows this")

var releasesPath = []string{BucketReleases}

// ValidReleaseName checks that name is a release date YYYY-MM-DD.
func ValidReleaseName(name string) error {
	if _, err := time.Parse("2006-01-02", name); err != nil {
		return fmt.Errorf("release %q: a release is named by its release date, written YYYY-MM-DD (e.g. 2026-12-03)", name)
	}
	return nil
}

// Release returns the release named name, or an error wrapping ErrNotFound.
func (t *Tx) Release(name string) (*Release, error) {
	var r Release
	if err := t.GetJSON(releasesPath, name, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// PutRelease stores r (insert or replace), stamping UpdatedAt and Train.
func (t *Tx) PutRelease(r *Release) error {
	if err := ValidReleaseName(r.Name); err != nil {
		return err
	}
	if r.Train == "" {
		r.Train = t.train
	}
	r.UpdatedAt = t.now
	return t.PutJSON(releasesPath, r.Name, r)
}

// Releases returns every release of the train, oldest first.
func (t *Tx) Releases() ([]*Release, error) {
	var out []*Release
	err := t.ForEachRaw(releasesPath, "", func(k, v []byte) error {
		var r Release
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode release %q: %w", k, err)
		}
		out = append(out, &r)
		return nil
	})
	return out, err
}

// OpenReleases returns the releases that still hold their entries (open,
// awaiting approval or approved and not yet released), oldest first.
func (t *Tx) OpenReleases() ([]*Release, error) {
	all, err := t.Releases()
	if err != nil {
		return nil, err
	}
	var out []*Release
	for _, r := range all {
		if r.State.Holds() {
			out = append(out, r)
		}
	}
	return out, nil
}

// heldBy maps entry id → name of the open release holding it.
func (t *Tx) heldBy() (map[string]string, error) {
	open, err := t.OpenReleases()
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, r := range open {
		for _, id := range r.Entries {
			m[id] = r.Name
		}
	}
	return m, nil
}

// CutRelease cuts release name: it selects every entry whose status is
// dev_done (开发完成) and that no open release holds, stores the release
// with that exact list and its digest, and moves the entries to in_test
// with entry.Release = name. A release with nothing to test is stored as
// skipped. Cutting a release that exists changes nothing and returns it
// with created false.
func (t *Tx) CutRelease(name, actor string) (r *Release, created bool, err error) {
	if err := ValidReleaseName(name); err != nil {
		return nil, false, err
	}
	if r, err := t.Release(name); err == nil {
		return r, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	held, err := t.heldBy()
	if err != nil {
		return nil, false, err
	}
	var ids []string
	err = t.ForEachEntry(func(e *Entry) error {
		if e.Status == StatusDevDone && held[e.ID] == "" {
			ids = append(ids, e.ID)
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("cut %s: %w", name, err)
	}
	slices.SortFunc(ids, cmpID)
	r = &Release{Name: name, Train: t.train, State: ReleaseOpen, Entries: ids, Digest: ListDigest(ids), CutAt: t.now, CutBy: actor}
	if len(ids) == 0 {
		r.State = ReleaseSkipped
	}
	for _, id := range ids {
		if err := t.holdEntry(id, name, actor, "cut into release "+name); err != nil {
			return nil, false, fmt.Errorf("cut %s: %w", name, err)
		}
	}
	if err := t.PutRelease(r); err != nil {
		return nil, false, err
	}
	detail := fmt.Sprintf("%d entries", len(ids))
	if err := t.Audit(AuditRecord{Actor: actor, Action: "release.cut", Subject: name, New: r.Digest, Detail: detail, Release: name}); err != nil {
		return nil, false, err
	}
	return r, true, nil
}

func cmpID(a, b string) int {
	switch {
	case LessID(a, b):
		return -1
	case LessID(b, a):
		return 1
	}
	return 0
}

// holdEntry sets entry.Release and moves it to in_test.
func (t *Tx) holdEntry(id, release, actor, detail string) error {
	e, err := t.Entry(id)
	if err != nil {
		return err
	}
	e.Release = release
	if err := t.PutEntry(e); err != nil {
		return err
	}
	_, err = t.MoveEntry(id, StatusInTest, actor, detail)
	return err
}

// AddToRelease puts entry id into the open release name (it must not be
// held by another open release and must be dev_done, in_test, passed or
// failed). A skipped (empty) release is reopened by its first entry. The
// change is kept as pending for the next mail and the digest changes.
func (t *Tx) AddToRelease(name, id, actor, note string) (*Release, error) {
	r, err := t.Release(name)
	if err != nil {
		return nil, err
	}
	if !(r.State == ReleaseOpen || (r.State == ReleaseSkipped && len(r.Entries) == 0)) {
		return nil, fmt.Errorf("release %s is %s; entries can be added only while it is open: %w", name, r.State, ErrReleaseState)
	}
	if r.Holds(id) {
		return nil, fmt.Errorf("release %s already holds entry %s", name, id)
	}
	e, err := t.Entry(id)
	if err != nil {
		return nil, err
	}
	held, err := t.heldBy()
	if err != nil {
		return nil, err
	}
	if other := held[id]; other != "" {
		return nil, fmt.Errorf("entry %s is in release %s; remove it there first (fabu release remove %s %s): %w", id, other, other, id, ErrReleaseState)
	}
	switch e.Status {
	case StatusDevDone, StatusInTest, StatusPassed, StatusFailed:
	default:
		return nil, fmt.Errorf("entry %s is %s; only entries that development has finished (dev_done) can be added: %w", id, e.Status.Label(), ErrReleaseState)
	}
	if e.Status == StatusPassed || e.Status == StatusFailed {
		if _, err := t.MoveEntry(id, StatusDevDone, actor, "re-test in release "+name); err != nil {
			return nil, err
		}
	}
	if err := t.holdEntry(id, name, actor, "added to release "+name); err != nil {
		return nil, err
	}
	r.Entries = append(r.Entries, id)
	slices.SortFunc(r.Entries, cmpID)
	old := r.Digest
	r.Digest = ListDigest(r.Entries)
	r.State = ReleaseOpen
	r.Changes = append(r.Changes, ReleaseChange{At: t.now, Actor: actor, Op: "add", Entry: id, Note: note})
	if err := t.PutRelease(r); err != nil {
		return nil, err
	}
	return r, t.Audit(AuditRecord{Actor: actor, Action: "release.add", Subject: id, Old: old, New: r.Digest, Detail: note, Release: name})
}

// RemoveFromRelease takes entry id out of the open release name and puts
// it back to dev_done (development finished) without a release, for a
// later train. The change is kept as pending for the next mail.
func (t *Tx) RemoveFromRelease(name, id, actor, note string) (*Release, error) {
	r, err := t.Release(name)
	if err != nil {
		return nil, err
	}
	if r.State != ReleaseOpen {
		return nil, fmt.Errorf("release %s is %s; entries can be removed only while it is open: %w", name, r.State, ErrReleaseState)
	}
	if !r.Holds(id) {
		return nil, fmt.Errorf("release %s does not hold entry %s (it holds: %s)", name, id, strings.Join(r.Entries, ", "))
	}
	if err := t.releaseEntry(id, StatusDevDone, actor, "removed from release "+name); err != nil {
		return nil, err
	}
	r.Entries = slices.DeleteFunc(r.Entries, func(s string) bool { return s == id })
	old := r.Digest
	r.Digest = ListDigest(r.Entries)
	r.Changes = append(r.Changes, ReleaseChange{At: t.now, Actor: actor, Op: "remove", Entry: id, Note: note})
	if err := t.PutRelease(r); err != nil {
		return nil, err
	}
	return r, t.Audit(AuditRecord{Actor: actor, Action: "release.remove", Subject: id, Old: old, New: r.Digest, Detail: note, Release: name})
}

// releaseEntry clears entry.Release and moves the entry to status to. An
// entry that no longer exists is skipped.
func (t *Tx) releaseEntry(id string, to Status, actor, detail string) error {
	e, err := t.Entry(id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	e.Release = ""
	if err := t.PutEntry(e); err != nil {
		return err
	}
	_, err = t.MoveEntry(id, to, actor, detail)
	return err
}

// SetReleaseState moves release r to state and audits it. It does not
// check the transition; the train's steps do.
func (t *Tx) SetReleaseState(r *Release, state ReleaseState, actor, detail string) error {
	old := r.State
	r.State = state
	switch state {
	case ReleaseAwaitingApproval:
		r.ReportedAt = t.now
	case ReleaseApproved:
		r.ApprovedAt = t.now
	case ReleaseRejected:
		r.RejectedAt = t.now
	case ReleaseReleased:
		r.ReleasedAt = t.now
	case ReleaseClosed:
		r.ClosedAt = t.now
	}
	if err := t.PutRelease(r); err != nil {
		return err
	}
	return t.Audit(AuditRecord{Actor: actor, Action: "release.state", Subject: r.Name, Field: "state", Old: string(old), New: string(state), Detail: detail, Release: r.Name})
}

// ReturnEntries takes every entry out of release r back to the ledger with
// status to (e.g. dev_done after a rejection), clearing entry.Release.
func (t *Tx) ReturnEntries(r *Release, to Status, actor, detail string) error {
	for _, id := range r.Entries {
		e, err := t.Entry(id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if e.Release != r.Name {
			continue // moved on since
		}
		if err := t.releaseEntry(id, to, actor, detail); err != nil {
			return fmt.Errorf("release %s: %w", r.Name, err)
		}
	}
	return nil
}

// ExcludeEntries takes ids out of release r (e.g. at approval, entries
// whose test failed): they leave r.Entries for r.Excluded, lose their
// release and move to status to. The digest changes; r is not stored (the
// caller stores it with its other changes).
func (t *Tx) ExcludeEntries(r *Release, ids []string, to Status, actor, detail string) error {
	for _, id := range ids {
		if !r.Holds(id) {
			continue
		}
		if err := t.releaseEntry(id, to, actor, detail); err != nil {
			return fmt.Errorf("release %s: exclude %s: %w", r.Name, id, err)
		}
		r.Entries = slices.DeleteFunc(r.Entries, func(s string) bool { return s == id })
		if !slices.Contains(r.Excluded, id) {
			r.Excluded = append(r.Excluded, id)
		}
	}
	r.Digest = ListDigest(r.Entries)
	return nil
}

// AddDecision appends d to the release unless a decision from the same
// reply (Message-ID) is already there; it reports whether it was added.
func (r *Release) AddDecision(d Decision) bool {
	for _, o := range r.Decisions {
		if d.MessageID != "" && o.MessageID == d.MessageID && o.Verdict == d.Verdict {
			return false
		}
	}
	r.Decisions = append(r.Decisions, d)
	return true
}
