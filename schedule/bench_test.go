package schedule

import (
	"testing"
	"time"
)

// BenchmarkPlan520Weeks is `fabu plan --weeks 520`: build the timetable
// (calendar cold) and lay out ten years of releases.
func BenchmarkPlan520Weeks(b *testing.B) {
	c := defaultConfig(b)
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, c.Location)
	for b.Loop() {
		tt, err := New(c)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(tt.Plan(from, 520)); n != 520 {
			b.Fatalf("%d releases", n)
		}
	}
}

// BenchmarkPlan520WeeksWarm is the same with the calendar already cached
// (the daemon's runner recomputes its window this way).
func BenchmarkPlan520WeeksWarm(b *testing.B) {
	c := defaultConfig(b)
	tt, err := New(c)
	if err != nil {
		b.Fatal(err)
	}
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, c.Location)
	tt.Plan(from, 520)
	for b.Loop() {
		tt.Plan(from, 520)
	}
}
