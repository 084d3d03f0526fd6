package intake

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/reply"
	"github.com/fabu-team/fabu/mailflow/train"
)

// dispatch handles a matched reply from a known, authenticated person
// that is not an automatic reply.
func (c *call) dispatch() (string, string, error) {
	rel, err := c.tx.Release(c.m.Release)
	if errors.Is(err, ledger.ErrNotFound) {
		return VerdictIgnored, fmt.Sprintf("the reply names release %q, which the store does not have", c.m.Release), nil
	}
	if err != nil {
		return "", "", err
	}
	c.rel = rel
	ask := asks(c.m.Role)
	var tr testerReading
	if ask == askResults {
		tr = c.readResults()
		c.hd.Intent = string(tr.kind)
	}
	if ask == askNothing {
		return c.noAnswerAsked()
	}
	a, err := c.h.authorize(c.tx, c.p, c.m.Role, rel)
	if err != nil {
		return "", "", err
	}
	c.hd.MayAnswer, c.hd.Authority = a.ok, a.why
	if !a.ok {
		reason := fmt.Sprintf("%s asked for the %s's answer and %s: nothing decided", c.m.Step, c.m.Role, a.why)
		if actionable(c.hd.Intent) {
			if err := c.notify(rel.Name, a.problem); err != nil {
				return "", "", err
			}
			return VerdictRefused, reason + "; the sender was told why", nil
		}
		return VerdictIgnored, reason + " (and the reply decides nothing anyway)", nil
	}
	switch ask {
	case askDecision:
		return c.managerReply(a.role)
	case askResults:
		return c.testerReply(tr)
	default:
		return c.opsReply()
	}
}

func (c *call) noAnswerAsked() (string, string, error) {
	c.hd.Authority = "the mail answered asks for no reply"
	what := c.m.Kind
	if what == "" {
		what = c.m.Step
	}
	reason := fmt.Sprintf("a reply to the %s mail of release %s, which asks for no answer", what, c.m.Release)
	if actionable(c.hd.Intent) {
		problem := c.h.say("您回复的邮件不需要回复；审批请回复“测试完成报告”，测试结果请回复“提测清单”或提醒邮件，发版完成请回复“发版通知”",
			"the mail you answered needs no reply; to decide, answer the test-complete report; results go to the test list or a reminder; ops answer the release mail")
		if err := c.notify(c.m.Release, problem); err != nil {
			return "", "", err
		}
		return VerdictRefused, reason + "; the sender was told where to reply", nil
	}
	return VerdictIgnored, reason, nil
}

// refuseState refuses a reply to a release whose state takes no more
// answers; only a reply that tried to decide or report is answered.
func (c *call) refuseState() (string, string, error) {
	reason := fmt.Sprintf("release %s is %s: the reply changes nothing", c.rel.Name, c.rel.State)
	if !actionable(c.hd.Intent) {
		return VerdictIgnored, reason, nil
	}
	if err := c.notify(c.rel.Name, c.h.stateProblem(c.rel)); err != nil {
		return "", "", err
	}
	return VerdictRefused, reason + "; the sender was told why", nil
}

func (c *call) decision(role, verdict string) ledger.Decision {
	return ledger.Decision{Who: c.p.Name, Email: c.hd.From, Role: role, At: c.tx.Now(), MessageID: bareID(c.in.MessageID),
		Words: clip(strings.TrimSpace(c.e.NewText), 500), Verdict: verdict, Reason: c.e.Reason, RawHash: c.in.RawHash}
}

// managerReply handles a manager's (or admitted deputy's) answer to the
// report: approve, reject, a partial approval, or anything else
// (clarification).
func (c *call) managerReply(role string) (string, string, error) {
	kind := reply.Kind(c.e.Intent)
	decisive := kind == reply.IntentApprove || kind == reply.IntentPartial || kind == reply.IntentReject
	if c.rel.State != ledger.ReleaseAwaitingApproval {
		if !decisive {
			return VerdictIgnored, fmt.Sprintf("a %s reply to release %s, which is %s: nothing to do", kind, c.rel.Name, c.rel.State), nil
		}
		return c.refuseState()
	}
	if !decisive {
		understood := c.h.say("没有看出是同意还是驳回（"+c.e.Why+"）", "neither a clear approval nor a rejection ("+c.e.Why+")")
		switch kind {
		case reply.IntentResults:
			understood = c.h.say("看起来是测试结果，而这封邮件需要的是审批意见", "it reads as test results, but this mail asks for a decision")
		case reply.IntentDone:
			understood = c.h.say("看起来是“已发版”，而这封邮件需要的是审批意见", "it reads as \"released\", but this mail asks for a decision")
		}
		return c.clarify(understood)
	}
	current, err := c.h.tr.CurrentReportDigest(c.tx, c.rel.Name)
	if err != nil {
		return "", "", err
	}
	if !c.m.Claims.DigestMatches(current) {
		if err := c.h.tr.RefuseOutdated(c.tx, c.rel.Name, c.ref()); err != nil {
			if errors.Is(err, train.ErrUnknownPerson) {
				return VerdictRefused, "a decision on an outdated report from " + c.p.Name + ", whom the train cannot mail", nil
			}
			return "", "", stepError("mail the current report", err)
		}
		c.hd.Mailed = true
		c.hd.act("mailed %s the current report: the one answered is outdated", c.p.Name)
		return VerdictOutdated, fmt.Sprintf("%s by %s answers an outdated report of %s (the list or the results changed since): nothing decided; the current report was mailed",
			kind, c.p.Name, c.rel.Name), nil
	}
	if kind == reply.IntentReject {
		return c.decide(c.decision(role, ledger.VerdictReject), current, nil)
	}
	excluded := c.e.Excluded
	if kind == reply.IntentPartial {
		var unknown []string
		for _, id := range excluded {
			if !c.rel.Holds(id) {
				unknown = append(unknown, id)
			}
		}
		if len(unknown) > 0 {
			return c.clarify(c.h.say(fmt.Sprintf("要排除的编号 %s 不在本期清单中", strings.Join(unknown, "、")),
				fmt.Sprintf("the entries %s to leave out are not in this release", strings.Join(unknown, ", "))))
		}
		if len(excluded) >= len(c.rel.Entries) {
			return c.clarify(c.h.say("排除这些编号后本期没有可发版的内容；如不同意发版，请回复“驳回 原因”",
				"leaving those out leaves nothing to release; to reject, reply \"reject\" and the reason"))
		}
	}
	d := c.decision(role, ledger.VerdictApprove)
	if len(excluded) > 0 {
		d.Reason = c.h.say("除外："+strings.Join(excluded, "、"), "except "+strings.Join(excluded, ", "))
	}
	return c.decide(d, current, excluded)
}

// opsReply handles ops' answer to the release mail.
func (c *call) opsReply() (string, string, error) {
	kind := reply.Kind(c.e.Intent)
	if c.rel.State != ledger.ReleaseApproved {
		if kind != reply.IntentDone {
			return VerdictIgnored, fmt.Sprintf("a %s reply from ops to release %s, which is %s: nothing to do", kind, c.rel.Name, c.rel.State), nil
		}
		return c.refuseState()
	}
	if kind != reply.IntentDone {
		return c.clarify(c.h.say("没有看出是否已经发版（"+c.e.Why+"）", "it does not say clearly that the release is out ("+c.e.Why+")"))
	}
	d := c.decision(train.RoleOps, ledger.VerdictDone)
	if err := c.h.tr.Released(c.tx, c.rel.Name, d); err != nil {
		return "", "", stepError("mark release "+c.rel.Name+" released", err)
	}
	c.hd.Mailed = true
	c.hd.act("marked release %s released (entries 已上线 with today's date); mailed the team", c.rel.Name)
	return VerdictDecided, fmt.Sprintf("release %s confirmed released by %s", c.rel.Name, c.p.Name), nil
}

// autoReply handles an automatic reply: it never decides; a manager's
// out-of-office answer to the report is relayed to the other deciders,
// once per manager and release.
func (c *call) autoReply() (string, string, error) {
	reason := "automatic reply (" + c.e.AutoReplySignal + "): it never decides"
	if c.m.Release == "" || asks(c.m.Role) != askDecision || !c.p.Has(train.RoleManager) {
		return VerdictIgnored, reason, nil
	}
	rel, err := c.tx.Release(c.m.Release)
	if errors.Is(err, ledger.ErrNotFound) {
		return VerdictIgnored, reason, nil
	}
	if err != nil {
		return "", "", err
	}
	c.rel = rel
	if rel.State != ledger.ReleaseAwaitingApproval {
		return VerdictIgnored, fmt.Sprintf("%s; release %s is %s, nothing to relay", reason, rel.Name, rel.State), nil
	}
	email := c.p.Addresses[0]
	if prev, err := relayed(c.tx, rel.Name, email); err != nil {
		return "", "", err
	} else if prev != nil {
		return VerdictIgnored, fmt.Sprintf("%s; %s's out-of-office was already relayed for %s (%s)", reason, c.p.Name, rel.Name, prev.MessageID), nil
	}
	text := strings.TrimSpace(c.e.NewText)
	if text == "" {
		text = strings.TrimSpace(c.msg.TextBody)
	}
	if err := c.h.tr.RelayOutOfOffice(c.tx, rel.Name, c.ref(), clip(text, 500)); err != nil {
		if errors.Is(err, train.ErrUnknownPerson) {
			return VerdictIgnored, reason + "; the train does not know " + c.p.Name, nil
		}
		return "", "", stepError("relay the out-of-office reply", err)
	}
	if err := putRelay(c.tx, rel.Name, Relay{Manager: c.p.Name, Email: email, MessageID: bareID(c.in.MessageID), At: c.tx.Now()}); err != nil {
		return "", "", err
	}
	c.hd.Mailed = true
	c.hd.act("relayed %s's out-of-office to the deputies (or the other managers) with the report", c.p.Name)
	return VerdictRelayed, fmt.Sprintf("out-of-office reply from %s to the report of %s (%s): nothing decided; relayed to the other deciders",
		c.p.Name, rel.Name, c.e.AutoReplySignal), nil
}

// resultStates maps a reply outcome to a result state.
func resultState(outcome string) ledger.ResultState {
	if outcome == reply.OutcomeFail {
		return ledger.ResultFail
	}
	return ledger.ResultPass
}

// testerReply records a tester's results, or asks again.
func (c *call) testerReply(tr testerReading) (string, string, error) {
	open := c.rel.State == ledger.ReleaseOpen || c.rel.State == ledger.ReleaseAwaitingApproval
	if tr.kind != reply.IntentResults {
		if !open {
			return VerdictIgnored, fmt.Sprintf("a %s reply to release %s, which is %s: nothing to do", tr.kind, c.rel.Name, c.rel.State), nil
		}
		understood := c.h.say("没有看出测试结果（"+tr.why+"）", "no test results could be read ("+tr.why+")")
		if tr.kind != reply.IntentUnclear {
			understood = c.h.say("看起来是审批或发版意见，而这封邮件需要的是测试结果", "it reads as a decision, but this mail asks for test results")
		}
		return c.clarify(understood)
	}
	if !open {
		return c.refuseState()
	}
	var recorded []string
	var unknown []string
	for _, r := range tr.results {
		ids := []string{r.ID}
		if r.ID == "*" {
			ids = c.rel.Entries
		}
		for _, id := range ids {
			if !c.rel.Holds(id) {
				if !slices.Contains(unknown, id) {
					unknown = append(unknown, id)
				}
				continue
			}
			res := ledger.Result{Release: c.rel.Name, Entry: id, Env: r.env, State: resultState(r.Outcome), Note: clip(r.Note, 500),
				Who: c.p.Name, MessageID: bareID(c.in.MessageID)}
			if err := c.tx.RecordResult(res); err != nil {
				return "", "", fmt.Errorf("record result of %s: %w", id, err)
			}
			res.At = c.tx.Now()
			c.hd.Results = append(c.hd.Results, res)
			recorded = append(recorded, fmt.Sprintf("%s %s (%s)", id, res.State, r.env))
		}
	}
	if len(recorded) == 0 {
		return c.clarify(c.h.say(fmt.Sprintf("编号 %s 不在本期清单中，没有记录任何结果", strings.Join(unknown, "、")),
			fmt.Sprintf("the entries %s are not in this release; no result was recorded", strings.Join(unknown, ", "))))
	}
	c.hd.act("recorded %d results from %s: %s", len(recorded), c.p.Name, strings.Join(recorded, ", "))
	reason := fmt.Sprintf("%d results from %s recorded: %s", len(recorded), c.p.Name, strings.Join(recorded, ", "))
	if len(unknown) > 0 {
		understood := c.h.say(fmt.Sprintf("已记录 %d 条结果；编号 %s 不在本期清单中，没有记录", len(recorded), strings.Join(unknown, "、")),
			fmt.Sprintf("%d results were recorded; the entries %s are not in this release and were not", len(recorded), strings.Join(unknown, ", ")))
		if err := c.h.tr.Clarify(c.tx, c.rel.Name, c.ref(), understood); err != nil && !errors.Is(err, train.ErrUnknownPerson) {
			return "", "", stepError("mail a clarification", err)
		} else if err == nil {
			c.hd.Mailed = true
			c.hd.act("mailed %s that entries %s are not in the release", c.p.Name, strings.Join(unknown, ", "))
		}
		reason += "; not in the release: " + strings.Join(unknown, ", ")
	}
	if c.rel.State == ledger.ReleaseOpen {
		envs := c.h.envs()
		_, all, err := c.tx.EnvProgress(c.rel.Name, envs[len(envs)-1], envs)
		if err != nil {
			return "", "", err
		}
		if all {
			c.hd.AllPassed = c.rel.Name
			c.hd.act("every entry of %s passed %s: the report may go out early", c.rel.Name, envs[len(envs)-1])
			reason += "; every entry passed " + envs[len(envs)-1]
		}
	}
	return VerdictResults, clip(reason, 1000), nil
}
