package imapwatch

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/imaptest"
)

// benchObserver counts recorded mails and passes their keys on.
type benchObserver struct {
	n      atomic.Int64
	target int64
	done   chan struct{}
	seen   chan string
}

func (o *benchObserver) Connected(bool)                      {}
func (o *benchObserver) Idling(bool)                         {}
func (o *benchObserver) Event(time.Time)                     {}
func (o *benchObserver) Retrying(err error, _ time.Duration) {}
func (o *benchObserver) Mail(r ledger.Received) {
	if o.seen != nil {
		select {
		case o.seen <- r.MessageID:
		default:
		}
	}
	if o.n.Add(1) == o.target && o.done != nil {
		close(o.done)
	}
}

// trivialHandler does a little ledger work in the transaction.
var trivialHandler = HandlerFunc(func(ctx context.Context, tx *ledger.Tx, m *Incoming) (Outcome, error) {
	if _, err := tx.Entry("20"); err != nil && !errors.Is(err, ledger.ErrNotFound) {
		return Outcome{}, err
	}
	return Outcome{Verdict: "ignored", Reason: "no token", Processed: strings.HasPrefix(m.Subject, "Re: approve")}, nil
})

func benchMail(i int) []byte {
	subject := "Re: out of office"
	if i%2 == 0 {
		subject = "Re: approve 2026-12-03"
	}
	return imaptest.Mail{
		From: "Manager <mgr@example.com>", To: "fabu@example.com", Subject: subject,
		MessageID: fmt.Sprintf("bench-%d@example.com", i), InReplyTo: "release-2026-12-03@fabu",
		Body: "同意\n\n" + strings.Repeat("> quoted line of the original report, 上线清单\n", 30),
	}.Bytes()
}

// BenchmarkIntake10k measures draining 10,000 queued mails: search, sizes,
// bodies, one transaction per batch, flags (and moves).
func BenchmarkIntake10k(b *testing.B) {
	const n = 10000
	for _, bc := range []struct {
		name string
		move bool
	}{{"flag", false}, {"flag+move", true}} {
		b.Run(bc.name, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				srv, err := imaptest.NewServer(imaptest.Options{})
				if err != nil {
					b.Fatal(err)
				}
				srv.AddUser(testUser, testPass)
				for j := 0; j < n; j++ {
					if _, err := srv.Append(testUser, "INBOX", benchMail(j)); err != nil {
						b.Fatal(err)
					}
				}
				st, err := ledger.Open(filepath.Join(b.TempDir(), "fabu.db"), ledger.Options{Train: "t"})
				if err != nil {
					b.Fatal(err)
				}
				obs := &benchObserver{target: n, done: make(chan struct{})}
				o := Options{Addr: srv.Addr, TLS: TLSNone, Username: testUser, Password: testPass, Observer: obs}
				if bc.move {
					o.ProcessedFolder, o.IgnoredFolder = "Fabu-Processed", "Fabu-Ignored"
				}
				w, err := New(o, st, trivialHandler, nil, time.Now)
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				ran := make(chan error, 1)
				b.StartTimer()
				start := time.Now()
				go func() { ran <- w.Run(ctx) }()
				select {
				case <-obs.done:
				case err := <-ran:
					b.Fatalf("Run returned early: %v", err)
				case <-time.After(5 * time.Minute):
					b.Fatalf("only %d of %d mails after 5 minutes", obs.n.Load(), n)
				}
				total += time.Since(start)
				b.StopTimer()
				cancel()
				<-ran
				st.Close()
				srv.Close()
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "mails/s")
		})
	}
}

// BenchmarkIntakeLatency measures APPEND → mail recorded while the
// watcher idles; run with -benchtime 200x.
func BenchmarkIntakeLatency(b *testing.B) {
	srv, err := imaptest.NewServer(imaptest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	srv.AddUser(testUser, testPass)
	st, err := ledger.Open(filepath.Join(b.TempDir(), "fabu.db"), ledger.Options{Train: "t"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	obs := &benchObserver{seen: make(chan string, 1024)}
	idle := make(chan struct{})
	o := Options{Addr: srv.Addr, TLS: TLSNone, Username: testUser, Password: testPass, Observer: &idleNotifier{benchObserver: obs, idle: idle}}
	w, err := New(o, st, trivialHandler, nil, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	defer func() { cancel(); <-ran }()
	select {
	case <-idle:
	case <-time.After(30 * time.Second):
		b.Fatal("watcher never idled")
	}
	imaptest.MeasureLatency(b, func(i int) (string, error) {
		raw := benchMail(i)
		_, err := srv.Append(testUser, "INBOX", raw)
		return fmt.Sprintf("<bench-%d@example.com>", i), err
	}, obs.seen, 30*time.Second)
}

type idleNotifier struct {
	*benchObserver
	idle chan struct{}
	once atomic.Bool
}

func (n *idleNotifier) Idling(on bool) {
	if on && n.once.CompareAndSwap(false, true) {
		close(n.idle)
	}
}
