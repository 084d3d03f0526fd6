package main

// The week with the mail servers misbehaving: Postfix down during
// Friday's cut, Dovecot restarted while fabu idles, fabu's mailbox
// recreated with a new UIDVALIDITY, and a second fabu started on the same
// store.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// imapRetryLine is the IMAP watcher's own log line for a lost session
// (the daemon's observer logs each one a second time, without
// component=imap).
const imapRetryLine = `msg="IMAP session failed; reconnecting" part=imap component=imap`

// faultResult is what one injected fault showed.
type faultResult struct {
	name     string
	ok       bool
	problems []string
}

func (f *faultResult) fail(format string, args ...any) {
	f.ok = false
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

// testE2EFaults runs one week with the faults injected at their moments
// and reports one row per fault.
func testE2EFaults(t *testing.T, bin string, table *reliabilityTable) {
	lab := e2eLab(t)
	// IMAP with STARTTLS here (the clean week and the kill weeks use
	// implicit TLS).
	e := newE2EEnv(t, bin, lab, e2eSpeed, e2eConfig{IMAPTLS: "starttls"})
	e.dumpOnFailure()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e.importLedger(ctx)
	byTester := e.releaseEntries(ctx)

	smtp := &faultResult{name: "SMTP server (Postfix) down during Friday's cut, back 5 h later (simulated)", ok: true}
	lock := &faultResult{name: "a second fabu started on the same store", ok: true}
	dovecot := &faultResult{name: "Dovecot restarted while fabu idles (IDLE), then a reply arrives", ok: true}
	uidv := &faultResult{name: "fabu's mailbox recreated (new UIDVALIDITY) with the read replies put back", ok: true}

	if err := lab.StopSMTP(); err != nil {
		t.Fatal(err)
	}
	e.startReady(ctx)
	e.secondFabu(ctx, lock)

	hooks := weekHooks{beforeStep: func(ctx context.Context, step string) error {
		switch step {
		case "testlist":
			return e.smtpOutage(ctx, smtp)
		case "sit-1":
			return e.restartDovecot(ctx, dovecot)
		case "preprod":
			return e.recreateMailbox(ctx, uidv)
		}
		return nil
	}}
	weekErr := e.driveWeek(ctx, byTester, hooks)
	if weekErr != nil {
		t.Error(weekErr)
	}
	var out weekOutcome
	if weekErr == nil {
		out = e.finishWeek(ctx)
		out.report(t)
	}
	// Nothing read twice after the mailbox came back with new UIDs: every
	// reply that was put back was seen again and skipped by Message-ID.
	if snap, err := e.snapshot(); err == nil {
		for _, mid := range e.putBack {
			if r, ok := snap.Received[mid]; !ok || r.DuplicateCount == 0 {
				uidv.fail("reply %s put back into the recreated mailbox was not seen as already read (record %v)", mid, ok)
			}
		}
	}
	weekOK := weekErr == nil && out.ok()
	for _, f := range []*faultResult{smtp, lock, dovecot, uidv} {
		for _, p := range f.problems {
			t.Errorf("%s: %s", f.name, p)
		}
		survived := 0
		if f.ok && weekOK {
			survived = 1
		}
		row := reliabilityRow{Fault: f.name, Trials: 1, Survived: survived, Lost: lostSummary(out.Mail),
			Duplicates: dupSummary(out.Mail), Decisions: decisionSummary(out.Decisions)}
		if f == lock {
			row.Lost, row.Duplicates, row.Decisions = "0 (it sent nothing)", "0", "0 / 0 (it never started)"
		}
		table.add(row)
	}
}

// secondFabu starts `fabu run` on the store the daemon holds: it must
// exit non-zero within 2 s saying the store is in use.
func (e *e2eEnv) secondFabu(ctx context.Context, f *faultResult) {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	began := time.Now()
	_, errOut, code := e.cli(cctx, "run")
	took := time.Since(began)
	e.t.Logf("second fabu run: exit %d after %s: %s", code, took.Round(time.Millisecond), strings.TrimSpace(errOut))
	if code == 0 {
		f.fail("the second fabu exited 0")
	}
	if !strings.Contains(errOut, "in use by another fabu") {
		f.fail("the second fabu's error does not say the store is in use by another fabu: %q", errOut)
	}
	if took > 2*time.Second {
		f.fail("the second fabu took %s to give up, want at most 2s", took.Round(time.Millisecond))
	}
	if err := e.exitedEarly(); err != nil {
		f.fail("the first fabu died: %v", err)
	}
}

// smtpOutage: Postfix was stopped before fabu started. The cut at 17:00
// queues the test list; sending fails until Postfix returns at 22:00; then
// the test list arrives (and the admins' alert about the late mail).
func (e *e2eEnv) smtpOutage(ctx context.Context, f *faultResult) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cut := time.Date(2026, 11, 27, 17, 0, 0, 0, e2eZone)
	back := time.Date(2026, 11, 27, 22, 0, 0, 0, e2eZone)
	if err := e.waitSim(ctx, cut); err != nil {
		return fmt.Errorf("wait for the cut: %w", err)
	}
	// The worker must have tried and failed at least once.
	err := e2ePoll(ctx, 10*time.Millisecond, func() (bool, error) {
		return e.logCount("outbox: sending failed; will retry") > 0, e.exitedEarly()
	})
	if err != nil {
		return fmt.Errorf("no failed send logged while Postfix is down: %w", err)
	}
	if err := e.waitSim(ctx, back); err != nil {
		return fmt.Errorf("wait for Friday 22:00: %w", err)
	}
	if ms, err := e.inbox(ctx, pLinlin.Email()); err == nil && len(ms) > 0 {
		f.fail("%d mails arrived while Postfix was down", len(ms))
	}
	failures := e.logCount("outbox: sending failed; will retry")
	restarted := e.simNow()
	if err := e.lab.StartSMTP(ctx); err != nil {
		return err
	}
	e.t.Logf("Postfix back at simulated %s after %d failed sending rounds", e.simNow().Format("Mon 15:04"), failures)
	tl, err := e.waitStep(ctx, pLinlin, "testlist")
	if err != nil {
		f.fail("the test list never came after Postfix returned: %v", err)
		return err
	}
	// Written at the cut, sent once Postfix was back.
	if tl.Date.Before(cut) || tl.Date.After(restarted) {
		f.fail("the test list is dated %s, want the time of the cut (17:00, before Postfix came back at %s)", tl.Date, restarted)
	}
	// The admins are told about the mail that could not go out for hours.
	if _, err := e.waitStep(ctx, pAdmin, "alert"); err != nil {
		f.fail("no alert reached the admin: %v", err)
	}
	return nil
}

// restartDovecot: once 琳琳's first reply was handled and fabu went back
// to IDLE, Dovecot restarts; fabu must reconnect (and then read 小周's
// reply, which the week checks).
func (e *e2eEnv) restartDovecot(ctx context.Context, f *faultResult) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	first := e.replies.all()
	if len(first) == 0 {
		return fmt.Errorf("no reply before the Dovecot restart")
	}
	if err := e.waitHandled(ctx, first[0].MessageID); err != nil {
		return fmt.Errorf("琳琳's reply was not handled: %w", err)
	}
	// Nothing is due on Saturday: once the daemon has logged nothing for
	// a while, its watcher is back in IDLE.
	if err := e.waitSim(ctx, time.Date(2026, 11, 28, 12, 0, 0, 0, e2eZone)); err != nil {
		return err
	}
	if err := e.waitQuiet(ctx, 300*time.Millisecond); err != nil {
		return err
	}
	connected := e.logCount("IMAP connected")
	failed := e.logCount(imapRetryLine)
	if err := e.lab.RestartIMAP(ctx); err != nil {
		return err
	}
	err := e2ePoll(ctx, 10*time.Millisecond, func() (bool, error) {
		return e.logCount("IMAP connected") > connected, e.exitedEarly()
	})
	if err != nil {
		f.fail("fabu did not reconnect after the Dovecot restart: %v", err)
		return err
	}
	retries := e.logLines(imapRetryLine)
	switch {
	case len(retries) == failed:
		f.fail("fabu reconnected without noticing the lost session")
	case !strings.Contains(retries[failed], `err="IDLE`):
		// The session must have died in IDLE, not in some command.
		f.fail("the restart did not catch fabu in IDLE: %s", retries[failed])
	}
	e.t.Logf("fabu reconnected after the Dovecot restart at simulated %s", e.simNow().Format("Mon 15:04"))
	return nil
}

// recreateMailbox: after the UAT replies were handled, fabu's INBOX is
// emptied and given a new UIDVALIDITY, and the replies it already read
// are put back (a mailbox rebuilt or migrated). None may be acted on
// again; the 准生产 replies that follow must be.
func (e *e2eEnv) recreateMailbox(ctx context.Context, f *faultResult) error {
	for _, r := range e.replies.all() {
		if err := e.waitHandled(ctx, r.MessageID); err != nil {
			return fmt.Errorf("reply %s not handled before the mailbox is recreated: %w", r.MessageID, err)
		}
	}
	old, err := e.lab.Messages(ctx, e2eFabu, "INBOX")
	if err != nil {
		return err
	}
	before, err := e.lab.UIDValidity(ctx, e2eFabu, "INBOX")
	if err != nil {
		return err
	}
	if err := e.lab.RecreateMailbox(ctx, e2eFabu, "INBOX"); err != nil {
		return err
	}
	c, err := e.lab.DialIMAP(ctx, e2eFabu, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, m := range old {
		cmd := c.Append("INBOX", int64(len(m.Raw)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
		if _, err := cmd.Write(m.Raw); err != nil {
			return fmt.Errorf("put back %s: %w", m.MessageID, err)
		}
		if err := cmd.Close(); err != nil {
			return fmt.Errorf("put back %s: %w", m.MessageID, err)
		}
		if _, err := cmd.Wait(); err != nil {
			return fmt.Errorf("put back %s: %w", m.MessageID, err)
		}
		e.putBack = append(e.putBack, "<"+m.MessageID+">")
	}
	_ = c.Logout().Wait()
	after, err := e.lab.UIDValidity(ctx, e2eFabu, "INBOX")
	if err != nil {
		return err
	}
	if after == before {
		return fmt.Errorf("UIDVALIDITY did not change (%d)", before)
	}
	e.t.Logf("fabu's INBOX recreated at simulated %s: UIDVALIDITY %d → %d, %d replies put back",
		e.simNow().Format("Mon 15:04"), before, after, len(old))
	// fabu must notice the new UIDVALIDITY and rescan (skipping by
	// Message-ID what it has read).
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = e2ePoll(wctx, 10*time.Millisecond, func() (bool, error) {
		return e.logCount("mailbox UIDVALIDITY changed") > 0, e.exitedEarly()
	})
	if err != nil {
		f.fail("fabu did not notice the new UIDVALIDITY: %v", err)
		return err
	}
	e.t.Logf("fabu rescanned the recreated mailbox at simulated %s (%d IMAP reconnects so far)",
		e.simNow().Format("Mon 15:04"), e.logCount(imapRetryLine))
	return nil
}
