package intake

import (
	"fmt"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/train"
)

// What a matched mail asks of its answer (by the role its token names).
const (
	askDecision = "decision" // managers (deputies): approve or reject
	askResults  = "results"  // testers and test leads: results per entry
	askDone     = "done"     // ops: the release is out
	askNothing  = ""         // receipts, notices: no answer expected
)

func asks(role string) string {
	switch role {
	case train.RoleManager, train.RoleDeputy:
		return askDecision
	case train.RoleTester, train.RoleTestLead:
		return askResults
	case train.RoleOps:
		return askDone
	}
	return askNothing
}

// authority tells whether p may answer a mail that asked role for an
// answer on rel. The role the person answers in comes back too (manager,
// deputy, tester, test_lead, ops). The token never grants anything: a
// reply forwarded to someone else is judged by the sender's own roles.
type authority struct {
	ok   bool
	role string
	why  string // plain words for the audit
	// problem are the words for the sender when refused.
	problem string
}

func (h *Handler) authorize(tx *ledger.Tx, p *Person, role string, rel *ledger.Release) (authority, error) {
	switch asks(role) {
	case askDecision:
		if p.Has(train.RoleManager) {
			return authority{ok: true, role: train.RoleManager, why: p.Name + " is a manager"}, nil
		}
		if p.Has(train.RoleDeputy) {
			if role == train.RoleDeputy {
				return authority{ok: true, role: train.RoleDeputy, why: p.Name + " is a deputy answering the relayed report"}, nil
			}
			if h.o.Deputy == DeputyAlways {
				return authority{ok: true, role: train.RoleDeputy, why: p.Name + " is a deputy (deputies decide like managers)"}, nil
			}
			rs, err := Relays(tx, rel.Name)
			if err != nil {
				return authority{}, err
			}
			if len(rs) > 0 {
				return authority{ok: true, role: train.RoleDeputy,
					why: fmt.Sprintf("%s is a deputy and %s's out-of-office was relayed", p.Name, rs[0].Manager)}, nil
			}
			return authority{why: p.Name + " is a deputy, and no manager's out-of-office was relayed for this release",
				problem: h.say("副审批人只有在经理不在（自动回复已转发）时才能审批本期",
					"a deputy may decide only while a manager is away (after the out-of-office reply was relayed)")}, nil
		}
		return authority{why: p.Name + " is not a manager",
			problem: h.say("只有经理可以审批或驳回本期发版，您的地址没有审批权限",
				"only managers may approve or reject the release; your address may not")}, nil
	case askResults:
		for _, r := range []string{train.RoleTester, train.RoleTestLead} {
			if p.Has(r) {
				return authority{ok: true, role: r, why: p.Name + " is a " + r}, nil
			}
		}
		return authority{why: p.Name + " is not a tester",
			problem: h.say("只有测试人员可以回复测试结果", "only testers may report test results")}, nil
	case askDone:
		if p.Has(train.RoleOps) {
			return authority{ok: true, role: train.RoleOps, why: p.Name + " is ops"}, nil
		}
		return authority{why: p.Name + " is not ops",
			problem: h.say("只有运维可以确认发版完成", "only ops may confirm that the release is out")}, nil
	}
	return authority{why: "the mail answered asks for no reply"}, nil
}

// stateProblem says, for the sender, why a release in its state takes no
// decision, results or confirmation any more.
func (h *Handler) stateProblem(rel *ledger.Release) string {
	last := func(verdict string) (string, string) {
		for i := len(rel.Decisions) - 1; i >= 0; i-- {
			if d := rel.Decisions[i]; d.Verdict == verdict {
				return d.Who, h.fmtTime(d.At)
			}
		}
		return "", ""
	}
	switch rel.State {
	case ledger.ReleaseApproved:
		who, at := last(ledger.VerdictApprove)
		return h.say(fmt.Sprintf("本期已于 %s 由 %s 审批同意，不再接受审批或测试结果", at, who),
			fmt.Sprintf("the release was approved by %s on %s; it takes no further decision or results", who, at))
	case ledger.ReleaseRejected:
		who, at := last(ledger.VerdictReject)
		return h.say(fmt.Sprintf("本期已于 %s 由 %s 驳回", at, who), fmt.Sprintf("the release was rejected by %s on %s", who, at))
	case ledger.ReleaseReleased:
		who, at := last(ledger.VerdictDone)
		return h.say(fmt.Sprintf("本期已于 %s 由 %s 确认发版", at, who), fmt.Sprintf("the release was confirmed out by %s on %s", who, at))
	case ledger.ReleaseClosed:
		return h.say("本期已关闭", "the release was closed")
	case ledger.ReleaseSkipped:
		return h.say("本期没有发版内容", "the release had nothing to release")
	case ledger.ReleaseOpen:
		return h.say("本期还在测试中，测试完成报告发出后才能审批", "the release is still in test; it can be decided once the test-complete report is out")
	case ledger.ReleaseAwaitingApproval:
		return h.say("本期正在等待经理审批，尚未发版", "the release is waiting for the managers' decision and is not out yet")
	}
	return string(rel.State)
}
