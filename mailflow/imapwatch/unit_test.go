package imapwatch

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/fabu-team/fabu/ledger"
)

type nopStore struct{}

func (nopStore) View(func(*ledger.Tx) error) error   { return nil }
func (nopStore) Update(func(*ledger.Tx) error) error { return nil }

func TestBackoffIsCappedJitteredAndResets(t *testing.T) {
	tests := []struct {
		name string
		rnd  float64
		want []time.Duration
	}{
		// rand 0: the lower edge, half of each step.
		{"low jitter", 0, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}},
		// rand 0.5: three quarters of each step.
		{"mid jitter", 0.5, []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 6 * time.Second, 12 * time.Second, 15 * time.Second, 15 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackoff(time.Second, 20*time.Second, func() float64 { return tc.rnd })
			var got []time.Duration
			for range tc.want {
				got = append(got, b.Next())
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("delays = %v, want %v", got, tc.want)
			}
			b.Reset()
			if d := b.Next(); d != tc.want[0] {
				t.Fatalf("after Reset: %v, want %v", d, tc.want[0])
			}
		})
	}
	t.Run("never above max", func(t *testing.T) {
		b := newBackoff(time.Second, 2*time.Minute, func() float64 { return 0.999999 })
		for i := 0; i < 100; i++ {
			if d := b.Next(); d > 2*time.Minute || d < time.Second/2 {
				t.Fatalf("delay %d = %v, outside [0.5s, 2m]", i, d)
			}
		}
	})
}

func TestChooseFlag(t *testing.T) {
	tests := []struct {
		name string
		perm []imap.Flag
		want imap.Flag
	}{
		{"no PERMANENTFLAGS: all allowed", nil, "$FabuProcessed"},
		{"new keywords allowed", []imap.Flag{imap.FlagSeen, imap.FlagWildcard}, "$FabuProcessed"},
		{"keyword listed", []imap.Flag{imap.FlagSeen, "$fabuprocessed"}, "$FabuProcessed"},
		{"keywords refused: \\Seen", []imap.Flag{imap.FlagAnswered, imap.FlagSeen}, imap.FlagSeen},
		{"nothing permanent", []imap.Flag{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := chooseFlag(tc.perm, "$FabuProcessed"); got != tc.want {
				t.Fatalf("chooseFlag = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNormalizeMessageID(t *testing.T) {
	long := strings.Repeat("x", 600) + "@example.com"
	tests := []struct {
		name, in, want string
	}{
		{"bracketed", "<abc@example.com>", "<abc@example.com>"},
		{"bare (from an envelope)", "abc@example.com", "<abc@example.com>"},
		{"spaces and comment", "  (mailer) <abc@example.com> (x)", "<abc@example.com>"},
		{"folded", "<abc@\r\n example.com>", "<abc@example.com>"},
		{"empty", "", ""},
		{"only brackets", "<>", ""},
		{"case kept", "<ABC@Example.COM>", "<ABC@Example.COM>"},
		{"too long is hashed", "<" + long + ">", "msgid-sha256:" + hashRaw([]byte(long))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := normalizeMessageID(tc.in); got != tc.want {
				t.Fatalf("normalizeMessageID(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestReadHeader(t *testing.T) {
	tests := []struct {
		name              string
		raw               string
		id, from, subject string
	}{
		{"plain", "Message-ID: <a@x>\r\nFrom: Boss <boss@x.cn>\r\nSubject: Re: approve\r\n\r\nok\r\n", "<a@x>", "Boss <boss@x.cn>", "Re: approve"},
		{"GBK encoded words", "Message-ID: <b@x>\r\nFrom: =?GBK?B?1cXI/Q==?= <zs@x.cn>\r\nSubject: =?GBK?B?zazS4g==?=\r\n\r\n", "<b@x>", "张三 <zs@x.cn>", "同意"},
		{"UTF-8 encoded words", "From: =?UTF-8?B?5p2O5Zub?= <ls@x.cn>\r\nSubject: =?UTF-8?Q?=E9=A9=B3=E5=9B=9E?=\r\n\r\n", "", "李四 <ls@x.cn>", "驳回"},
		{"control characters dropped", "Subject: a\x07b\r\n\r\n", "", "", "a b"},
		{"no header at all", "just text", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := readHeader([]byte(tc.raw))
			if h.messageID != tc.id || h.from != tc.from || h.subject != tc.subject {
				t.Fatalf("readHeader = %+v, want id %q from %q subject %q", h, tc.id, tc.from, tc.subject)
			}
		})
	}
}

func TestUIDsAbove(t *testing.T) {
	tests := []struct {
		name  string
		set   imap.UIDSet
		last  uint32
		limit int
		want  []uint32
		more  bool
	}{
		// "UID SEARCH UID 8:*" on a mailbox whose highest UID is 5 answers 5.
		{"highest UID below the cursor", imap.UIDSetNum(5), 7, 100, nil, false},
		{"ranges", imap.UIDSet{{Start: 3, Stop: 6}, {Start: 9, Stop: 9}}, 4, 100, []uint32{5, 6, 9}, false},
		{"unordered, overlapping", imap.UIDSet{{Start: 9, Stop: 10}, {Start: 2, Stop: 3}, {Start: 10, Stop: 10}}, 0, 100, []uint32{2, 3, 9, 10}, false},
		{"limit", imap.UIDSet{{Start: 1, Stop: 4000000000}}, 0, 3, []uint32{1, 2, 3}, true},
		{"nothing", nil, 0, 10, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, more := uidsAbove(&imap.SearchData{All: tc.set}, tc.last, tc.limit)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || more != tc.more {
				t.Fatalf("uidsAbove = %v, %v; want %v, %v", got, more, tc.want, tc.more)
			}
		})
	}
}

func TestGroupBySize(t *testing.T) {
	items := []*item{
		{uid: 1, kind: itemMail, size: 40},
		{uid: 2, kind: itemMail, size: 50},
		{uid: 3, kind: itemTooLarge, size: 5000}, // not downloaded: costs nothing
		{uid: 4, kind: itemMail, size: 30},
		{uid: 5, kind: itemMail, size: 150}, // alone: larger than the budget
		{uid: 6, kind: itemGone},
	}
	var got []string
	for _, g := range groupBySize(items, 100) {
		var uids []string
		for _, it := range g {
			uids = append(uids, fmt.Sprint(it.uid))
		}
		got = append(got, strings.Join(uids, ","))
	}
	want := []string{"1,2,3", "4", "5,6"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("groups = %v, want %v", got, want)
	}
}

func TestXOAUTH2InitialResponse(t *testing.T) {
	x := &xoauth2Client{username: "fabu@example.com", token: "ya29.abc"}
	mech, ir, err := x.Start()
	if err != nil || mech != "XOAUTH2" || string(ir) != "user=fabu@example.com\x01auth=Bearer ya29.abc\x01\x01" {
		t.Fatalf("Start = %q, %q, %v", mech, ir, err)
	}
	resp, err := x.Next([]byte(`{"status":"401"}`))
	if err != nil || len(resp) != 0 || x.serverErr != `{"status":"401"}` {
		t.Fatalf("Next = %q, %v (serverErr %q): want an empty answer and the error kept", resp, err, x.serverErr)
	}
}
