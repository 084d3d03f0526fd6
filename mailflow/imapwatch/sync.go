package imapwatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"sort"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/fabu-team/fabu/ledger"
)

// maxUIDsPerRound bounds the UIDs taken from one SEARCH answer (a hostile
// or broken server could answer "1:4294967295"); the rest come next round.
const maxUIDsPerRound = 100000

type itemKind int

const (
	itemMail     itemKind = iota // to be downloaded and handled
	itemTooLarge                 // over MaxSize: recorded, never downloaded
	itemGone                     // expunged before we got it: only advances the cursor
)

// item is one UID on its way through a batch.
type item struct {
	uid  uint32
	kind itemKind
	size int64
	date time.Time
	raw  []byte
	hash string
	hdr  headerInfo
	key  string // inbox key
	// set after commit
	processed bool
	rec       ledger.Received // as the observer sees it
}

// catchUp reads the cursor and brings the ledger up to date with the
// mailbox: a rescan when the cursor belongs to another UIDVALIDITY (or
// there is none yet), then everything after the cursor.
func (w *Watcher) catchUp(ctx context.Context, s *conn) error {
	var cur ledger.Cursor
	err := w.store.View(func(tx *ledger.Tx) error {
		var err error
		cur, err = w.trainTx(tx).Cursor(w.o.CursorKey)
		return err
	})
	if err != nil {
		return &TemporaryError{Op: "read the IMAP cursor", Err: err}
	}
	s.stored = cur
	if cur.UIDValidity == s.validity {
		s.last = cur.LastUID
		return w.syncNew(ctx, s)
	}
	s.last = 0
	criteria := &imap.SearchCriteria{UID: []imap.UIDSet{{{Start: 1, Stop: 0}}}}
	scope := "all mail"
	if !w.o.RescanAll {
		since := w.now().Add(-w.o.RescanWindow - 24*time.Hour)
		criteria = &imap.SearchCriteria{Since: since}
		scope = "mail since " + since.Format("2006-01-02")
	}
	if cur.UIDValidity == 0 {
		w.log.Info("first look at this mailbox: reading recent mail", "scope", scope)
	} else {
		w.log.Warn("mailbox UIDVALIDITY changed: rescanning; mail already recorded is skipped by Message-ID",
			"scope", scope, "old_uidvalidity", cur.UIDValidity, "new_uidvalidity", s.validity)
	}
	s.wd.arm(w.o.CommandTimeout)
	data, err := s.c.UIDSearch(criteria, nil).Wait()
	s.wd.disarm()
	if err != nil {
		return classifyIMAP("search "+scope, s.wd.explain(err))
	}
	uids, more := uidsAbove(data, 0, maxUIDsPerRound)
	if err := w.process(ctx, s, uids, true); err != nil {
		return err
	}
	// Every UID below UIDNEXT (as of SELECT) that the search did not
	// return is older than the window: start after them. (When the answer
	// was cut short, go on from the last mail read instead.)
	target := s.last
	if !more && s.uidNext > 0 && s.uidNext-1 > target {
		target = s.uidNext - 1
	}
	if s.stored.UIDValidity != s.validity || s.stored.LastUID != target {
		if err := w.commitCursor(s, target); err != nil {
			return err
		}
	}
	return w.syncNew(ctx, s)
}

// syncNew handles every mail after the cursor.
func (w *Watcher) syncNew(ctx context.Context, s *conn) error {
	for {
		select {
		case <-s.kick: // this search covers whatever was announced
		default:
		}
		if s.last == math.MaxUint32 {
			return nil
		}
		s.wd.arm(w.o.CommandTimeout)
		data, err := s.c.UIDSearch(&imap.SearchCriteria{
			UID: []imap.UIDSet{{{Start: imap.UID(s.last + 1), Stop: 0}}},
		}, nil).Wait()
		s.wd.disarm()
		if err != nil {
			return classifyIMAP("search new mail", s.wd.explain(err))
		}
		// "UID n:*" always matches the highest UID, even when it is < n.
		uids, more := uidsAbove(data, s.last, maxUIDsPerRound)
		if err := w.process(ctx, s, uids, false); err != nil {
			return err
		}
		w.noteCheck(s.stored)
		if !more {
			return nil
		}
	}
}

// uidsAbove lists the UIDs of a search answer that are > last, ascending,
// at most limit of them; more reports that some were left out.
func uidsAbove(data *imap.SearchData, last uint32, limit int) (uids []uint32, more bool) {
	set, _ := data.All.(imap.UIDSet)
	for _, r := range set {
		start, stop := uint32(r.Start), uint32(r.Stop)
		if stop == 0 { // "*" cannot appear in an answer; be safe
			stop = start
		}
		if start > stop {
			start, stop = stop, start
		}
		if start <= last {
			if stop <= last {
				continue
			}
			start = last + 1
		}
		for u := start; ; u++ {
			if len(uids) >= limit {
				more = true
				break
			}
			uids = append(uids, u)
			if u == stop {
				break
			}
		}
	}
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	out := uids[:0]
	for i, u := range uids {
		if i == 0 || u != uids[i-1] {
			out = append(out, u)
		}
	}
	return out, more
}

// process handles uids (ascending) in chunks: sizes first, then bodies of
// the mails within the limit, a byte-bounded group at a time, each group
// committed in one transaction and then flagged and moved.
func (w *Watcher) process(ctx context.Context, s *conn, uids []uint32, rescan bool) error {
	for len(uids) > 0 {
		n := min(len(uids), w.o.BatchSize)
		chunk := uids[:n]
		uids = uids[n:]
		items, err := w.fetchMeta(s, chunk)
		if err != nil {
			return err
		}
		for _, g := range groupBySize(items, w.o.BatchBytes) {
			if err := w.fetchBodies(s, g); err != nil {
				return err
			}
			done, cerr := w.commit(ctx, s, g, rescan)
			derr := w.dispose(s, g[:done])
			for i, it := range g {
				if i < done && it.kind != itemGone {
					w.log.Info("mail read", "uid", it.uid, "message_id", it.rec.MessageID, "from", it.rec.From,
						"verdict", it.rec.Verdict, "reason", it.rec.Reason, "rescan", rescan)
					w.noteMail(it.rec)
				}
				it.raw = nil
			}
			if cerr != nil {
				return cerr
			}
			if derr != nil {
				return derr
			}
		}
	}
	return nil
}

// fetchMeta asks for size and date of chunk; UIDs the server no longer
// has become itemGone, mails over MaxSize itemTooLarge (with their
// envelope, to record who sent what).
func (w *Watcher) fetchMeta(s *conn, chunk []uint32) ([]*item, error) {
	items := make([]*item, len(chunk))
	byUID := make(map[uint32]*item, len(chunk))
	var set imap.UIDSet
	for i, u := range chunk {
		items[i] = &item{uid: u, kind: itemGone}
		byUID[u] = items[i]
		set.AddNum(imap.UID(u))
	}
	s.wd.arm(w.o.CommandTimeout)
	bufs, err := s.c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true}).Collect()
	s.wd.disarm()
	if err != nil {
		return nil, &TemporaryError{Op: "fetch sizes", Err: s.wd.explain(err)}
	}
	var large imap.UIDSet
	for _, b := range bufs {
		it := byUID[uint32(b.UID)]
		if it == nil {
			continue
		}
		it.size, it.date = b.RFC822Size, b.InternalDate
		it.kind = itemMail
		if it.size > w.o.MaxSize {
			it.kind = itemTooLarge
			large.AddNum(b.UID)
		}
	}
	if len(large) == 0 {
		return items, nil
	}
	s.wd.arm(w.o.CommandTimeout)
	envs, err := s.c.Fetch(large, &imap.FetchOptions{UID: true, Envelope: true}).Collect()
	s.wd.disarm()
	if err != nil {
		return nil, &TemporaryError{Op: "fetch envelopes", Err: s.wd.explain(err)}
	}
	for _, b := range envs {
		it := byUID[uint32(b.UID)]
		if it == nil || b.Envelope == nil {
			continue
		}
		it.hdr.messageID = normalizeMessageID(b.Envelope.MessageID)
		it.hdr.subject = clean(b.Envelope.Subject, 256)
		if len(b.Envelope.From) > 0 {
			a := b.Envelope.From[0]
			it.hdr.from = clean(formatAddress(a.Name, a.Addr()), 256)
		}
	}
	for _, it := range items {
		if it.kind == itemTooLarge {
			it.key = it.hdr.messageID
		}
	}
	return items, nil
}

// groupBySize splits items so that the bodies of a group fit in maxBytes
// (a single larger mail forms its own group).
func groupBySize(items []*item, maxBytes int64) [][]*item {
	var out [][]*item
	var cur []*item
	var sum int64
	for _, it := range items {
		var n int64
		if it.kind == itemMail {
			n = it.size
		}
		if len(cur) > 0 && n > 0 && sum+n > maxBytes {
			out = append(out, cur)
			cur, sum = nil, 0
		}
		cur = append(cur, it)
		sum += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// fetchBodies downloads the bodies of the group's mails with BODY.PEEK[]
// (the \Seen flag stays as it was), reading each at most MaxSize bytes.
func (w *Watcher) fetchBodies(s *conn, g []*item) error {
	var set imap.UIDSet
	byUID := map[uint32]*item{}
	for _, it := range g {
		if it.kind == itemMail {
			set.AddNum(imap.UID(it.uid))
			byUID[it.uid] = it
		}
	}
	if len(set) == 0 {
		return nil
	}
	got := map[uint32]bool{}
	s.wd.arm(w.o.CommandTimeout)
	defer s.wd.disarm()
	cmd := s.c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		var (
			uid     uint32
			raw     []byte
			hasBody bool
			over    int64
			rerr    error
		)
		for fi := msg.Next(); fi != nil; fi = msg.Next() {
			switch d := fi.(type) {
			case imapclient.FetchItemDataUID:
				uid = uint32(d.UID)
			case imapclient.FetchItemDataBodySection:
				hasBody = true
				if d.Literal == nil {
					continue
				}
				if n := d.Literal.Size(); n > w.o.MaxSize {
					over = n // msg.Next discards it unread
					continue
				}
				buf := bytes.NewBuffer(make([]byte, 0, d.Literal.Size()))
				_, rerr = buf.ReadFrom(io.LimitReader(d.Literal, w.o.MaxSize+1))
				raw = buf.Bytes()
				if int64(len(raw)) > w.o.MaxSize {
					over, raw = int64(len(raw)), nil
				}
			}
		}
		s.wd.arm(w.o.CommandTimeout) // progress: give the next mail its own time
		if rerr != nil {
			cmd.Close()
			return &TemporaryError{Op: fmt.Sprintf("read mail UID %d", uid), Err: s.wd.explain(rerr)}
		}
		it := byUID[uid]
		if it == nil || !hasBody {
			continue
		}
		got[uid] = true
		if over > 0 {
			// The server said it was smaller: record it as too large.
			it.kind, it.size, it.key = itemTooLarge, over, ""
			continue
		}
		it.raw = raw
		it.hash = hashRaw(raw)
		it.hdr = readHeader(raw)
		it.key = it.hdr.messageID
		if it.key == "" {
			it.key = "sha256:" + it.hash
		}
	}
	if err := cmd.Close(); err != nil {
		return &TemporaryError{Op: "fetch mail bodies", Err: s.wd.explain(err)}
	}
	for _, it := range byUID {
		if !got[it.uid] {
			it.kind = itemGone // expunged meanwhile
		}
	}
	return nil
}

// commit records g in as few transactions as it can and returns how many
// items (a prefix of g) are committed. A permanent handler failure makes
// that mail "failed" and the batch is redone without calling the handler
// for it; a temporary one commits the mails before it and returns the
// error (the cursor stays before the failing mail).
func (w *Watcher) commit(ctx context.Context, s *conn, g []*item, rescan bool) (int, error) {
	for _, it := range g {
		if it.kind == itemTooLarge && it.key == "" {
			it.key = fmt.Sprintf("uid:%s/%d/%d", w.o.Mailbox, s.validity, it.uid)
		}
	}
	failed := map[uint32]error{}
	n := len(g)
	var pending error
	for n > 0 {
		err := w.commitTx(ctx, s, g[:n], failed, rescan)
		var he *handlerError
		switch {
		case err == nil:
			return n, pending
		case errors.As(err, &he) && he.permanent:
			w.log.Error("handler failed permanently; recording the mail as failed", "uid", he.uid, "message_id", he.messageID, "err", he.err)
			failed[he.uid] = he.err
		case errors.As(err, &he):
			idx := 0
			for idx < n && g[idx].uid != he.uid {
				idx++
			}
			if idx == n {
				return 0, &TemporaryError{Op: "handle mail", Err: err}
			}
			n, pending = idx, &TemporaryError{Op: "handle mail", Err: err}
		default:
			return 0, &TemporaryError{Op: "record mail", Err: err}
		}
	}
	return 0, pending
}

// commitTx runs one transaction: each item recorded (and handled), then
// the cursor moved past the last of them.
func (w *Watcher) commitTx(ctx context.Context, s *conn, items []*item, failed map[uint32]error, rescan bool) error {
	recs := make([]ledger.Received, len(items))
	var next ledger.Cursor
	err := w.store.Update(func(btx *ledger.Tx) error {
		tx := w.trainTx(btx)
		cur, err := tx.Cursor(w.o.CursorKey)
		if err != nil {
			return err
		}
		if cur.UIDValidity != s.stored.UIDValidity || cur.LastUID != s.stored.LastUID {
			return fmt.Errorf("the cursor %s moved under this watcher (expected %d/%d, found %d/%d): is another fabu reading this mailbox into the same store?",
				w.o.CursorKey, s.stored.UIDValidity, s.stored.LastUID, cur.UIDValidity, cur.LastUID)
		}
		last := s.last
		for i, it := range items {
			r, err := w.record(ctx, tx, s, it, failed, rescan)
			if err != nil {
				return err
			}
			recs[i] = r
			last = max(last, it.uid)
		}
		next = ledger.Cursor{Mailbox: w.o.CursorKey, UIDValidity: s.validity, LastUID: last}
		return tx.PutCursor(next)
	})
	if err != nil {
		return err
	}
	s.stored, s.last = next, next.LastUID
	for i, it := range items {
		if it.kind == itemGone {
			continue
		}
		it.processed, it.rec = recs[i].Processed, recs[i]
	}
	return nil
}

// commitCursor moves the cursor without any mail (after a rescan).
func (w *Watcher) commitCursor(s *conn, last uint32) error {
	next := ledger.Cursor{Mailbox: w.o.CursorKey, UIDValidity: s.validity, LastUID: last}
	err := w.store.Update(func(btx *ledger.Tx) error {
		tx := w.trainTx(btx)
		cur, err := tx.Cursor(w.o.CursorKey)
		if err != nil {
			return err
		}
		if cur.UIDValidity != s.stored.UIDValidity || cur.LastUID != s.stored.LastUID {
			return fmt.Errorf("the cursor %s moved under this watcher", w.o.CursorKey)
		}
		return tx.PutCursor(next)
	})
	if err != nil {
		return &TemporaryError{Op: "store the IMAP cursor", Err: err}
	}
	s.stored, s.last = next, last
	return nil
}

// record writes the inbox record of one item (calling the handler for a
// new mail) and returns it as the observer should see it.
func (w *Watcher) record(ctx context.Context, tx *ledger.Tx, s *conn, it *item, failed map[uint32]error, rescan bool) (ledger.Received, error) {
	if it.kind == itemGone {
		return ledger.Received{}, nil
	}
	prev, err := tx.Received(it.key)
	if err == nil {
		return w.recordDuplicate(tx, s, it, prev)
	}
	if !errors.Is(err, ledger.ErrNotFound) {
		return ledger.Received{}, err
	}
	rec := ledger.Received{
		MessageID: it.key, Mailbox: w.o.Mailbox, UIDValidity: s.validity, UID: it.uid,
		From: it.hdr.from, Subject: it.hdr.subject, ReceivedAt: it.date, Size: it.size, RawHash: it.hash,
	}
	switch {
	case it.kind == itemTooLarge:
		rec.Verdict = ledger.VerdictTooLarge
		rec.Reason = fmt.Sprintf("%d bytes, over the %d-byte limit: not downloaded", it.size, w.o.MaxSize)
	case failed[it.uid] != nil:
		rec.Verdict = ledger.VerdictFailed
		rec.Reason = clean(failed[it.uid].Error(), 500)
	default:
		out, err := w.callHandler(ctx, tx, s, it, rescan)
		if err != nil {
			return rec, &handlerError{uid: it.uid, messageID: it.key, err: err, permanent: IsPermanent(err)}
		}
		rec.Verdict, rec.Reason, rec.Release, rec.Step, rec.Processed = out.Verdict, out.Reason, out.Release, out.Step, out.Processed
		if rec.Verdict == "" {
			rec.Verdict = "ignored"
			if out.Processed {
				rec.Verdict = "processed"
			}
		}
	}
	if err := tx.PutReceived(&rec); err != nil {
		return rec, err
	}
	return rec, nil
}

// recordDuplicate notes another delivery of a recorded Message-ID. The
// handler is not called. The copy is treated like the original when its
// bytes are the same (e.g. seen again after a UIDVALIDITY change), else
// as ignored.
func (w *Watcher) recordDuplicate(tx *ledger.Tx, s *conn, it *item, prev *ledger.Received) (ledger.Received, error) {
	same := prev.Mailbox == w.o.Mailbox && prev.UIDValidity == s.validity && prev.UID == it.uid
	for _, d := range prev.Duplicates {
		if d.Mailbox == w.o.Mailbox && d.UIDValidity == s.validity && d.UID == it.uid {
			same = true
		}
	}
	if !same {
		prev.DuplicateCount++
		if len(prev.Duplicates) < ledger.MaxSightings {
			prev.Duplicates = append(prev.Duplicates, ledger.Sighting{
				Mailbox: w.o.Mailbox, UIDValidity: s.validity, UID: it.uid, RawHash: it.hash, At: tx.Now(),
			})
		}
		if err := tx.PutReceived(prev); err != nil {
			return ledger.Received{}, err
		}
	}
	r := *prev
	r.Duplicates = nil
	r.Verdict = ledger.VerdictDuplicate
	r.Reason = fmt.Sprintf("Message-ID already recorded from UID %d (verdict %s)", prev.UID, prev.Verdict)
	r.UIDValidity, r.UID, r.Size, r.RawHash, r.ReceivedAt = s.validity, it.uid, it.size, it.hash, it.date
	r.Processed = prev.Processed && it.hash != "" && it.hash == prev.RawHash
	r.ProcessedAt = tx.Now()
	return r, nil
}

func (w *Watcher) callHandler(ctx context.Context, tx *ledger.Tx, s *conn, it *item, rescan bool) (out Outcome, err error) {
	defer func() {
		if p := recover(); p != nil {
			w.log.Error("handler panicked", "uid", it.uid, "message_id", it.key, "panic", p, "stack", string(debug.Stack()))
			err = Permanent(fmt.Errorf("handler panicked: %v", p))
		}
	}()
	return w.h.HandleMail(ctx, tx, &Incoming{
		Mailbox: w.o.Mailbox, UIDValidity: s.validity, UID: it.uid, Size: it.size, InternalDate: it.date,
		MessageID: it.key, HasMessageID: it.hdr.messageID != "", From: it.hdr.from, Subject: it.hdr.subject,
		Raw: it.raw, RawHash: it.hash, Rescan: rescan,
	})
}

// dispose flags committed mail and moves it to its folder. It runs after
// the commit: a failure here leaves mail in place but never re-handles it.
func (w *Watcher) dispose(s *conn, items []*item) error {
	var all, toProcessed, toIgnored imap.UIDSet
	for _, it := range items {
		if it.kind == itemGone {
			continue
		}
		all.AddNum(imap.UID(it.uid))
		if it.processed {
			toProcessed.AddNum(imap.UID(it.uid))
		} else {
			toIgnored.AddNum(imap.UID(it.uid))
		}
	}
	if len(all) == 0 {
		return nil
	}
	if s.flag != "" {
		s.wd.arm(w.o.CommandTimeout)
		err := s.c.Store(all, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{s.flag}}, nil).Close()
		s.wd.disarm()
		if err != nil {
			return &TemporaryError{Op: fmt.Sprintf("flag read mail %s as %s", all, s.flag), Err: s.wd.explain(err)}
		}
	}
	for _, mv := range []struct {
		folder string
		uids   imap.UIDSet
	}{{w.o.ProcessedFolder, toProcessed}, {w.o.IgnoredFolder, toIgnored}} {
		if mv.folder == "" || len(mv.uids) == 0 {
			continue
		}
		if err := w.move(s, mv.uids, mv.folder); err != nil {
			return err
		}
	}
	return nil
}

// move moves uids to folder (MOVE, or COPY + \Deleted + EXPUNGE where MOVE
// is not offered), creating the folder once if it went missing.
func (w *Watcher) move(s *conn, uids imap.UIDSet, folder string) error {
	for attempt := 0; ; attempt++ {
		s.wd.arm(w.o.CommandTimeout)
		_, err := s.c.Move(uids, folder).Wait()
		s.wd.disarm()
		if err == nil {
			return nil
		}
		var ie *imap.Error
		if attempt == 0 && errors.As(err, &ie) && ie.Code == imap.ResponseCodeTryCreate {
			if cerr := w.createFolder(s, folder); cerr != nil {
				return cerr
			}
			continue
		}
		return &TemporaryError{Op: fmt.Sprintf("move mail %s to %s", uids, folder), Err: s.wd.explain(err)}
	}
}
