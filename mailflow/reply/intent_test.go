package reply

import (
	"reflect"
	"testing"
)

func classifyCase(t *testing.T, text string, want Kind) Intent {
	t.Helper()
	in := Classify(text, DefaultWords())
	if in.Kind != want {
		t.Fatalf("Classify(%q) = %s (matched %q, why %q), want %s", text, in.Kind, in.Matched, in.Why, want)
	}
	return in
}

func TestClassifyApprove(t *testing.T) {
	cases := []struct {
		name, text string
		matched    []string
	}{
		{"bare", "同意", []string{"同意"}},
		{"full stop", "同意。", []string{"同意"}},
		{"with object", "同意发布", []string{"同意"}},
		{"with thanks", "同意，辛苦大家", []string{"同意"}},
		{"first person", "我同意", []string{"同意"}},
		{"strongly", "非常同意", []string{"同意"}},
		{"full-width OK", "ＯＫ", []string{"ＯＫ"}},
		{"weak pair", "好的，发吧", []string{"好的", "发吧"}},
		{"keyi", "可以", []string{"可以"}},
		{"english", "Approved.", []string{"Approved"}},
		{"lgtm", "LGTM", []string{"LGTM"}},
		{"english sentence", "I approve the release.", []string{"approve"}},
		{"name below", "同意\n\n张三\n技术部", []string{"同意"}},
		{"date", "同意12月3日发布", []string{"同意"}},
		{"time", "同意今晚22:00发布", []string{"同意"}},
		{"no objection", "无异议", []string{"无异议"}},
		{"traditional", "同意發布", []string{"同意發布"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := classifyCase(t, c.text, IntentApprove)
			if !reflect.DeepEqual(in.Matched, c.matched) {
				t.Errorf("matched %q, want %q", in.Matched, c.matched)
			}
		})
	}
}

// TestClassifyNeverApproves holds the texts that must not approve: negated,
// questions, conditions, conflicts, approve words used in another sense.
func TestClassifyNeverApproves(t *testing.T) {
	cases := []struct {
		name, text string
		want       Kind
	}{
		{"bu tongyi", "不同意", IntentReject},
		{"zan bu tongyi", "暂不同意", IntentReject},
		{"bu pizhun", "不批准", IntentReject},
		{"bu neng tongyi", "不能同意", IntentReject},
		{"xian buyao fa", "先不要发", IntentReject},
		{"bu keyi", "不可以", IntentReject},
		{"bu tai tongyi", "我不太同意", IntentReject},
		{"not approved", "not approved", IntentReject},
		{"dont approve", "don't approve", IntentReject},
		{"do not approve", "Do not approve", IntentReject},
		{"disapprove", "disapprove", IntentReject},
		{"cannot approve", "cannot approve", IntentReject},
		{"not yet approved", "not yet approved", IntentReject},
		{"question ma", "同意吗？", IntentUnclear},
		{"question ma no mark", "同意吗", IntentUnclear},
		{"question keyi fa", "可以发吗?", IntentUnclear},
		{"question english", "approve?", IntentUnclear},
		{"question shifou", "是否同意", IntentUnclear},
		{"approve then question", "同意。有人测过 21 吗？", IntentUnclear},
		{"approve and reject", "同意驳回", IntentUnclear},
		{"reject first", "先驳回吧，同意的话我再回复你。", IntentUnclear},
		{"agree with someone", "我同意张三的意见", IntentUnclear},
		{"condition danshi", "同意，但是需要先确认SQL", IntentUnclear},
		{"condition ruguo", "同意，如果有问题及时回滚", IntentUnclear},
		{"condition english", "approved if the SQL is reviewed", IntentUnclear},
		{"weak in sentence", "我觉得可以再等等", IntentUnclear},
		{"sorry", "不好意思，21 还没测完", IntentUnclear},
		{"received", "收到", IntentUnclear},
		{"empty", "   ", IntentUnclear},
		{"approve not release", "同意不发", IntentUnclear},
		{"negated reject", "不驳回", IntentUnclear},
		{"reject question", "驳回吗？", IntentUnclear},
		{"exception without approval", "21 除外", IntentUnclear},
		{"results with approval", "20 通过，同意发布", IntentUnclear},
		{"agree with points", "I agree with the points above", IntentUnclear},
		{"approve and done", "同意，已上线", IntentUnclear},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			classifyCase(t, c.text, c.want)
		})
	}
}

func TestClassifyReject(t *testing.T) {
	cases := []struct{ name, text, reason string }{
		{"reason after", "驳回，21 登录报错未修复", "21 登录报错未修复"},
		{"reason label", "不同意。原因：回归未完成", "回归未完成"},
		{"reason before", "SQL 脚本没评审，驳回", "SQL 脚本没评审"},
		{"english", "Rejected: SIT not finished", "SIT not finished"},
		{"no reason", "驳回", ""},
		{"entry only", "驳回 21", "21"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := classifyCase(t, c.text, IntentReject)
			if in.Reason != c.reason {
				t.Errorf("reason %q, want %q", in.Reason, c.reason)
			}
		})
	}
}

func TestClassifyDone(t *testing.T) {
	for _, text := range []string{"已发版", "已上线，辛苦", "发版完成", "上线完成", "done", "Released.", "deployed", "好的，已上线", "已发布，监控正常"} {
		t.Run(text, func(t *testing.T) { classifyCase(t, text, IntentDone) })
	}
	for _, text := range []string{"还没上线", "未上线", "上线完成了吗？", "not released yet", "not done"} {
		t.Run("not "+text, func(t *testing.T) { classifyCase(t, text, IntentUnclear) })
	}
}

func TestClassifyResults(t *testing.T) {
	cases := []struct {
		name, text string
		want       []Result
	}{
		{"zh lines", "20 通过\n21 不通过 登录报错", []Result{{"20", "pass", ""}, {"21", "fail", "登录报错"}}},
		{"hash fail", "#21 失败", []Result{{"21", "fail", ""}}},
		{"all pass zh", "全部通过", []Result{{"*", "pass", ""}}},
		{"all pass en", "all pass", []Result{{"*", "pass", ""}}},
		{"en with reason", "20 pass\n21 fail: reason: timeout", []Result{{"20", "pass", ""}, {"21", "fail", "timeout"}}},
		{"id list", "20、21 通过", []Result{{"20", "pass", ""}, {"21", "pass", ""}}},
		{"one line two", "20 通过；21 未通过 数据不对", []Result{{"20", "pass", ""}, {"21", "fail", "数据不对"}}},
		{"full-width", "２０ 通过", []Result{{"20", "pass", ""}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := classifyCase(t, c.text, IntentResults)
			if !reflect.DeepEqual(in.Results, c.want) {
				t.Errorf("results %+v, want %+v", in.Results, c.want)
			}
		})
	}
	// dates, times and versions are not entry IDs
	for _, text := range []string{"2026-12-03 通过评审了吗", "v1.2 通过"} {
		t.Run("not "+text, func(t *testing.T) {
			if in := Classify(text, DefaultWords()); in.Kind == IntentResults {
				t.Errorf("Classify(%q) = results %+v", text, in.Results)
			}
		})
	}
}

func TestClassifyPartial(t *testing.T) {
	cases := []struct {
		name, text string
		excluded   []string
	}{
		{"chuwai", "同意，21 除外", []string{"21"}},
		{"english", "approve except 21", []string{"21"}},
		{"dan", "同意，但 21 除外", []string{"21"}},
		{"chule zhiwai", "除了21之外都同意", []string{"21"}},
		{"not released", "同意，21号先不发", []string{"21"}},
		{"but not", "approve all but not 21", []string{"21"}},
		{"two", "除了 21、22 以外都同意", []string{"21", "22"}},
		{"ok but", "OK，但是21不要发", []string{"21"}},
		{"reject entry", "同意，驳回 21", []string{"21"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := classifyCase(t, c.text, IntentPartial)
			if !reflect.DeepEqual(in.Excluded, c.excluded) {
				t.Errorf("excluded %q, want %q", in.Excluded, c.excluded)
			}
		})
	}
}

func TestClassifyCustomWords(t *testing.T) {
	w := DefaultWords()
	w.Approve = append(w.Approve, "准了")
	classifyCase(t, "准了", IntentUnclear) // not in the defaults
	if in := Classify("准了", w); in.Kind != IntentApprove {
		t.Errorf("custom word: %s", in.Kind)
	}
}

func TestClassifyTooLong(t *testing.T) {
	long := "同意\n"
	for len(long) <= maxClassifyBytes {
		long += "这是一段很长的说明文字。"
	}
	classifyCase(t, long, IntentUnclear)
}
