package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// CronParser parses the train's step specs: five fields (minute hour
// day-of-month month day-of-week), seconds optional, descriptors such as
// @weekly, and a CRON_TZ= prefix. It is the same grammar as the config
// package's parser, which schedule cannot import.
var CronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Kind is what a step does; cmd maps each kind to a StepFunc.
type Kind string

// The kinds of steps.
const (
	KindCut      Kind = "cut"
	KindRemind   Kind = "remind"
	KindReport   Kind = "report"
	KindEscalate Kind = "escalate"
)

// Kinds lists every kind, in train order.
var Kinds = []Kind{KindCut, KindRemind, KindReport, KindEscalate}

// Policy is what happens to a step that falls on a day off.
type Policy string

// The holiday policies.
const (
	// PolicyShift moves a step to the previous working day (never to or
	// before the previous step); a step with no room left is skipped. A
	// release day that is a day off skips the week's train.
	PolicyShift Policy = "shift"
	// PolicySkip skips a step that falls on a day off. A release day that
	// is a day off skips the week's train, and so does a skipped cut.
	PolicySkip Policy = "skip"
)

// Config is the train's schedule, as cmd converts it from the config file.
type Config struct {
	// Train is the train's name (its key prefix in the store).
	Train string
	// Location is the train's time zone (default Asia/Shanghai). Specs
	// without CRON_TZ= are read in it, and it decides what a day is.
	Location *time.Location
	// Cut, Report and Escalate are cron specs; Reminders are the
	// environment reminders in configuration order.
	Cut       string
	Reminders []ReminderConfig
	Report    string
	Escalate  string
	// Policy is the holiday policy (default shift).
	Policy Policy
	// Holidays and Workdays are extra days off and extra working days
	// (YYYY-MM-DD); they override the statutory calendar.
	Holidays []string
	Workdays []string
	// Grace bounds how late a missed step is still done (default 12h);
	// see the package documentation for what happens beyond it.
	Grace time.Duration
}

// ReminderConfig is one environment reminder.
type ReminderConfig struct {
	Name string // step name, e.g. sit-1
	Env  string // environment, e.g. SIT
	Cron string
	Note string // extra line for the mail, e.g. "SIT closes today"
}

// StepDef is one step of the weekly train with its parsed spec.
type StepDef struct {
	Name      string // cut, sit-1, …, report, escalate
	Kind      Kind
	Env       string // reminders only
	Note      string // reminders only
	Spec      string // the cron spec as configured
	ConfigKey string // the config key, e.g. train.schedule.reminders[1].cron
	sched     cron.Schedule
}

// Timetable is the parsed schedule with its calendar: it computes the
// releases, their steps and what the holiday policy does to them. It is
// safe for concurrent use.
type Timetable struct {
	train     string
	loc       *time.Location
	cut       StepDef
	reminders []StepDef
	report    StepDef
	escalate  StepDef
	policy    Policy
	grace     time.Duration
	cal       *Calendar
}

// DefaultTimezone is the train's zone when none is configured.
const DefaultTimezone = "Asia/Shanghai"

// New parses the schedule. Errors name the config key and show the bad
// spec, all of them at once.
func New(c Config) (*Timetable, error) {
	var errs []error
	loc := c.Location
	if loc == nil {
		l, err := time.LoadLocation(DefaultTimezone)
		if err != nil {
			return nil, fmt.Errorf("train.timezone: cannot load %s: %w", DefaultTimezone, err)
		}
		loc = l
	}
	tt := &Timetable{train: c.Train, loc: loc, policy: c.Policy, grace: c.Grace}
	if tt.train == "" {
		tt.train = "default"
	}
	if tt.policy == "" {
		tt.policy = PolicyShift
	}
	if tt.policy != PolicyShift && tt.policy != PolicySkip {
		errs = append(errs, fmt.Errorf("train.holiday_policy: %q is not a policy (use shift or skip)", c.Policy))
	}
	if tt.grace == 0 {
		tt.grace = 12 * time.Hour
	}
	if tt.grace < 0 {
		errs = append(errs, fmt.Errorf("train.grace: negative grace period %s (e.g. 12h)", c.Grace))
	}
	parse := func(name string, kind Kind, key, spec string) StepDef {
		d := StepDef{Name: name, Kind: kind, Spec: spec, ConfigKey: key}
		s, err := ParseSpec(spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			return d
		}
		d.sched = s
		return d
	}
	tt.cut = parse("cut", KindCut, "train.schedule.cut", c.Cut)
	tt.report = parse("report", KindReport, "train.schedule.report", c.Report)
	tt.escalate = parse("escalate", KindEscalate, "train.schedule.escalate", c.Escalate)
	seen := map[string]string{"cut": "train.schedule.cut", "report": "train.schedule.report", "escalate": "train.schedule.escalate"}
	for i, r := range c.Reminders {
		key := fmt.Sprintf("train.schedule.reminders[%d]", i)
		name := strings.TrimSpace(r.Name)
		if name == "" {
			name = fmt.Sprintf("remind-%d", i+1)
		}
		if prev, ok := seen[name]; ok {
			errs = append(errs, fmt.Errorf("%s.name: step name %q is already used by %s (give every step its own name)", key, name, prev))
		}
		if strings.ContainsAny(name, "/\x00") {
			errs = append(errs, fmt.Errorf("%s.name: %q may not contain / (it is a key in the store)", key, name))
		}
		seen[name] = key
		d := parse(name, KindRemind, key+".cron", r.Cron)
		d.Env, d.Note = r.Env, r.Note
		tt.reminders = append(tt.reminders, d)
	}
	cal, err := NewCalendar(c.Holidays, c.Workdays)
	if err != nil {
		errs = append(errs, err)
	}
	tt.cal = cal
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return tt, nil
}

// ParseSpec parses one step's cron spec. It refuses @every (a train step
// needs calendar times) and a spec that never fires, and it turns the
// parser's panic on a lone CRON_TZ= prefix into an error.
func ParseSpec(spec string) (s cron.Schedule, err error) {
	const hint = `five fields (minute hour day-of-month month day-of-week), seconds optional, e.g. "0 9 * * MON"; CRON_TZ=Asia/Shanghai may prefix it`
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("missing cron spec (%s)", hint)
	}
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("bad cron spec %q: %v (%s)", spec, r, hint)
		}
	}()
	s, err = CronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("bad cron spec %q: %v (%s)", spec, err, hint)
	}
	if _, ok := s.(cron.ConstantDelaySchedule); ok {
		return nil, fmt.Errorf("bad cron spec %q: @every has no fixed time of day; a train step needs calendar times (%s)", spec, hint)
	}
	ref := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if s.Next(ref).IsZero() && s.Next(ref.AddDate(4, 0, 0)).IsZero() {
		return nil, fmt.Errorf("bad cron spec %q: it never fires (%s)", spec, hint)
	}
	return s, nil
}

// Train is the train's name.
func (tt *Timetable) Train() string { return tt.train }

// Location is the train's time zone.
func (tt *Timetable) Location() *time.Location { return tt.loc }

// Calendar is the working-day calendar.
func (tt *Timetable) Calendar() *Calendar { return tt.cal }

// Policy is the holiday policy.
func (tt *Timetable) Policy() Policy { return tt.policy }

// Grace is the catch-up grace period.
func (tt *Timetable) Grace() time.Duration { return tt.grace }

// Steps returns the step definitions in train order (cut, reminders in
// configuration order, report, escalate).
func (tt *Timetable) Steps() []StepDef {
	out := []StepDef{tt.cut}
	out = append(out, tt.reminders...)
	return append(out, tt.report, tt.escalate)
}

// Step returns the definition of the step called name.
func (tt *Timetable) Step(name string) (StepDef, bool) {
	for _, d := range tt.Steps() {
		if d.Name == name {
			return d, true
		}
	}
	return StepDef{}, false
}

// StepNames lists the step names in train order.
func (tt *Timetable) StepNames() []string {
	var out []string
	for _, d := range tt.Steps() {
		out = append(out, d.Name)
	}
	return out
}

// CoverageWarning is Calendar.CoverageWarning for the WarnAhead days from
// now, in the train's zone: the warning the daemon logs at start ("" when
// the calendar knows every day ahead).
func (tt *Timetable) CoverageWarning(now time.Time) string {
	return tt.cal.CoverageWarning(now.In(tt.loc), WarnAhead)
}
