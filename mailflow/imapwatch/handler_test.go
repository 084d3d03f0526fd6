package imapwatch

import (
	"errors"
	"strings"
	"testing"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/imaptest"
)

func TestTemporaryHandlerErrorKeepsCursorAndRetries(t *testing.T) {
	e := newEnv(t, imaptest.Options{})
	o := e.options()
	release := make(chan struct{})
	e.probe.fail = func(m *Incoming, call int) error {
		if m.MessageID == "<h2@example.com>" {
			select {
			case <-release:
			default:
				return errors.New("store busy")
			}
		}
		return nil
	}
	uid1 := e.deliver(t, testMail("h1@example.com", "approve"))
	e.deliver(t, testMail("h2@example.com", "approve"))
	e.deliver(t, testMail("h3@example.com", "approve"))
	e.start(t, o)

	// h1 commits on its own; h2 fails and blocks the cursor before it.
	e.probe.waitMail(t, "<h1@example.com>", 1)
	e.probe.wait(t, "h2 retried", func() bool { return e.probe.calls["<h2@example.com>"] >= 3 })
	if c := e.cursor(t, o); c.LastUID != uid1 {
		t.Fatalf("cursor = %+v while h2 fails, want LastUID %d", c, uid1)
	}
	e.probe.mu.Lock()
	h3 := len(e.probe.recorded("<h3@example.com>"))
	e.probe.mu.Unlock()
	if h3 != 0 {
		t.Fatal("h3 was recorded while h2 (before it) still failed")
	}

	close(release)
	e.probe.waitMail(t, "<h3@example.com>", 1)
	wantAudits(t, e.audits(t), "<h1@example.com>", "<h2@example.com>", "<h3@example.com>")
}

func TestPermanentHandlerFailuresAreRecordedAndSkipped(t *testing.T) {
	e := newEnv(t, imaptest.Options{})
	o := e.options()
	o.IgnoredFolder = "Fabu-Ignored"
	e.probe.fail = func(m *Incoming, call int) error {
		switch m.MessageID {
		case "<bad@example.com>":
			return Permanent(errors.New("cannot parse this reply"))
		case "<panic@example.com>":
			panic("boom")
		}
		return nil
	}
	e.deliver(t, testMail("ok1@example.com", "approve"))
	e.deliver(t, testMail("bad@example.com", "approve"))
	e.deliver(t, testMail("panic@example.com", "approve"))
	e.deliver(t, testMail("ok2@example.com", "approve"))
	e.start(t, o)
	e.probe.waitMail(t, "<ok2@example.com>", 1)

	for id, want := range map[string]string{"<bad@example.com>": "cannot parse", "<panic@example.com>": "panicked: boom"} {
		rec := e.received(t, id)
		if rec.Verdict != ledger.VerdictFailed || !strings.Contains(rec.Reason, want) {
			t.Errorf("%s: record %+v, want verdict failed with %q", id, rec, want)
		}
	}
	// The failed mails' own writes were rolled back with them.
	wantAudits(t, e.audits(t), "<ok1@example.com>", "<ok2@example.com>")
	if ign := e.messages(t, "Fabu-Ignored"); len(ign) != 2 {
		t.Fatalf("ignored folder has %d mails, want the 2 failed ones", len(ign))
	}
}
