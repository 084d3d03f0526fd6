package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/outbox"
	"github.com/fabu-team/fabu/mailflow/train"
	"github.com/fabu-team/fabu/templates"
	"github.com/spf13/cobra"
)

func newPreviewCmd(a *app) *cobra.Command {
	var release, out string
	var sample bool
	cmd := &cobra.Command{
		Use:   "preview STEP",
		Short: "Write the exact mail a step would send (.eml and .html), sending nothing",
		Long: "preview renders the mail(s) STEP would send for --release, exactly as they would be queued\n" +
			"(headers, reply token, .xlsx attachment), inside a store transaction that is rolled back:\n" +
			"nothing is stored and nothing is sent. A release that is not cut yet is cut inside that\n" +
			"transaction, so the test list shows the entries development has finished now (with none,\n" +
			"it says there is nothing to test). --sample renders the templates' bundled sample data\n" +
			"instead of the store.\n\n" +
			"STEP: testlist (alias cut), a reminder name (sit-1, sit-2, uat, preprod …) or remind-ENV,\n" +
			"report, escalate, approved (the ops mail), receipt, rejected, released, clarify, cannotuse,\n" +
			"outdated, ooo, empty, alert.\n\n" +
			"With --out DIR each mail is written to DIR/RELEASE-STEP.eml with DIR/RELEASE-STEP.html beside it;\n" +
			"without it the .eml is printed.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.loadConfig()
			if err != nil {
				return err
			}
			if release == "" {
				release = nextReleaseDay(c, time.Now())
			}
			if err := ledger.ValidReleaseName(release); err != nil {
				return asUsage(err)
			}
			var mails []train.PreviewMail
			if sample {
				mails, err = samplePreview(c, args[0], release)
			} else {
				mails, err = a.storePreview(c, args[0], release)
			}
			if err != nil {
				return err
			}
			return writePreviews(a.stdout, out, mails)
		},
	}
	cmd.Flags().StringVar(&release, "release", "", "release date YYYY-MM-DD (default: the coming Thursday)")
	cmd.Flags().StringVar(&out, "out", "", "folder to write RELEASE-STEP.eml and .html into (created if missing)")
	cmd.Flags().BoolVar(&sample, "sample", false, "render the bundled sample data instead of the store")
	return cmd
}

// storePreview renders step from the store, rolled back.
func (a *app) storePreview(c *config.Config, step, release string) ([]train.PreviewMail, error) {
	s, err := a.openStore(c, nil)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	set, err := loadTemplates(c)
	if err != nil {
		return nil, err
	}
	o := trainOptions(c)
	if len(o.TokenSecret) == 0 { // a preview's token is never checked
		o.TokenSecret = make([]byte, 32)
		rand.Read(o.TokenSecret)
	}
	tr := &train.Train{Store: s, Templates: set, People: trainPeople(c), Options: o, Logger: a.logger()}
	mails, err := tr.Preview(step, release)
	if err != nil && strings.Contains(err.Error(), "unknown step") {
		return nil, asUsage(err)
	}
	return mails, err
}

// samplePreview renders the templates' sample data for step as a mail to
// the configured people (or example addresses).
func samplePreview(c *config.Config, step, release string) ([]train.PreviewMail, error) {
	name := step
	switch step {
	case "cut":
		name = templates.TestList
	case "relay":
		name = templates.OutOfOff
	}
	for _, r := range c.Train.Schedule.Reminders {
		if r.Name == step {
			name = templates.Reminder
		}
	}
	if strings.HasPrefix(step, "remind-") {
		name = templates.Reminder
	}
	set, err := loadTemplates(c)
	if err != nil {
		return nil, err
	}
	d := templates.Sample(set.Lang(), name)
	d.Release, d.Title = release, c.Train.Title
	r, err := set.Render(name, d)
	if err != nil {
		if strings.Contains(err.Error(), "no mail named") {
			return nil, asUsage(fmt.Errorf("preview --sample: unknown step %q (known: %s, cut, relay, reminder names)", step, strings.Join(templates.Names, ", ")))
		}
		return nil, err
	}
	to := []outbox.Address{{Name: "sample", Addr: "sample@example.com"}}
	if len(c.People) > 0 {
		to = []outbox.Address{{Name: c.People[0].Name, Addr: plainAddr(c.People[0].Email)}}
	}
	from := fromAddr(c)
	_, mid := outbox.MailID(c.Train.Name, release, step, "sample", []string{to[0].Addr}, outbox.Domain(from.Addr))
	raw, err := outbox.Compose(&outbox.Message{MessageID: mid, Date: time.Now().In(c.Location()), From: from,
		To: to, Subject: r.Subject, Text: r.Text, HTML: r.HTML, Train: c.Train.Name, Release: release, Step: step})
	if err != nil {
		return nil, err
	}
	return []train.PreviewMail{{Name: release + "-" + step + "-sample", Step: step, Kind: name, Subject: r.Subject, To: []string{to[0].Addr}, Raw: raw, HTML: r.HTML}}, nil
}

// writePreviews writes the mails into dir, or prints them when dir is "".
func writePreviews(w io.Writer, dir string, mails []train.PreviewMail) error {
	if dir == "" {
		for i, m := range mails {
			if i > 0 {
				fmt.Fprintln(w)
			}
			if _, err := w.Write(m.Raw); err != nil {
				return err
			}
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("preview --out %s: %w", dir, err)
	}
	for _, m := range mails {
		eml := filepath.Join(dir, m.Name+".eml")
		if err := os.WriteFile(eml, m.Raw, 0o644); err != nil {
			return fmt.Errorf("preview: %w", err)
		}
		html := filepath.Join(dir, m.Name+".html")
		if err := os.WriteFile(html, []byte(m.HTML), 0o644); err != nil {
			return fmt.Errorf("preview: %w", err)
		}
		fmt.Fprintf(w, "%s\t%s\t(to %d: %s)\n", eml, m.Subject, len(m.To), strings.Join(m.To, ", "))
	}
	return nil
}
