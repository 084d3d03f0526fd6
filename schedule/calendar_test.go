package schedule

import (
	"strings"
	"testing"
	"time"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func day(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation(DateLayout, s, mustLoc(t, "Asia/Shanghai"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestStatutory2026 checks that lunar-go's data is the 2026 calendar the
// State Council published, day by day where it matters to the train.
func TestStatutory2026(t *testing.T) {
	cal, err := NewCalendar(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		date string
		kind DayKind
		zh   string
	}{
		{"new year", "2026-01-01", Holiday, "元旦节"},
		{"new year fri", "2026-01-02", Holiday, "元旦节"},
		{"new year make-up sun", "2026-01-04", MakeUpDay, "元旦节"},
		{"spring make-up sat feb 14", "2026-02-14", MakeUpDay, "春节"},
		{"spring first day off feb 15", "2026-02-15", Holiday, "春节"},
		{"spring eve feb 16", "2026-02-16", Holiday, "春节"},
		{"spring thu feb 19", "2026-02-19", Holiday, "春节"},
		{"spring fri feb 20", "2026-02-20", Holiday, "春节"},
		{"spring last day off feb 23", "2026-02-23", Holiday, "春节"},
		{"after spring feb 24", "2026-02-24", Weekday, ""},
		{"spring make-up sat feb 28", "2026-02-28", MakeUpDay, "春节"},
		{"qingming sat", "2026-04-04", Holiday, "清明节"},
		{"qingming sun", "2026-04-05", Holiday, "清明节"},
		{"qingming mon", "2026-04-06", Holiday, "清明节"},
		{"may day fri", "2026-05-01", Holiday, "劳动节"},
		{"may day tue", "2026-05-05", Holiday, "劳动节"},
		{"may day make-up sat", "2026-05-09", MakeUpDay, "劳动节"},
		{"dragon boat fri", "2026-06-19", Holiday, "端午节"},
		{"dragon boat sun", "2026-06-21", Holiday, "端午节"},
		{"national make-up sun sep 20", "2026-09-20", MakeUpDay, "国庆节"},
		{"mid-autumn fri sep 25", "2026-09-25", Holiday, "中秋节"},
		{"mid-autumn sun sep 27", "2026-09-27", Holiday, "中秋节"},
		{"national thu oct 1", "2026-10-01", Holiday, "国庆节"},
		{"national wed oct 7", "2026-10-07", Holiday, "国庆节"},
		{"after national thu oct 8", "2026-10-08", Weekday, ""},
		{"national make-up sat oct 10", "2026-10-10", MakeUpDay, "国庆节"},
		{"plain saturday", "2026-03-14", Weekend, ""},
		{"plain thursday", "2026-09-17", Weekday, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := cal.Day(day(t, tc.date))
			if d.Kind != tc.kind || d.Name != tc.zh {
				t.Errorf("%s: kind %d name %q, want kind %d name %q", tc.date, d.Kind, d.Name, tc.kind, tc.zh)
			}
			wantWork := tc.kind == Weekday || tc.kind == MakeUpDay
			if d.Work() != wantWork {
				t.Errorf("%s: work = %v, want %v", tc.date, d.Work(), wantWork)
			}
		})
	}
	// Every day of the Spring Festival and National Day breaks is off.
	for _, span := range [][2]string{{"2026-02-15", "2026-02-23"}, {"2026-10-01", "2026-10-07"}} {
		for d := day(t, span[0]); !d.After(day(t, span[1])); d = d.AddDate(0, 0, 1) {
			if cal.IsWorkday(d) {
				t.Errorf("%s is a working day, want off", d.Format(DateLayout))
			}
		}
	}
}

func TestDayDescribe(t *testing.T) {
	cal, err := NewCalendar([]string{"2026-12-31"}, []string{"2026-10-01"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ date, want string }{
		{"2026-09-25", "中秋节 (Mid-Autumn Festival)"},
		{"2026-02-14", "make-up working day for 春节 (Spring Festival)"},
		{"2026-12-31", "company day off (train.holidays)"},
		{"2026-10-01", "company working day (train.workdays)"},
		{"2026-03-14", "Saturday"},
	}
	for _, tc := range cases {
		t.Run(tc.date, func(t *testing.T) {
			if got := cal.Day(day(t, tc.date)).Describe(); got != tc.want {
				t.Errorf("Describe = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCalendarConfigOverrides(t *testing.T) {
	cal, err := NewCalendar(
		[]string{"2026-12-31", "2028-01-03", "2026-09-21"}, // company days off; 2028 is unknown to lunar-go
		[]string{"2026-10-01", "2026-03-14"},               // work on National Day; a Saturday
	)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		date string
		work bool
		kind DayKind
	}{
		{"2026-12-31", false, CompanyOff},
		{"2026-09-21", false, CompanyOff},
		{"2028-01-03", false, CompanyOff},
		{"2026-10-01", true, CompanyWork},
		{"2026-03-14", true, CompanyWork},
		{"2026-10-02", false, Holiday},
		{"2028-01-04", true, Weekday},
	}
	for _, tc := range cases {
		t.Run(tc.date, func(t *testing.T) {
			d := cal.Day(day(t, tc.date))
			if d.Work() != tc.work || d.Kind != tc.kind {
				t.Errorf("%s: work %v kind %d, want work %v kind %d", tc.date, d.Work(), d.Kind, tc.work, tc.kind)
			}
		})
	}
	if !cal.HasData(2028) {
		t.Error("a year the configuration lists counts as having data")
	}
}

func TestCalendarErrors(t *testing.T) {
	cases := []struct {
		name       string
		off, work  []string
		wantSubstr []string
	}{
		{"bad holiday", []string{"2026-01-05", "2026-13-01"}, nil, []string{"train.holidays[1]", `"2026-13-01"`, "YYYY-MM-DD"}},
		{"bad workday", nil, []string{"tomorrow"}, []string{"train.workdays[0]", `"tomorrow"`}},
		{"both lists", []string{"2026-05-06"}, []string{"2026-05-06"}, []string{"both list 2026-05-06"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewCalendar(tc.off, tc.work)
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tc.wantSubstr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestStatutoryYears(t *testing.T) {
	first, last := StatutoryYears()
	if first != 2002 || last != 2027 {
		t.Errorf("statutory data %d–%d, want 2002–2027 (lunar-go v1.4.7); update the docs and this test with the library", first, last)
	}
	cal, _ := NewCalendar(nil, nil)
	if !cal.HasData(2027) || cal.HasData(2028) {
		t.Errorf("HasData(2027)=%v HasData(2028)=%v", cal.HasData(2027), cal.HasData(2028))
	}
}

func TestCoverageWarning(t *testing.T) {
	cases := []struct {
		name     string
		from     string
		holidays []string
		want     string // "" = no warning
	}{
		{"covered", "2026-09-14", nil, ""},
		{"late 2027 reaches 2028", "2027-11-15", nil, "no data for 2028"},
		{"edge: 60 days end in 2027", "2027-10-31", nil, ""},
		{"configured 2028", "2027-11-15", []string{"2028-01-01"}, ""},
		{"far future", "2030-03-01", nil, "no data for 2030"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cal, err := NewCalendar(tc.holidays, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := cal.CoverageWarning(day(t, tc.from), WarnAhead)
			if tc.want == "" && got != "" {
				t.Errorf("unexpected warning %q", got)
			}
			if tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("warning %q does not contain %q", got, tc.want)
			}
			if tc.want != "" && !strings.Contains(got, "train.holidays") {
				t.Errorf("warning %q does not say what to do", got)
			}
		})
	}
}
