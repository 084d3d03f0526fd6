package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fabu-team/fabu/mailflow/reply"
)

// newReplyCmd is the "reply" command group: understanding reply mails.
func newReplyCmd(a *app) *cobra.Command {
	c := &cobra.Command{
		Use:   "reply",
		Short: "Understand reply mails (auto-reply, new text, intent)",
	}
	c.AddCommand(newReplyExplainCmd(a))
	return c
}

func newReplyExplainCmd(a *app) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "explain FILE",
		Short: "Show how fabu reads one reply mail (.eml or plain text)",
		Long: "Explain reads one mail file and shows the whole trail: whether it is an automatic reply\n" +
			"and which header decided, the new text left after cutting quotes and signatures, and the\n" +
			"intent (approve, reject, partial, done, results, unclear) with the words that decided.\n" +
			"It needs no config and no store. With --db, or a config whose store exists, it also says which\n" +
			"release and step the mail matches, whether the sender may answer, and what fabu would do\n" +
			"(a dry run: nothing is changed or sent).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("reply explain: %w", err)
			}
			defer f.Close()
			e, err := reply.Explain(f, reply.Options{})
			if err != nil {
				return fmt.Errorf("reply explain %s: %w", args[0], err)
			}
			st, err := a.explainAgainstStore(args[0]) // nil without --db or a config with a store (reply_store.go)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(explainWithStore{Explanation: e, Store: st})
			}
			if err := writeExplanation(a.stdout, e); err != nil {
				return err
			}
			return writeStoreCheck(a.stdout, st)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the explanation as JSON")
	return c
}

// writeExplanation prints the human trail of an Explanation.
func writeExplanation(w io.Writer, e *reply.Explanation) error {
	var b strings.Builder
	from := e.From
	if e.FromName != "" {
		from = e.FromName + " <" + e.From + ">"
	}
	fmt.Fprintf(&b, "From:        %s\n", from)
	fmt.Fprintf(&b, "Subject:     %s\n", e.Subject)
	fmt.Fprintf(&b, "Message-ID:  %s\n", e.MessageID)
	fmt.Fprintf(&b, "In-Reply-To: %s\n", e.InReplyTo)
	body := "text/plain"
	if e.HTML {
		body = "text/html (converted)"
	}
	fmt.Fprintf(&b, "Body:        %s, charset %s\n\n", body, e.Charset)

	if e.AutoReply {
		fmt.Fprintf(&b, "1. Auto-reply: YES, decided by %q; nothing in it counts.\n", e.AutoReplySignal)
	} else {
		b.WriteString("1. Auto-reply: no\n")
	}
	fmt.Fprintf(&b, "2. Trimming:   %s\n", e.TrimRule)
	b.WriteString("   New text:\n")
	if strings.TrimSpace(e.NewText) == "" {
		b.WriteString("   | (none)\n")
	}
	for _, l := range strings.Split(e.NewText, "\n") {
		if e.NewText != "" {
			fmt.Fprintf(&b, "   | %s\n", l)
		}
	}
	fmt.Fprintf(&b, "3. Intent:     %s (%s)\n", e.Intent, e.Why)
	if len(e.MatchedWords) > 0 {
		fmt.Fprintf(&b, "   Words:      %s\n", strings.Join(e.MatchedWords, ", "))
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, "   Reason:     %s\n", e.Reason)
	}
	if len(e.Excluded) > 0 {
		fmt.Fprintf(&b, "   Excluded:   %s\n", strings.Join(e.Excluded, ", "))
	}
	for _, r := range e.Results {
		note := ""
		if r.Note != "" {
			note = " - " + r.Note
		}
		id := r.ID
		if id == "*" {
			id = "all entries"
		}
		fmt.Fprintf(&b, "   Result:     %s %s%s\n", id, r.Outcome, note)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
