package intake

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkApprovalLatency measures the approval loop end to end on
// loopback: from the APPEND of a manager's approval to an imapmemserver
// mailbox the watcher is IDLE on, to the ops mail accepted by a go-smtp
// sink (watcher → handler → train.Approve → commit → outbox worker kicked
// → SMTP). Each iteration gets a fresh release awaiting approval, set up
// with the timer stopped. It reports p50-ms and p99-ms; run it with
// -benchtime 200x.
func BenchmarkApprovalLatency(b *testing.B) {
	f := newFixture(b)
	f.probe.wait(b, "the watcher idling", func() bool { return f.probe.idling })
	start := time.Date(2027, 1, 7, 0, 0, 0, 0, time.UTC)
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		release := start.AddDate(0, 0, 7*i).Format("2006-01-02")
		f.putEntries(sampleEntries(fmt.Sprint(1000+2*i), fmt.Sprint(1001+2*i))...)
		report := f.cutAndReport(release)
		f.settle()
		f.probe.wait(b, "the watcher idling", func() bool { return f.probe.idling })
		before := len(f.sink.Messages())
		s := f.replyTo(report, "outlook-zh.eml.tmpl", "李经理", "limanager@example.com", "同意", threadAll)
		raw := s.bytes(b)
		b.StartTimer()

		t0 := time.Now()
		if _, err := f.imap.Append(mailUser, "INBOX", raw); err != nil {
			b.Fatal(err)
		}
		msgs, err := f.sink.WaitMessages(before+1, 10*time.Second)
		if err != nil {
			b.Fatalf("iteration %d: %v", i, err)
		}
		d := time.Since(t0)

		b.StopTimer()
		if got := msgs[before]; !slices.Contains(got.To, "ops@example.com") {
			b.Fatalf("iteration %d: first mail after the approval went to %v", i, got.To)
		}
		samples = append(samples, d)
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(samples)
	pct := func(p float64) float64 {
		idx := int(p*float64(len(samples)) + 0.5)
		idx = min(max(idx-1, 0), len(samples)-1)
		return float64(samples[idx]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
