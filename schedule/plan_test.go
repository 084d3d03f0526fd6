package schedule

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func defaultConfig(t testing.TB) Config {
	t.Helper()
	return Config{
		Train:    "t",
		Location: mustLoc(t, "Asia/Shanghai"),
		Cut:      "0 17 * * FRI",
		Reminders: []ReminderConfig{
			{Name: "sit-1", Env: "SIT", Cron: "0 9 * * MON"},
			{Name: "sit-2", Env: "SIT", Cron: "0 9 * * TUE", Note: "SIT 今天截止"},
			{Name: "uat", Env: "UAT", Cron: "0 9 * * WED"},
			{Name: "preprod", Env: "准生产", Cron: "0 9 * * THU"},
		},
		Report:   "0 18 * * THU",
		Escalate: "0 21 * * THU",
		Policy:   PolicyShift,
		Grace:    12 * time.Hour,
	}
}

func newTT(t testing.TB, edit func(*Config)) *Timetable {
	t.Helper()
	c := defaultConfig(t)
	if edit != nil {
		edit(&c)
	}
	tt, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

func dumpPlan(rels []Release) string {
	var b strings.Builder
	for _, r := range rels {
		for _, s := range r.Steps {
			fmt.Fprintf(&b, "%s %-8s %s %-7s %s\n", s.Release, s.Name, s.At.Format("2006-01-02 Mon 15:04"), s.Status, s.Reason)
		}
	}
	return b.String()
}

type wantStep struct {
	status PlanStatus
	at     string // "2006-01-02 15:04", "" = nominal unchanged
	reason string // substring
}

// checkRelease compares a release's steps with want (steps not in want
// must run at their cron time).
func checkRelease(t *testing.T, rel Release, want map[string]wantStep) {
	t.Helper()
	for _, s := range rel.Steps {
		w, ok := want[s.Name]
		if !ok {
			w = wantStep{status: PlanRun}
		}
		if s.Status != w.status {
			t.Errorf("%s %s: status %s (%s), want %s", rel.Name, s.Name, s.Status, s.Reason, w.status)
		}
		if w.at != "" && fmtTime(s.At) != w.at {
			t.Errorf("%s %s: at %s, want %s", rel.Name, s.Name, fmtTime(s.At), w.at)
		}
		if w.at == "" && !s.At.Equal(s.Nominal) {
			t.Errorf("%s %s: moved to %s", rel.Name, s.Name, fmtTime(s.At))
		}
		if !strings.Contains(s.Reason, w.reason) {
			t.Errorf("%s %s: reason %q does not contain %q", rel.Name, s.Name, s.Reason, w.reason)
		}
		if w.status == PlanRun && s.Reason != "" {
			t.Errorf("%s %s: a step that runs has reason %q", rel.Name, s.Name, s.Reason)
		}
	}
}

func all(status PlanStatus, reason string, names ...string) map[string]wantStep {
	m := map[string]wantStep{}
	for _, n := range names {
		m[n] = wantStep{status: status, reason: reason}
	}
	return m
}

var stepNames = []string{"cut", "sit-1", "sit-2", "uat", "preprod", "report", "escalate"}

// TestPlan2026 walks every release of 2026 with the default schedule and
// the shift policy: the holiday weeks as listed, every other week with one
// cut, four reminders, the report and the escalation at their cron times.
func TestPlan2026(t *testing.T) {
	tt := newTT(t, nil)
	rels := tt.Releases(day(t, "2026-01-01"), day(t, "2027-01-01"))
	if len(rels) != 53 {
		t.Fatalf("%d releases in 2026, want 53 (every Thursday)", len(rels))
	}
	exceptions := map[string]map[string]wantStep{
		"2026-01-01": all(PlanSkipped, "元旦节 (New Year's Day): release day 2026-01-01 is a day off; the week's train is skipped", stepNames...),
		"2026-01-08": {"cut": {PlanShifted, "2025-12-31 17:00", "元旦节 (New Year's Day): 2026-01-02 is a day off; moved to the previous working day 2025-12-31"}},
		"2026-02-19": all(PlanSkipped, "春节 (Spring Festival): release day 2026-02-19 is a day off; the week's train is skipped", stepNames...),
		"2026-02-26": {
			"cut":   {PlanShifted, "2026-02-14 17:00", "春节 (Spring Festival): 2026-02-20 is a day off; moved to the previous working day 2026-02-14"},
			"sit-1": {PlanSkipped, "", "2026-02-23 is a day off and no working day is left after the cut at 2026-02-14 17:00"},
		},
		"2026-04-09": {"sit-1": {PlanSkipped, "", "清明节 (Qingming Festival): 2026-04-06 is a day off and no working day is left after the cut at 2026-04-03 17:00"}},
		"2026-05-07": {
			"cut":   {PlanShifted, "2026-04-30 17:00", "劳动节 (Labour Day): 2026-05-01 is a day off; moved to the previous working day 2026-04-30"},
			"sit-1": {PlanSkipped, "", "2026-05-04 is a day off and no working day is left after the cut"},
			"sit-2": {PlanSkipped, "", "2026-05-05 is a day off and no working day is left after the cut"},
		},
		"2026-06-25": {"cut": {PlanShifted, "2026-06-18 17:00", "端午节 (Dragon Boat Festival): 2026-06-19 is a day off; moved to the previous working day 2026-06-18"}},
		"2026-10-01": all(PlanSkipped, "国庆节 (National Day): release day 2026-10-01 is a day off; the week's train is skipped", stepNames...),
		"2026-10-08": {
			"cut":   {PlanShifted, "2026-09-30 17:00", "国庆节 (National Day): 2026-10-02 is a day off; moved to the previous working day 2026-09-30"},
			"sit-1": {PlanSkipped, "", "2026-10-05 is a day off and no working day is left after the cut at 2026-09-30 17:00"},
			"sit-2": {PlanSkipped, "", "2026-10-06 is a day off"},
			"uat":   {PlanSkipped, "", "2026-10-07 is a day off"},
		},
	}
	normal := 0
	for i, rel := range rels {
		if rel.Day.Weekday() != time.Thursday {
			t.Errorf("release %s is a %s", rel.Name, rel.Day.Weekday())
		}
		var names []string
		for _, s := range rel.Steps {
			names = append(names, s.Name)
		}
		if strings.Join(names, ",") != strings.Join(stepNames, ",") {
			t.Errorf("release %s has steps %v", rel.Name, names)
		}
		want, special := exceptions[rel.Name]
		checkRelease(t, rel, want)
		if !special {
			normal++
			// A normal week: Friday 17:00 cut (T-6), Mon–Thu 09:00, Thu 18:00 and 21:00.
			wantAt := []string{"Fri 17:00 -6", "Mon 09:00 -3", "Tue 09:00 -2", "Wed 09:00 -1", "Thu 09:00 0", "Thu 18:00 0", "Thu 21:00 0"}
			for j, s := range rel.Steps {
				got := fmt.Sprintf("%s %d", s.At.Format("Mon 15:04"), int(s.At.Sub(rel.Day).Hours()/24)-boolInt(s.At.Before(rel.Day)))
				if got != wantAt[j] {
					t.Errorf("release %s step %s at %s, want %s", rel.Name, s.Name, got, wantAt[j])
				}
			}
		}
		if i > 0 && !rel.Day.Equal(rels[i-1].Day.AddDate(0, 0, 7)) {
			t.Errorf("release %s does not follow %s by a week", rel.Name, rels[i-1].Name)
		}
	}
	if normal != 53-len(exceptions) {
		t.Errorf("%d normal weeks, want %d", normal, 53-len(exceptions))
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestMidAutumnCut: Friday 2026-09-25 (中秋节) is the cut of release
// 2026-10-01, which is National Day: the whole train is skipped, so the cut
// is neither moved to Thursday 09-24 nor run; the entries wait for the
// release of 2026-10-08, whose cut moves to Wednesday 09-30.
func TestMidAutumnCut(t *testing.T) {
	tt := newTT(t, nil)
	rels := tt.Releases(day(t, "2026-09-20"), day(t, "2026-10-10"))
	var found bool
	for _, rel := range rels {
		for _, s := range rel.Steps {
			if s.At.Format(DateLayout) == "2026-09-24" && rel.Name != "2026-09-24" {
				t.Errorf("step %s of release %s moved to 2026-09-24", s.Name, rel.Name)
			}
			if s.Nominal.Format(DateLayout) != "2026-09-25" {
				continue
			}
			found = true
			if rel.Name != "2026-10-01" || s.Name != "cut" {
				t.Errorf("2026-09-25 holds %s of %s, want the cut of 2026-10-01", s.Name, rel.Name)
			}
			if s.Status != PlanSkipped || s.At.Format(time.RFC3339) != "2026-09-25T17:00:00+08:00" {
				t.Errorf("cut of 2026-10-01: %s at %s", s.Status, s.At.Format(time.RFC3339))
			}
			if want := "国庆节 (National Day): release day 2026-10-01 is a day off; the week's train is skipped"; s.Reason != want {
				t.Errorf("reason %q, want %q", s.Reason, want)
			}
		}
	}
	if !found {
		t.Fatal("no step on 2026-09-25")
	}
}

func TestPolicySkipVsShift(t *testing.T) {
	cases := []struct {
		name    string
		policy  Policy
		release string
		want    map[string]wantStep
	}{
		{"shift: spring festival cut moves to the make-up saturday", PolicyShift, "2026-02-26", map[string]wantStep{
			"cut":   {PlanShifted, "2026-02-14 17:00", "moved to the previous working day 2026-02-14"},
			"sit-1": {PlanSkipped, "", "no working day is left"},
		}},
		{"skip: spring festival cut skipped, no release", PolicySkip, "2026-02-26", func() map[string]wantStep {
			m := all(PlanSkipped, "no release this week: the cut (2026-02-20) is skipped", stepNames[1:]...)
			m["cut"] = wantStep{PlanSkipped, "", "春节 (Spring Festival): 2026-02-20 is a day off; skipped (holiday_policy: skip)"}
			return m
		}()},
		{"shift: qingming monday reminder has no room", PolicyShift, "2026-04-09", map[string]wantStep{
			"sit-1": {PlanSkipped, "", "no working day is left after the cut"},
		}},
		{"skip: qingming monday reminder skipped", PolicySkip, "2026-04-09", map[string]wantStep{
			"sit-1": {PlanSkipped, "", "清明节 (Qingming Festival): 2026-04-06 is a day off; skipped (holiday_policy: skip)"},
		}},
		{"shift: dragon boat cut moves to thursday", PolicyShift, "2026-06-25", map[string]wantStep{
			"cut": {PlanShifted, "2026-06-18 17:00", "端午节"},
		}},
		{"skip: dragon boat cut skipped", PolicySkip, "2026-06-25", func() map[string]wantStep {
			m := all(PlanSkipped, "no release this week", stepNames[1:]...)
			m["cut"] = wantStep{PlanSkipped, "", "holiday_policy: skip"}
			return m
		}()},
		{"skip: national day release skipped", PolicySkip, "2026-10-01", all(PlanSkipped, "国庆节 (National Day): release day 2026-10-01 is a day off", stepNames...)},
		{"shift: national day release skipped", PolicyShift, "2026-10-01", all(PlanSkipped, "the week's train is skipped", stepNames...)},
		{"skip: normal week untouched", PolicySkip, "2026-09-17", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tt := newTT(t, func(c *Config) { c.Policy = tc.policy })
			rels := tt.Releases(day(t, tc.release), day(t, tc.release).AddDate(0, 0, 1))
			if len(rels) != 1 {
				t.Fatalf("%d releases", len(rels))
			}
			checkRelease(t, rels[0], tc.want)
		})
	}
}

func TestConfigDaysOverridePlan(t *testing.T) {
	cases := []struct {
		name               string
		holidays, workdays []string
		release            string
		want               map[string]wantStep
	}{
		{"working on national day runs its train", nil, []string{"2026-10-01"}, "2026-10-01", map[string]wantStep{
			"cut": {PlanShifted, "2026-09-24 17:00", "中秋节 (Mid-Autumn Festival): 2026-09-25 is a day off; moved to the previous working day 2026-09-24"},
		}},
		{"the next week's cut may move to that working day", nil, []string{"2026-10-01"}, "2026-10-08", map[string]wantStep{
			"cut":   {PlanShifted, "2026-10-01 17:00", "moved to the previous working day 2026-10-01"},
			"sit-1": {PlanSkipped, "", "no working day is left"},
			"sit-2": {PlanSkipped, "", "no working day is left"},
			"uat":   {PlanSkipped, "", "no working day is left"},
		}},
		{"company day off on a release day", []string{"2026-12-31"}, nil, "2026-12-31", all(PlanSkipped, "company day off (train.holidays): release day 2026-12-31 is a day off; the week's train is skipped", stepNames...)},
		{"company day off on a monday", []string{"2026-09-14"}, nil, "2026-09-17", map[string]wantStep{
			"sit-1": {PlanSkipped, "", "company day off (train.holidays): 2026-09-14 is a day off and no working day is left after the cut"},
		}},
		{"a year lunar-go does not know", []string{"2028-01-27"}, nil, "2028-01-27", all(PlanSkipped, "company day off", stepNames...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tt := newTT(t, func(c *Config) { c.Holidays, c.Workdays = tc.holidays, tc.workdays })
			rels := tt.Releases(day(t, tc.release), day(t, tc.release).AddDate(0, 0, 1))
			if len(rels) != 1 {
				t.Fatalf("%d releases", len(rels))
			}
			checkRelease(t, rels[0], tc.want)
		})
	}
}

func TestNewErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{"bad cut", func(c *Config) { c.Cut = "0 17 * * FRYDAY" }, []string{"train.schedule.cut", `"0 17 * * FRYDAY"`}},
		{"bad reminder", func(c *Config) { c.Reminders[1].Cron = "61 9 * * TUE" }, []string{"train.schedule.reminders[1].cron", `"61 9 * * TUE"`}},
		{"lone CRON_TZ does not panic", func(c *Config) { c.Report = "CRON_TZ=UTC" }, []string{"train.schedule.report", `"CRON_TZ=UTC"`}},
		{"every refused", func(c *Config) { c.Escalate = "@every 1h" }, []string{"train.schedule.escalate", "@every"}},
		{"never fires", func(c *Config) { c.Cut = "0 17 30 2 *" }, []string{"train.schedule.cut", "never fires"}},
		{"empty", func(c *Config) { c.Report = " " }, []string{"train.schedule.report", "missing cron spec"}},
		{"duplicate name", func(c *Config) { c.Reminders[2].Name = "sit-1" }, []string{"train.schedule.reminders[2].name", `"sit-1"`}},
		{"reserved name", func(c *Config) { c.Reminders[0].Name = "report" }, []string{"train.schedule.reminders[0].name", `"report"`}},
		{"bad policy", func(c *Config) { c.Policy = "maybe" }, []string{"train.holiday_policy", `"maybe"`}},
		{"bad holiday", func(c *Config) { c.Holidays = []string{"2026-02-30"} }, []string{"train.holidays[0]"}},
		{"two at once", func(c *Config) { c.Cut, c.Report = "x", "y" }, []string{"train.schedule.cut", "train.schedule.report"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultConfig(t)
			tc.edit(&c)
			_, err := New(c)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestSpecsInOtherZones(t *testing.T) {
	// A cut written in UTC (09:00 UTC = 17:00 in Shanghai) gives the same plan.
	tt := newTT(t, func(c *Config) { c.Cut = "CRON_TZ=UTC 0 9 * * FRI" })
	rels := tt.Plan(day(t, "2026-09-14"), 1)
	if got := rels[0].Steps[0].At.Format(time.RFC3339); got != "2026-09-11T17:00:00+08:00" {
		t.Errorf("cut at %s", got)
	}
	// Seconds are optional.
	tt = newTT(t, func(c *Config) { c.Report = "30 0 18 * * THU" })
	if got := tt.Plan(day(t, "2026-09-14"), 1)[0].Steps[5].At.Format("15:04:05"); got != "18:00:30" {
		t.Errorf("report at %s", got)
	}
}

func TestReminderOutsideWeek(t *testing.T) {
	// A reminder on Friday morning comes after the Thursday report: it has
	// no place in the release and the plan says so.
	tt := newTT(t, func(c *Config) {
		c.Reminders = append(c.Reminders, ReminderConfig{Name: "late", Env: "SIT", Cron: "0 9 * * FRI"})
	})
	rel := tt.Plan(day(t, "2026-09-14"), 1)[0]
	s, ok := rel.Slot("late")
	if !ok || s.Status != PlanSkipped || !strings.Contains(s.Reason, "has no time between the cut") {
		t.Errorf("slot %+v", s)
	}
}
