package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/imapwatch"
	"github.com/fabu-team/fabu/mailflow/intake"
	"github.com/fabu-team/fabu/mailflow/reply"
	"github.com/fabu-team/fabu/mailflow/train"
)

// intakeDirectory is the people of the configuration as the reply intake
// knows them (every address, aliases included) and fabu's own addresses.
func intakeDirectory(c *config.Config) *intake.Directory {
	people := make([]intake.Person, 0, len(c.People))
	for _, p := range c.People {
		people = append(people, intake.Person{Name: p.Name, Addresses: append([]string{p.Email}, p.Aliases...), Roles: p.Roles})
	}
	own := []string{c.SMTP.From, c.SMTP.ReplyTo}
	if strings.Contains(c.IMAP.Username, "@") {
		own = append(own, c.IMAP.Username)
	}
	return intake.NewDirectory(people, own...)
}

// replyWords are the built-in words plus the configured ones.
func replyWords(c *config.Config) reply.Words {
	w := reply.DefaultWords()
	if len(c.Reply.ApproveWords)+len(c.Reply.RejectWords)+len(c.Reply.DoneWords) == 0 {
		return w
	}
	w.Approve = append(w.Approve, c.Reply.ApproveWords...)
	w.Reject = append(w.Reject, c.Reply.RejectWords...)
	w.Done = append(w.Done, c.Reply.DoneWords...)
	return w
}

// intakeFromConfig builds the reply intake of the configured train. kick
// (the outbox worker's Kick) and allPassed (the early report trigger) run
// after a reply's transaction committed; both may be nil.
func intakeFromConfig(c *config.Config, tr *train.Train, logger *slog.Logger, clock func() time.Time, kick func(), allPassed func(string)) (*intake.Handler, error) {
	rule := intake.Rule{Approvals: 1, Rejections: 1}
	if c.Train.Decision.Rule == "quorum" {
		rule.Approvals = c.Train.Decision.Quorum
	}
	h, err := intake.New(intakeDirectory(c), tr, intake.Options{
		Secret:      []byte(c.Tokens.Secret),
		Words:       replyWords(c),
		Auth:        intake.AuthPolicy{Require: c.Train.RequireAuth, Trusted: c.Train.TrustedAuthServ},
		Rule:        rule,
		Deputy:      intake.DeputyPolicy(c.Train.Decision.Deputy),
		Parse:       reply.Options{MaxBytes: c.Reply.MaxSize},
		Logger:      logger,
		Clock:       clock,
		Kick:        kick,
		OnAllPassed: allPassed,
	})
	if err != nil {
		return nil, asUsage(err)
	}
	return h, nil
}

// replyStoreCheck is what `fabu reply explain` adds when a store is at
// hand: which release and step the mail matches, whether its sender may
// answer, and what fabu would do — found by running the reply intake in a
// store transaction that is rolled back.
type replyStoreCheck struct {
	Store string `json:"store"`
	// AlreadyRecorded is the inbox record when fabu has read this
	// Message-ID before (it would be a duplicate: nothing would happen).
	AlreadyRecorded *ledger.Received `json:"already_recorded,omitempty"`
	Handling        *intake.Handling `json:"handling,omitempty"`
	WouldMail       []plannedMail    `json:"would_mail"`
	Note            string           `json:"note,omitempty"`
}

// plannedMail is a mail the handling would queue.
type plannedMail struct {
	Step    string   `json:"step"`
	Kind    string   `json:"kind"`
	To      []string `json:"to"`
	Subject string   `json:"subject"`
}

var errDryRun = errors.New("dry run: roll back")

// replyStorePath is the store `reply explain` checks against: --db, or the
// store of an existing config file when that store exists; "" for none.
func (a *app) replyStorePath() (string, *config.Config, error) {
	cfgFile := a.configPath
	if cfgFile == "" {
		if _, err := os.Stat(defaultConfigFile); err == nil {
			cfgFile = defaultConfigFile
		}
	}
	if a.dbPath == "" && cfgFile == "" {
		return "", nil, nil
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return "", nil, err
	}
	path := a.storePath(cfg)
	if _, err := os.Stat(path); err != nil {
		if a.dbPath != "" {
			return "", nil, fmt.Errorf("reply explain: --db %s: %w", path, err)
		}
		return "", nil, nil // a config without a store yet: explain the mail alone
	}
	return path, cfg, nil
}

// explainAgainstStore runs the reply intake on the mail in file as a dry
// run against the store, or returns nil when no store is given.
func (a *app) explainAgainstStore(file string) (*replyStoreCheck, error) {
	path, cfg, err := a.replyStorePath()
	if err != nil || path == "" {
		return nil, err
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reply explain: %w", err)
	}
	check := &replyStoreCheck{Store: path, WouldMail: []plannedMail{}}
	store, err := a.openStore(cfg, nil)
	if err != nil {
		if errors.Is(err, ledger.ErrLocked) {
			check.Note = "the store is in use by the running fabu: stop it, or check against a copy (fabu backup, then --db COPY)"
			return check, nil
		}
		return nil, err
	}
	defer store.Close()
	quiet := slog.New(slog.DiscardHandler)
	tr, err := buildTrain(cfg, store, time.Now, quiet)
	if err != nil {
		return nil, err
	}
	h, err := intakeFromConfig(cfg, tr, quiet, nil, nil, nil)
	if err != nil {
		check.Note = "the reply intake cannot be built from the config: " + err.Error()
		return check, nil
	}
	in := incomingFromFile(raw)
	err = store.Update(func(tx *ledger.Tx) error {
		if prev, err := tx.Received(in.MessageID); err == nil {
			check.AlreadyRecorded = prev
			return errDryRun
		} else if !errors.Is(err, ledger.ErrNotFound) {
			return err
		}
		before, err := tx.OutboxMails()
		if err != nil {
			return err
		}
		known := make(map[string]bool, len(before))
		for _, m := range before {
			known[m.ID] = true
		}
		hd, err := h.Handle(context.Background(), tx, in)
		if err != nil {
			return err
		}
		check.Handling = hd
		after, err := tx.OutboxMails()
		if err != nil {
			return err
		}
		for _, m := range after {
			if known[m.ID] {
				continue
			}
			pm := plannedMail{Step: m.Step, Kind: m.Kind, Subject: m.Subject}
			for _, r := range m.Recipients {
				pm.To = append(pm.To, r.Addr)
			}
			check.WouldMail = append(check.WouldMail, pm)
		}
		return errDryRun
	})
	if err != nil && !errors.Is(err, errDryRun) {
		var pe *imapwatch.PermanentError
		if errors.As(err, &pe) {
			check.Note = "fabu could not handle this mail and would record it as failed: " + err.Error()
			return check, nil
		}
		return nil, fmt.Errorf("reply explain against %s: %w", path, err)
	}
	return check, nil
}

// incomingFromFile is the mail as the IMAP watcher would hand it over.
func incomingFromFile(raw []byte) *imapwatch.Incoming {
	sum := sha256.Sum256(raw)
	in := &imapwatch.Incoming{Mailbox: "(file)", Size: int64(len(raw)), InternalDate: time.Now(), Raw: raw, RawHash: hex.EncodeToString(sum[:])}
	if m, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(raw))); err == nil {
		if id := strings.Trim(strings.TrimSpace(m.Header.Get("Message-Id")), "<>"); id != "" {
			in.MessageID, in.HasMessageID = "<"+id+">", true
		}
		in.Subject = m.Header.Get("Subject")
		in.From = m.Header.Get("From")
		if d, err := m.Header.Date(); err == nil {
			in.InternalDate = d
		}
	}
	if in.MessageID == "" {
		in.MessageID = "sha256:" + in.RawHash
	}
	return in
}

// explainWithStore is the JSON of `reply explain` with a store: the
// explanation's fields, and "store".
type explainWithStore struct {
	*reply.Explanation
	Store *replyStoreCheck `json:"store,omitempty"`
}

// writeStoreCheck prints the store part of `reply explain`.
func writeStoreCheck(w io.Writer, c *replyStoreCheck) error {
	if c == nil {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "4. Store:      %s (dry run: nothing was changed, nothing sent)\n", c.Store)
	if c.Note != "" {
		fmt.Fprintf(&b, "   Note:       %s\n", c.Note)
	}
	if r := c.AlreadyRecorded; r != nil {
		fmt.Fprintf(&b, "   Already read %s: %s (%s); a second copy changes nothing.\n",
			r.ProcessedAt.Format("2006-01-02 15:04"), r.Verdict, r.Reason)
	}
	if hd := c.Handling; hd != nil {
		if m := hd.Match; m != nil && m.Release != "" {
			asks := m.Role
			if asks == "" {
				asks = "no answer"
			}
			fmt.Fprintf(&b, "   Matches:    release %s, step %s (asks: %s), by %s\n", m.Release, m.Step, asks, m.Via)
		} else {
			b.WriteString("   Matches:    nothing fabu sent\n")
		}
		switch {
		case hd.Sender == nil:
			fmt.Fprintf(&b, "   Sender:     %s: not a configured person\n", hd.From)
		case hd.Authority != "":
			may := "may not answer"
			if hd.MayAnswer {
				may = "may answer"
			}
			fmt.Fprintf(&b, "   Sender:     %s <%s>: %s (%s)\n", hd.Sender.Name, hd.From, may, hd.Authority)
		default:
			fmt.Fprintf(&b, "   Sender:     %s <%s>\n", hd.Sender.Name, hd.From)
		}
		fmt.Fprintf(&b, "   Would be:   %s: %s\n", hd.Outcome.Verdict, hd.Outcome.Reason)
		for _, act := range hd.Actions {
			fmt.Fprintf(&b, "               - %s\n", act)
		}
		for _, m := range c.WouldMail {
			fmt.Fprintf(&b, "   Would mail: %s (%s) to %s: %s\n", m.Step, m.Kind, strings.Join(m.To, ", "), m.Subject)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
