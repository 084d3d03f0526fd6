package demo

import (
	"fmt"
	"strings"
	"time"
)

// cue is one thing a scripted person does: when fabu's mail of kind (and
// step) reaches them, they reply with body, a while later, from their mail
// client. Each cue is played once.
type cue struct {
	who   string // the person's name
	kind  string // kind of fabu's mail that prompts the reply (templates' names)
	step  string // its step; "" for any
	delay time.Duration
	// atTime, when set ("22:40"), is the time of day of the reply instead
	// of delay: on the day the mail arrived, or the next day if past.
	atTime string
	style  style
	body   string
	// expect are the kinds of fabu's mail the reply must bring about; the
	// clock stands still until they are delivered.
	expect []string
	// does is what the timeline says the person does.
	does string
}

// results writes one result line per entry: "20 通过".
func results(ids []string, note map[string]string) string {
	var b strings.Builder
	for _, id := range ids {
		if n, ok := note[id]; ok {
			fmt.Fprintf(&b, "%s %s\n", id, n)
			continue
		}
		fmt.Fprintf(&b, "%s 通过\n", id)
	}
	return b.String()
}

// failingEntry is the entry that fails SIT on Monday and passes the
// re-test on Tuesday.
const failingEntry = "24"

// script is the week as the people play it. The times are simulated; the
// clock waits for fabu to read and answer each reply, so the order and
// the times are the same on any machine.
func script() []cue {
	lin, zhou := testerEntries("琳琳"), testerEntries("小周")
	return []cue{
		{who: "琳琳", kind: "reminder", step: "sit-1", delay: time.Hour, style: styleQQ,
			body: "SIT 测试结果：\n" + results(lin, nil) + "\n琳琳", does: "reports SIT results"},
		{who: "小周", kind: "reminder", step: "sit-1", delay: 2*time.Hour + 30*time.Minute, style: styleGmail,
			body: results(zhou, map[string]string{failingEntry: "不通过 日报导出的余额列少了两位小数，已反馈王工"}) + "\n--\n小周",
			does: "reports SIT results: one failure"},
		{who: "小周", kind: "reminder", step: "sit-2", delay: 6 * time.Hour, style: styleGmail,
			body: failingEntry + " 通过（王工已修复余额格式，复测通过）\n\n--\n小周", does: "re-tests #" + failingEntry + ": passes"},
		{who: "琳琳", kind: "reminder", step: "uat", delay: 2 * time.Hour, style: styleQQ,
			body: "UAT 环境：\n" + results(lin, nil) + "\n琳琳", does: "reports UAT results"},
		{who: "小周", kind: "reminder", step: "uat", delay: 5 * time.Hour, style: styleGmail,
			body: results(zhou, nil) + "\n--\n小周", does: "reports UAT results"},
		{who: "琳琳", kind: "reminder", step: "preprod", delay: time.Hour, style: styleQQ,
			body: "准生产：\n" + results(lin, nil) + "\n琳琳", does: "reports 准生产 results"},
		{who: "小周", kind: "reminder", step: "preprod", delay: time.Hour + 30*time.Minute, style: styleGmail,
			body: results(zhou, nil) + "\n--\n小周", expect: []string{"report"},
			does: "reports the last 准生产 results"},
		{who: "李经理", kind: "report", delay: 30 * time.Minute, style: styleIPhone,
			body: "收到。这期改动有点多，今晚来得及吗？", expect: []string{"clarify"},
			does: "answers the report, but not clearly"},
		{who: "李经理", kind: "clarify", delay: 40 * time.Minute, style: styleOutlook,
			body: "同意发版，今晚按计划上线。\n\n李经理\n信贷运营部", expect: []string{"approved", "receipt"},
			does: "approves, from Outlook (GB18030, the report quoted below)"},
		{who: "运维组", kind: "approved", atTime: "22:40", style: styleNetEase,
			body: "已发版，本期 " + fmt.Sprint(len(lin)+len(zhou)) + " 项均已上线，SQL 脚本已执行完毕。\n\n运维组 值班：小陈", expect: []string{"released"},
			does: "confirms the release"},
	}
}

// replyAt is when the person answers a mail that arrived at arrived.
func (c cue) replyAt(arrived time.Time) (time.Time, error) {
	if c.atTime == "" {
		return arrived.Add(c.delay), nil
	}
	tod, err := time.Parse("15:04", c.atTime)
	if err != nil {
		return time.Time{}, fmt.Errorf("cue of %s: time of day %q: %w", c.who, c.atTime, err)
	}
	at := time.Date(arrived.Year(), arrived.Month(), arrived.Day(), tod.Hour(), tod.Minute(), 0, 0, arrived.Location())
	if at.Before(arrived) {
		at = at.AddDate(0, 0, 1)
	}
	return at, nil
}

// expectedMails are the kinds (with their step for reminders) of fabu's
// mail the demo's week must produce, in order.
var expectedMails = []struct{ kind, step string }{
	{"testlist", ""},
	{"reminder", "sit-1"}, {"reminder", "sit-2"}, {"reminder", "uat"}, {"reminder", "preprod"},
	{"report", ""}, {"clarify", ""}, {"approved", ""}, {"receipt", ""}, {"released", ""},
}
