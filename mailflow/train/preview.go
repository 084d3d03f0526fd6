package train

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // GB18030 etc. for reading back
	"github.com/fabu-team/fabu/ledger"
)

// PreviewMail is one mail a step would send.
type PreviewMail struct {
	Name    string // file stem: <release>-<step>[-<n>]
	Step    string
	Kind    string // template name
	Subject string
	To      []string // envelope recipients
	Raw     []byte   // the complete .eml
	HTML    string   // the HTML part
}

// PreviewSteps lists the step names Preview accepts: the scheduled steps
// (with the configured reminder names) and the mails replies cause.
func (t *Train) PreviewSteps() []string {
	out := []string{"testlist", "cut"}
	for _, r := range t.Options.Reminders {
		out = append(out, r.Name)
	}
	for _, env := range t.envs() {
		out = append(out, "remind-"+env)
	}
	return append(out, "report", "escalate", "approved", "receipt", "vote", "rejected", "released", "clarify", "cannotuse",
		"outdated", "ooo", "empty", "alert")
}

var errRollback = errors.New("preview: roll back")

// Preview renders the mails that step would send for release, inside a
// store transaction that is rolled back: nothing is stored, nothing is
// sent. A release that does not exist is cut first (inside the same
// transaction), so the test list shows the entries development has
// finished now; with none, the test list says there is nothing to test.
// Steps that answer a reply (receipt, clarify, …) use the first configured
// manager (ops for released) as the replying person. A mail already in
// the outbox is shown as it was queued.
func (t *Train) Preview(step, release string) ([]PreviewMail, error) {
	if err := ledger.ValidReleaseName(release); err != nil {
		return nil, err
	}
	var mails []PreviewMail
	err := t.Store.Update(func(tx *ledger.Tx) error {
		qs, err := t.previewTx(tx, step, release)
		if err != nil {
			return err
		}
		for i, q := range qs {
			name := release + "-" + step
			if i > 0 {
				name = fmt.Sprintf("%s-%d", name, i+1)
			}
			pm := PreviewMail{Name: name, Step: q.mail.Step, Kind: q.mail.Kind, Subject: q.mail.Subject, Raw: q.raw}
			for _, r := range q.mail.Recipients {
				pm.To = append(pm.To, r.Addr)
			}
			if pm.HTML, err = htmlPart(q.raw); err != nil {
				return fmt.Errorf("preview %s: %w", name, err)
			}
			mails = append(mails, pm)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		return nil, err
	}
	return mails, nil
}

func (t *Train) previewTx(tx *ledger.Tx, step, release string) ([]*queued, error) {
	r, err := tx.Release(release)
	if errors.Is(err, ledger.ErrNotFound) {
		if step == "testlist" || step == "cut" {
			// The test list itself, even when nothing is finished (the
			// real cut would then send the empty-week note instead).
			r, _, err = tx.CutRelease(release, "preview")
		} else {
			r, _, err = t.cutTx(tx, release, LateInfo{})
		}
		if err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	manager, mgrErr := t.first(RoleManager)
	switch step {
	case "testlist", "cut":
		q, err := t.testListMail(tx, r, LateInfo{})
		return list(q), err
	case "empty":
		q, err := t.emptyMail(tx, r, LateInfo{})
		return list(q), err
	case "report":
		return t.reportTx(tx, release, LateInfo{}, true)
	case "escalate":
		return t.escalateTx(tx, release, LateInfo{}, true)
	case "approved", "receipt", "rejected":
		if mgrErr != nil {
			return nil, mgrErr
		}
		d := ledger.Decision{Who: manager.Name, Email: manager.Email, Role: RoleManager, At: tx.Now(),
			MessageID: "preview-reply@fabu.invalid", Words: t.word("同意", "approve")}
		var qs []*queued
		if step == "rejected" {
			d.Words, d.Reason = t.word("驳回：预览的原因", "reject: the reason, as a preview"), t.word("预览的原因", "the reason, as a preview")
			qs, err = t.rejectTx(tx, release, d, true)
		} else {
			qs, err = t.approveTx(tx, release, d, true)
		}
		if err != nil || step != "receipt" {
			return qs, err
		}
		return slices.DeleteFunc(qs, func(q *queued) bool { return q.mail.Step != StepReceipt }), nil
	case "vote":
		if mgrErr != nil {
			return nil, mgrErr
		}
		return t.voteTx(tx, release, ledger.Decision{Who: manager.Name, Email: manager.Email, Role: RoleManager, At: tx.Now(),
			MessageID: "preview-reply@fabu.invalid", Words: t.word("同意", "approve"), Verdict: ledger.VerdictApprove}, 1, 2, true)
	case "released":
		ops, err := t.first(RoleOps)
		if err != nil {
			return nil, err
		}
		return t.releasedTx(tx, release, ledger.Decision{Who: ops.Name, Email: ops.Email, Role: RoleOps, At: tx.Now(),
			MessageID: "preview-reply@fabu.invalid", Words: t.word("已发版", "done")}, true)
	case "clarify", "cannotuse", "outdated", "ooo", "relay":
		if mgrErr != nil {
			return nil, mgrErr
		}
		ref := ReplyRef{From: manager.Email, Name: manager.Name, Subject: t.word("回复：测试完成报告", "Re: test-complete report"),
			Date: tx.Now(), MessageID: "preview-reply@fabu.invalid", Excerpt: t.word("看一下再说", "let me have a look"), Step: StepReport, Role: RoleManager}
		switch step {
		case "clarify":
			return t.clarifyTx(tx, release, ref, t.word("没有看出是同意还是驳回", "neither an approval nor a rejection"))
		case "cannotuse":
			return t.cannotUseTx(tx, release, ref, t.word("该期次已经审批", "the release has already been decided"))
		case "outdated":
			return t.outdatedTx(tx, release, ref)
		}
		return t.relayTx(tx, release, ref, t.word("本人休假中，急事请联系副经理。", "I am out of the office."), true)
	case "alert":
		m := &ledger.OutboxMail{ID: "preview", MessageID: "fabu.preview@fabu.invalid", Release: release, Step: StepTestList,
			Subject: t.word("【fabu】", "[fabu] ") + release, Created: tx.Now(), Attempts: 7, LastError: "451 4.3.0 try again later",
			Recipients: []ledger.OutboxRecipient{{Addr: "someone@example.com", State: ledger.RcptPending}}}
		ok, err := t.EnqueueAlert(tx, m)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("preview alert: nobody has the role %s", RoleAdmin)
		}
		all, err := tx.OutboxMails()
		return slices.DeleteFunc(wrap(tx, all), func(q *queued) bool { return q.mail.AlertOf != "preview" }), err
	}
	for _, rm := range t.Options.Reminders {
		if rm.Name == step {
			return t.remindTx(tx, release, step, rm.Env, rm.Note, LateInfo{}, true)
		}
	}
	for _, env := range t.envs() {
		if strings.EqualFold(step, "remind-"+env) {
			return t.remindTx(tx, release, step, env, "", LateInfo{}, true)
		}
	}
	return nil, fmt.Errorf("preview: unknown step %q (known: %s)", step, strings.Join(t.PreviewSteps(), ", "))
}

func wrap(tx *ledger.Tx, ms []*ledger.OutboxMail) []*queued {
	var out []*queued
	for _, m := range ms {
		raw, err := tx.OutboxRaw(m.ID)
		if err == nil {
			out = append(out, &queued{mail: m, raw: raw})
		}
	}
	return out
}

// first returns the first configured person with role.
func (t *Train) first(role string) (Person, error) {
	for _, p := range t.People {
		if p.Has(role) {
			return p, nil
		}
	}
	return Person{}, fmt.Errorf("preview needs a person with the role %s in the configuration", role)
}

// htmlPart returns the decoded text/html part of a message ("" if none).
func htmlPart(raw []byte) (string, error) {
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) {
		return "", err
	}
	var html string
	err = e.Walk(func(path []int, part *message.Entity, err error) error {
		if err != nil {
			return err
		}
		ct, _, _ := part.Header.ContentType()
		if ct == "text/html" && html == "" {
			b, err := io.ReadAll(part.Body)
			if err != nil {
				return err
			}
			html = string(b)
		}
		return nil
	})
	return html, err
}
