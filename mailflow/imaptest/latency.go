package imaptest

import (
	"math"
	"sort"
	"testing"
	"time"
)

// MeasureLatency runs b.N rounds of: deliver(i) (which puts mail i into
// the mailbox and returns its key), then wait until that key arrives on
// seen (keys of other mails are skipped). It reports the p50 and p99 of
// deliver→seen as "p50-ms" and "p99-ms". Run it with -benchtime 200x.
func MeasureLatency(b *testing.B, deliver func(i int) (key string, err error), seen <-chan string, timeout time.Duration) {
	b.Helper()
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		key, err := deliver(i)
		if err != nil {
			b.Fatalf("deliver mail %d: %v", i, err)
		}
		deadline := time.NewTimer(timeout)
	wait:
		for {
			select {
			case k := <-seen:
				if k == key {
					break wait
				}
			case <-deadline.C:
				b.Fatalf("mail %d (%s) not seen within %s", i, key, timeout)
			}
		}
		deadline.Stop()
		samples = append(samples, time.Since(start))
	}
	b.StopTimer()
	p50, p99 := Percentile(samples, 0.50), Percentile(samples, 0.99)
	b.ReportMetric(float64(p50)/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(p99)/float64(time.Millisecond), "p99-ms")
}

// Percentile returns the q-quantile (0..1, nearest rank) of d.
func Percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	idx := int(math.Ceil(q*float64(len(s)))) - 1
	if idx < 0 {
		idx = 0
	}
	if idx >= len(s) {
		idx = len(s) - 1
	}
	return s[idx]
}
