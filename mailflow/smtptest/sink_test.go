package smtptest

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func send(addr string, to ...string) error {
	msg := "Message-ID: <m1@example.com>\r\nSubject: hi\r\n\r\nbody\r\n"
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail("fabu@example.com", to, strings.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

func code(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestSinkSwitches(t *testing.T) {
	s := Start(t, Options{})
	var mu sync.Mutex
	var events []EventKind
	s.OnEvent(func(ev Event) {
		mu.Lock()
		events = append(events, ev.Kind)
		mu.Unlock()
	})
	if err := send(s.Addr(), "a@example.com", "b@example.com"); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.WaitMessages(1, 5*time.Second)
	if err != nil || msgs[0].MessageID != "m1@example.com" || strings.Join(msgs[0].To, ",") != "a@example.com,b@example.com" || msgs[0].From != "fabu@example.com" {
		t.Fatalf("message %+v, %v", msgs, err)
	}
	want := []EventKind{EvConnect, EvMail, EvRcpt, EvRcpt, EvData, EvAccepted}
	s.OnEvent(nil)
	mu.Lock()
	got := append([]EventKind(nil), events...)
	mu.Unlock()
	if len(got) < len(want) || strings.Join(kinds(got[:len(want)]), " ") != strings.Join(kinds(want), " ") {
		t.Errorf("events %v", got)
	}

	s.RejectRcpt("b@example.com", 550, 1)
	if err := send(s.Addr(), "b@example.com"); code(err) != 550 {
		t.Errorf("rejected rcpt: %v", err)
	}
	if err := send(s.Addr(), "b@example.com"); err != nil {
		t.Errorf("the rule fired more than once: %v", err)
	}
	s.FailData(451, 0)
	if err := send(s.Addr(), "a@example.com"); code(err) != 451 {
		t.Errorf("failed data: %v", err)
	}
	s.FailData(0, 0)
	s.Refuse(true)
	if err := send(s.Addr(), "a@example.com"); code(err) != 421 {
		t.Errorf("refused session: %v", err)
	}
	s.Refuse(false)
	s.DropAfterData(1)
	if err := send(s.Addr(), "a@example.com"); err == nil {
		t.Error("dropped connection reported success")
	}
	if last := s.Messages()[len(s.Messages())-1]; !last.Dropped {
		t.Error("the dropped message is not marked")
	}
	port := s.Port()
	s.Stop()
	if err := send(s.Addr(), "a@example.com"); err == nil {
		t.Error("a stopped sink took mail")
	}
	if err := s.Restart(); err != nil || s.Port() != port {
		t.Fatalf("restart: %v (port %d, was %d)", err, s.Port(), port)
	}
	if err := send(s.Addr(), "a@example.com"); err != nil {
		t.Errorf("after restart: %v", err)
	}
	if got := s.ByMessageID()["m1@example.com"]; got != 4 {
		t.Errorf("%d messages kept, want 4", got)
	}
}

func kinds(ks []EventKind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}
