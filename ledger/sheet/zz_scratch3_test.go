package sheet

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkZZScanMem(b *testing.B) {
	data, _ := os.ReadFile("/tmp/sheetwork/x/xl/worksheets/sheet1.xml")
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	c0 := cpuNow()
	defer func() { b.ReportMetric(float64((cpuNow()-c0).Milliseconds())/float64(b.N), "cpu-ms/op") }()
	for i := 0; i < b.N; i++ {
		s := newSheetScan(newXMLTokBytes(data), nil)
		n := 0
		for {
			_, _, ok, why := s.next()
			if why != nil {
				b.Fatal(why)
			}
			if !ok {
				break
			}
			n++
		}
	}
}
