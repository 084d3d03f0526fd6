package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BucketTokens maps a reply token's short id (the [#xxxxxxxx] in subjects)
// to the SentRef of the mail that carried it: trains/<train>/tokens/<short>.
const BucketTokens = "tokens"

// OutboxState is where a queued mail stands.
type OutboxState string

const (
	// OutboxQueued: some recipients still wait for delivery (or a retry).
	OutboxQueued OutboxState = "queued"
	// OutboxSending: the mail was handed to the server (DATA) and fabu has
	// not yet recorded the answer. Found at start, it means a crash in that
	// window: the mail is sent again once, flagged as a possible duplicate.
	OutboxSending OutboxState = "sending"
	// OutboxDone: every recipient was delivered or failed permanently.
	OutboxDone OutboxState = "done"
	// OutboxDropped: dropped by hand (fabu outbox drop).
	OutboxDropped OutboxState = "dropped"
)

// RcptState is one recipient's delivery state.
type RcptState string

const (
	RcptPending RcptState = "pending"
	RcptSent    RcptState = "sent"
	RcptFailed  RcptState = "failed" // permanent (5xx)
)

// OutboxRecipient is one envelope recipient of a queued mail.
type OutboxRecipient struct {
	Addr     string    `json:"addr"`
	State    RcptState `json:"state"`
	Code     int       `json:"code,omitempty"` // last SMTP reply code
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"at,omitzero"`
	Attempts int       `json:"attempts,omitempty"`
}

// OutboxMail is a mail waiting in (or done with) the outbox. The rendered
// bytes are kept beside it (OutboxRaw) so listing stays cheap.
type OutboxMail struct {
	ID         string `json:"id"`         // key: the hash part of the Message-ID
	Seq        uint64 `json:"seq"`        // order of queueing (mails of one step go out in order)
	MessageID  string `json:"message_id"` // without angle brackets
	Train      string `json:"train"`
	Release    string `json:"release,omitempty"`
	Step       string `json:"step"`
	Kind       string `json:"kind,omitempty"` // template name, e.g. testlist, receipt
	Role       string `json:"role,omitempty"` // role whose reply the token expects
	Token      string `json:"token,omitempty"`
	ShortToken string `json:"short_token,omitempty"`
	Digest     string `json:"digest,omitempty"` // content digest the token is bound to
	Subject    string `json:"subject"`
	From       string `json:"from"` // envelope sender
	Size       int    `json:"size"`

	Recipients  []OutboxRecipient `json:"recipients"`
	State       OutboxState       `json:"state"`
	Created     time.Time         `json:"created"`
	NextAttempt time.Time         `json:"next_attempt,omitzero"`
	LastTry     time.Time         `json:"last_try,omitzero"`
	Attempts    int               `json:"attempts"`
	LastError   string            `json:"last_error,omitempty"`
	// InFlight are the recipients of the DATA in progress (state sending).
	InFlight []string `json:"in_flight,omitempty"`
	// PossibleDuplicate is set when the mail may already have reached some
	// recipients (a crash or a lost connection after DATA); the re-send
	// carries X-Fabu-Possible-Duplicate: yes and the same Message-ID.
	PossibleDuplicate bool `json:"possible_duplicate,omitempty"`
	// DuplicateRcpts are the recipients that may already have the mail;
	// what is sent to them again carries the possible-duplicate flag.
	DuplicateRcpts   []string  `json:"duplicate_rcpts,omitempty"`
	DuplicateResends int       `json:"duplicate_resends,omitempty"`
	Alerted          bool      `json:"alerted,omitempty"`
	AlertOf          string    `json:"alert_of,omitempty"` // set on alert mails: the mail they report
	DoneAt           time.Time `json:"done_at,omitzero"`
}

// Pending returns the recipients still waiting for delivery.
func (m *OutboxMail) Pending() []string {
	var out []string
	for _, r := range m.Recipients {
		if r.State == RcptPending {
			out = append(out, r.Addr)
		}
	}
	return out
}

// Failed returns the recipients that failed permanently.
func (m *OutboxMail) Failed() []OutboxRecipient {
	var out []OutboxRecipient
	for _, r := range m.Recipients {
		if r.State == RcptFailed {
			out = append(out, r)
		}
	}
	return out
}

// Recipient returns the recipient with address addr (case-insensitive).
func (m *OutboxMail) Recipient(addr string) *OutboxRecipient {
	for i := range m.Recipients {
		if strings.EqualFold(m.Recipients[i].Addr, addr) {
			return &m.Recipients[i]
		}
	}
	return nil
}

// Settle sets State to done when no recipient is pending any more.
func (m *OutboxMail) Settle(now time.Time) {
	if m.State == OutboxDropped {
		return
	}
	if len(m.Pending()) == 0 {
		m.State = OutboxDone
		m.NextAttempt = time.Time{}
		if m.DoneAt.IsZero() {
			m.DoneAt = now
		}
	} else if m.State != OutboxSending {
		m.State = OutboxQueued
	}
}

// Active reports whether the outbox worker still has work with m: it has
// recipients to deliver (queued, or being sent), or it is done with a
// recipient refused for good that the admins were not told about yet.
// Only active mails are in the outbox's index (see ActiveOutboxMails).
func (m *OutboxMail) Active() bool {
	switch m.State {
	case OutboxQueued, OutboxSending:
		return true
	case OutboxDone:
		return !m.Alerted && m.AlertOf == "" && len(m.Failed()) > 0
	}
	return false
}

// SentRef says which release, step and role a Message-ID (or a reply
// token) belongs to, so replies can be matched.
type SentRef struct {
	Train      string    `json:"train"`
	Release    string    `json:"release,omitempty"`
	Step       string    `json:"step"`
	Kind       string    `json:"kind,omitempty"`
	Role       string    `json:"role,omitempty"`
	Token      string    `json:"token,omitempty"`
	ShortToken string    `json:"short_token,omitempty"`
	Digest     string    `json:"digest,omitempty"`
	MailID     string    `json:"mail_id"`
	MessageID  string    `json:"message_id"`
	Recipients []string  `json:"recipients"`
	Queued     time.Time `json:"queued"`
	SentAt     time.Time `json:"sent_at,omitzero"`
}

var (
	outboxPath    = []string{BucketOutbox}
	outboxRawPath = []string{BucketOutbox, "raw"}
	// outboxActivePath indexes the active mails (OutboxMail.Active): key
	// the mail's id, value its state. The outbox keeps every mail it ever
	// sent; the worker reads only these.
	outboxActivePath = []string{BucketOutbox, outboxActiveName}
	sentPath         = []string{BucketSent}
	tokensPath       = []string{BucketTokens}
)

const outboxActiveName = "active"

// NormMessageID strips angle brackets and blanks and lower-cases a
// Message-ID, the form the sent bucket is keyed by.
func NormMessageID(id string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(id), "<>"))
}

// Enqueue stores a rendered mail in the outbox, in the caller's
// transaction, together with its SentRef (by Message-ID and by short
// token). A mail whose ID is already in the outbox is left as it is and
// created is false: a step run twice does not mail twice.
func (t *Tx) Enqueue(m *OutboxMail, raw []byte) (created bool, err error) {
	if m.ID == "" || m.MessageID == "" {
		return false, fmt.Errorf("enqueue: mail without id or Message-ID")
	}
	if len(m.Recipients) == 0 {
		return false, fmt.Errorf("enqueue %s (%s %s): no recipients", m.ID, m.Release, m.Step)
	}
	if ok, err := t.Has(outboxPath, m.ID); err != nil || ok {
		return false, err
	}
	if m.Train == "" {
		m.Train = t.train
	}
	seq, err := t.NextSeq(outboxPath...)
	if err != nil {
		return false, err
	}
	m.Seq = seq
	m.State = OutboxQueued
	m.Created = t.now
	m.NextAttempt = t.now
	m.Size = len(raw)
	for i := range m.Recipients {
		m.Recipients[i].State = RcptPending
	}
	if err := t.PutJSON(outboxPath, m.ID, m); err != nil {
		return false, err
	}
	if err := t.indexOutboxMail(m); err != nil {
		return false, err
	}
	if err := t.PutJSON(outboxRawPath, m.ID, raw); err != nil {
		return false, err
	}
	ref := SentRef{Train: m.Train, Release: m.Release, Step: m.Step, Kind: m.Kind, Role: m.Role, Token: m.Token,
		ShortToken: m.ShortToken, Digest: m.Digest, MailID: m.ID, MessageID: m.MessageID, Queued: t.now}
	for _, r := range m.Recipients {
		ref.Recipients = append(ref.Recipients, r.Addr)
	}
	if err := t.PutJSON(sentPath, NormMessageID(m.MessageID), ref); err != nil {
		return false, err
	}
	if m.ShortToken != "" {
		if err := t.PutJSON(tokensPath, strings.ToLower(m.ShortToken), ref); err != nil {
			return false, err
		}
	}
	return true, nil
}

// OutboxMail returns the queued mail with id, or an error wrapping ErrNotFound.
func (t *Tx) OutboxMail(id string) (*OutboxMail, error) {
	var m OutboxMail
	if err := t.GetJSON(outboxPath, id, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// OutboxRaw returns the rendered bytes of mail id.
func (t *Tx) OutboxRaw(id string) ([]byte, error) {
	var raw []byte
	if err := t.GetJSON(outboxRawPath, id, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// PutOutboxMail stores the state of a queued mail (not its bytes), and
// keeps the index of active mails in step, in the same transaction.
func (t *Tx) PutOutboxMail(m *OutboxMail) error {
	if ok, err := t.Has(outboxPath, m.ID); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("outbox mail %s: %w", m.ID, ErrNotFound)
	}
	if err := t.PutJSON(outboxPath, m.ID, m); err != nil {
		return err
	}
	return t.indexOutboxMail(m)
}

// OutboxMails returns every mail of the outbox, oldest first. It decodes
// the whole history; the worker uses ActiveOutboxMails.
func (t *Tx) OutboxMails() ([]*OutboxMail, error) {
	var out []*OutboxMail
	err := t.ForEachRaw(outboxPath, "", func(k, v []byte) error {
		var m OutboxMail
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("decode outbox mail %q: %w", k, err)
		}
		out = append(out, &m)
		return nil
	})
	sortOutbox(out)
	return out, err
}

// sortOutbox orders mails oldest first (queue time, then sequence, then id).
func sortOutbox(ms []*OutboxMail) {
	slices.SortStableFunc(ms, func(a, b *OutboxMail) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		if a.Seq != b.Seq {
			if a.Seq < b.Seq {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// ActiveOutboxMails returns the mails the outbox worker still has work
// with (OutboxMail.Active), oldest first like OutboxMails, reading only
// them through the index of active mails: its cost does not grow with the
// outbox's history.
//
// A store written before the index existed has none. A write transaction
// builds it then (one scan of the outbox); a read transaction scans the
// outbox instead, until a write builds it.
func (t *Tx) ActiveOutboxMails() ([]*OutboxMail, error) {
	idx, err := t.outboxIndex()
	if err != nil {
		return nil, err
	}
	if idx == nil {
		all, err := t.OutboxMails()
		return slices.DeleteFunc(all, func(m *OutboxMail) bool { return !m.Active() }), err
	}
	var out []*OutboxMail
	var stale [][]byte
	err = idx.ForEach(func(k, _ []byte) error {
		var m OutboxMail
		err := t.GetJSON(outboxPath, string(k), &m)
		switch {
		case errors.Is(err, ErrNotFound):
			stale = append(stale, slices.Clone(k))
		case err != nil:
			return err
		case !m.Active():
			stale = append(stale, slices.Clone(k))
		default:
			out = append(out, &m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// An index entry whose mail is gone or no longer active cannot come
	// from the writes above; drop it when the transaction may write.
	if t.tx.Writable() {
		for _, k := range stale {
			if err := idx.Delete(k); err != nil {
				return nil, fmt.Errorf("outbox index: %w", err)
			}
		}
	}
	sortOutbox(out)
	return out, nil
}

// indexOutboxMail puts m in the index of active mails or takes it out.
func (t *Tx) indexOutboxMail(m *OutboxMail) error {
	idx, err := t.outboxIndex()
	if err != nil {
		return err
	}
	if idx == nil {
		return fmt.Errorf("outbox mail %s: a read transaction cannot store it", m.ID)
	}
	if m.Active() {
		err = idx.Put([]byte(m.ID), []byte(m.State))
	} else {
		err = idx.Delete([]byte(m.ID))
	}
	if err != nil {
		return fmt.Errorf("outbox index of %s: %w", m.ID, err)
	}
	return nil
}

// outboxIndex returns the bucket indexing the active mails. In a write
// transaction a missing index is built from the outbox first (a store
// written before the index existed, or a new one); in a read transaction
// it is nil then. The bucket exists only complete: it is created and
// filled in one transaction, and every later write keeps it in step.
func (t *Tx) outboxIndex() (*bolt.Bucket, error) {
	if b := t.lookupBucket(outboxActivePath...); b != nil || !t.tx.Writable() {
		return b, nil
	}
	out, err := t.bucket(outboxPath...)
	if err != nil {
		return nil, err
	}
	idx, err := out.CreateBucket([]byte(outboxActiveName))
	if err != nil {
		return nil, fmt.Errorf("create the outbox index: %w", err)
	}
	var active [][2][]byte // id, state
	err = out.ForEach(func(k, v []byte) error {
		if v == nil {
			return nil // a nested bucket (raw, the index)
		}
		var m OutboxMail
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("build the outbox index: decode outbox mail %q: %w", k, err)
		}
		if m.Active() {
			active = append(active, [2][]byte{slices.Clone(k), []byte(m.State)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, kv := range active {
		if err := idx.Put(kv[0], kv[1]); err != nil {
			return nil, fmt.Errorf("build the outbox index: %w", err)
		}
	}
	return idx, nil
}

// lookupBucket returns the bucket at path below the train, or nil when it
// does not exist; unlike bucket it never creates one.
func (t *Tx) lookupBucket(path ...string) *bolt.Bucket {
	b := t.tx.Bucket(bucketTrains)
	if b == nil {
		return nil
	}
	b = b.Bucket([]byte(t.train))
	for _, n := range path {
		if b == nil {
			return nil
		}
		b = b.Bucket([]byte(n))
	}
	return b
}

// FindOutboxMail returns the mail whose id (or Message-ID) is ref or
// starts with ref (at least 6 characters, and unique).
func (t *Tx) FindOutboxMail(ref string) (*OutboxMail, error) {
	ref = NormMessageID(ref)
	if m, err := t.OutboxMail(ref); err == nil {
		return m, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if len(ref) < 6 {
		return nil, fmt.Errorf("outbox mail %q: give at least 6 characters of its id: %w", ref, ErrNotFound)
	}
	all, err := t.OutboxMails()
	if err != nil {
		return nil, err
	}
	var found []*OutboxMail
	for _, m := range all {
		if strings.HasPrefix(m.ID, ref) || NormMessageID(m.MessageID) == ref || strings.HasPrefix(NormMessageID(m.MessageID), ref) {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("outbox mail %q: %w (see fabu outbox list)", ref, ErrNotFound)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("outbox mail %q is ambiguous: %d mails start with it; give more characters", ref, len(found))
}

// SentByMessageID returns what the mail with Message-ID id was about (the
// id with or without angle brackets), or an error wrapping ErrNotFound.
func (t *Tx) SentByMessageID(id string) (*SentRef, error) {
	var r SentRef
	if err := t.GetJSON(sentPath, NormMessageID(id), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// SentByToken returns the SentRef of the mail that carried a reply token,
// found by its short id (the xxxxxxxx of [#xxxxxxxx]).
func (t *Tx) SentByToken(short string) (*SentRef, error) {
	var r SentRef
	if err := t.GetJSON(tokensPath, strings.ToLower(strings.TrimSpace(short)), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// MarkSentAt stamps the SentRef of Message-ID id with the delivery time
// (the first time only).
func (t *Tx) MarkSentAt(id string, at time.Time) error {
	r, err := t.SentByMessageID(id)
	if err != nil {
		return err
	}
	if !r.SentAt.IsZero() {
		return nil
	}
	r.SentAt = at
	if err := t.PutJSON(sentPath, NormMessageID(id), r); err != nil {
		return err
	}
	if r.ShortToken != "" {
		return t.PutJSON(tokensPath, strings.ToLower(r.ShortToken), r)
	}
	return nil
}
