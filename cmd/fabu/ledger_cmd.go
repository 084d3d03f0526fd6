package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/ledger/sheet"
	"github.com/spf13/cobra"
)

func newLedgerCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Import, export, list, show and change the ledger (上线运维台帐)",
		Long: "The ledger is the team's maintenance sheet (上线运维台帐) kept in the store: import the team's\n" +
			".xlsx or .csv, export it back, list and show entries, and change a field with an audit record.",
	}
	cmd.AddCommand(newLedgerImportCmd(a), newLedgerExportCmd(a), newLedgerListCmd(a), newLedgerShowCmd(a), newLedgerSetCmd(a))
	return cmd
}

// cliActor is who the audit log names for a change made on the command line.
func cliActor() string {
	if u := strings.TrimSpace(os.Getenv("USER")); u != "" {
		return u
	}
	return "cli"
}

func newLedgerImportCmd(a *app) *cobra.Command {
	var skip bool
	var sheetName string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import the team's ledger sheet (.xlsx or .csv), upserting entries by 编号",
		Long: "import reads FILE (.xlsx, or .csv in UTF-8 or GB18030) and adds or updates the entries by 编号\n" +
			"in one transaction. Every bad cell is listed at once with its sheet, row, column and value; then\n" +
			"nothing is written (exit 1) unless --skip-invalid, which writes the good rows and lists the rest.\n" +
			"The status the sheet writes is accepted as the team's word, and audited when it changes.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			words, s, err := a.openLedger()
			if err != nil {
				return err
			}
			defer s.Close()
			res, err := sheet.ImportFile(cmd.Context(), s, args[0], sheet.Options{
				Sheet: sheetName, SkipInvalid: skip, Words: words, Actor: "import:" + cliActor(), Logger: a.logger(),
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, res.Summary())
			for _, x := range res.Extras {
				if strings.TrimSpace(x.Header) == "" {
					fmt.Fprintf(a.stderr, "note: column %s has no header but holds data in %d row(s); kept with the entries as an extra column without a header\n", x.Column, x.Filled)
				} else {
					fmt.Fprintf(a.stderr, "note: column %s %q is not a ledger column; kept with the entries as an extra column (%d row(s) with a value)\n", x.Column, x.Header, x.Filled)
				}
			}
			for _, sc := range res.StatusChanges {
				if !sc.Lifecycle {
					fmt.Fprintf(a.stderr, "note: entry %s (row %d): status %s → %s is not a lifecycle move; accepted from the sheet and audited\n", sc.ID, sc.Row, sc.From.Label(), sc.To.Label())
				}
			}
			for _, n := range res.Notes {
				fmt.Fprintf(a.stderr, "note: %s\n", n)
			}
			for _, p := range res.Skipped {
				fmt.Fprintf(a.stderr, "skipped: %s\n", p)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&skip, "skip-invalid", false, "write the good rows and list the bad ones (default: write nothing if any row is bad)")
	cmd.Flags().StringVar(&sheetName, "sheet", "", "worksheet to read (default: the first with the ledger header)")
	return cmd
}

func newLedgerExportCmd(a *app) *cobra.Command {
	var lang, encoding string
	cmd := &cobra.Command{
		Use:   "export FILE",
		Short: "Write the ledger to FILE (.xlsx or .csv) in the seed's column order",
		Long: "export writes every entry to FILE: .xlsx, or .csv (UTF-8 with BOM, or --encoding gb18030),\n" +
			"with the Chinese headers (--lang en: the English field names), 需求文档 and the sheet's extra columns last.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			ext := strings.ToLower(filepath.Ext(path))
			if ext != ".xlsx" && ext != ".csv" {
				return usageError("export %s: the file name must end in .xlsx or .csv", path)
			}
			if lang != "zh" && lang != "en" {
				return usageError("--lang %q: use zh or en", lang)
			}
			if cmd.Flags().Changed("encoding") && ext != ".csv" {
				return usageError("--encoding applies to .csv files only")
			}
			switch strings.ToLower(encoding) {
			case "utf-8", "utf8", "gb18030", "gbk":
			default:
				return usageError("--encoding %q: use utf-8 or gb18030", encoding)
			}
			words, s, err := a.openLedger()
			if err != nil {
				return err
			}
			defer s.Close()
			var entries []*ledger.Entry
			if err := s.View(func(tx *ledger.Tx) error {
				entries, err = tx.Entries()
				return err
			}); err != nil {
				return err
			}
			if err := sheet.ExportFile(cmd.Context(), path, entries, sheet.ExportOptions{Lang: lang, Encoding: encoding, Words: words}); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "exported %d entries to %s\n", len(entries), path)
			return nil
		},
	}
	cmd.Flags().StringVar(&lang, "lang", "zh", "header language: zh (the team's Chinese headers) or en (English field names)")
	cmd.Flags().StringVar(&encoding, "encoding", "utf-8", "CSV encoding: utf-8 (with BOM) or gb18030")
	return cmd
}

// listFilter selects entries for ledger list.
type listFilter struct {
	status    ledger.Status
	hasStatus bool
	system    string
}

func (f *listFilter) active() bool { return f.hasStatus || f.system != "" }

func (f *listFilter) match(status ledger.Status, system string) bool {
	if f.hasStatus && status != f.status {
		return false
	}
	if f.system != "" && strings.TrimSpace(system) != f.system {
		return false
	}
	return true
}

func newLedgerListCmd(a *app) *cobra.Command {
	var statusArg, system string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the entries (a table, or --json)",
		Long: "list prints the entries ordered by 编号 as a table, or with --json as a JSON array keyed by the\n" +
			"English field names (dates YYYY-MM-DD). --status takes a status word (开发完成, dev_done, …), --system a system name.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.loadConfig()
			if err != nil {
				return err
			}
			words, err := statusWords(c)
			if err != nil {
				return err
			}
			f := listFilter{system: strings.TrimSpace(system)}
			if statusArg != "" {
				st, err := words.Parse(statusArg)
				if err != nil {
					return usageError("--status: %v", err)
				}
				f.status, f.hasStatus = st, true
			}
			s, err := a.openStore(c, nil)
			if err != nil {
				return err
			}
			defer s.Close()
			if asJSON {
				return s.View(func(tx *ledger.Tx) error { return writeEntriesJSON(a, tx, &f) })
			}
			return s.View(func(tx *ledger.Tx) error {
				entries, err := tx.Entries()
				if err != nil {
					return err
				}
				rows := make([][]string, 0, len(entries))
				for _, e := range entries {
					if !f.match(e.Status, e.System) {
						continue
					}
					rows = append(rows, []string{e.ID, e.System, e.Subsystem, truncateCols(e.Function, 16),
						e.StatusWord(), e.Priority.Chinese(), e.HasSQL.Chinese(), e.TechLead, e.TestLead,
						e.PlannedFinish.String(), truncateCols(flattenCell(e.Description), 40)})
				}
				if len(rows) == 0 {
					fmt.Fprintln(a.stdout, "(no entries)")
					return nil
				}
				if err := printTable(a.stdout, []string{"编号", "系统", "子系统", "涉及功能", "问题状态", "优先级", "SQL", "技术负责人", "测试负责人", "计划完成", "问题描述"}, rows); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "(%d entries)\n", len(rows))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&statusArg, "status", "", "only entries in this status (e.g. 开发完成 or dev_done)")
	cmd.Flags().StringVar(&system, "system", "", "only entries of this system (e.g. 小贷)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of entries keyed by the English field names")
	return cmd
}

// rawEntry is a stored entry's JSON with its sort key.
type rawEntry struct {
	id    string
	num   int64
	isNum bool
	raw   []byte
}

// writeEntriesJSON streams the stored entries as a JSON array in 编号 order
// (ledger.LessID), copying each entry's stored JSON (which is the Entry's
// JSON encoding) instead of decoding and re-encoding it.
func writeEntriesJSON(a *app, tx *ledger.Tx, f *listFilter) error {
	var list []rawEntry
	var probe struct {
		Status ledger.Status `json:"status"`
		System string        `json:"system"`
	}
	err := tx.ForEachRaw([]string{ledger.BucketEntries}, "", func(k, v []byte) error {
		if f.active() {
			probe.Status, probe.System = ledger.StatusUnset, ""
			if err := json.Unmarshal(v, &probe); err != nil {
				return fmt.Errorf("decode entry %q: %w", k, err)
			}
			if !f.match(probe.Status, probe.System) {
				return nil
			}
		}
		r := rawEntry{id: string(k), raw: append([]byte(nil), v...)}
		n, err := strconv.ParseInt(r.id, 10, 64)
		r.num, r.isNum = n, err == nil
		list = append(list, r)
		return nil
	})
	if err != nil {
		return err
	}
	sort.SliceStable(list, func(i, j int) bool {
		x, y := &list[i], &list[j]
		switch {
		case x.isNum && y.isNum:
			return x.num < y.num
		case x.isNum != y.isNum:
			return x.isNum
		}
		return x.id < y.id
	})
	bw := bufio.NewWriterSize(a.stdout, 256<<10)
	if len(list) == 0 {
		bw.WriteString("[]\n")
		return bw.Flush()
	}
	bw.WriteString("[\n")
	for i, r := range list {
		bw.Write(r.raw)
		if i < len(list)-1 {
			bw.WriteString(",\n")
		}
	}
	bw.WriteString("\n]\n")
	return bw.Flush()
}

// entryOrErr reads one entry, with a clear error when it does not exist.
func entryOrErr(tx *ledger.Tx, id string) (*ledger.Entry, error) {
	e, err := tx.Entry(id)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, fmt.Errorf("no entry %s in the ledger of train %s (see fabu ledger list)", id, tx.TrainName())
	}
	return e, err
}

func newLedgerShowCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one entry: every field with its Chinese header and English name",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			words, s, err := a.openLedger()
			if err != nil {
				return err
			}
			defer s.Close()
			return s.View(func(tx *ledger.Tx) error {
				e, err := entryOrErr(tx, strings.TrimSpace(args[0]))
				if err != nil {
					return err
				}
				if asJSON {
					enc := json.NewEncoder(a.stdout)
					enc.SetIndent("", "  ")
					enc.SetEscapeHTML(false)
					return enc.Encode(e)
				}
				history, err := tx.AuditLog(e.ID)
				if err != nil {
					return err
				}
				return printEntry(a, e, words, history)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the entry as JSON keyed by the English field names")
	return cmd
}

// printEntry writes one field per line: "问题状态 (status)  开发完成".
func printEntry(a *app, e *ledger.Entry, words *ledger.StatusWords, history []ledger.AuditRecord) error {
	type line struct{ label, value string }
	var lines []line
	for _, col := range append(ledger.Columns[:], ledger.RequirementDocColumn) {
		v, err := e.Get(col.Field)
		if err != nil {
			return err
		}
		if col.Field == "status" {
			v = showStatus(e, words)
		}
		lines = append(lines, line{strings.Join(strings.Fields(col.Header), "") + " (" + col.Field + ")", v})
	}
	lines = append(lines, line{"上线日期 (released_on)", e.ReleasedOn.String()}, line{"发布批次 (release)", e.Release})
	for _, x := range e.Extras {
		h := x.Header
		if strings.TrimSpace(h) == "" {
			h = "(no header)"
		}
		lines = append(lines, line{h + " (extra)", x.Value})
	}
	labelW := 0
	for _, l := range lines {
		labelW = max(labelW, textWidth(l.label))
	}
	bw := bufio.NewWriter(a.stdout)
	for _, l := range lines {
		pad := strings.Repeat(" ", labelW-textWidth(l.label)+2)
		vals := strings.Split(strings.ReplaceAll(l.value, "\r\n", "\n"), "\n")
		bw.WriteString(strings.TrimRight(l.label+pad+vals[0], " "))
		bw.WriteByte('\n')
		for _, v := range vals[1:] {
			bw.WriteString(strings.TrimRight(strings.Repeat(" ", labelW+2)+v, " "))
			bw.WriteByte('\n')
		}
	}
	if len(history) > 0 {
		bw.WriteString("\nhistory:\n")
		for _, h := range history {
			what := h.Action
			if h.Field != "" {
				what = fmt.Sprintf("%s: %s → %s", h.Field, showEmpty(h.Old), showEmpty(h.New))
			}
			if h.Detail != "" {
				what += " (" + h.Detail + ")"
			}
			fmt.Fprintf(bw, "  %s  %s  %s\n", h.Time.Local().Format("2006-01-02 15:04"), h.Actor, what)
		}
	}
	return bw.Flush()
}

// showStatus is the status word, with the English name when they differ.
func showStatus(e *ledger.Entry, words *ledger.StatusWords) string {
	w := e.Status.Chinese()
	if e.StatusText != "" {
		if s, ok := words.Lookup(e.StatusText); ok && s == e.Status {
			w = e.StatusText
		}
	}
	if e.Status == ledger.StatusUnset {
		return w
	}
	return w + " (" + e.Status.String() + ")"
}

// ledgerField maps what a user may write before "=" in ledger set: the
// English field name or the Chinese header (whitespace ignored).
func ledgerField(name string) (string, bool) {
	norm := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), "")) }
	n := norm(name)
	for _, col := range append(ledger.Columns[:], ledger.RequirementDocColumn) {
		if n == norm(col.Field) || n == norm(col.Header) {
			return col.Field, true
		}
	}
	return "", false
}

func newLedgerSetCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "set ID FIELD=VALUE...",
		Short: "Change fields of an entry (validated, audited with old → new value)",
		Long: "set changes one or more fields of entry ID in one transaction. FIELD is an English field name\n" +
			"(status, test_lead, planned_finish, …) or the Chinese header (问题状态, …). A status change must be a\n" +
			"move the lifecycle allows. Each change is audited with its old and new value, who and when.",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := strings.TrimSpace(args[0])
			type change struct{ field, value string }
			var changes []change
			for _, arg := range args[1:] {
				name, value, ok := strings.Cut(arg, "=")
				if !ok {
					return usageError("%q is not FIELD=VALUE (e.g. status=开发完成)", arg)
				}
				field, ok := ledgerField(name)
				if !ok {
					return usageError("unknown field %q (known: %s)", name, strings.Join(ledger.FieldNames(), ", "))
				}
				if field == "id" {
					return usageError("编号 (id) cannot be changed; it is the entry's key")
				}
				changes = append(changes, change{field, value})
			}
			words, s, err := a.openLedger()
			if err != nil {
				return err
			}
			defer s.Close()
			var out []string
			err = s.Update(func(tx *ledger.Tx) error {
				for _, ch := range changes {
					before, err := entryOrErr(tx, id)
					if err != nil {
						return err
					}
					old, _ := before.Get(ch.field)
					e, changed, err := tx.SetEntryField(id, ch.field, ch.value, cliActor(), words)
					if err != nil {
						var te *ledger.TransitionError
						if errors.As(err, &te) {
							return err
						}
						return fmt.Errorf("entry %s: %w", id, err)
					}
					now, _ := e.Get(ch.field)
					if changed {
						out = append(out, fmt.Sprintf("%s %s: %s → %s", id, ch.field, showEmpty(old), showEmpty(now)))
					} else {
						out = append(out, fmt.Sprintf("%s %s: unchanged (%s)", id, ch.field, showEmpty(now)))
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, l := range out {
				fmt.Fprintln(a.stdout, l)
			}
			return nil
		},
	}
	return cmd
}

func showEmpty(s string) string {
	if s == "" {
		return "(empty)"
	}
	return s
}

// openLedger loads the config's status words and opens the store: what
// every ledger command starts with. The caller closes the store.
func (a *app) openLedger() (*ledger.StatusWords, *ledger.Store, error) {
	c, err := a.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	words, err := statusWords(c)
	if err != nil {
		return nil, nil, err
	}
	s, err := a.openStore(c, nil)
	if err != nil {
		return nil, nil, err
	}
	return words, s, nil
}
