package demo

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/schedule"
)

func (w *week) mailEvent(m *Mail) Event {
	e := Event{At: m.At, Mail: m}
	if m.FromFabu {
		e.Who = "fabu"
		var to, cc []string
		for _, a := range m.Msg.To {
			to = append(to, a.Addr)
		}
		for _, a := range m.Msg.Cc {
			cc = append(cc, a.Addr)
		}
		e.Text = fmt.Sprintf("✉ %s → %s", m.Msg.Subject, names(to))
		if len(cc) > 0 {
			e.Text += "（抄送 " + names(cc) + "）"
		}
		return e
	}
	e.Who = nameOf(m.Msg.From.Addr)
	if _, does, body, ok := w.cast.Wrote(m.Msg.MessageID); ok {
		e.Text = fmt.Sprintf("✉ %s: “%s”", does, clip(newText(body), 70))
		return e
	}
	e.Text = fmt.Sprintf("✉ %s → %s", m.Msg.Subject, names(m.Mailboxes))
	return e
}

// stepBarriers makes every step of the demo's release a barrier of the
// clock: time stands still at the step's minute until fabu's scheduler has
// run it (or decided to skip it) and its mail is out.
func (w *week) stepBarriers(tt *schedule.Timetable) error {
	start := DemoStart()
	var rel *schedule.Release
	for _, r := range tt.Releases(start, start.AddDate(0, 0, 8)) {
		if r.Name == DemoRelease {
			rel = &r
		}
	}
	if rel == nil || rel.Skipped {
		return fmt.Errorf("demo: the timetable has no release %s (a bug in the demo's configuration)", DemoRelease)
	}
	for _, s := range rel.Steps {
		if s.At.Before(start) {
			continue
		}
		held := w.clock.HoldAt(s.At, "fabu's step "+s.Name+" (due "+simTime(s.At)+")")
		go func() {
			var release func()
			select {
			case release = <-held:
			case <-w.ctx.Done():
				return
			}
			defer release()
			t := time.NewTicker(2 * time.Millisecond)
			defer t.Stop()
			for !w.stepFinal(s.Release, s.Name) {
				select {
				case <-w.ctx.Done():
					return
				case <-t.C:
				}
			}
			w.holdForOutbox("fabu sending the mail of step " + s.Name)
		}()
	}
	return nil
}

// stepFinal reports whether the scheduler is done with a step.
func (w *week) stepFinal(release, step string) bool {
	final := false
	w.store.Load().View(func(tx *ledger.Tx) error {
		if st, err := tx.StepState(release, step); err == nil {
			final = st.Status.Final()
		}
		return nil
	})
	return final
}

func (w *week) stepEvent(s schedule.Step, stepErr error) Event {
	e := Event{At: w.clock.Now(), Who: "fabu"}
	if stepErr != nil && !errors.Is(stepErr, ledger.ErrNoRelease) {
		e.Warn, e.Text = true, fmt.Sprintf("step %s of release %s failed: %v", s.Name, s.Release, stepErr)
		return e
	}
	var rel *ledger.Release
	var entries []*ledger.Entry
	var res []ledger.Result
	err := w.store.Load().View(func(tx *ledger.Tx) error {
		r, err := tx.Release(s.Release)
		if err != nil {
			return err
		}
		rel = r
		for _, id := range r.Entries {
			if en, err := tx.Entry(id); err == nil {
				entries = append(entries, en)
			}
		}
		res, err = tx.Results(s.Release)
		return err
	})
	if err != nil {
		e.Text = fmt.Sprintf("%s of release %s (%v)", s.Name, s.Release, err)
		return e
	}
	envs := w.cfg.Train.Environments
	switch s.Kind {
	case schedule.KindCut:
		if len(entries) == 0 {
			e.Text = "cut: nothing finished by development; no release this week"
			return e
		}
		var systems []string
		sql := 0
		for _, en := range entries {
			if !slices.Contains(systems, en.System) {
				systems = append(systems, en.System)
			}
			if en.HasSQL.Bool() {
				sql++
			}
		}
		e.Text = fmt.Sprintf("cut release %s: %d entries from %d systems (%s), %d with SQL scripts → test list (提测清单) with its .xlsx",
			s.Release, len(entries), len(systems), strings.Join(systems, "、"), sql)
	case schedule.KindRemind:
		open := ledger.MatrixOf(res).NotPassed(rel.Entries, s.Env)
		e.Text = fmt.Sprintf("reminder %s (%s): %d of %d entries not yet passed in %s", s.Name, s.Env, len(open), len(rel.Entries), s.Env)
		if s.Note != "" {
			e.Text += " — " + s.Note
		}
	case schedule.KindReport:
		switch {
		case rel.State == ledger.ReleaseAwaitingApproval && s.Manual:
			e.Text = fmt.Sprintf("every entry passed %s: the test-complete report goes out now, before its %s slot", envs[len(envs)-1], s.Scheduled.Format("15:04"))
		case rel.State == ledger.ReleaseAwaitingApproval:
			e.Text = "test-complete report to the managers"
		default:
			e.Text = fmt.Sprintf("report: nothing to do (release %s is %s)", s.Release, rel.State)
		}
	case schedule.KindEscalate:
		if rel.State == ledger.ReleaseAwaitingApproval {
			e.Text = "no decision by now: the managers are reminded, the team told the release waits"
		} else {
			e.Text = fmt.Sprintf("escalation: nothing to do (release %s is %s)", s.Release, rel.State)
		}
	default:
		e.Text = fmt.Sprintf("%s of release %s", s.Name, s.Release)
	}
	if s.Late.Late {
		e.Text += " (late: " + s.Late.Reason + ")"
	}
	return e
}

// mailRead puts what fabu made of a reply on the timeline, holds the
// clock while the mail it caused is sent, and tells the cast.
func (w *week) mailRead(r ledger.Received) {
	who := nameOf(addrOf(r.From))
	text := fmt.Sprintf("read %s's reply → %s: %s", who, r.Verdict, clip(r.Reason, 200))
	switch r.Verdict {
	case "unclear":
		text = fmt.Sprintf("read %s's reply → unclear, nothing decided → clarification sent (%s)", who, clip(r.Reason, 160))
	case "decided":
		text = fmt.Sprintf("read %s's reply → decided: %s", who, clip(r.Reason, 200))
	}
	w.tl.Add(Event{At: w.clock.Now(), Who: "fabu", Text: text, Warn: r.Verdict == "failed"})
	w.holdForOutbox("fabu answering " + who + "'s reply")
	w.cast.Recorded(r.MessageID)
}

// addrOf is the address of a From header value.
func addrOf(from string) string {
	if i := strings.LastIndexByte(from, '<'); i >= 0 {
		if j := strings.IndexByte(from[i:], '>'); j > 0 {
			return from[i+1 : i+j]
		}
	}
	return strings.TrimSpace(from)
}
