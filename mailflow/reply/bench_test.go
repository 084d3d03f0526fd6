package reply

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime/quotedprintable"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// outlookReply20KB builds a typical Outlook zh-CN reply: multipart/
// alternative, GB18030 quoted-printable, with two earlier rounds of the
// thread quoted below the answer; about 20 KB.
func outlookReply20KB(tb testing.TB) []byte {
	tb.Helper()
	var hist strings.Builder
	for round := 0; round < 2; round++ {
		fmt.Fprintf(&hist, "\n-----邮件原件-----\n发件人: fabu 发布机器人 <fabu@corp.example>\n发送时间: 2026年12月%d日 18:00\n收件人: 张经理 <zhang@corp.example>\n抄送: 测试组 <qa@corp.example>\n主题: 【发布审批】2026-12-03 期次测试完成报告\n\n各位领导：\n", round+1)
		for i := 0; i < 30; i++ {
			fmt.Fprintf(&hist, "%d 需求条目 %d：SIT 通过，UAT 通过，预投产通过，SQL 脚本已评审。\n", 20+i, i)
		}
		hist.WriteString("如无问题请回复“同意”批准发布；如需驳回请回复“驳回”并说明原因。\n")
	}
	plain := "同意\n\n张经理\n" + hist.String()
	html := "<html><body><div class=WordSection1><p class=MsoNormal>同意<o:p></o:p></p><p class=MsoNormal>张经理</p>" +
		`<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class=MsoNormal><b>发件人:</b> fabu</p></div>` +
		"<p class=MsoNormal>" + strings.ReplaceAll(hist.String(), "\n", "<br>") + "</p></div></body></html>"
	enc := func(s string) string {
		b, err := simplifiedchinese.GB18030.NewEncoder().String(strings.ReplaceAll(s, "\n", "\r\n"))
		if err != nil {
			tb.Fatal(err)
		}
		var buf bytes.Buffer
		w := quotedprintable.NewWriter(&buf)
		_, _ = w.Write([]byte(b))
		_ = w.Close()
		return buf.String()
	}
	var m bytes.Buffer
	m.WriteString("From: =?gb18030?B?1cW+rcDt?= <zhang@corp.example>\r\nTo: fabu@corp.example\r\nSubject: =?gb18030?B?u9i4tDog?=\r\n" +
		"Message-ID: <bench@corp.example>\r\nIn-Reply-To: <report@fabu>\r\nDate: Thu, 03 Dec 2026 19:00:00 +0800\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=\"_000_bench_\"\r\n\r\n")
	m.WriteString("--_000_bench_\r\nContent-Type: text/plain; charset=\"gb18030\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + enc(plain) + "\r\n")
	m.WriteString("--_000_bench_\r\nContent-Type: text/html; charset=\"gb18030\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + enc(html) + "\r\n--_000_bench_--\r\n")
	return m.Bytes()
}

func BenchmarkExplainOutlook20KB(b *testing.B) {
	mail := outlookReply20KB(b)
	e, err := Explain(bytes.NewReader(mail), Options{})
	if err != nil || e.Intent != string(IntentApprove) {
		b.Fatalf("setup: %v %+v", err, e)
	}
	b.SetBytes(int64(len(mail)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Explain(bytes.NewReader(mail), Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mails/s")
}

// largeAttachmentMail is a reply with a ~9 MB base64 attachment (under the
// 10 MB default limit).
func largeAttachmentMail() []byte {
	var m bytes.Buffer
	m.WriteString("Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n同意\r\n" +
		"--b\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=big.zip\r\n\r\n")
	line := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xA5, 0x5A, 0x33}, 19)) + "\r\n"
	for m.Len() < 9<<20 {
		m.WriteString(line)
	}
	m.WriteString("--b--\r\n")
	return m.Bytes()
}

func BenchmarkLargeAttachment(b *testing.B) {
	mail := largeAttachmentMail()
	b.SetBytes(int64(len(mail)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := Explain(bytes.NewReader(mail), Options{})
		if err != nil || e.Intent != string(IntentApprove) {
			b.Fatalf("%v %+v", err, e)
		}
	}
}

// TestLargeAttachmentBoundedMemory: a 9 MB attachment is skipped without
// being buffered: the whole Explain allocates far less than the mail.
func TestLargeAttachmentBoundedMemory(t *testing.T) {
	mail := largeAttachmentMail()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	e, err := Explain(bytes.NewReader(mail), Options{})
	runtime.ReadMemStats(&after)
	if err != nil || e.Intent != string(IntentApprove) {
		t.Fatalf("%v %+v", err, e)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("allocated %d bytes for a %d-byte mail; want under 1 MB", alloc, len(mail))
	}
}
