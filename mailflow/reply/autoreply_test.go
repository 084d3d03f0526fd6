package reply

import "testing"

func TestDetectAutoReply(t *testing.T) {
	cases := []struct {
		name   string
		h      Header
		auto   bool
		signal string
	}{
		{"auto-submitted", Header{"Auto-Submitted": {"auto-replied"}}, true, "Auto-Submitted: auto-replied"},
		{"auto-submitted generated with comment", Header{"Auto-Submitted": {"auto-generated (vacation)"}}, true, "Auto-Submitted: auto-generated (vacation)"},
		{"auto-submitted no", Header{"Auto-Submitted": {"no"}}, false, ""},
		{"x-autoreply", Header{"X-Autoreply": {"yes"}}, true, "X-Autoreply: yes"},
		{"x-autorespond", Header{"X-Autorespond": {"x"}}, true, "X-Autorespond: x"},
		{"precedence auto_reply", Header{"Precedence": {"auto_reply"}}, true, "Precedence: auto_reply"},
		{"precedence bulk is human", Header{"Precedence": {"bulk"}}, false, ""},
		{"suppress all is human", Header{"X-Auto-Response-Suppress": {"All"}}, false, ""},
		{"suppress oof", Header{"X-Auto-Response-Suppress": {"DR, OOF, AutoReply"}}, true, "X-Auto-Response-Suppress: DR, OOF, AutoReply"},
		{"null return path", Header{"Return-Path": {"<>"}}, true, "Return-Path: <>"},
		{"return path", Header{"Return-Path": {"<a@b.cn>"}}, false, ""},
		{"subject zh", Header{"Subject": {"自动答复:  回复: 审批"}}, true, "Subject: 自动答复:  回复: 审批"},
		{"subject zh full-width colon", Header{"Subject": {"自动回复：审批"}}, true, "Subject: 自动回复：审批"},
		{"subject encoded", Header{"Subject": {"=?UTF-8?B?6Ieq5Yqo5Zue5aSNOiDlrqHmibk=?="}}, true, "Subject: 自动回复: 审批"},
		{"subject english", Header{"Subject": {"Automatic reply: approval"}}, true, "Subject: Automatic reply: approval"},
		{"subject ooo", Header{"Subject": {"Out of Office: approval"}}, true, "Subject: Out of Office: approval"},
		{"subject vacation zh", Header{"Subject": {"休假中：12 月 10 日返回"}}, true, "Subject: 休假中：12 月 10 日返回"},
		{"human quoting autoreply subject", Header{"Subject": {"回复:  自动答复: 审批"}}, false, ""},
		{"auto without reply", Header{"Subject": {"Auto: x"}}, false, ""},
		{"auto with reply", Header{"Subject": {"Auto: x"}, "In-Reply-To": {"<a@b>"}}, true, "Subject: Auto: x (with In-Reply-To)"},
		{"plain", Header{"Subject": {"Re: 审批"}}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			auto, signal := DetectAutoReply(c.h)
			if auto != c.auto || signal != c.signal {
				t.Errorf("DetectAutoReply = %v %q, want %v %q", auto, signal, c.auto, c.signal)
			}
		})
	}
}
