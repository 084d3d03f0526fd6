package imapwatch

import (
	"time"

	"github.com/fabu-team/fabu/ledger"
)

// Observer receives the watcher's events, e.g. to export metrics. Its
// methods are called from the watcher's goroutines (Event from the IMAP
// client's reader) and must return quickly.
type Observer interface {
	// Connected reports a session that is logged in with the mailbox
	// selected (true) or gone (false).
	Connected(up bool)
	// Idling reports entering (true) and leaving (false) IDLE.
	Idling(on bool)
	// Event reports the server announcing new mail (EXISTS).
	Event(at time.Time)
	// Mail reports a mail recorded (after the commit, and after it was
	// flagged and moved): its record, with Verdict "duplicate" for a
	// repeated Message-ID.
	Mail(r ledger.Received)
	// Retrying reports a failed session and the delay before the next.
	Retrying(err error, in time.Duration)
}

// Status is a snapshot of the watcher for health checks.
type Status struct {
	Mailbox     string
	Connected   bool
	Mode        string    // "idle" or "poll" while connected, "" otherwise
	Idling      bool      // inside IDLE right now
	LastEvent   time.Time // last EXISTS announced by the server
	LastCheck   time.Time // last completed look for new mail
	LastError   string
	LastErrorAt time.Time
	UIDValidity uint32
	LastUID     uint32
	Counts      map[string]uint64 // mails by verdict since start
}

// Status returns a snapshot of the watcher's state.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.status
	s.Counts = make(map[string]uint64, len(w.status.Counts))
	for k, v := range w.status.Counts {
		s.Counts[k] = v
	}
	return s
}

func (w *Watcher) setConnected(up bool, mode string) {
	w.mu.Lock()
	w.status.Connected = up
	w.status.Mode = mode
	if !up {
		w.status.Idling = false
	}
	w.mu.Unlock()
	if w.o.Observer != nil {
		w.o.Observer.Connected(up)
	}
}

func (w *Watcher) setIdling(on bool) {
	w.mu.Lock()
	w.status.Idling = on
	w.mu.Unlock()
	if w.o.Observer != nil {
		w.o.Observer.Idling(on)
	}
}

func (w *Watcher) noteEvent() {
	at := w.now()
	w.mu.Lock()
	w.status.LastEvent = at
	w.mu.Unlock()
	if w.o.Observer != nil {
		w.o.Observer.Event(at)
	}
}

func (w *Watcher) noteCheck(c ledger.Cursor) {
	at := w.now()
	w.mu.Lock()
	w.status.LastCheck = at
	w.status.UIDValidity = c.UIDValidity
	w.status.LastUID = c.LastUID
	w.mu.Unlock()
}

func (w *Watcher) noteError(err error) {
	at := w.now()
	w.mu.Lock()
	w.status.LastError = err.Error()
	w.status.LastErrorAt = at
	w.mu.Unlock()
}

func (w *Watcher) noteMail(r ledger.Received) {
	w.mu.Lock()
	if w.status.Counts == nil {
		w.status.Counts = map[string]uint64{}
	}
	w.status.Counts[r.Verdict]++
	w.mu.Unlock()
	if w.o.Observer != nil {
		w.o.Observer.Mail(r)
	}
}
