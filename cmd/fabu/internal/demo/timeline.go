package demo

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Event is one line of the demo's timeline.
type Event struct {
	At   time.Time // simulated
	Who  string    // fabu, a person's name, or "demo"
	Text string
	Mail *Mail // the mail the line is about, if any
	Warn bool
}

// Timeline collects the week's events and prints each as it happens.
type Timeline struct {
	mu      sync.Mutex
	w       io.Writer
	events  []Event
	lastDay string
}

// NewTimeline prints to w (may be nil).
func NewTimeline(w io.Writer) *Timeline { return &Timeline{w: w} }

// Add records e and prints it.
func (t *Timeline) Add(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, e)
	if t.w == nil {
		return
	}
	if day := dayHeading(e.At); day != t.lastDay {
		fmt.Fprintf(t.w, "\n── %s ──\n", day)
		t.lastDay = day
	}
	fmt.Fprintln(t.w, formatEvent(e))
}

// Events returns the events so far.
func (t *Timeline) Events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Event(nil), t.events...)
}

// Text is the whole timeline as printed.
func (t *Timeline) Text() string {
	var b strings.Builder
	last := ""
	for _, e := range t.Events() {
		if day := dayHeading(e.At); day != last {
			fmt.Fprintf(&b, "\n── %s ──\n", day)
			last = day
		}
		b.WriteString(formatEvent(e))
		b.WriteByte('\n')
	}
	return b.String()
}

// dayHeading is e.g. 周五 11月27日.
func dayHeading(t time.Time) string {
	return fmt.Sprintf("周%s %d月%d日", weekdaysZh[t.Weekday()], int(t.Month()), t.Day())
}

// simTime is the short simulated time used in lines: 周五 11-27 17:00.
func simTime(t time.Time) string {
	return "周" + weekdaysZh[t.Weekday()] + " " + t.Format("01-02 15:04")
}

func formatEvent(e Event) string {
	var b strings.Builder
	b.WriteString("  ")
	b.WriteString(simTime(e.At))
	b.WriteString("  ")
	b.WriteString(padWidth(e.Who, 8))
	if e.Warn {
		b.WriteString("⚠ ")
	}
	b.WriteString(e.Text)
	if e.Mail != nil && e.Mail.EML != "" {
		b.WriteString("  [" + e.Mail.EML + "]")
	}
	return b.String()
}

// padWidth pads s with spaces to n terminal columns (CJK characters are
// two columns wide).
func padWidth(s string, n int) string {
	w := 0
	for _, r := range s {
		w += runeWidth(r)
	}
	if w >= n {
		return s + " "
	}
	return s + strings.Repeat(" ", n-w)
}

func runeWidth(r rune) int {
	if r < utf8.RuneSelf {
		return 1
	}
	if unicode.Is(unicode.Han, r) || unicode.In(r, unicode.Hangul, unicode.Hiragana, unicode.Katakana) ||
		(r >= 0xFF00 && r <= 0xFF60) || (r >= 0x3000 && r <= 0x303F) {
		return 2
	}
	return 1
}

// clip cuts s to n runes, with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// names lists the people's names of addresses.
func names(addrs []string) string {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, nameOf(a))
	}
	return strings.Join(out, "、")
}
