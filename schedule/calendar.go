package schedule

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
)

// DayKind says why a day is a working day or a day off.
type DayKind uint8

// The kinds of days, from the most to the least specific source.
const (
	Weekday     DayKind = iota // Monday to Friday, nothing special: working
	Weekend                    // Saturday or Sunday: off
	Holiday                    // a statutory holiday (lunar-go): off
	MakeUpDay                  // a statutory make-up working day (调休): working
	CompanyOff                 // listed in train.holidays: off
	CompanyWork                // listed in train.workdays: working
)

// Day is one calendar day as the train sees it.
type Day struct {
	Date time.Time // midnight, in the location asked for
	Kind DayKind
	// Name is the statutory holiday's name as lunar-go gives it (国庆节,
	// 春节, …) for Holiday and MakeUpDay; "" otherwise.
	Name string
}

// Work reports whether the day is a working day.
func (d Day) Work() bool {
	switch d.Kind {
	case Weekday, MakeUpDay, CompanyWork:
		return true
	}
	return false
}

// Describe names the day for a reason text: "国庆节 (National Day)",
// "Saturday", "company day off (train.holidays)", …
func (d Day) Describe() string {
	switch d.Kind {
	case Holiday:
		return HolidayName(d.Name)
	case MakeUpDay:
		return "make-up working day for " + HolidayName(d.Name)
	case CompanyOff:
		return "company day off (train.holidays)"
	case CompanyWork:
		return "company working day (train.workdays)"
	case Weekend:
		return d.Date.Weekday().String()
	}
	return d.Date.Weekday().String()
}

// holidayEnglish translates lunar-go's holiday names.
var holidayEnglish = map[string]string{
	"元旦节":   "New Year's Day",
	"春节":    "Spring Festival",
	"清明节":   "Qingming Festival",
	"劳动节":   "Labour Day",
	"端午节":   "Dragon Boat Festival",
	"中秋节":   "Mid-Autumn Festival",
	"国庆节":   "National Day",
	"国庆中秋":  "National Day and Mid-Autumn Festival",
	"抗战胜利日": "Victory Day",
}

// HolidayName returns "国庆节 (National Day)" for lunar-go's name 国庆节
// (the name alone when no translation is known).
func HolidayName(zh string) string {
	if en, ok := holidayEnglish[zh]; ok {
		return zh + " (" + en + ")"
	}
	return zh
}

// Calendar decides working days: Chinese statutory holidays and make-up
// working days from github.com/6tail/lunar-go, weekends, and the
// configured extra days off and working days, which win over both. Each
// year is computed once, on first use, and kept. It is safe for concurrent
// use.
type Calendar struct {
	off  map[int]bool // yyyymmdd → configured day off
	work map[int]bool // yyyymmdd → configured working day
	// years with a configured date count as having data.
	configYears map[int]bool

	mu    sync.Mutex
	years map[int]*calYear
}

type calYear struct {
	kinds     []DayKind // by day of year - 1
	names     []string  // holiday names, by day of year - 1
	statutory bool      // lunar-go knows this year
}

func ymdKey(y int, m time.Month, d int) int { return y*10000 + int(m)*100 + d }

// NewCalendar builds a calendar with the configured extra days off
// (holidays) and working days (workdays), written YYYY-MM-DD. Errors name
// the config key.
func NewCalendar(holidays, workdays []string) (*Calendar, error) {
	c := &Calendar{off: map[int]bool{}, work: map[int]bool{}, configYears: map[int]bool{}, years: map[int]*calYear{}}
	var errs []error
	add := func(key string, list []string, into map[int]bool) {
		for i, s := range list {
			t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s[%d]: %q is not a date (write YYYY-MM-DD)", key, i, s))
				continue
			}
			into[ymdKey(t.Date())] = true
			c.configYears[t.Year()] = true
		}
	}
	add("train.holidays", holidays, c.off)
	add("train.workdays", workdays, c.work)
	for k := range c.off {
		if c.work[k] {
			errs = append(errs, fmt.Errorf("train.holidays and train.workdays both list %04d-%02d-%02d (keep it in one of them)", k/10000, k/100%100, k%100))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Day returns what the calendar says of t's date (in t's location).
func (c *Calendar) Day(t time.Time) Day {
	y, m, d := t.Date()
	date := time.Date(y, m, d, 0, 0, 0, 0, t.Location())
	yr := c.year(y)
	i := date.YearDay() - 1
	return Day{Date: date, Kind: yr.kinds[i], Name: yr.names[i]}
}

// IsWorkday reports whether t's date is a working day.
func (c *Calendar) IsWorkday(t time.Time) bool { return c.Day(t).Work() }

// HasData reports whether the calendar knows the holidays of year: the
// statutory data covers it, or the configuration lists a date in it.
func (c *Calendar) HasData(year int) bool {
	return c.year(year).statutory || c.configYears[year]
}

func (c *Calendar) year(y int) *calYear {
	c.mu.Lock()
	defer c.mu.Unlock()
	if yr, ok := c.years[y]; ok {
		return yr
	}
	yr := c.buildYear(y)
	c.years[y] = yr
	return yr
}

// buildYear computes every day of year y: weekends, then lunar-go's
// statutory days, then the configured overrides.
func (c *Calendar) buildYear(y int) *calYear {
	first := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	n := first.AddDate(1, 0, 0).Sub(first).Hours() / 24
	yr := &calYear{kinds: make([]DayKind, int(n)), names: make([]string, int(n))}
	for i := range yr.kinds {
		switch first.AddDate(0, 0, i).Weekday() {
		case time.Saturday, time.Sunday:
			yr.kinds[i] = Weekend
		}
	}
	for _, h := range statutoryYear(y) {
		t, err := time.Parse("2006-01-02", h.GetDay())
		if err != nil || t.Year() != y {
			continue
		}
		i := t.YearDay() - 1
		yr.statutory = true
		yr.names[i] = h.GetName()
		if h.IsWork() {
			yr.kinds[i] = MakeUpDay
		} else {
			yr.kinds[i] = Holiday
		}
	}
	for i := range yr.kinds {
		k := ymdKey(first.AddDate(0, 0, i).Date())
		switch {
		case c.off[k]:
			yr.kinds[i] = CompanyOff
		case c.work[k]:
			yr.kinds[i] = CompanyWork
		}
	}
	return yr
}

// statutoryYear returns lunar-go's entries for year y. lunar-go has no
// "which years do you know" call: a year it knows has at least one entry
// (every year has New Year's Day), and GetHolidaysByYear returns an empty
// list for a year outside its data (2002–2027 in v1.4.7).
func statutoryYear(y int) []*HolidayUtil.Holiday {
	l := HolidayUtil.GetHolidaysByYear(y)
	var out []*HolidayUtil.Holiday
	for e := l.Front(); e != nil; e = e.Next() {
		if h, ok := e.Value.(*HolidayUtil.Holiday); ok {
			out = append(out, h)
		}
	}
	return out
}

var (
	dataYearsOnce  sync.Once
	dataYearsFirst int
	dataYearsLast  int
)

// StatutoryYears returns the first and last year of the built-in statutory
// holiday data (found once by asking lunar-go year by year).
func StatutoryYears() (first, last int) {
	dataYearsOnce.Do(func() {
		for y := 1990; y <= 2200; y++ {
			// A year counts when it has New Year's Day (2001 only has
			// the make-up days of 2002's New Year).
			if HolidayUtil.GetHolidaysByYear(y).Len() > 2 {
				if dataYearsFirst == 0 {
					dataYearsFirst = y
				}
				dataYearsLast = y
			}
		}
	})
	return dataYearsFirst, dataYearsLast
}

// WarnAhead is how far ahead CoverageWarning looks.
const WarnAhead = 60 * 24 * time.Hour

// CoverageWarning returns a warning when the calendar has no holiday data
// for some day in [from, from+ahead), or "" when it has. The daemon logs it
// at start.
func (c *Calendar) CoverageWarning(from time.Time, ahead time.Duration) string {
	end := from.Add(ahead)
	var missing []string
	for y := from.Year(); y <= end.Year(); y++ {
		if !c.HasData(y) {
			missing = append(missing, fmt.Sprint(y))
		}
	}
	if len(missing) == 0 {
		return ""
	}
	sort.Strings(missing)
	first, last := StatutoryYears()
	return fmt.Sprintf("the holiday calendar has no data for %s (the next %d days reach %s): the built-in Chinese statutory holidays cover %d–%d, so only weekends count as days off there; list that year's days off and make-up working days under train.holidays and train.workdays",
		strings.Join(missing, ", "), int(ahead.Hours()/24), end.Format("2006-01-02"), first, last)
}
