package templates

import (
	htmltemplate "html/template"
	"strings"
	"unicode/utf8"
)

// Colours of the result cells: Excel's "good", "bad" and "neutral" styles,
// which read well in Outlook, Foxmail and phone clients, light or dark.
var cellColours = map[string][2]string{ // state → background, text
	"pass":    {"#c6efce", "#006100"},
	"fail":    {"#ffc7ce", "#9c0006"},
	"pending": {"#ededed", "#595959"},
}

var labels = map[string]map[string]string{
	"zh-CN": {
		"pass": "通过", "fail": "不通过", "pending": "待测",
		"yes": "是", "no": "否",
		"approve": "同意", "reject": "驳回", "done": "已发版",
		"add": "加入", "remove": "移出",
		"testlist": "提测清单", "report": "测试完成报告", "escalate": "催办", "approved": "发版通知",
		"released": "发版完成通知", "empty": "本周无提测", "reminder": "测试提醒",
		"sit-1": "SIT 第一天提醒", "sit-2": "SIT 第二天提醒", "uat": "UAT 提醒", "preprod": "准生产提醒",
		"cut": "周五提测",
	},
	"en": {
		"pass": "passed", "fail": "failed", "pending": "pending",
		"yes": "yes", "no": "no",
		"approve": "approved", "reject": "rejected", "done": "released",
		"add": "added", "remove": "removed",
		"testlist": "test list", "report": "test-complete report", "escalate": "escalation", "approved": "release mail",
		"released": "release note", "empty": "empty-week note", "reminder": "test reminder",
		"sit-1": "SIT day 1 reminder", "sit-2": "SIT day 2 reminder", "uat": "UAT reminder", "preprod": "pre-production reminder",
		"cut": "Friday cut",
	},
}

var marks = map[string]string{"pass": "✔", "fail": "✘", "pending": "…"}

func funcs(lang string) map[string]any {
	l := labels[lang]
	label := func(key string) string {
		if v, ok := l[key]; ok {
			return v
		}
		return key
	}
	return map[string]any{
		// label translates a state, verdict, change op or step name.
		"label": label,
		// mark is a sign for a result state (✔ ✘ …).
		"mark": func(state string) string { return marks[state] },
		// cellBg / cellFg are a result state's colours (for bgcolor= and style).
		"cellBg": func(state string) string { return colour(state)[0] },
		"cellFg": func(state string) string { return colour(state)[1] },
		// cellStyle is the inline style of a result cell.
		"cellStyle": func(state string) htmltemplate.CSS {
			c := colour(state)
			return htmltemplate.CSS("background-color:" + c[0] + ";color:" + c[1] + ";border:1px solid #d0d0d0;padding:4px 6px;text-align:center;white-space:nowrap;")
		},
		// yesno writes a bool as 是/否 or yes/no.
		"yesno": func(b bool) string {
			if b {
				return label("yes")
			}
			return label("no")
		},
		// add adds two numbers (e.g. colspan).
		"add": func(a, b int) int { return a + b },
		// inc adds one (for 1-based numbering).
		"inc": func(i int) int { return i + 1 },
		// clip shortens s to n characters, adding … when cut.
		"clip": clip,
		// oneline puts s on one line.
		"oneline": OneLine,
		// indent indents every line of s after the first by n spaces.
		"indent": func(n int, s string) string {
			s = strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
			return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", n))
		},
		// join joins strings.
		"join": func(sep string, xs []string) string { return strings.Join(xs, sep) },
		// or2 returns s, or def when s is empty.
		"or2": func(def, s string) string {
			if strings.TrimSpace(s) == "" {
				return def
			}
			return s
		},
		// lines splits s into lines (for <br> in HTML).
		"lines": func(s string) []string {
			return strings.Split(strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n"), "\n")
		},
	}
}

func colour(state string) [2]string {
	if c, ok := cellColours[state]; ok {
		return c
	}
	return cellColours["pending"]
}

func clip(n int, s string) string {
	s = OneLine(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
