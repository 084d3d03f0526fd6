package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/outbox"
	"github.com/spf13/cobra"
)

func newOutboxCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "List the mail fabu sent or still has to send; retry or drop a mail",
		Long: "Every mail of the train goes through the outbox: it is stored with the state change that\n" +
			"causes it, and the daemon (or fabu trigger) sends it, retrying temporary failures.\n" +
			"A mail is named by its ID (the first 6 or more characters are enough) or its Message-ID.",
	}
	var asJSON, all bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the outbox (mail still to send first; --all includes delivered mail)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTrainStore(false, func(c *config.Config, tx *ledger.Tx) error {
				ms, err := tx.OutboxMails()
				if err != nil {
					return err
				}
				var show []*ledger.OutboxMail
				for _, m := range ms {
					if all || asJSON || m.State != ledger.OutboxDone {
						show = append(show, m)
					}
				}
				if asJSON {
					if show == nil {
						show = []*ledger.OutboxMail{}
					}
					return trainJSON(a.stdout, show)
				}
				if len(show) == 0 {
					fmt.Fprintf(a.stdout, "nothing waiting in the outbox (%d mail(s) delivered; --all lists them)\n", len(ms))
					return nil
				}
				rows := make([][]string, 0, len(show))
				for _, m := range show {
					rcpts := fmt.Sprintf("%d sent", len(m.Recipients)-len(m.Pending())-len(m.Failed()))
					if n := len(m.Pending()); n > 0 {
						rcpts += fmt.Sprintf(", %d pending", n)
					}
					if n := len(m.Failed()); n > 0 {
						rcpts += fmt.Sprintf(", %d refused", n)
					}
					next := "-"
					if m.State == ledger.OutboxQueued {
						next = trainTime(c, m.NextAttempt)
					}
					flags := ""
					if m.PossibleDuplicate {
						flags += "possible duplicate "
					}
					if m.Alerted {
						flags += "admins alerted "
					}
					rows = append(rows, []string{m.ID[:min(10, len(m.ID))], m.Release, m.Step, string(m.State), rcpts, fmt.Sprint(m.Attempts),
						next, trainTime(c, m.Created), strings.TrimSpace(flags + trainAbbrev(m.LastError, 60)), m.Subject})
				}
				return printTable(a.stdout, []string{"ID", "RELEASE", "STEP", "STATE", "RECIPIENTS", "TRIES", "NEXT TRY", "QUEUED", "NOTE", "SUBJECT"}, rows)
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON (every mail)")
	list.Flags().BoolVar(&all, "all", false, "include delivered mail")
	act := func(use, short, done string, fn func(tx *ledger.Tx, ref string) (*ledger.OutboxMail, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use + " ID",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.withTrainStore(true, func(c *config.Config, tx *ledger.Tx) error {
					m, err := fn(tx, args[0])
					if errors.Is(err, ledger.ErrNotFound) {
						return asUsage(err)
					}
					if err != nil {
						return err
					}
					fmt.Fprintf(a.stdout, "%s %s (%s %s): %s\n", done, m.ID, m.Release, m.Step, m.Subject)
					return nil
				})
			},
		}
	}
	retry := act("retry", "Send a mail again now (also to recipients the server refused)", "queued for now:", outbox.Retry)
	drop := act("drop", "Stop sending a mail (it stays listed as dropped)", "dropped", outbox.Drop)
	retry.Long = "retry makes the mail due now; recipients the server refused for good get another chance.\n" +
		"The running daemon sends it within a minute; fabu trigger send sends it at once."
	cmd.AddCommand(list, retry, drop)
	return cmd
}
