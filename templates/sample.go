package templates

// Sample returns example data for mail name in lang: what Load renders to
// check overrides, and what `fabu preview --sample` shows. It has two
// systems, five entries, a failure, a late notice, a skipped step and a
// change, so every block of a template is exercised.
func Sample(lang, name string) *Data {
	zh := lang != "en"
	pick := func(a, b string) string {
		if zh {
			return a
		}
		return b
	}
	envs := []string{"SIT", "UAT", pick("准生产", "Pre-prod")}
	cells := func(states ...string) []Cell {
		out := make([]Cell, len(envs))
		for i := range envs {
			st := "pending"
			if i < len(states) {
				st = states[i]
			}
			out[i] = Cell{Env: envs[i], State: st}
			if st != "pending" {
				out[i].Who = pick("琳琳", "Linlin")
				out[i].At = "2026-12-01 10:30"
			}
		}
		return out
	}
	e := func(id, sys, sub, fn, cat string, sql bool, lead string, c []Cell) Entry {
		en := Entry{ID: id, System: sys, Subsystem: sub, Module: pick("接口", "interface"), Function: fn, Category: cat,
			Description: pick("每日生成对账文件并推送至核心系统\n需兼容节假日", "Generate the daily reconciliation file and push it to the core system\nmust handle holidays"),
			SQL:         sql, Priority: pick("高", "high"), Status: pick("测试中", "in test"), TechLead: pick("王工", "Wang"), TestLead: lead,
			TestStart: "2026-11-30", TestFinish: "2026-12-03", RequirementDoc: "https://wiki.example.com/req/" + id, DocURL: "https://wiki.example.com/req/" + id,
			RelatedSystems: pick("核心", "core"), TestOpinion: "", Cells: c}
		for _, x := range c {
			if x.State == "fail" {
				en.Failed = true
				en.Cells = c
			}
		}
		return en
	}
	lin, zhou := pick("琳琳", "Linlin"), pick("小周", "Zhou")
	a := e("20", pick("小贷", "Microloan"), pick("账务", "accounting"), pick("生成文件", "file generation"), pick("新功能", "new feature"), true, lin, cells("pass", "pass", "pass"))
	b := e("21", pick("小贷", "Microloan"), pick("账务", "accounting"), pick("利息计算", "interest"), pick("缺陷", "defect"), false, lin, cells("pass", "fail"))
	b.Cells[1].Note = pick("罚息多算一天", "penalty interest one day too many")
	b.TestOpinion = pick("UAT 复测不通过", "failed again in UAT")
	c := e("35", pick("小贷", "Microloan"), pick("放款", "lending"), pick("放款审批", "approval"), pick("优化", "improvement"), false, zhou, cells("pass"))
	d := e("102", pick("信贷", "Credit"), pick("客户", "customer"), pick("客户信息同步", "customer sync"), pick("数据修复", "data fix"), true, zhou, cells("pass", "pass"))
	f := e("103", pick("信贷", "Credit"), "", pick("报表导出", "report export"), pick("新功能", "new feature"), false, "", cells())
	f.RequirementDoc, f.DocURL = `\\fileserver\需求\103.docx`, ""
	d.Description = ""

	data := &Data{
		Title: pick("小贷运维", "Microloan ops"), Train: "default", Release: "2026-12-03",
		ReleaseDay: pick("12月3日（周四）", "Thu 3 Dec"), Step: name, Sent: "2026-11-27 17:00",
		Late:    &Late{Due: "2026-11-27 17:00", Reason: pick("fabu 当时未运行，启动后补发", "fabu was not running then; sent when it started")},
		Skipped: []Skipped{{Step: "sit-2", Due: "2026-12-01 09:00", Reason: pick("当天已过", "the day had passed")}},
		Changes: []Change{{Op: "add", ID: "103", Summary: pick("信贷 报表导出", "Credit report export"), Who: "cli", At: "2026-11-30 11:00", Note: pick("紧急需求", "urgent")}},
		Envs:    envs,
		Groups: []Group{
			{System: a.System, Entries: []Entry{a, b, c}},
			{System: d.System, Entries: []Entry{d, f}},
		},
		Count: 5, SQLCount: 2, HasResults: true,
		ReplyTo: "fabu+v1.example@example.com",
		Window:  "22:00-24:00",
	}
	data.Failures = []Entry{b}
	switch name {
	case TestList, Reminder:
		data.Expect = "results"
	case Report, Escalate, Outdated, OutOfOff, Clarify:
		data.Expect = "decision"
	case Approved:
		data.Expect = "done"
	}
	switch name {
	case TestList, Empty:
		data.HasResults = false
		for gi := range data.Groups {
			for ei := range data.Groups[gi].Entries {
				data.Groups[gi].Entries[ei].Cells = nil
				data.Groups[gi].Entries[ei].Failed = false
			}
		}
		data.Failures = nil
		if name == Empty {
			data.Groups, data.Count, data.SQLCount, data.Changes = nil, 0, 0, nil
		}
	case Reminder:
		data.Env = "UAT"
		data.Note = pick("UAT 今天截止", "UAT closes today")
		data.Leads = []LeadGroup{{Lead: lin, Entries: []Entry{b}}, {Lead: zhou, Entries: []Entry{c}}, {Lead: "", Entries: []Entry{f}}}
		data.Untested = 3
	case Approved:
		data.Excluded = []Entry{b}
		data.Failures = nil
		data.Groups[0].Entries = []Entry{a, c}
		data.Count = 4
		data.Decision = &Decision{Who: pick("李经理", "Manager Li"), Email: "limanager@example.com", At: "2026-12-03 18:40", Words: pick("同意发版", "Approved"), Verdict: "approve"}
	case Receipt:
		data.Decision = &Decision{Who: pick("李经理", "Manager Li"), Email: "limanager@example.com", At: "2026-12-03 18:40", Words: pick("同意发版", "Approved"), Verdict: "approve"}
		data.Recipient = data.Decision.Who
	case Vote:
		data.Decision = &Decision{Who: pick("赵总", "Director Zhao"), Email: "zhao@example.com", At: "2026-12-03 18:40", Words: pick("同意，21 除外", "Approved except 21"),
			Verdict: "approve", Reason: pick("除外：21", "except 21")}
		data.Recipient = data.Decision.Who
		data.Tally = &Tally{Have: 1, Need: 2}
	case Rejected:
		data.Decision = &Decision{Who: pick("李经理", "Manager Li"), Email: "limanager@example.com", At: "2026-12-03 18:40", Words: pick("驳回，利息问题未解决", "Rejected, the interest bug is open"), Verdict: "reject", Reason: pick("利息问题未解决", "the interest bug is open")}
	case Released:
		data.Decision = &Decision{Who: pick("运维组", "Ops"), Email: "ops@example.com", At: "2026-12-03 23:10", Words: pick("已发版", "done"), Verdict: "done"}
		data.Failures = nil
	case Escalate:
		data.ForManagers = true
	case Clarify, CannotUse, Outdated:
		data.Reply = &Reply{From: "limanager@example.com", Name: pick("李经理", "Manager Li"), Subject: pick("回复：【fabu】2026-12-03 期 测试完成报告", "Re: [fabu] 2026-12-03 test-complete report"),
			Date: "2026-12-03 18:35", MessageID: "<reply-1@example.com>", Excerpt: pick("看一下再说", "let me have a look")}
		data.Recipient = data.Reply.Name
		data.Understood = pick("没有看出是同意还是驳回", "neither an approval nor a rejection")
		data.Problem = pick("该期次已经审批", "the release has already been decided")
	case OutOfOff:
		data.Away = &Away{Name: pick("李经理", "Manager Li"), Email: "limanager@example.com", Text: pick("本人休假至12月7日，急事请联系张经理。", "I am out of the office until 7 December."),
			Informed: []string{lin}}
	case OutboxAlert:
		data.Alert = &Alert{MessageID: "<fabu.example@example.com>", Subject: pick("【fabu】2026-12-03 期 提测清单", "[fabu] 2026-12-03 test list"), Release: "2026-12-03", Step: "testlist",
			Queued: "2026-11-27 17:00", Attempts: 7, LastError: "451 4.3.0 try again later",
			Failed: []AlertRecipient{{Addr: "old@example.com", Code: 550, Error: "550 5.1.1 user unknown"}}, Pending: []string{"linlin@example.com"}}
	}
	return data
}
