package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/fabu-team/fabu/schedule"
	"github.com/spf13/cobra"
	"golang.org/x/text/width"
)

// maxPlanWeeks bounds --weeks (twenty years).
const maxPlanWeeks = 1040

// planRow is one line of `fabu plan --json`. Scripts rely on these names.
type planRow struct {
	Release string `json:"release"` // YYYY-MM-DD
	Step    string `json:"step"`
	At      string `json:"at"`     // RFC 3339 with the train zone's offset
	Status  string `json:"status"` // run | shifted | skipped
	Reason  string `json:"reason"`
}

func newPlanCmd(a *app) *cobra.Command {
	var from string
	var weeks int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show the coming steps of the train: when each runs, or why it is shifted or skipped",
		Long: "plan lists the releases whose release day falls in the --weeks weeks starting at --from, each with all\n" +
			"its steps (a release's cut may come before --from), after the working-day calendar and the holiday policy.\n" +
			"It reads only the configuration, never the store.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			tt, err := schedule.New(scheduleConfig(cfg))
			if err != nil {
				return asUsage(fmt.Errorf("config %s: %w", cfg.File, err))
			}
			loc := tt.Location()
			start := time.Now().In(loc)
			if from != "" {
				start, err = time.ParseInLocation("2006-01-02", strings.TrimSpace(from), loc)
				if err != nil {
					return usageError("--from %q is not a date written YYYY-MM-DD", from)
				}
			}
			if weeks < 1 || weeks > maxPlanWeeks {
				return usageError("--weeks %d is out of range: 1 to %d", weeks, maxPlanWeeks)
			}
			if w := tt.Calendar().CoverageWarning(start, time.Duration(weeks)*7*24*time.Hour); w != "" {
				fmt.Fprintln(a.stderr, "warning:", w)
			}
			rows := planRows(tt.Plan(start, weeks), loc)
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(rows)
			}
			return writePlanTable(a.stdout, rows, loc)
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "first release day to show, YYYY-MM-DD (default: today in the train's zone)")
	f.IntVar(&weeks, "weeks", 4, "number of weeks of release days to show")
	f.BoolVar(&asJSON, "json", false, "print a JSON array of {release, step, at, status, reason}")
	return cmd
}

// scheduleConfig converts the config file's train section into the
// schedule package's options.
func scheduleConfig(c *config.Config) schedule.Config {
	t := c.Train
	sc := schedule.Config{
		Train:    t.Name,
		Location: c.Location(),
		Cut:      t.Schedule.Cut,
		Report:   t.Schedule.Report,
		Escalate: t.Schedule.Escalate,
		Policy:   schedule.Policy(t.HolidayPolicy),
		Holidays: t.Holidays,
		Workdays: t.Workdays,
		Grace:    t.Grace.D(),
	}
	for _, r := range t.Schedule.Reminders {
		sc.Reminders = append(sc.Reminders, schedule.ReminderConfig{Name: r.Name, Env: r.Env, Cron: r.Cron, Note: r.Note})
	}
	return sc
}

func planRows(rels []schedule.Release, loc *time.Location) []planRow {
	rows := []planRow{}
	for _, r := range rels {
		for _, s := range r.Steps {
			rows = append(rows, planRow{
				Release: r.Name,
				Step:    s.Name,
				At:      s.At.In(loc).Format(time.RFC3339),
				Status:  string(s.Status),
				Reason:  s.Reason,
			})
		}
	}
	return rows
}

// writePlanTable prints the plan as an aligned table (CJK characters count
// two columns), with a blank line between releases.
func writePlanTable(w io.Writer, rows []planRow, loc *time.Location) error {
	head := []string{"RELEASE", "STEP", "AT", "STATUS", "REASON"}
	cells := make([][]string, 0, len(rows))
	for _, r := range rows {
		at := r.At
		if t, err := time.Parse(time.RFC3339, r.At); err == nil {
			at = t.In(loc).Format("2006-01-02 Mon 15:04")
		}
		cells = append(cells, []string{r.Release, r.Step, at, r.Status, r.Reason})
	}
	widths := make([]int, len(head))
	for _, row := range append([][]string{head}, cells...) {
		for i, c := range row {
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		for i, c := range row {
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(head)
	for i, row := range cells {
		if i > 0 && row[0] != cells[i-1][0] {
			fmt.Fprintln(w)
		}
		line(row)
	}
	if len(cells) == 0 {
		fmt.Fprintln(w, "(no releases in that range)")
	}
	return nil
}

// displayWidth is the number of terminal columns s takes.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}
