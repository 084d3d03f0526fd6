package reply

import "slices"

// Words are the phrase lists Classify decides with, Chinese and English.
// Matching ignores case and full-width/half-width differences; English
// words match whole words only, Chinese phrases anywhere. Start from
// DefaultWords and add a team's own phrases.
type Words struct {
	// Approve are strong approvals (同意, 批准, approve, LGTM). One counts when
	// the clause it is in is a plain approval: nothing in it but approve
	// words and Filler ("同意发布", "我同意。"). In a longer clause ("我同意张三的
	// 意见") it makes the reply unclear.
	Approve []string
	// ApproveWeak approve only when their clause holds nothing else
	// ("OK", "好的，发吧", "可以"), and are ignored otherwise.
	ApproveWeak []string
	// Reject are rejections (驳回, 拒绝, reject, denied).
	Reject []string
	// Negated are negated approvals, which are rejections (不同意, 暂不同意,
	// 先不要发, not approved, don't approve).
	Negated []string
	// Negators turn a following approve word into a rejection (不 + 可以) and a
	// following reject or done word into an unclear reply.
	Negators []string
	// NotNegators contain a negator character but do not negate (非常, 没问题).
	NotNegators []string
	// Done confirm a release (已发版, 已上线, released, deployed).
	Done []string
	// DoneWeak confirm only alone in their clause ("done", "完成").
	DoneWeak []string
	// Pass and Fail are per-entry test outcomes ("20 通过", "21 fail").
	Pass []string
	Fail []string
	// AllPass report that every entry passed (全部通过, all pass).
	AllPass []string
	// Except mark entries left out of an approval ("21 除外", "except 21").
	Except []string
	// Hedges make an approval conditional, hence unclear (但是, 如果, but, if).
	Hedges []string
	// Questions mark a clause as a question besides a "?" (吗, 是否, can we).
	Questions []string
	// Filler may stand next to an approve or done word in a plain clause
	// (我, 发布, 本次, 辛苦了, please, the release).
	Filler []string

	// prep caches the folded lists of the value DefaultWords returned; it is
	// used only while the lists still hold exactly those words.
	prep *preparedWords
}

// preparedWords are the lists as given and as Classify matches them.
type preparedWords struct {
	given  Words
	folded Words
}

// lists returns the word lists of w in a fixed order.
func (w *Words) lists() []*[]string {
	return []*[]string{&w.Approve, &w.ApproveWeak, &w.Reject, &w.Negated, &w.Negators, &w.NotNegators,
		&w.Done, &w.DoneWeak, &w.Pass, &w.Fail, &w.AllPass, &w.Except, &w.Hedges, &w.Questions, &w.Filler}
}

// foldWords returns w with every list folded and sorted longest first.
func foldWords(w Words) Words {
	var out Words
	src, dst := w.lists(), out.lists()
	for i := range src {
		*dst[i] = lowered(*src[i])
	}
	return out
}

// matched returns the folded lists for w, from the cache when w still holds
// the words it was prepared from.
func (w Words) matched() Words {
	if p := w.prep; p != nil && sameWords(&p.given, &w) {
		return p.folded
	}
	return foldWords(w)
}

func sameWords(a, b *Words) bool {
	la, lb := a.lists(), b.lists()
	for i := range la {
		if !slices.Equal(*la[i], *lb[i]) {
			return false
		}
	}
	return true
}

// builtinWords is DefaultWords prepared once; it is never modified.
var builtinWords = DefaultWords()

// DefaultWords returns the built-in word lists (a fresh copy each call).
func DefaultWords() Words {
	w := defaultLists()
	given := w
	for _, l := range given.lists() {
		*l = slices.Clone(*l)
	}
	w.prep = &preparedWords{given: given, folded: foldWords(w)}
	return w
}

func defaultLists() Words {
	return Words{
		Approve: []string{
			"同意", "批准", "核准", "准予发布", "准予上线", "予以发布", "无异议", "没有异议", "没意见", "没有意见",
			"審批通過", "审批通过", "同意發布", "批准發布", "同意發版",
			"approve", "approved", "approving", "lgtm", "agree", "agreed", "no objection", "no objections",
			"go ahead", "ship it",
		},
		ApproveWeak: []string{
			"可以", "可以发", "可以發", "可以上线", "发吧", "發吧", "发布吧", "上线吧", "好的", "好", "行", "没问题", "沒問題",
			"ok", "okay", "yes", "sure", "fine", "+1", "👍",
		},
		Reject: []string{
			"驳回", "駁回", "拒绝", "拒絕", "否决", "否決", "打回", "退回", "不批", "不行", "不准", "暂缓", "暫緩",
			"不发", "不發", "先不发", "暂不发", "不上线", "先不上", "暂不上线", "不要上线", "不要发", "不要發", "别发", "別發", "先别发", "暂停发布", "暂停上线", "取消发布", "取消上线",
			"reject", "rejected", "rejecting", "deny", "denied", "decline", "declined", "disapprove", "disapproved",
			"nack", "no go", "no-go", "hold off", "do not release", "don't release", "do not ship", "don't ship",
		},
		Negated: []string{
			"不同意", "暂不同意", "暫不同意", "不批准", "不能同意", "不可以", "不能发", "不能發", "先不要发", "先不要發",
			"不予批准", "不予通过", "不予發布",
			"not approved", "not approve", "don't approve", "dont approve", "do not approve", "cannot approve",
			"can't approve", "cant approve", "won't approve", "will not approve", "not agree", "don't agree",
			"do not agree", "disagree", "not ok", "not okay", "not lgtm",
		},
		Negators: []string{
			"不", "没", "沒", "未", "别", "別", "勿", "非", "无法", "無法", "否",
			"not", "no", "never", "don't", "dont", "do not", "cannot", "can't", "cant", "won't", "wont",
			"didn't", "doesn't", "isn't", "aren't", "wouldn't", "shouldn't", "unable", "neither", "nor", "yet to",
		},
		NotNegators: []string{"非常", "不错", "不錯", "没问题", "沒問題", "无论", "無論", "毫不", "不用谢", "不客气"},
		Done: []string{
			"已发版", "已發版", "已上线", "已上線", "已发布", "已發布", "已部署", "发版完成", "發版完成", "上线完成", "上線完成",
			"发布完成", "發布完成", "部署完成", "发版成功", "上线成功", "发布成功", "部署成功", "完成发版", "完成上线", "完成发布",
			"released", "deployed", "release done", "deploy done", "deployment done", "release completed", "deployment completed",
		},
		DoneWeak: []string{"done", "完成", "已完成", "完成了", "搞定", "completed", "finished"},
		Pass:     []string{"通过", "通過", "已通过", "测试通过", "pass", "passed", "ok", "✓", "√"},
		Fail:     []string{"不通过", "不通過", "未通过", "未通過", "没通过", "沒通過", "没有通过", "失败", "失敗", "fail", "failed", "✗", "×"},
		AllPass: []string{
			"全部通过", "全部通過", "都通过", "都通過", "均通过", "均已通过", "全都通过", "全部测试通过", "全部已通过", "测试全部通过",
			"all pass", "all passed", "all tests passed", "all tests pass", "everything passed", "all ok",
		},
		Except: []string{"除外", "除了", "除", "以外", "之外", "except", "excluding", "except for", "apart from", "other than", "but not"},
		Hedges: []string{
			"但是", "但", "不过", "不過", "可是", "然而", "除非", "前提", "条件是", "如果", "假如", "若", "等等", "稍等", "再看看",
			"再确认", "先确认", "待确认", "暂时", "回头", "之后再", "以后再",
			"but", "however", "unless", "provided", "if", "wait", "pending", "once", "after", "later",
		},
		Questions: []string{
			"吗", "嗎", "么", "麼", "嘛", "呢", "是否", "能否", "可否", "是不是", "要不要", "能不能", "可不可以", "行不行",
			"好不好", "对不对", "有没有", "可以不", "发不发",
			"can we", "could we", "should we", "shall we", "may we", "is it ok", "are we", "do we", "can i", "should i",
		},
		Filler: []string{
			"我", "我们", "我們", "本人", "已", "予以", "完全", "非常", "其余", "其他", "其它", "剩下的", "剩余", "余下", "都", "全部", "所有", "均", "本次", "本期", "这次", "這次", "此次",
			"这期", "的", "了", "啊", "吧", "呀", "哈", "嗯", "哦", "噢", "发布", "發布", "发版", "發版", "上线", "上線", "部署",
			"请", "請", "按计划", "计划", "今晚", "今天", "执行", "谢谢", "謝謝", "辛苦了", "辛苦", "各位", "大家", "收到", "～", "~",
			"i", "we", "the", "this", "it", "release", "releases", "deployment", "deploy", "please", "tonight", "now",
			"fully", "all", "thanks", "thank you", "thx", "from", "me", "my", "side", "as", "planned", "proceed", "with",
			"of", "to", "is", "for", "and", "go", "ahead", "here", "hi", "hello", "team",
		},
	}
}
