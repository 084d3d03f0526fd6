package maillab

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkStartStop measures a lab's start (fresh Dir: certificates,
// folders, configs, Dovecot and Postfix answering on all ports) and its
// stop (ports closed), reported separately as start-ms and stop-ms.
func BenchmarkStartStop(b *testing.B) {
	Require(b)
	base := b.TempDir()
	if err := os.Chmod(filepath.Dir(base), 0o711); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var starting, stopping time.Duration
	i := 0
	for b.Loop() {
		opts := labOptions()
		opts.Dir = filepath.Join(base, strconv.Itoa(i))
		i++
		t0 := time.Now()
		lab, err := Start(ctx, opts)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := lab.Stop(); err != nil {
			b.Fatal(err)
		}
		starting += t1.Sub(t0)
		stopping += time.Since(t1)
	}
	b.ReportMetric(float64(starting.Milliseconds())/float64(i), "start-ms")
	b.ReportMetric(float64(stopping.Milliseconds())/float64(i), "stop-ms")
}

// BenchmarkSubmitToIMAP measures one message's way from SMTP submission
// (STARTTLS + AUTH) through Postfix and LMTP to being found over IMAPS.
func BenchmarkSubmitToIMAP(b *testing.B) {
	Require(b)
	opts := labOptions()
	opts.Dir = b.TempDir()
	if err := os.Chmod(filepath.Dir(opts.Dir), 0o711); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lab, err := Start(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer lab.Stop()
	i := 0
	for b.Loop() {
		i++
		id := "bench." + strconv.Itoa(i) + "." + strconv.FormatInt(time.Now().UnixNano(), 10) + "@maillab.test"
		raw := []byte("From: " + alice + "\r\nTo: " + bob + "\r\nSubject: bench\r\nMessage-ID: <" + id + ">\r\n\r\nbody\r\n")
		if err := lab.Submit(ctx, alice, []string{bob}, raw); err != nil {
			b.Fatal(err)
		}
		if _, err := lab.WaitMessage(ctx, bob, "INBOX", id); err != nil {
			b.Fatal(err)
		}
	}
}
