package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/fabu-team/fabu/cmd/fabu/internal/demo"
	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/schedule"
	"github.com/spf13/cobra"
)

func newDemoCmd(a *app) *cobra.Command {
	var out string
	var keep bool
	var speed float64
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run one whole week of the release train on built-in mail servers, in seconds",
		Long: "demo runs fabu's daemon for one week on an embedded setup: an SMTP and an IMAP server on\n" +
			"loopback, a sample ledger imported through the spreadsheet import, scripted people who reply\n" +
			"by mail (testers report results, a failure and its re-test, the manager answers unclearly and\n" +
			"then approves from a Chinese Outlook, ops confirm the release), and a fast clock.\n" +
			"It prints the timeline as the week goes and writes every mail (.eml and a readable copy) and\n" +
			"an index.html with the timeline and the release's test matrix into --out (default: a new\n" +
			"temporary folder). No configuration is read: the demo brings its own.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !(speed > 0) {
				return usageError("demo --speed %v: give a number greater than 0 (1 is real time)", speed)
			}
			dir, err := demoOutDir(out)
			if err != nil {
				return err
			}
			res, err := demo.Run(cmd.Context(), demo.Options{
				Out: dir, KeepRunning: keep, Speed: speed, Stdout: a.stdout, NewDaemon: newDemoDaemon,
			})
			if err != nil {
				if res != nil {
					fmt.Fprintf(a.stderr, "the demo's output (with fabu's log, fabu.log) is in %s\n", dir)
				}
				return fmt.Errorf("demo: %w", err)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&out, "out", "", "folder for the mails, index.html and the store (created if missing; default: a new temporary folder)")
	f.BoolVar(&keep, "keep-running", false, "after the week, keep fabu and the mail servers running (at real speed) until Ctrl-C, so a mail client can connect")
	f.Float64Var(&speed, "speed", demo.DefaultSpeed, "how many times faster than real time the week runs")
	return c
}

// demoOutDir creates the output folder: a new temporary one, or dir,
// which must be empty or hold an earlier demo's output (replaced).
func demoOutDir(dir string) (string, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "fabu-demo-")
		if err != nil {
			return "", fmt.Errorf("demo: %w", err)
		}
		return d, nil
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("demo --out: %w", err)
		}
		return dir, nil
	case err != nil:
		return "", usageError("demo --out %s: %v", dir, err)
	}
	if db := filepath.Join(dir, "fabu.db"); fileExists(db) {
		s, err := ledger.Open(db, ledger.Options{LockTimeout: 200 * time.Millisecond})
		if errors.Is(err, ledger.ErrLocked) {
			return "", usageError("demo --out %s: another fabu is using this folder's store; choose another folder", dir)
		}
		if err == nil {
			s.Close()
		}
	}
	ours := map[string]bool{"index.html": true, "timeline.txt": true, "mails.json": true, "fabu.db": true, "fabu.log": true,
		"ledger-sample.xlsx": true, "ledger-after.xlsx": true, demo.MailsDir: true}
	var foreign []string
	for _, e := range entries {
		if !ours[e.Name()] {
			foreign = append(foreign, e.Name())
		}
	}
	if len(foreign) > 0 {
		return "", usageError("demo --out %s: the folder holds other files (%s); choose an empty or new folder", dir, strings.Join(foreign, ", "))
	}
	for _, e := range entries { // an earlier demo's output
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return "", fmt.Errorf("demo --out: remove the earlier demo's %s: %w", e.Name(), err)
		}
	}
	return dir, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// demoDaemon is fabu's daemon as the demo drives it.
type demoDaemon struct{ *daemon }

func (d demoDaemon) Store() *ledger.Store           { return d.store }
func (d demoDaemon) Timetable() *schedule.Timetable { return d.tt }

// newDemoDaemon builds the real daemon for the demo: its own clock, no
// HTTP listener, and the demo's hooks.
func newDemoDaemon(cfg *config.Config, storePath string, clock schedule.Clock, logger *slog.Logger, h demo.Hooks) (demo.Daemon, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d, err := newDaemon(cfg, storePath, daemonOptions{
		Clock: clock, Logger: logger, NoHTTP: true, StepDone: h.StepDone, MailRead: h.MailRead,
	})
	if err != nil {
		return nil, err
	}
	return demoDaemon{d}, nil
}
