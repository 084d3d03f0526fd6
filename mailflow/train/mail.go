package train

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/outbox"
	"github.com/fabu-team/fabu/mailflow/token"
	"github.com/fabu-team/fabu/templates"
)

// mailSpec is one mail a step queues.
type mailSpec struct {
	kind    string // template name
	step    string // step name (Message-ID, headers, token)
	disc    string // discriminator for the Message-ID ("" for scheduled steps)
	release *ledger.Release
	relName string // release name when release is nil
	to, cc  []outbox.Address
	// role whose reply is expected; "" for mails that ask for none (no token).
	role      string
	digest    string // content digest the token binds
	data      *templates.Data
	attach    []outbox.Attachment
	inReplyTo string
	decision  bool   // asks a manager for a decision (lets OOF through)
	alertOf   string // for alerts: the outbox id reported
}

// queued is a mail a step queued (or found already queued).
type queued struct {
	mail    *ledger.OutboxMail
	raw     []byte
	created bool
}

// errNobody marks a mail that has no recipient (nobody holds the role).
var errNobody = errors.New("nobody to mail")

// enqueue renders sp and stores it in the outbox in tx. A mail already in
// the outbox (same id) is returned as it is. The release's thread gets the
// Message-ID (the caller stores the release).
func (t *Train) enqueue(tx *ledger.Tx, sp mailSpec) (*queued, error) {
	relName := sp.relName
	if sp.release != nil {
		relName = sp.release.Name
	}
	to := dedup(sp.to)
	cc := minus(dedup(sp.cc), to)
	all := append(append([]outbox.Address(nil), to...), cc...)
	if len(to) == 0 {
		to, cc = cc, nil
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%s mail of release %s: %w (configure people with the right role)", sp.kind, relName, errNobody)
	}
	rcpts := make([]string, len(all))
	for i, a := range all {
		rcpts[i] = a.Addr
	}
	from := t.Options.From
	id, mid := outbox.MailID(tx.TrainName(), relName, sp.step, sp.disc, rcpts, outbox.Domain(from.Addr))
	if m, err := tx.OutboxMail(id); err == nil {
		raw, err := tx.OutboxRaw(id)
		if err != nil {
			return nil, err
		}
		if sp.release != nil {
			sp.release.AddThread(mid)
		}
		return &queued{mail: m, raw: raw}, nil
	} else if !errors.Is(err, ledger.ErrNotFound) {
		return nil, err
	}
	now := t.now()
	d := sp.data
	d.Tag = ""
	var tok, short string
	replyTo := t.Options.ReplyTo
	if replyTo == "" {
		replyTo = from.Addr
	}
	if sp.role != "" {
		ttl := t.Options.TokenTTL
		if ttl <= 0 {
			ttl = 14 * 24 * time.Hour
		}
		tok = token.Sign(token.Claims{Train: tx.TrainName(), Release: relName, Step: sp.step, Role: sp.role,
			Digest: sp.digest, Expires: now.Add(ttl)}, t.Options.TokenSecret)
		short = token.Short(tok)
		if t.Options.PlusAddress {
			if plus, ok := token.PlusAddress(replyTo, tok); ok {
				replyTo = plus
			} else {
				t.log().Warn("train: the reply address is too long for a plus-address token; replies are matched by subject and References", "reply_to", replyTo)
			}
		}
		d.ReplyTo = replyTo
	}
	r, err := t.Templates.Render(sp.kind, d)
	if err != nil {
		return nil, err
	}
	subject := r.Subject
	if short != "" {
		subject += " [#" + short + "]"
	}
	var refs []string
	if tok != "" {
		refs = append(refs, "fabu-token."+tok+"@"+strings.ToLower(outbox.Domain(from.Addr)))
	}
	if sp.release != nil {
		refs = append(refs, sp.release.Thread...)
	}
	if sp.inReplyTo != "" {
		refs = append(refs, sp.inReplyTo)
	}
	raw, err := outbox.Compose(&outbox.Message{
		MessageID: mid, Date: now.In(t.loc()), From: from, ReplyTo: replyTo, To: to, Cc: cc,
		Subject: subject, Text: r.Text, HTML: r.HTML, Attachments: sp.attach,
		InReplyTo: sp.inReplyTo, References: refs, DecisionRequest: sp.decision,
		Train: tx.TrainName(), Release: relName, Step: sp.step,
	})
	if err != nil {
		return nil, err
	}
	m := &ledger.OutboxMail{ID: id, MessageID: mid, Release: relName, Step: sp.step, Kind: sp.kind, Role: sp.role,
		Token: tok, ShortToken: short, Digest: sp.digest, Subject: subject, From: from.Addr, AlertOf: sp.alertOf}
	for _, a := range rcpts {
		m.Recipients = append(m.Recipients, ledger.OutboxRecipient{Addr: a})
	}
	created, err := tx.Enqueue(m, raw)
	if err != nil {
		return nil, err
	}
	if sp.release != nil {
		sp.release.AddThread(mid)
	}
	return &queued{mail: m, raw: raw, created: created}, tx.Audit(ledger.AuditRecord{Actor: "train", Action: "mail.queued",
		Subject: mid, Detail: fmt.Sprintf("%s to %d recipients", sp.kind, len(rcpts)), Release: relName})
}

// skipNobody turns "nobody to mail" into a logged, audited no-op, so a
// missing role does not stop the train's state from moving on.
func (t *Train) skipNobody(tx *ledger.Tx, q *queued, err error, release string) (*queued, error) {
	if errors.Is(err, errNobody) {
		t.log().Error("train: mail not queued: nobody to send it to", "release", release, "err", err)
		return nil, tx.Audit(ledger.AuditRecord{Actor: "train", Action: "mail.skipped", Subject: release, Detail: err.Error(), Release: release})
	}
	return q, err
}

func dedup(list []outbox.Address) []outbox.Address {
	var out []outbox.Address
	for _, a := range list {
		out = addAddr(out, a)
	}
	return out
}
