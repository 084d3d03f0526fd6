package reply

import (
	"strings"
	"testing"
)

const origZh = "如无问题请回复“同意”批准发布；如需驳回请回复“驳回”。"

func TestTrimClients(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"outlook desktop zh-CN", "同意\n\n-----邮件原件-----\n发件人: fabu <fabu@x.cn>\n发送时间: 2024年11月22日 14:50\n主题: 审批\n\n" + origZh, "同意"},
		{"outlook old mailto", "同意\n\n发件人: Lu Baolu [mailto:baolu.lu@x.cn]\n发送时间: 2024年11月22日 14:50\n收件人: a\n主题: 审批\n\n" + origZh, "同意"},
		{"outlook web underscores", "同意\n________________________________________\n发件人: fabu\n发送时间: 2024年11月22日\n" + origZh, "同意"},
		{"m365 no separator", "同意\n\n发件人: fabu <fabu@x.cn>\n发送时间: 2024年11月22日 14:50\n收件人: 张三\n抄送: 李四\n主题: 审批\n\n" + origZh, "同意"},
		{"outlook zh-TW", "同意\n\n寄件者: fabu <fabu@x.cn>\n寄件日期: 2024年4月5日 上午 03:55\n收件者: 張三\n副本: 李四\n主旨: 審批\n\n" + origZh, "同意"},
		{"old OWA zh-TW", "同意\n\n從: fabu\n寄件日期: 2024年4月5日\n至: 張三\n主旨: 審批\n" + origZh, "同意"},
		{"outlook english", "Approved\n\n-----Original Message-----\nFrom: fabu\nSent: Monday, August 26, 2019 4:37 PM\n" + origZh, "Approved"},
		{"outlook english wrapped from", "Approved\n\nFrom: fabu release bot with a very long display name\n <fabu@x.cn>\nSent: Monday, August 26, 2019 4:37 PM\nTo: John\nSubject: x\n" + origZh, "Approved"},
		{"qq", "同意\n\n------------------ 原始邮件 ------------------\n发件人: \"fabu\"<fabu@x.cn>;\n发送时间: 2022年5月28日(星期六) 凌晨0:27\n" + origZh, "同意"},
		{"qq html text bold", "同意\n\n*发件人:* fabu\n*发送时间:* 2019年7月18日 11:10\n*收件人:* 张三\n*主题:* 审批\n" + origZh, "同意"},
		{"qq english", "OK\n\n------------------ Original ------------------\nFrom:  <fabu@x.cn>\nDate: Sun,Apr 12,2020 7:25 PM\n" + origZh, "OK"},
		{"qq nbsp divider", "同意\n\n------------------\u00a0原始邮件\u00a0------------------\n" + origZh, "同意"},
		{"foxmail", "同意\n\n2011-12-29 18:30\n\n________________________________\n\n张三\n\n________________________________\n\n发件人： fabu\n发送时间： 2011-12-29  18:25:37\n" + origZh, "同意"},
		{"163 web", "同意\n\n在 2025-05-05 00:16:35，\"fabu\" <fabu@x.cn> 写道：\n> " + origZh, "同意"},
		{"163 english", "同意\n\nAt 2019-07-04 11:20:38, \"冯伟\" <fabu@x.cn> wrote:\n> " + origZh, "同意"},
		{"mail master", "同意\n\n---- 回复的原邮件 ----\n| 发件人 | fabu |\n" + origZh, "同意"},
		{"mail master english", "同意\n\n---- Replied Message ----\n" + origZh, "同意"},
		{"coremail", "同意\n\n-----原始邮件-----\n发件人:\"X\" <x@x.cn>\n发送时间:2025-03-11 19:05:03 (星期四)\n" + origZh, "同意"},
		{"coremail no separator", "同意\n\n发件人：\"X\" <x@x.cn>\n发送日期：2020-01-21 14:13:07\n收件人：张三\n主题：审批\n" + origZh, "同意"},
		{"alibaba", "同意\n\n" + strings.Repeat("-", 66) + "\n发件人：Vinod <v@x.cn>\n发送时间：2022年10月19日(星期三) 21:46\n收件人：张三\n抄\u3000送：李四\n主\u3000题：Re: 审批\n" + origZh, "同意"},
		{"gmail zh", "同意\n\nfabu <fabu@x.cn> 于2021年5月17日周一 下午2:25写道：\n\n> " + origZh, "同意"},
		{"gmail zh 24h", "同意\n\nfabu <fabu@x.cn> 于2025年10月28日周二 00:56写道：\n> " + origZh, "同意"},
		{"gmail zh wrapped", "同意\n\nMarc-André Lureau <marcandre.lureau@gmail.com\n<mailto:marcandre.lureau@gmail.com>> 于2021年5月5日周三 下午5:10写道：\n> " + origZh, "同意"},
		{"gmail english wrapped", "Approved\n\nOn Mon, Aug 26, 2019 at 4:37 PM fabu <\nfabu@x.cn> wrote:\n> " + origZh, "Approved"},
		{"apple ios", "同意\n\n发自我的iPhone\n\n> 在 2020年6月29日，下午5:45，Jiang Ying <j@x.cn> 写道：\n> " + origZh, "同意"},
		{"apple ios 24h unquoted attribution", "同意\n\n在 2022年3月25日，11:47，fabu <fabu@x.cn> 写道：\n\n> " + origZh, "同意"},
		{"apple macos", "同意\n\n2025年1月14日 06:27，fabu <fabu@x.cn> 写道：\n\n> " + origZh, "同意"},
		{"apple english", "Approved\n\nOn Dec 15, 2024, at 3:00 PM, John Smith <j@x.cn> wrote:\n\n> " + origZh, "Approved"},
		{"thunderbird zh", "同意\n\n在 2019/7/18 11:15, ZHOU 写道:\n> " + origZh, "同意"},
		{"thunderbird zh-TW", "同意\n\n於 2019/7/18 11:15, ZHOU 寫道:\n> " + origZh, "同意"},
		{"thunderbird en on zh", "同意\n\nOn 2019/7/18 11:15, ZHOU wrote:\n> " + origZh, "同意"},
		{"thunderbird original message", "同意\n\n-------- 原始消息 --------\n" + origZh, "同意"},
		{"evolution", "同意\n\n在 2026-01-21星期三的 13:56 +0100，Thomas Zimmermann写道：\n> " + origZh, "同意"},
		{"attribution unquoted original", "同意\n\n在 2026/12/3 18:00, fabu 写道:\n" + origZh, "同意"},
		{"bottom post", "在 2026/12/3 18:00, fabu 写道:\n> " + origZh + "\n\n同意", "同意"},
		{"interleaved", "> 20 订单导出\n\n20 通过\n\n> 21 登录页\n\n21 不通过", "20 通过\n\n21 不通过"},
		{"wrapped quote does not leak", "收到\n\n> 请回复\n“同意”批准发布\n> 谢谢", "收到"},
		{"huawei signature", "同意\n\n从我的华为手机发送\n\n" + origZh, "同意"},
		{"mail master signature", "同意\n来自网易邮箱大师\n" + origZh, "同意"},
		{"traditional signature", "同意\n\n從我的 iPhone 傳送\n\n" + origZh, "同意"},
		{"english signature", "Approved\n\nSent from my iPhone\n\n" + origZh, "Approved"},
		{"signature delimiter", "同意\n-- \n张三 | 不同意见请找我", "同意"},
		{"banner zh", "注意：这封邮件来自于外部，请谨慎处理。\n\n同意\n\n-----原始邮件-----\n" + origZh, "同意"},
		{"banner tag", "【外部邮件】\n同意", "同意"},
		{"banner en", "[External] CAUTION: This email originated from outside of the organization.\nDo not click links.\n\n同意", "同意"},
		{"crlf nbsp u3000", "同意\r\n\r\n-----原始邮件-----\r\n发件人:\u3000fabu\r\n" + origZh, "同意"},
		{"forward only", "---------- Forwarded message ---------\nFrom: fabu\nDate: x\n\n" + origZh, ""},
		{"nothing to trim", "同意发布", "同意发布"},
		{"text mentions wrote", "As I wrote: the SQL is fine.\n同意", "As I wrote: the SQL is fine.\n同意"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, how := Trim(c.in)
			if got != c.want {
				t.Errorf("Trim = %q (%s), want %q", got, how, c.want)
			}
			if strings.Contains(got, "批准发布") {
				t.Errorf("quoted text leaked into %q", got)
			}
		})
	}
}

func TestTrimHow(t *testing.T) {
	_, how := Trim("同意发布")
	if how != "nothing to trim" {
		t.Errorf("how = %q", how)
	}
	_, how = Trim("同意\n\n-----原始邮件-----\n" + origZh)
	if !strings.Contains(how, "divider at line 3") {
		t.Errorf("how = %q", how)
	}
}

func TestHTMLToText(t *testing.T) {
	cases := []struct{ name, html, want, cut string }{
		{"outlook border", `<p>同意</p><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p><b>发件人:</b> fabu</p></div><p>请回复同意</p>`, "同意", "div[style=border-top:solid e1e1e1]"},
		{"divRplyFwdMsg", `<div>OK</div><div id="divRplyFwdMsg">请回复同意</div>`, "OK", "div#divRplyFwdMsg"},
		{"163", `<div>同意</div><blockquote id="isReplyContent">请回复同意</blockquote>`, "同意", "blockquote#isReplyContent"},
		{"qq original-content", `<div>同意</div><div id="original-content">请回复同意</div>`, "同意", "div#original-content"},
		{"blockquote quoted", `<div>同意</div><blockquote type="cite">请回复同意</blockquote>`, "同意\n\n> 请回复同意", ""},
		{"entities br script", `<script>x="同意"</script><div>a&nbsp;&amp;&lt;b<br>c</div>`, "a\u00a0&<b\nc", ""},
		{"pre", `<pre>a
  b</pre>`, "a\n  b", ""},
		{"hr", `<div>同意</div><hr><div>原文</div>`, "同意\n" + htmlDelimiter + "\n原文", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, cut := htmlToText(c.html)
			if strings.TrimSpace(got) != c.want || cut != c.cut {
				t.Errorf("htmlToText = %q, cut %q; want %q, cut %q", got, cut, c.want, c.cut)
			}
		})
	}
}
