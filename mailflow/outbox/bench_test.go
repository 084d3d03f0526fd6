package outbox

import (
	"context"
	"fmt"
	"testing"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/smtptest"
)

// history fills the outbox with n mails already delivered (five
// recipients each), in one transaction: the weeks of mail a store keeps.
func history(b *testing.B, s *ledger.Store, n int) {
	b.Helper()
	rcpts := []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"}
	err := s.Update(func(tx *ledger.Tx) error {
		for i := range n {
			step := fmt.Sprintf("old-%d", i)
			id, mid := MailID("default", "2026-12-03", step, "", rcpts, "example.com")
			m := &ledger.OutboxMail{ID: id, MessageID: mid, Release: "2026-12-03", Step: step, Subject: "【fabu】" + step, From: "fabu@example.com"}
			for _, r := range rcpts {
				m.Recipients = append(m.Recipients, ledger.OutboxRecipient{Addr: r})
			}
			if _, err := tx.Enqueue(m, []byte("Subject: "+step+"\r\n\r\nbody\r\n")); err != nil {
				return err
			}
			for i := range m.Recipients {
				m.Recipients[i].State = ledger.RcptSent
			}
			m.Settle(tx.Now())
			if err := tx.PutOutboxMail(m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSendDueWithHistory is the worker's part of the approval loop:
// one new mail queued, then SendDue (find what is due, MAIL/RCPT/DATA to
// a loopback sink, record, look for alerts), with done=N mails already in
// the outbox. The outbox reads only its active mails, so the time should
// not grow with N.
func BenchmarkSendDueWithHistory(b *testing.B) {
	for _, n := range []int{0, 1000, 5000} {
		b.Run(fmt.Sprintf("done=%d", n), func(b *testing.B) {
			c := newClock()
			s := openStore(b, c)
			history(b, s, n)
			sink := smtptest.Start(b, smtptest.Options{})
			w := &Worker{Store: s, Sender: sinkSender(b, sink), Clock: c.Now}
			if _, err := w.SendDue(context.Background()); err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				b.StopTimer()
				i++
				enqueue(b, s, fmt.Sprintf("new-%d", i), "ops@example.com")
				b.StartTimer()
				if got, err := w.SendDue(context.Background()); err != nil || got != 1 {
					b.Fatalf("SendDue = %d, %v", got, err)
				}
			}
		})
	}
}

// BenchmarkIdleWorker is what the daemon's worker does each minute when
// nothing is due: SendDue (nothing to send, no alert) and the look for the
// next retry, with done=N mails in the outbox.
func BenchmarkIdleWorker(b *testing.B) {
	for _, n := range []int{0, 1000, 5000} {
		b.Run(fmt.Sprintf("done=%d", n), func(b *testing.B) {
			c := newClock()
			s := openStore(b, c)
			history(b, s, n)
			w := &Worker{Store: s, Sender: failSender{}, Clock: c.Now}
			if _, err := w.SendDue(context.Background()); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if got, err := w.SendDue(context.Background()); err != nil || got != 0 {
					b.Fatalf("SendDue = %d, %v", got, err)
				}
				if _, ok, err := w.nextDue(); err != nil || ok {
					b.Fatalf("nextDue = %v, %v", ok, err)
				}
			}
		})
	}
}

// failSender is a Sender for a worker that must not connect.
type failSender struct{}

func (failSender) Open(context.Context) (Session, error) {
	return nil, &PermanentError{Err: fmt.Errorf("the idle worker connected")}
}
