package demo

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/ledger/sheet"
)

// writeOutputs writes index.html, timeline.txt, mails.json and the ledger
// as it stands, and collects the problems into res.
func (w *week) writeOutputs(res *Result, s *ledger.Store) error {
	snap, err := TakeSnapshot(s, DemoRelease, w.cfg.Train.Environments)
	if err != nil {
		return fmt.Errorf("demo: read the release: %w", err)
	}
	res.State = snap.State
	res.Mails = len(w.archive.Mails())
	res.Problems = w.problems(snap)
	var entries []*ledger.Entry
	if err := s.View(func(tx *ledger.Tx) error {
		var err error
		entries, err = tx.Entries()
		return err
	}); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := sheet.WriteXLSX(&buf, entries, sheet.ExportOptions{}); err != nil {
		return fmt.Errorf("demo: export the ledger: %w", err)
	}
	if err := os.WriteFile(filepath.Join(w.o.Out, "ledger-after.xlsx"), buf.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(w.o.Out, "timeline.txt"), []byte(w.tl.Text()), 0o644); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(w.o.Out, "mails.json"), w.archive.Manifest()); err != nil {
		return err
	}
	page := &Page{
		Title: "fabu demo — release " + DemoRelease, From: res.SimFrom, To: w.clock.Now(), Real: res.Real, Speed: w.o.Speed,
		Snapshot: snap, Events: w.tl.Events(), Problems: res.Problems, Generated: time.Now(),
		Files: []PageFile{
			{"timeline.txt", "the timeline as printed"},
			{"mails.json", "every mail: file, sender, recipients, kind, simulated time"},
			{"ledger-sample.xlsx", "the sample ledger the week started from (imported with fabu's spreadsheet import)"},
			{"ledger-after.xlsx", "the ledger after the week (exported by fabu)"},
			{"fabu.log", "fabu's own log"},
			{"fabu.db", "fabu's store: try  fabu --db " + filepath.Join(w.o.Out, "fabu.db") + " release show " + DemoRelease},
		},
	}
	var html bytes.Buffer
	if err := WriteIndex(&html, page); err != nil {
		return fmt.Errorf("demo: render index.html: %w", err)
	}
	return os.WriteFile(res.Index, html.Bytes(), 0o644)
}

// problems compares the week with the script.
func (w *week) problems(snap *Snapshot) []string {
	var out []string
	mails := w.archive.Mails()
	for _, want := range expectedMails {
		found := slices.ContainsFunc(mails, func(m *Mail) bool {
			return m.FromFabu && m.Kind == want.kind && (want.step == "" || m.Step == want.step)
		})
		if !found {
			what := want.kind
			if want.step != "" {
				what += " " + want.step
			}
			out = append(out, "fabu sent no "+what+" mail")
		}
	}
	if snap.State != string(ledger.ReleaseReleased) {
		out = append(out, fmt.Sprintf("release %s ended %s, not released", DemoRelease, snap.State))
	}
	return append(out, w.cast.Problems()...)
}

func (w *week) summary(res *Result) {
	fmt.Fprintf(w.out, "\nThe week %s → %s took %s of real time: %d mails, release %s is %s.\n",
		simTime(res.SimFrom), simTime(res.SimTo), res.Real.Round(10*time.Millisecond), res.Mails, DemoRelease, res.State)
	fmt.Fprintf(w.out, "Output: %s\n  open %s for the timeline, every mail and the release's test matrix\n", res.Out, res.Index)
}

// printLogins tells how to connect a real mail client.
func (w *week) printLogins(s Secrets) {
	fmt.Fprintf(w.out, "\nThe week is over; fabu and the mail servers keep running (the clock now at real speed) until Ctrl-C.\n")
	fmt.Fprintf(w.out, "Connect a mail client: IMAP %s and SMTP %s, both plain (no TLS), loopback only; the login is the address.\n", w.post.IMAPAddr(), w.post.SMTPAddr())
	for _, p := range People {
		fmt.Fprintf(w.out, "  %s%-24s password %s\n", padWidth(p.Name, 8), p.Email(), s.Passwords[p.Login])
	}
	fmt.Fprintf(w.out, "Reply as 李经理 to any of fabu's mails (keep the [#…] in the subject) and watch fabu answer here.\n")
	fmt.Fprintf(w.out, "Output so far: %s\n", filepath.Join(w.o.Out, "index.html"))
}
