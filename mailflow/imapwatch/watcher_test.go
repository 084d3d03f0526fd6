package imapwatch

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/imaptest"
)

func TestNewMailDuringIdleIsHandled(t *testing.T) {
	e := newEnv(t, imaptest.Options{})
	o := e.options()
	r := e.start(t, o)
	e.probe.waitIdle(t, 1)

	uid := e.deliver(t, testMail("a1@example.com", "Re: approve release"))
	e.probe.waitMail(t, "<a1@example.com>", 1)

	rec := e.received(t, "<a1@example.com>")
	if rec.Verdict != "decided" || !rec.Processed || rec.UID != uid || rec.From != "Manager <mgr@example.com>" || rec.Release != "2026-12-03" {
		t.Fatalf("record = %+v", rec)
	}
	if c := e.cursor(t, o); c.LastUID != uid || c.UIDValidity == 0 {
		t.Fatalf("cursor = %+v, want LastUID %d", c, uid)
	}
	st := r.w.Status()
	if !st.Connected || st.Mode != "idle" || st.Counts["decided"] != 1 || st.LastEvent.IsZero() {
		t.Fatalf("status = %+v", st)
	}
	msgs := e.messages(t, "INBOX")
	if len(msgs) != 1 || !msgs[0].HasFlag(DefaultProcessedKeyword) || msgs[0].HasFlag(`\Seen`) {
		t.Fatalf("INBOX = %+v, want the mail flagged %s and not \\Seen (BODY.PEEK)", msgs, DefaultProcessedKeyword)
	}
	wantAudits(t, e.audits(t), "<a1@example.com>")
}

func TestMailWhileDownAndCursorAcrossRestart(t *testing.T) {
	e := newEnv(t, imaptest.Options{})
	o := e.options()
	e.deliver(t, testMail("d1@example.com", "approve"))
	e.deliver(t, testMail("d2@example.com", "hello"))

	r := e.start(t, o)
	e.probe.waitMail(t, "<d1@example.com>", 1)
	e.probe.waitMail(t, "<d2@example.com>", 1)
	e.probe.waitIdle(t, 1)
	r.stop(t)

	uid3 := e.deliver(t, testMail("d3@example.com", "approve again"))
	e.start(t, o)
	e.probe.waitMail(t, "<d3@example.com>", 1)
	e.probe.waitIdle(t, 2)

	wantAudits(t, e.audits(t), "<d1@example.com>", "<d2@example.com>", "<d3@example.com>")
	e.probe.mu.Lock()
	n := len(e.probe.mails)
	e.probe.mu.Unlock()
	if n != 3 {
		t.Fatalf("%d mails recorded, want 3 (nothing twice after the restart)", n)
	}
	if c := e.cursor(t, o); c.LastUID != uid3 {
		t.Fatalf("cursor = %+v, want LastUID %d", c, uid3)
	}
}

func TestReconnectAfterServerDropsConnectionMidIdle(t *testing.T) {
	e := newEnv(t, imaptest.Options{})
	e.start(t, e.options())
	e.probe.waitIdle(t, 1)

	if n := e.srv.DropConnections(); n == 0 {
		t.Fatal("no connection to drop")
	}
	e.deliver(t, testMail("r1@example.com", "approve"))
	e.probe.waitMail(t, "<r1@example.com>", 1)
	e.probe.mu.Lock()
	connects, retries := e.probe.connects, len(e.probe.retries)
	e.probe.mu.Unlock()
	if connects < 2 || retries < 1 {
		t.Fatalf("connects = %d, retries = %d: want a reconnect", connects, retries)
	}
	wantAudits(t, e.audits(t), "<r1@example.com>")
}

func TestUIDValidityChangeRescansWithoutReprocessing(t *testing.T) {
	e := newEnv(t, imaptest.Options{})
	o := e.options()
	a, b := testMail("v1@example.com", "approve").Bytes(), testMail("v2@example.com", "hi").Bytes()
	e.deliverTo(t, "INBOX", a)
	e.deliverTo(t, "INBOX", b)
	e.start(t, o)
	e.probe.waitMail(t, "<v1@example.com>", 1)
	e.probe.waitMail(t, "<v2@example.com>", 1)
	e.probe.waitIdle(t, 1)
	before := e.cursor(t, o)

	// The server is rebuilt: same mail, new UIDs, new UIDVALIDITY.
	validity, err := e.srv.RecreateMailbox(testUser, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	e.deliverTo(t, "INBOX", a)
	e.deliverTo(t, "INBOX", b)
	uid3 := e.deliver(t, testMail("v3@example.com", "approve"))

	e.probe.waitMail(t, "<v3@example.com>", 1)
	e.probe.waitMail(t, "<v1@example.com>", 2)
	e.probe.waitMail(t, "<v2@example.com>", 2)
	wantAudits(t, e.audits(t), "<v1@example.com>", "<v2@example.com>", "<v3@example.com>")

	after := e.cursor(t, o)
	if after.UIDValidity != validity || after.UIDValidity == before.UIDValidity || after.LastUID != uid3 {
		t.Fatalf("cursor before %+v, after %+v; want UIDVALIDITY %d and LastUID %d", before, after, validity, uid3)
	}
	e.probe.mu.Lock()
	defer e.probe.mu.Unlock()
	for _, id := range []string{"<v1@example.com>", "<v2@example.com>"} {
		recs := e.probe.recorded(id)
		if recs[1].Verdict != ledger.VerdictDuplicate {
			t.Errorf("%s seen again after the rescan: verdict %q, want duplicate", id, recs[1].Verdict)
		}
	}
	// Same bytes as the approved original: it keeps its disposition.
	if r := e.probe.recorded("<v1@example.com>")[1]; !r.Processed {
		t.Errorf("re-seen approved mail not treated as processed: %+v", r)
	}
}

func TestSameMessageDeliveredTwiceIsHandledOnce(t *testing.T) {
	e := newEnv(t, imaptest.Options{})
	e.start(t, e.options())
	e.probe.waitIdle(t, 1)
	raw := testMail("twice@example.com", "approve").Bytes()
	uid1 := e.deliverTo(t, "INBOX", raw)
	uid2 := e.deliverTo(t, "INBOX", raw)
	e.probe.waitMail(t, "<twice@example.com>", 2)

	wantAudits(t, e.audits(t), "<twice@example.com>")
	rec := e.received(t, "<twice@example.com>")
	if rec.UID != uid1 || rec.Verdict != "decided" || rec.DuplicateCount != 1 || len(rec.Duplicates) != 1 || rec.Duplicates[0].UID != uid2 {
		t.Fatalf("record = %+v, want the first UID %d decided and the second %d as a duplicate sighting", rec, uid1, uid2)
	}
	e.probe.mu.Lock()
	verdicts := []string{e.probe.mails[0].Verdict, e.probe.mails[1].Verdict}
	e.probe.mu.Unlock()
	if !slices.Equal(verdicts, []string{"decided", ledger.VerdictDuplicate}) {
		t.Fatalf("verdicts = %v", verdicts)
	}
}

func TestMailWithoutMessageIDGetsSyntheticKey(t *testing.T) {
	e := newEnv(t, imaptest.Options{})
	e.start(t, e.options())
	e.probe.waitIdle(t, 1)
	raw := testMail("", "approve, no id").Bytes()
	e.deliverTo(t, "INBOX", raw)
	key := "sha256:" + hashRaw(raw)
	e.probe.waitMail(t, key, 1)
	if rec := e.received(t, key); rec.Verdict != "decided" || rec.RawHash != hashRaw(raw) {
		t.Fatalf("record = %+v", rec)
	}
}

func TestOversizeMailIsRecordedNotDownloaded(t *testing.T) {
	e := newEnv(t, imaptest.Options{})
	o := e.options()
	o.MaxSize = 2000
	big := testMail("big@example.com", "approve with attachment")
	big.Body = strings.Repeat("0123456789abcdef\n", 400)
	bigUID := e.deliver(t, big)
	smallUID := e.deliver(t, testMail("small@example.com", "approve"))

	e.start(t, o)
	e.probe.waitMail(t, "<big@example.com>", 1)
	e.probe.waitMail(t, "<small@example.com>", 1)

	rec := e.received(t, "<big@example.com>")
	if rec.Verdict != ledger.VerdictTooLarge || rec.Size <= 2000 || rec.RawHash != "" || rec.Subject != "approve with attachment" || rec.From == "" {
		t.Fatalf("big mail record = %+v", rec)
	}
	if e.srv.BodyFetched(testUser, "INBOX", bigUID) {
		t.Fatal("the over-size mail's body was fetched")
	}
	if !e.srv.BodyFetched(testUser, "INBOX", smallUID) {
		t.Fatal("the small mail's body was not fetched (the log is broken)")
	}
	wantAudits(t, e.audits(t), "<small@example.com>")
}

func TestProcessedAndIgnoredFolders(t *testing.T) {
	tests := []struct {
		name string
		so   imaptest.Options
	}{
		{"MOVE", imaptest.Options{}},
		{"COPY+EXPUNGE fallback", imaptest.Options{NoMove: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.so, "Fabu-Ignored") // the processed folder is created by the watcher
			o := e.options()
			o.ProcessedFolder, o.IgnoredFolder = "Fabu-Processed", "Fabu-Ignored"
			e.deliver(t, testMail("f1@example.com", "approve"))
			e.deliver(t, testMail("f2@example.com", "out of office"))
			e.deliver(t, testMail("f2@example.com", "out of office")) // duplicate → ignored
			e.start(t, o)
			e.probe.waitMail(t, "<f1@example.com>", 1)
			e.probe.waitMail(t, "<f2@example.com>", 2)
			e.probe.waitIdle(t, 1)

			if inbox := e.messages(t, "INBOX"); len(inbox) != 0 {
				t.Fatalf("INBOX still has %d mails", len(inbox))
			}
			proc := e.messages(t, "Fabu-Processed")
			if len(proc) != 1 || !strings.Contains(string(proc[0].Raw), "f1@example.com") || !proc[0].HasFlag(DefaultProcessedKeyword) {
				t.Fatalf("processed folder = %+v", proc)
			}
			ign := e.messages(t, "Fabu-Ignored")
			if len(ign) != 2 || !strings.Contains(string(ign[0].Raw), "f2@example.com") {
				t.Fatalf("ignored folder has %d mails, want the two copies of f2", len(ign))
			}
		})
	}
}

func TestPollingWhenIdleIsNotUsed(t *testing.T) {
	tests := []struct {
		name    string
		so      imaptest.Options
		disable bool
	}{
		{"server without IDLE", imaptest.Options{NoIdle: true}, false},
		{"DisableIdle", imaptest.Options{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.so)
			o := e.options()
			o.DisableIdle = tc.disable
			r := e.start(t, o)
			e.probe.wait(t, "connected", func() bool { return e.probe.connects > 0 })
			e.deliver(t, testMail("p1@example.com", "approve"))
			e.probe.waitMail(t, "<p1@example.com>", 1)
			if st := r.w.Status(); st.Mode != "poll" {
				t.Fatalf("mode = %q, want poll", st.Mode)
			}
			e.probe.mu.Lock()
			idles := e.probe.idleCount
			e.probe.mu.Unlock()
			if idles != 0 {
				t.Fatalf("entered IDLE %d times, want polling only", idles)
			}
		})
	}
}

func TestIdleRestartCatchesMissedUpdates(t *testing.T) {
	e := newEnv(t, imaptest.Options{SilentIdle: true})
	o := e.options()
	o.IdleRestart = 200 * time.Millisecond
	e.start(t, o)
	e.probe.waitIdle(t, 1)
	e.deliver(t, testMail("m1@example.com", "approve"))
	// IDLE says nothing; only the periodic restart finds the mail.
	e.probe.waitMail(t, "<m1@example.com>", 1)
	e.probe.waitIdle(t, 2)
}

func TestFirstStartReadsOnlyTheRescanWindow(t *testing.T) {
	tests := []struct {
		name      string
		all       bool
		wantAudit []string
	}{
		{"window", false, []string{"<new@example.com>"}},
		{"RescanAll", true, []string{"<old@example.com>", "<new@example.com>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, imaptest.Options{})
			o := e.options()
			o.RescanWindow, o.RescanAll = 7*24*time.Hour, tc.all
			if _, err := e.srv.AppendAt(testUser, "INBOX", testMail("old@example.com", "approve").Bytes(), time.Now().AddDate(0, 0, -30)); err != nil {
				t.Fatal(err)
			}
			newUID := e.deliver(t, testMail("new@example.com", "approve"))
			e.start(t, o)
			e.probe.waitMail(t, "<new@example.com>", 1)
			e.probe.waitIdle(t, 1)
			wantAudits(t, e.audits(t), tc.wantAudit...)
			if c := e.cursor(t, o); c.LastUID != newUID {
				t.Fatalf("cursor = %+v, want LastUID %d (the old mail is behind it)", c, newUID)
			}
		})
	}
}

func TestSmallBatchesProcessEverythingOnce(t *testing.T) {
	e := newEnv(t, imaptest.Options{})
	o := e.options()
	o.BatchSize, o.BatchBytes = 3, 600 // every mail is ~300 bytes
	var ids []string
	for i := 0; i < 11; i++ {
		id := fmt.Sprintf("b%d@example.com", i)
		e.deliver(t, testMail(id, "approve"))
		ids = append(ids, "<"+id+">")
	}
	e.start(t, o)
	for _, id := range ids {
		e.probe.waitMail(t, id, 1)
	}
	wantAudits(t, e.audits(t), ids...)
	if c := e.cursor(t, o); c.LastUID != 11 {
		t.Fatalf("cursor = %+v, want LastUID 11", c)
	}
}
