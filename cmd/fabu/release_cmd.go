package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/fabu-team/fabu/ledger"
	"github.com/spf13/cobra"
)

func newReleaseCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "release",
		Short: "List, show and change releases (期次)",
		Long: "A release is one week's train, named by its release date (YYYY-MM-DD). The Friday cut\n" +
			"creates it with every entry development has finished; add and remove change an open\n" +
			"release by hand, and the next mail of the train announces the change.",
	}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the releases, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTrainStore(false, func(c *config.Config, tx *ledger.Tx) error {
				rs, err := tx.Releases()
				if err != nil {
					return err
				}
				if asJSON {
					if rs == nil {
						rs = []*ledger.Release{}
					}
					return trainJSON(a.stdout, rs)
				}
				rows := make([][]string, 0, len(rs))
				for _, r := range rs {
					rows = append(rows, []string{r.Name, string(r.State), fmt.Sprint(len(r.Entries)), trainTime(c, r.CutAt),
						trainAbbrev(r.Digest, 12), fmt.Sprint(len(r.PendingChanges())), fmt.Sprint(len(r.Decisions))})
				}
				if len(rows) == 0 {
					fmt.Fprintln(a.stdout, "no releases yet (the Friday cut creates one; fabu trigger cut does it now)")
					return nil
				}
				return printTable(a.stdout, []string{"RELEASE", "STATE", "ENTRIES", "CUT AT", "DIGEST", "PENDING CHANGES", "DECISIONS"}, rows)
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	var showJSON bool
	show := &cobra.Command{
		Use:   "show RELEASE",
		Short: "Show a release: entries, results per environment, changes, decisions, mails sent and received",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTrainStore(false, func(c *config.Config, tx *ledger.Tx) error {
				r, err := tx.Release(args[0])
				if errors.Is(err, ledger.ErrNotFound) {
					return asUsage(fmt.Errorf("release %s does not exist (see fabu release list)", args[0]))
				}
				if err != nil {
					return err
				}
				res, err := tx.Results(r.Name)
				if err != nil {
					return err
				}
				trail, err := loadReleaseTrail(tx, r.Name) // mails sent and received, votes (release_view.go)
				if err != nil {
					return err
				}
				if showJSON {
					return trainJSON(a.stdout, struct {
						*ledger.Release
						Results []ledger.Result `json:"results"`
						*releaseTrail
					}{r, append([]ledger.Result{}, res...), trail})
				}
				if err := showRelease(a.stdout, c, tx, r, res); err != nil {
					return err
				}
				return writeReleaseTrail(a.stdout, c.Location(), trail)
			})
		},
	}
	show.Flags().BoolVar(&showJSON, "json", false, "print JSON")
	var note string
	change := func(use, short string, fn func(tx *ledger.Tx, r, id string) (*ledger.Release, error)) *cobra.Command {
		c := &cobra.Command{
			Use:   use + " RELEASE ID",
			Short: short,
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.withTrainStore(true, func(c *config.Config, tx *ledger.Tx) error {
					r, err := fn(tx, args[0], args[1])
					if errors.Is(err, ledger.ErrNotFound) || errors.Is(err, ledger.ErrReleaseState) {
						return asUsage(err)
					}
					if err != nil {
						return err
					}
					fmt.Fprintf(a.stdout, "release %s now holds %d entries (digest %s); the next mail of the train announces the change\n",
						r.Name, len(r.Entries), trainAbbrev(r.Digest, 12))
					return nil
				})
			},
		}
		c.Flags().StringVar(&note, "note", "", "why (shown in the announcement)")
		return c
	}
	add := change("add", "Add a finished (dev_done) entry to an open release", func(tx *ledger.Tx, r, id string) (*ledger.Release, error) {
		return tx.AddToRelease(r, id, "cli", note)
	})
	remove := change("remove", "Take an entry out of an open release (it goes back to dev_done)", func(tx *ledger.Tx, r, id string) (*ledger.Release, error) {
		return tx.RemoveFromRelease(r, id, "cli", note)
	})
	cmd.AddCommand(list, show, add, remove)
	return cmd
}

// withTrainStore runs fn in a store transaction (write when write is true).
func (a *app) withTrainStore(write bool, fn func(c *config.Config, tx *ledger.Tx) error) error {
	c, err := a.loadConfig()
	if err != nil {
		return err
	}
	s, err := a.openStore(c, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	run := func(tx *ledger.Tx) error { return fn(c, tx) }
	if write {
		return s.Update(run)
	}
	return s.View(run)
}

func showRelease(w io.Writer, c *config.Config, tx *ledger.Tx, r *ledger.Release, res []ledger.Result) error {
	fmt.Fprintf(w, "release   %s (train %s)\nstate     %s\ncut at    %s by %s\nentries   %d, digest %s\n",
		r.Name, r.Train, r.State, trainTime(c, r.CutAt), r.CutBy, len(r.Entries), r.Digest)
	if r.ReportDigest != "" {
		fmt.Fprintf(w, "reported  %s, report digest %s\n", trainTime(c, r.ReportedAt), r.ReportDigest)
	}
	if len(r.Excluded) > 0 {
		fmt.Fprintf(w, "excluded  %s (a test failed)\n", strings.Join(r.Excluded, ", "))
	}
	fmt.Fprintln(w)
	m := ledger.MatrixOf(res)
	envs := c.Train.Environments
	header := append([]string{"ID", "SYSTEM", "FUNCTION", "STATUS", "SQL"}, envs...)
	var rows [][]string
	for _, id := range r.Entries {
		row := []string{id, "", "(not in the ledger any more)", "", ""}
		if e, err := tx.Entry(id); err == nil {
			row = []string{id, e.System, e.Function, e.StatusWord(), e.HasSQL.Chinese()}
		}
		for _, env := range envs {
			cell := string(m.State(id, env))
			if rr, ok := m.Get(id, env); ok && rr.Note != "" {
				cell += " (" + rr.Note + ")"
			}
			row = append(row, cell)
		}
		rows = append(rows, row)
	}
	if err := printTable(w, header, rows); err != nil {
		return err
	}
	if len(r.Changes) > 0 {
		fmt.Fprintln(w, "\nchanges:")
		for _, ch := range r.Changes {
			state := "pending (announced in the next mail)"
			if ch.Announced {
				state = "announced in " + ch.AnnouncedIn
			}
			fmt.Fprintf(w, "  %s %s %s by %s — %s %s\n", trainTime(c, ch.At), ch.Op, ch.Entry, ch.Actor, state, ch.Note)
		}
	}
	if len(r.Decisions) > 0 {
		fmt.Fprintln(w, "\ndecisions:")
		for _, d := range r.Decisions {
			fmt.Fprintf(w, "  %s %s (%s) %s: %q  [%s]\n", trainTime(c, d.At), d.Who, d.Email, d.Verdict, d.Words, d.MessageID)
		}
	}
	if len(r.Thread) > 0 {
		fmt.Fprintf(w, "\nmails:\n  %s\n", strings.Join(r.Thread, "\n  "))
	}
	return nil
}

func trainJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func trainTime(c *config.Config, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(c.Location()).Format("2006-01-02 15:04")
}

func trainAbbrev(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
