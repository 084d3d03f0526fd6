package demo

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fabu-team/fabu/mailflow/reply"
	"github.com/fabu-team/fabu/templates"
)

// originalOf renders fabu's mail of kind from the templates' sample data,
// as the person answering it sees it.
func originalOf(t *testing.T, kind string) original {
	t.Helper()
	r, err := templates.MustLoad("zh-CN").Render(kind, templates.Sample("zh-CN", kind))
	if err != nil {
		t.Fatalf("render %s: %v", kind, err)
	}
	return original{
		From:      reply.Address{Name: "fabu 发布", Addr: fabuAddress},
		To:        []reply.Address{{Name: "李经理", Addr: "limanager@example.com"}},
		Subject:   r.Subject + " [#abcd2345]",
		Date:      DemoStart().Add(72 * time.Hour),
		MessageID: "fabu.orig@example.com",
		Refs:      []string{"fabu-token.v1.xyz@example.com", "fabu.first@example.com"},
		Text:      r.Text,
	}
}

// TestScriptedRepliesAreUnderstood composes every scripted reply against
// fabu's real mail text and reads it the way fabu does: only the new text
// counts, whatever the quoted original (which holds 同意, 驳回 and example
// result lines) says.
func TestScriptedRepliesAreUnderstood(t *testing.T) {
	words := reply.DefaultWords()
	for _, q := range script() {
		t.Run(q.who+"/"+q.kind+"/"+q.step, func(t *testing.T) {
			p := personNamed(t, q.who)
			orig := originalOf(t, q.kind)
			raw, err := composeReply(q.style, p, "fabu+v1.tok@example.com", orig, q.body, DemoStart().Add(80*time.Hour), "reply.1@example.com")
			if err != nil {
				t.Fatal(err)
			}
			msg, err := reply.Parse(bytes.NewReader(raw), reply.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if msg.InReplyTo != orig.MessageID || !slices.Contains(msg.References, orig.MessageID) || !slices.Contains(msg.References, orig.Refs[0]) {
				t.Errorf("threading lost: In-Reply-To %q, References %v", msg.InReplyTo, msg.References)
			}
			if msg.From.Name != p.Name || msg.From.Addr != p.Email() {
				t.Errorf("From %v", msg.From)
			}
			if !strings.Contains(msg.Subject, orig.Subject) {
				t.Errorf("subject %q lost the original %q", msg.Subject, orig.Subject)
			}
			e := reply.ExplainMessage(msg, words)
			if e.AutoReply {
				t.Fatalf("read as an automatic reply (%s)", e.AutoReplySignal)
			}
			if strings.Contains(e.NewText, "写道") || strings.Contains(e.NewText, "原始邮件") || strings.Contains(e.NewText, "邮件原件") {
				t.Errorf("the quote was not cut off (rule %q): %q", e.TrimRule, e.NewText)
			}
			want := map[string]string{"reminder": "results", "report": "unclear", "clarify": "approve", "approved": "done"}[q.kind]
			if e.Intent != want {
				t.Fatalf("intent %q (%s), want %q; new text %q", e.Intent, e.Why, want, e.NewText)
			}
			if want == "results" {
				var got, exp []string
				for _, r := range reply.Classify(e.NewText, words).Results {
					got = append(got, r.ID+" "+r.Outcome)
				}
				for _, l := range strings.Split(q.body, "\n") {
					id, rest, ok := strings.Cut(l, " ")
					if !ok || id == "" || id[0] < '0' || id[0] > '9' {
						continue
					}
					outcome := reply.OutcomePass
					if strings.HasPrefix(rest, "不通过") {
						outcome = reply.OutcomeFail
					}
					exp = append(exp, id+" "+outcome)
				}
				if !slices.Equal(got, exp) {
					t.Errorf("results %v, want %v", got, exp)
				}
			}
			if q.style == styleOutlook && !strings.EqualFold(msg.Charset, "gb18030") {
				t.Errorf("the Outlook reply's charset is %q, want gb18030", msg.Charset)
			}
		})
	}
}

func personNamed(t *testing.T, name string) Person {
	t.Helper()
	for _, p := range People {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no demo person %s", name)
	return Person{}
}

func TestScriptCoversTheWeek(t *testing.T) {
	cues := script()
	has := func(who, kind, step string) bool {
		return slices.ContainsFunc(cues, func(q cue) bool { return q.who == who && q.kind == kind && q.step == step })
	}
	for _, c := range []struct{ who, kind, step string }{
		{"琳琳", "reminder", "sit-1"}, {"小周", "reminder", "sit-1"}, {"小周", "reminder", "sit-2"},
		{"琳琳", "reminder", "preprod"}, {"小周", "reminder", "preprod"},
		{"李经理", "report", ""}, {"李经理", "clarify", ""}, {"运维组", "approved", ""},
	} {
		if !has(c.who, c.kind, c.step) {
			t.Errorf("no cue for %s answering %s %s", c.who, c.kind, c.step)
		}
	}
	// The last 准生产 results must come after the first ones, so the early
	// report follows them.
	var lin, zhou time.Duration
	for _, q := range cues {
		if q.kind == "reminder" && q.step == "preprod" {
			if q.who == "琳琳" {
				lin = q.delay
			} else {
				zhou = q.delay
			}
		}
	}
	if zhou <= lin {
		t.Errorf("小周 answers 准生产 after %s, 琳琳 after %s: the last must expect the report", zhou, lin)
	}
}

func TestCueReplyAt(t *testing.T) {
	arrived := time.Date(2026, 12, 3, 11, 40, 0, 0, DemoStart().Location())
	tests := []struct {
		name string
		q    cue
		want time.Time
	}{
		{"delay", cue{delay: 40 * time.Minute}, arrived.Add(40 * time.Minute)},
		{"time of day later", cue{atTime: "22:40"}, time.Date(2026, 12, 3, 22, 40, 0, 0, arrived.Location())},
		{"time of day passed", cue{atTime: "09:00"}, time.Date(2026, 12, 4, 9, 0, 0, 0, arrived.Location())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.q.replyAt(arrived)
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("replyAt = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
	if _, err := (cue{atTime: "25:99"}).replyAt(arrived); err == nil {
		t.Error("a bad time of day was accepted")
	}
}

func TestEncodeGB18030WordKeepsCharactersWhole(t *testing.T) {
	s := "回复: 【fabu】2026-12-03 期 请确认您的回复 [#vvppqa3o] 还有更多的中文字符让它变长"
	enc := encodeGB18030Word(s)
	if !strings.Contains(enc, "\r\n ") {
		t.Fatalf("a long subject was not folded into several words: %q", enc)
	}
	raw := "Subject: " + enc + "\r\nFrom: a@example.com\r\n\r\nx\r\n"
	msg, err := reply.Parse(strings.NewReader(raw), reply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != s {
		t.Fatalf("decoded subject %q, want %q", msg.Subject, s)
	}
	if got := encodeGB18030Word("plain ascii"); got != "plain ascii" {
		t.Errorf("ASCII encoded as %q", got)
	}
}
