package main

// The week as the people live it: they read fabu's mail in their
// mailboxes and answer it from their own mail clients.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// weekHooks let a scenario inject faults into the week.
type weekHooks struct {
	// afterReply runs after each reply was submitted (kill trials).
	afterReply func(rec replyRecord)
	// beforeStep runs before the people answer the mail of step
	// ("testlist", "sit-1", "uat", "preprod", "report", "approved").
	beforeStep func(ctx context.Context, step string) error
}

// releaseEntries reads the entries development has finished (the ones the
// Friday cut takes) and their test leads, with `fabu ledger list --json`.
func (e *e2eEnv) releaseEntries(ctx context.Context) map[string][]string {
	e.t.Helper()
	out := e.mustCLI(ctx, "ledger", "list", "--json")
	var entries []struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		TestLead string `json:"test_lead"`
	}
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		e.t.Fatalf("ledger list --json: %v\n%s", err, out)
	}
	byTester := map[string][]string{}
	for _, en := range entries {
		if en.Status == "dev_done" {
			byTester[en.TestLead] = append(byTester[en.TestLead], en.ID)
		}
	}
	if len(byTester[pLinlin.Name]) == 0 || len(byTester[pXiaozhou.Name]) == 0 {
		e.t.Fatalf("the sample ledger should give both testers finished entries, got %v", byTester)
	}
	return byTester
}

// resultLines writes one "ID 通过" line per entry.
func resultLines(ids []string) string {
	lines := make([]string, len(ids))
	for i, id := range ids {
		lines[i] = id + " 通过"
	}
	return strings.Join(lines, "\n")
}

// driveWeek plays the people's part of one week, from the test list to
// ops' confirmation, and returns when the released note reached the team.
//
//	Fri 17:00 test list   琳琳 answers SIT results (Outlook)
//	Mon 09:00 sit-1       小周 answers SIT results (QQ Mail)
//	Wed 09:00 uat         琳琳 (iPhone) and 小周 (Coremail) answer UAT results
//	Thu 09:00 preprod     琳琳 (Outlook) and 小周 (QQ Mail) answer 准生产 results
//	report                李经理 approves (iPhone), answering whatever asks him
//	approved              运维组 confirms the release (QQ Mail)
func (e *e2eEnv) driveWeek(ctx context.Context, byTester map[string][]string, h weekHooks) error {
	before := func(step string) error {
		if h.beforeStep != nil {
			return h.beforeStep(ctx, step)
		}
		return nil
	}
	answer := func(p e2ePerson, m *e2eMail, client, body string, rec replyRecord) error {
		if _, err := e.reply(ctx, p, m, client, body, rec); err != nil {
			return err
		}
		if h.afterReply != nil {
			h.afterReply(rec)
		}
		return nil
	}
	results := func(p e2ePerson, step, env, client string, body func(ids []string) string) error {
		ids := byTester[p.Name]
		m, err := e.waitStep(ctx, p, step)
		if errors.Is(err, errSkipped) && step != "testlist" {
			// fabu skipped the reminder (its day had passed when fabu
			// could run it: on the fast clock, a restart on a loaded
			// machine can take a simulated day). The tester answers the
			// test list instead, naming the environment on each line.
			e.t.Logf("no %s reminder (%v): %s answers the test list with %s results", step, err, p.Name, env)
			if m, err = e.waitStep(ctx, p, "testlist"); err != nil {
				return err
			}
			lines := make([]string, len(ids))
			for i, id := range ids {
				lines[i] = env + " " + id + " 通过"
			}
			return answer(p, m, client, strings.Join(lines, "\n"), replyRecord{Kind: "results", Entries: ids, Env: env})
		}
		if err != nil {
			return err
		}
		return answer(p, m, client, body(ids), replyRecord{Kind: "results", Entries: ids, Env: env})
	}
	lin, zhou := pLinlin, pXiaozhou

	if err := before("testlist"); err != nil {
		return err
	}
	if err := results(lin, "testlist", "SIT", clientOutlook, func(ids []string) string {
		return "各位好：\n\n" + resultLines(ids) + "\n\n琳琳"
	}); err != nil {
		return err
	}
	if err := before("sit-1"); err != nil {
		return err
	}
	if err := results(zhou, "sit-1", "SIT", clientQQ, resultLines); err != nil {
		return err
	}
	if err := before("uat"); err != nil {
		return err
	}
	if err := results(lin, "uat", "UAT", clientIPhone, func(ids []string) string {
		return strings.Join(ids, "、") + " 通过"
	}); err != nil {
		return err
	}
	if err := results(zhou, "uat", "UAT", clientCoremail, func(ids []string) string {
		lines := make([]string, len(ids))
		for i, id := range ids {
			lines[i] = "UAT " + id + " 通过"
		}
		return strings.Join(lines, "\n")
	}); err != nil {
		return err
	}
	if err := before("preprod"); err != nil {
		return err
	}
	if err := results(lin, "preprod", "准生产", clientOutlook, func(ids []string) string {
		return "准生产环境：\n" + resultLines(ids)
	}); err != nil {
		return err
	}
	if err := results(zhou, "preprod", "准生产", clientQQ, resultLines); err != nil {
		return err
	}
	if err := before("report"); err != nil {
		return err
	}
	if err := e.approve(ctx, answer); err != nil {
		return err
	}
	if err := before("approved"); err != nil {
		return err
	}
	appr, err := e.waitStep(ctx, pOps, "approved")
	if err != nil {
		return err
	}
	if err := answer(pOps, appr, clientQQ, "已发版", replyRecord{Kind: "done"}); err != nil {
		return err
	}
	_, err = e.waitStep(ctx, pLinlin, "released")
	return err
}

// decisionSteps are the mails that ask the managers for a decision.
var decisionSteps = []string{"report", "escalate", "outdated"}

// approve answers, as the manager, the mail that asks him to decide —
// the report, or an escalation if that came before he answered — once,
// and then each outdated-report notice fabu sends back (the results
// changed after the report), until ops have the approved release. A
// second answer to a release he already approved would be refused (and
// answered with a note), as it should: he does not send one.
func (e *e2eEnv) approve(ctx context.Context, answer func(e2ePerson, *e2eMail, string, string, replyRecord) error) error {
	var lastUID uint32 // of the mail last answered; 0 before the first answer
	var lastErr error
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	ops, mgr := e.poller(pOps.Email()), e.poller(pManager.Email())
	err := e2ePoll(ctx, 100*time.Millisecond, func() (bool, error) {
		appr, err := ops.find(ctx, "approved")
		if err != nil {
			lastErr = err
			return false, nil
		}
		if len(appr) > 0 {
			return true, nil
		}
		asks, err := mgr.find(ctx, decisionSteps...)
		if err != nil {
			lastErr = err
			return false, nil
		}
		var ask *e2eMail
		for _, m := range asks {
			if m.UID <= lastUID {
				continue
			}
			switch {
			case m.Step == "outdated" && lastUID > 0, (m.Step == "report" || m.Step == "escalate") && lastUID == 0:
				ask = m // the newest one
			}
		}
		if ask == nil {
			return false, nil
		}
		lastUID = ask.UID
		return false, answer(pManager, ask, clientIPhone, "同意", replyRecord{Kind: "approve"})
	})
	if err != nil {
		return fmt.Errorf("manager's approval (simulated time %s): %w (last IMAP error: %v)", e.simNow().Format("Mon 01-02 15:04"), err, lastErr)
	}
	return nil
}

// waitHandled waits (up to a minute) until the running daemon's log says
// its IMAP watcher read and recorded the reply with Message-ID mid.
func (e *e2eEnv) waitHandled(ctx context.Context, mid string) error {
	id := "<" + strings.Trim(mid, "<>") + ">"
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return e2ePoll(ctx, 20*time.Millisecond, func() (bool, error) {
		if err := e.exitedEarly(); err != nil {
			return false, err
		}
		e.mu.Lock()
		path := e.lastLog
		e.mu.Unlock()
		b, _ := os.ReadFile(path)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, `msg="mail read"`) && strings.Contains(l, "message_id="+id) {
				return true, nil
			}
		}
		return false, nil
	})
}
