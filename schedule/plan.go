package schedule

import (
	"fmt"
	"sort"
	"time"
)

// PlanStatus is what the holiday policy does to a step.
type PlanStatus string

// The plan statuses (the values of `fabu plan --json`).
const (
	PlanRun     PlanStatus = "run"     // at its cron time
	PlanShifted PlanStatus = "shifted" // moved to the previous working day
	PlanSkipped PlanStatus = "skipped" // not run; Reason says why
)

// DateLayout is how releases are named: their release day.
const DateLayout = "2006-01-02"

// Slot is one step of one release with its effective time.
type Slot struct {
	Release string // YYYY-MM-DD
	StepDef
	// Index is the step's place in its release (0 = cut).
	Index int
	// Nominal is the cron occurrence; At is the effective time (Nominal
	// unless shifted; for a skipped step, the time it would have run).
	Nominal time.Time
	At      time.Time
	Status  PlanStatus
	Reason  string
}

// Release is one week's train: named after its release day, with its
// steps in order.
type Release struct {
	Name string    // YYYY-MM-DD
	Day  time.Time // midnight of the release day, in the train's zone
	// Skipped is true when the release does not run at all (its release
	// day is a day off, or its cut is skipped); Reason says why.
	Skipped bool
	Reason  string
	Steps   []Slot
}

// Slot returns the release's step called name.
func (r *Release) Slot(name string) (Slot, bool) {
	for _, s := range r.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return Slot{}, false
}

// lookback is how far before the first wanted release day the release
// computation starts, so that the previous release (which bounds how far a
// cut may move) is known.
const lookback = 42 * 24 * time.Hour

func (tt *Timetable) dayOf(t time.Time) time.Time {
	y, m, d := t.In(tt.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, tt.loc)
}

// Plan returns the releases whose release day falls in the weeks weeks
// starting at from's day, each with all its steps (a cut may precede from).
func (tt *Timetable) Plan(from time.Time, weeks int) []Release {
	start := tt.dayOf(from)
	return tt.Releases(start, start.AddDate(0, 0, 7*weeks))
}

// Releases returns the releases whose release day is in [from, to) (days
// in the train's zone).
//
// How releases are derived: every occurrence C of the cut spec opens a
// release; its release day is the day of the report spec's first
// occurrence after C, and the release is named after that day. Each
// reminder runs at its spec's first occurrence after C (it must come no
// later than the report), and the escalation at the escalate spec's first
// occurrence after the report. A second cut before the same report is
// ignored. With the defaults, the Friday 17:00 cut (T-6) belongs to the
// release on the following Thursday T.
func (tt *Timetable) Releases(from, to time.Time) []Release {
	fromDay, toDay := tt.dayOf(from), tt.dayOf(to)
	if !toDay.After(fromDay) || tt.cut.sched == nil || tt.report.sched == nil {
		return nil
	}
	out := make([]Release, 0, int(toDay.Sub(fromDay).Hours()/24/7)+1)
	var prevRunDay time.Time // release day of the last release that runs
	last := ""
	t := fromDay.Add(-lookback)
	for {
		c := tt.cut.sched.Next(t)
		if c.IsZero() {
			break
		}
		t = c
		rp := tt.report.sched.Next(c)
		if rp.IsZero() {
			break
		}
		rday := tt.dayOf(rp)
		if !rday.Before(toDay) {
			break
		}
		name := rday.Format(DateLayout)
		if name == last {
			continue
		}
		last = name
		rel := tt.build(c.In(tt.loc), rp.In(tt.loc), rday, prevRunDay)
		if !rel.Skipped {
			prevRunDay = rday
		}
		if !rday.Before(fromDay) {
			out = append(out, rel)
		}
	}
	return out
}

// build lays out one release and applies the holiday policy.
func (tt *Timetable) build(cut, report, rday, prevRunDay time.Time) Release {
	rel := Release{Name: rday.Format(DateLayout), Day: rday}
	slot := func(d StepDef, at time.Time) Slot {
		return Slot{Release: rel.Name, StepDef: d, Nominal: at, At: at, Status: PlanRun}
	}
	steps := make([]Slot, 0, len(tt.reminders)+3)
	steps = append(steps, slot(tt.cut, cut))
	var reminders, unplaced []Slot
	for _, d := range tt.reminders {
		o := d.sched.Next(cut)
		if o.IsZero() || o.After(report) {
			s := slot(d, cut)
			s.Status = PlanSkipped
			s.Reason = fmt.Sprintf("the cron spec %q (%s) has no time between the cut (%s) and the report (%s)", d.Spec, d.ConfigKey, fmtTime(cut), fmtTime(report))
			unplaced = append(unplaced, s)
			continue
		}
		reminders = append(reminders, slot(d, o.In(tt.loc)))
	}
	sort.SliceStable(reminders, func(i, j int) bool { return reminders[i].Nominal.Before(reminders[j].Nominal) })
	steps = append(steps, reminders...)
	steps = append(steps, unplaced...)
	steps = append(steps, slot(tt.report, report))
	esc := slot(tt.escalate, time.Time{})
	if e := tt.escalate.sched.Next(report); !e.IsZero() {
		esc.Nominal, esc.At = e.In(tt.loc), e.In(tt.loc)
	} else {
		esc.Nominal, esc.At = report, report
		esc.Status = PlanSkipped
		esc.Reason = fmt.Sprintf("the cron spec %q (%s) has no time after the report", tt.escalate.Spec, tt.escalate.ConfigKey)
	}
	steps = append(steps, esc)
	for i := range steps {
		steps[i].Index = i
	}
	rel.Steps = steps

	if day := tt.cal.Day(rday); !day.Work() {
		rel.Skipped = true
		rel.Reason = fmt.Sprintf("%s: release day %s is a day off; the week's train is skipped", day.Describe(), rel.Name)
		for i := range rel.Steps {
			rel.Steps[i].Status, rel.Steps[i].Reason = PlanSkipped, rel.Reason
		}
		return rel
	}

	var prevAt time.Time // effective time of the last step that runs
	for i := range rel.Steps {
		s := &rel.Steps[i]
		if s.Status == PlanSkipped {
			continue
		}
		if i > 0 && rel.Steps[0].Status == PlanSkipped {
			s.Status = PlanSkipped
			s.Reason = fmt.Sprintf("no release this week: the cut (%s) is skipped", rel.Steps[0].Nominal.Format(DateLayout))
			continue
		}
		day := tt.cal.Day(s.Nominal)
		if day.Work() {
			prevAt = s.At
			continue
		}
		nominalDay := s.Nominal.Format(DateLayout)
		if tt.policy == PolicySkip {
			s.Status = PlanSkipped
			s.Reason = fmt.Sprintf("%s: %s is a day off; skipped (holiday_policy: skip)", day.Describe(), nominalDay)
			continue
		}
		w, ok := tt.prevWorkday(s.Nominal)
		var cand time.Time
		if ok {
			h, m, sec := s.Nominal.Clock()
			cand = time.Date(w.Year(), w.Month(), w.Day(), h, m, sec, 0, tt.loc)
		}
		room := ok
		after := ""
		if s.Kind == KindCut {
			// The cut never moves to a day before the previous
			// release's release day.
			if ok && !prevRunDay.IsZero() && cand.Before(prevRunDay) {
				room = false
				after = fmt.Sprintf("since the previous release day %s", prevRunDay.Format(DateLayout))
			}
		} else if ok && !cand.After(prevAt) {
			room = false
			prev := rel.Steps[lastRun(rel.Steps[:i])]
			name := prev.Name
			if prev.Kind == KindCut {
				name = "the cut"
			}
			after = fmt.Sprintf("after %s at %s", name, fmtTime(prevAt))
		}
		if !room {
			s.Status = PlanSkipped
			if after == "" {
				s.Reason = fmt.Sprintf("%s: %s is a day off and no working day comes before it; skipped", day.Describe(), nominalDay)
			} else {
				s.Reason = fmt.Sprintf("%s: %s is a day off and no working day is left %s; skipped", day.Describe(), nominalDay, after)
			}
			continue
		}
		s.At = cand
		s.Status = PlanShifted
		s.Reason = fmt.Sprintf("%s: %s is a day off; moved to the previous working day %s", day.Describe(), nominalDay, cand.Format(DateLayout))
		prevAt = cand
	}
	if rel.Steps[0].Status == PlanSkipped {
		rel.Skipped = true
		rel.Reason = rel.Steps[0].Reason
	}
	return rel
}

// lastRun is the index of the last step in steps that runs.
func lastRun(steps []Slot) int {
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].Status != PlanSkipped {
			return i
		}
	}
	return 0
}

// prevWorkday returns the nearest working day before t's day (looking back
// at most 31 days).
func (tt *Timetable) prevWorkday(t time.Time) (time.Time, bool) {
	d := tt.dayOf(t)
	for i := 1; i <= 31; i++ {
		w := d.AddDate(0, 0, -i)
		if tt.cal.IsWorkday(w) {
			return w, true
		}
	}
	return time.Time{}, false
}

func fmtTime(t time.Time) string { return t.Format("2006-01-02 15:04") }
