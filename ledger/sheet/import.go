package sheet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/fabu-team/fabu/ledger"
)

// Options configure Import and Read.
type Options struct {
	// Sheet is the worksheet of an .xlsx to read; "" picks the only sheet,
	// or the first whose first rows hold the ledger header.
	Sheet string
	// SkipInvalid writes the good rows and reports the bad ones instead of
	// writing nothing when any row is bad.
	SkipInvalid bool
	// Words reads the 问题状态 column (nil: ledger.DefaultStatusWords).
	Words *ledger.StatusWords
	// Actor is written to the audit log (default "import").
	Actor string
	// Logger receives a line per import (nil: discard).
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Words == nil {
		o.Words = ledger.DefaultStatusWords
	}
	if o.Actor == "" {
		o.Actor = "import"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// ExtraColumn is an unknown column of the sheet, kept as entry extras.
type ExtraColumn struct {
	Column string `json:"column"` // letter
	Header string `json:"header"` // "" when the column has no header
	Filled int    `json:"filled"` // rows with a value in it
}

// StatusChange is an entry whose status an import changed.
type StatusChange struct {
	ID        string        `json:"id"`
	Row       int           `json:"row"`
	From      ledger.Status `json:"from"`
	To        ledger.Status `json:"to"`
	Lifecycle bool          `json:"lifecycle"` // a move the lifecycle allows
}

// Result says what an import did.
type Result struct {
	File      string `json:"file"`
	Sheet     string `json:"sheet"`
	HeaderRow int    `json:"header_row"`
	Rows      int    `json:"rows"` // non-empty data rows read
	Added     int    `json:"added"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
	// Skipped are the problems of the rows not written (SkipInvalid).
	Skipped     []Problem `json:"skipped,omitempty"`
	SkippedRows int       `json:"skipped_rows"`
	// Extras are the unknown columns kept with the entries.
	Extras        []ExtraColumn  `json:"extras,omitempty"`
	StatusChanges []StatusChange `json:"status_changes,omitempty"`
	Notes         []string       `json:"notes,omitempty"`
}

// Changed reports whether the import wrote anything.
func (r *Result) Changed() bool { return r.Added+r.Updated > 0 }

// Summary is the one-line result, e.g.
// "imported sample.xlsx: 13 added, 0 updated, 0 unchanged".
func (r *Result) Summary() string {
	s := fmt.Sprintf("imported %s: %d added, %d updated, %d unchanged", r.File, r.Added, r.Updated, r.Unchanged)
	if r.SkippedRows > 0 {
		s += fmt.Sprintf(", %d row(s) skipped", r.SkippedRows)
	}
	if !r.Changed() {
		s += " (nothing changed)"
	}
	return s
}

var entriesPath = []string{ledger.BucketEntries}

// errNothingChanged rolls back an import transaction that changed nothing.
var errNothingChanged = errors.New("nothing changed")

// ImportFile reads the ledger sheet at path (.xlsx or .csv, told apart by
// content) and upserts its rows by 编号 into the store in one transaction.
// On bad rows it returns an *InvalidError and writes nothing (unless
// opts.SkipInvalid); on a bad file a *FileError.
func ImportFile(ctx context.Context, s *ledger.Store, path string, opts Options) (*Result, error) {
	opts.defaults()
	t, err := openTable(ctx, path, opts.Sheet, opts.Logger)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	return importTable(ctx, s, t, filepath.Base(path), opts)
}

// ImportBytes is ImportFile over a file's content; name is its file name.
func ImportBytes(ctx context.Context, s *ledger.Store, name string, data []byte, opts Options) (*Result, error) {
	opts.defaults()
	t, err := openBytes(ctx, name, data, opts.Sheet, opts.Logger)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	return importTable(ctx, s, t, name, opts)
}

func importTable(ctx context.Context, s *ledger.Store, t table, name string, opts Options) (*Result, error) {
	hdr, err := findHeader(t, name)
	if err != nil {
		return nil, err
	}
	p := &parser{file: name, sheet: t.Name(), hdr: hdr, words: opts.Words, date1904: t.Date1904()}
	res := &Result{File: name, Sheet: t.Name(), HeaderRow: hdr.Row}
	var probs problems
	var audits []ledger.AuditRecord
	var toPut []*ledger.Entry
	err = s.Update(func(tx *ledger.Tx) error {
		rows, err := eachRow(ctx, t, p, &probs, func(row int, id string, cells []string) error {
			var old *ledger.Entry
			if has, err := tx.Has(entriesPath, id); err != nil {
				return fmt.Errorf("read entry %s: %w", id, err)
			} else if has {
				if old, err = tx.Entry(id); err != nil {
					return fmt.Errorf("read entry %s: %w", id, err)
				}
			}
			var e *ledger.Entry
			if old != nil {
				e = cloneEntry(old)
			} else {
				e = &ledger.Entry{ID: id}
			}
			if rp := p.apply(e, row, cells); len(rp) > 0 {
				probs.addRow(rp)
				return nil
			}
			if probs.rows > 0 && !opts.SkipInvalid {
				return nil // nothing will be written; only look for more problems
			}
			switch {
			case old == nil:
				res.Added++
			case e.Equal(old):
				res.Unchanged++
				return nil
			default:
				res.Updated++
				audits = append(audits, fieldAudits(old, e, opts.Actor, fmt.Sprintf("%s row %d", name, row), opts.Words)...)
				if old.Status != e.Status {
					res.StatusChanges = append(res.StatusChanges, StatusChange{ID: id, Row: row, From: old.Status, To: e.Status,
						Lifecycle: ledger.CanTransition(old.Status, e.Status)})
				}
			}
			toPut = append(toPut, e)
			return nil
		})
		res.Rows = rows
		if err != nil {
			return err
		}
		if probs.rows > 0 && !opts.SkipInvalid {
			return &InvalidError{File: name, Sheet: t.Name(), Rows: probs.rows, Problems: probs.list}
		}
		if !res.Changed() {
			return errNothingChanged
		}
		if err := tx.PutEntries(toPut); err != nil {
			return err
		}
		for _, a := range audits {
			if err := tx.Audit(a); err != nil {
				return err
			}
		}
		return tx.Audit(ledger.AuditRecord{Actor: opts.Actor, Action: "ledger.import", Subject: name,
			Detail: fmt.Sprintf("sheet %s: %d added, %d updated, %d unchanged, %d row(s) skipped", t.Name(), res.Added, res.Updated, res.Unchanged, probs.rows)})
	})
	if err != nil && !errors.Is(err, errNothingChanged) {
		return nil, err
	}
	if opts.SkipInvalid {
		res.Skipped, res.SkippedRows = probs.list, probs.rows
	}
	res.Extras = extraColumns(hdr)
	res.Notes = t.Notes()
	opts.Logger.Debug("ledger import", "file", name, "sheet", res.Sheet, "added", res.Added, "updated", res.Updated,
		"unchanged", res.Unchanged, "skipped", res.SkippedRows)
	return res, nil
}

// problems collects the problems of a sheet and counts the bad rows.
type problems struct {
	list []Problem
	rows int
}

func (ps *problems) addRow(p []Problem) {
	ps.list = append(ps.list, p...)
	ps.rows++
}

// eachRow calls fn for each non-blank data row after the header, with its
// 编号, once the 编号 is known to be present and not yet seen in the sheet
// (rows failing that are added to probs). It returns the non-blank rows.
func eachRow(ctx context.Context, t table, p *parser, probs *problems, fn func(row int, id string, cells []string) error) (int, error) {
	first := map[string]int{} // 编号 → first row
	rows := 0
	for n := 0; ; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			return rows, ctx.Err()
		}
		row, cells, ok := t.Next()
		if !ok {
			break
		}
		if isBlank(cells) {
			continue
		}
		rows++
		id := p.rowID(cells)
		if id == "" {
			probs.addRow([]Problem{p.problem(row, p.hdr.ID, cellAt(cells, p.hdr.ID.Index), "编号 is empty", kindID)})
			continue
		}
		if prev, dup := first[id]; dup {
			probs.addRow([]Problem{p.problem(row, p.hdr.ID, id, fmt.Sprintf("编号 %s is already in row %d of this sheet", id, prev), kindID)})
			continue
		}
		first[id] = row
		if err := fn(row, id, cells); err != nil {
			return rows, err
		}
	}
	if err := t.Err(); err != nil {
		return rows, &FileError{File: p.file, Sheet: t.Name(), Msg: "cannot read the sheet", Err: err}
	}
	return rows, nil
}

// extraColumns lists the unknown columns: those with a header, and those
// without one that hold data.
func extraColumns(hdr *header) []ExtraColumn {
	var out []ExtraColumn
	for _, c := range hdr.Cols {
		if c.Field < 0 && (c.Filled > 0 || strings.TrimSpace(c.Header) != "") {
			out = append(out, ExtraColumn{Column: c.Letter, Header: c.Header, Filled: c.Filled})
		}
	}
	return out
}

// fieldAudits lists the fields an import changed, old → new.
func fieldAudits(old, e *ledger.Entry, actor, detail string, words *ledger.StatusWords) []ledger.AuditRecord {
	var out []ledger.AuditRecord
	for _, f := range fields {
		var a, b string
		if f.Kind == kindStatus {
			a, b = statusWord(old, words), statusWord(e, words)
			if old.Status == e.Status && a == b {
				continue
			}
			d := detail
			if !ledger.CanTransition(old.Status, e.Status) {
				d += "; not a lifecycle move (" + old.Status.Label() + " → " + e.Status.Label() + "), accepted from the sheet"
			}
			out = append(out, ledger.AuditRecord{Actor: actor, Action: "entry.import", Subject: e.ID, Field: f.Name, Old: a, New: b, Detail: d})
			continue
		}
		a, _ = old.Get(f.Name)
		b, _ = e.Get(f.Name)
		if a != b {
			out = append(out, ledger.AuditRecord{Actor: actor, Action: "entry.import", Subject: e.ID, Field: f.Name, Old: a, New: b, Detail: detail})
		}
	}
	if !extrasEqual(old.Extras, e.Extras) {
		out = append(out, ledger.AuditRecord{Actor: actor, Action: "entry.import", Subject: e.ID, Field: "extras",
			Old: formatExtras(old.Extras), New: formatExtras(e.Extras), Detail: detail})
	}
	return out
}

func extrasEqual(a, b []ledger.Extra) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func formatExtras(x []ledger.Extra) string {
	parts := make([]string, len(x))
	for i, e := range x {
		parts[i] = e.Header + "=" + e.Value
	}
	return strings.Join(parts, "; ")
}
