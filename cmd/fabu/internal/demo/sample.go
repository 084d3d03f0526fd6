package demo

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/xuri/excelize/v2"
)

// The demo's week: fabu starts on Friday 2026-11-27 at 16:59 (Beijing
// time), a minute before the cut; the release is Thursday 2026-12-03. No
// statutory holiday or make-up working day falls in that week.
const (
	DemoRelease  = "2026-12-03"
	demoTimezone = "Asia/Shanghai"
	demoDomain   = "example.com"
	fabuAddress  = "fabu@" + demoDomain
)

// DemoStart is when the demo's clock starts.
func DemoStart() time.Time {
	loc, err := time.LoadLocation(demoTimezone)
	if err != nil {
		loc = time.FixedZone("CST", 8*3600) // China has had no DST since 1991
	}
	return time.Date(2026, 11, 27, 16, 59, 0, 0, loc)
}

// Person is one of the demo's people.
type Person struct {
	Name  string
	Login string // the address's local part, for file names
	Roles []string
}

// Email is the person's address.
func (p Person) Email() string { return p.Login + "@" + demoDomain }

// People are the seed's team as the demo configures it.
var People = []Person{
	{Name: "琳琳", Login: "linlin", Roles: []string{config.RoleTester, config.RoleTestLead}},
	{Name: "小周", Login: "xiaozhou", Roles: []string{config.RoleTester}},
	{Name: "王工", Login: "wanggong", Roles: []string{config.RoleTechLead}},
	{Name: "李经理", Login: "limanager", Roles: []string{config.RoleManager}},
	{Name: "运维组", Login: "ops", Roles: []string{config.RoleOps}},
	{Name: "管理员", Login: "admin", Roles: []string{config.RoleAdmin}},
}

// personByAddr returns the demo person with address addr (+tag ignored).
func personByAddr(addr string) (Person, bool) {
	box := mailboxOf(addr)
	for _, p := range People {
		if p.Email() == box {
			return p, true
		}
	}
	return Person{}, false
}

// nameOf is the person's name for an address, "fabu" for fabu's own, else
// the address.
func nameOf(addr string) string {
	if p, ok := personByAddr(addr); ok {
		return p.Name
	}
	if mailboxOf(addr) == fabuAddress {
		return "fabu"
	}
	return addr
}

// configYAML is the demo's configuration; the servers' ports, the
// passwords, the token secret and the store path are set in code.
const configYAML = `# fabu demo: one week of the release train on loopback mail servers.
log: {format: text, level: info}
http: {listen: "off"}
train:
  name: default
  title: 小贷运维
  timezone: Asia/Shanghai
  environments: [SIT, UAT, 准生产]
  schedule:
    cut: "0 17 * * FRI"
    reminders:
      - {name: sit-1, env: SIT, cron: "0 9 * * MON"}
      - {name: sit-2, env: SIT, cron: "0 9 * * TUE", note: "SIT 今天截止"}
      - {name: uat, env: UAT, cron: "0 9 * * WED"}
      - {name: preprod, env: 准生产, cron: "0 9 * * THU"}
    report: "0 18 * * THU"
    escalate: "0 21 * * THU"
  holiday_policy: shift
  release_window: "22:00-24:00"
people:
  - {name: 琳琳, email: linlin@example.com, roles: [tester, test_lead]}
  - {name: 小周, email: xiaozhou@example.com, roles: [tester]}
  - {name: 王工, email: wanggong@example.com, roles: [tech_lead]}
  - {name: 李经理, email: limanager@example.com, roles: [manager]}
  - {name: 运维组, email: ops@example.com, roles: [ops]}
  - {name: 管理员, email: admin@example.com, roles: [admin]}
smtp:
  host: 127.0.0.1
  tls: none
  auth: plain
  username: fabu@example.com
  from: fabu@example.com
  from_name: fabu 发布
  timeout: 10s
imap:
  enabled: true
  host: 127.0.0.1
  tls: none
  auth: login
  username: fabu@example.com
  mailbox: INBOX
templates: {language: zh-CN}
`

// Secrets are the demo run's passwords and reply token secret, random
// for every run.
type Secrets struct {
	FabuPassword string
	Passwords    map[string]string // login → IMAP/SMTP password
	TokenSecret  string
}

// NewSecrets makes random secrets.
func NewSecrets() (Secrets, error) {
	s := Secrets{Passwords: map[string]string{}}
	var err error
	if s.FabuPassword, err = randomHex(8); err != nil {
		return s, err
	}
	for _, p := range People {
		if s.Passwords[p.Login], err = randomHex(4); err != nil {
			return s, err
		}
	}
	s.TokenSecret, err = randomHex(32)
	return s, err
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Config is the demo's configuration for the servers at smtpAddr and
// imapAddr (host:port) and the store at storePath, validated.
func Config(storePath, smtpAddr, imapAddr string, s Secrets) (*config.Config, error) {
	c, err := config.Parse([]byte(configYAML))
	if err != nil {
		return nil, fmt.Errorf("demo config: %w", err)
	}
	c.File = "(fabu demo)"
	c.Store.Path = storePath
	if c.SMTP.Host, c.SMTP.Port, err = hostPort(smtpAddr); err != nil {
		return nil, fmt.Errorf("demo config: smtp: %w", err)
	}
	if c.IMAP.Host, c.IMAP.Port, err = hostPort(imapAddr); err != nil {
		return nil, fmt.Errorf("demo config: imap: %w", err)
	}
	c.SMTP.Password, c.IMAP.Password, c.Tokens.Secret = s.FabuPassword, s.FabuPassword, s.TokenSecret
	var errs []string
	for _, p := range c.Validate() {
		if !p.Warning {
			errs = append(errs, p.String())
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("demo config is not valid (a bug in the demo):\n%s", strings.Join(errs, "\n"))
	}
	return c, nil
}

func hostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	return h, n, nil
}

// LedgerSheetName is the file name the sample ledger is imported as.
const LedgerSheetName = "上线运维台帐.xlsx"

// ledgerHeader is the seed's header row: 24 columns, the 25th without a
// header (as in the seed's sheet), then the requirement document.
var ledgerHeader = []string{"编号", "系统", "子系统", "所属模块", "涉及功能", "问题分类", "问题描述", "是否有SQL脚本",
	"期望解决方案", "技术实现方案", "提出人", "提出日期", "优先级", "问题状态", "业务部门反馈", "解决情况备注",
	"计划开始时间", "计划完成时间", "技术负责人", "测试计划  开始时间", "测试计划完成时间", "测试负责人", "测试意见",
	"关联系统", "", "需求文档"}

// ledgerRows are the sample ledger: the seed's entry 20 and more across
// five systems in every stage of the lifecycle. Eight are finished by
// development (or will be: 王工 finishes #20 on Friday afternoon) and go
// into the week's release.
var ledgerRows = [][]string{
	// 编号 系统 子系统 所属模块 涉及功能 问题分类 问题描述 SQL 期望解决方案 技术实现方案 提出人 提出日期 优先级 问题状态
	// 业务部门反馈 解决情况备注 计划开始 计划完成 技术负责人 测试开始 测试完成 测试负责人 测试意见 关联系统 (空) 需求文档
	{"20", "小贷", "账务", "接口", "生成文件", "新功能", "", "否", "", "可以修改", "琳琳", "2019/3/1", "中", "处理中",
		"", "", "2026/11/16", "2026/11/27", "王工", "2026/11/30", "2026/12/3", "琳琳", "", "", "", "docs/req-20.docx"},
	{"21", "小贷", "贷后", "催收", "逾期短信", "新功能", "逾期3天以上的客户每天上午发送一次催收短信，\n短信模板见需求文档。", "是", "按逾期天数分级发送", "新增定时任务，读取逾期台账", "张敏", "2026/11/2", "高", "开发完成",
		"", "", "2026/11/3", "2026/11/18", "王工", "2026/11/30", "2026/12/3", "琳琳", "", "短信平台", "", "docs/req-21.docx"},
	{"22", "小贷", "账务", "利息计提", "日终批量", "缺陷", "提前还款当日利息重复计提", "是", "当日只计提一次", "修正日终批量的判断条件", "刘洋", "2026-11-05", "高", "开发完成",
		"", "", "2026-11-06", "2026-11-19", "王工", "2026-11-30", "2026-12-03", "小周", "", "核心", "", "https://wiki.example.com/req/22"},
	{"23", "核心", "存款", "利率", "利率调整", "优化", "挂牌利率调整后批量刷新存量账户", "是", "", "分批刷新，每批1万户", "陈静", "2026年11月6日", "中", "开发完成",
		"", "", "2026年11月9日", "2026年11月20日", "王工", "2026年11月30日", "2026年12月3日", "琳琳", "", "小贷, 网银", "", "docs/req-23.docx"},
	{"24", "核心", "总账", "报表", "日报导出", "新功能", "日报导出为 Excel，列：机构, 科目, 余额", "否", "", "复用报表引擎", "陈静", "2026/11/9", "低", "待提测",
		"", "", "2026/11/10", "2026/11/19", "王工", "2026/11/30", "2026/12/3", "小周", "", "", "", "docs/req-24.docx"},
	{"25", "信贷", "审批", "授信", "额度审批", "缺陷", "额度为 \"0\" 时审批页面报错", "否", "", "空值判断", "赵磊", "2026/11/10", "高", "开发完成",
		"", "", "2026/11/11", "2026/11/17", "王工", "2026/11/30", "2026/12/3", "琳琳", "", "", "", "docs/req-25.docx"},
	{"26", "信贷", "放款", "接口", "放款回调", "优化", "放款回调超时后自动重试三次", "否", "", "加重试与幂等", "赵磊", "2026/11/11", "中", "测试中",
		"", "", "2026/11/12", "2026/11/14", "王工", "2026/11/16", "2026/11/19", "小周", "SIT 已通过", "支付", "", "docs/req-26.docx"},
	{"27", "网银", "个人网银", "转账", "限额设置", "新功能", "客户可自行调低单笔转账限额", "是", "", "新增限额表及页面", "孙丽", "2026/10/20", "中", "测试通过",
		"", "", "2026/10/21", "2026/11/6", "王工", "2026/11/9", "2026/11/12", "琳琳", "SIT、UAT、准生产均通过", "核心", "", "docs/req-27.docx"},
	{"28", "网银", "企业网银", "登录", "短信验证码", "缺陷", "验证码 60 秒内可重复获取", "否", "", "加发送间隔校验", "孙丽", "2026/10/12", "高", "已上线",
		"", "", "2026/10/13", "2026/10/20", "王工", "2026/10/26", "2026/10/29", "小周", "通过", "", "", "docs/req-28.docx"},
	{"29", "小贷", "进件", "资料", "身份证识别", "新功能", "身份证 OCR 识别后自动回填", "否", "", "", "张敏", "2026/11/16", "中", "待处理",
		"", "", "", "", "王工", "", "", "", "", "", "", ""},
	{"30", "核心", "存款", "结息", "季度结息", "数据修复", "修复 9 月季度结息漏记的 12 笔", "是", "补记利息", "一次性数据修复脚本", "陈静", "2026/10/8", "高", "已上线",
		"已确认", "脚本已执行", "2026/10/8", "2026/10/9", "王工", "2026/10/12", "2026/10/13", "琳琳", "通过", "", "", "docs/req-30.docx"},
	{"31", "信贷", "贷后", "预警", "风险预警", "新功能", "逾期预警推送企业微信", "否", "", "", "赵磊", "2026/11/13", "低", "开发中",
		"", "", "2026/11/16", "2026/12/4", "王工", "", "", "小周", "", "", "", "https://wiki.example.com/req/31"},
	{"32", "支付", "代扣", "渠道", "代扣渠道切换", "优化", "代扣失败自动切换备用渠道", "是", "", "渠道路由表增加优先级", "周强", "2026/11/3", "中", "开发完成",
		"", "", "2026/11/4", "2026/11/20", "王工", "2026/11/30", "2026/12/3", "小周", "", "小贷, 信贷", "", "docs/req-32.docx"},
	{"33", "网银", "个人网银", "理财", "产品展示", "优化", "理财产品列表按收益率排序", "否", "", "", "孙丽", "2026/9/1", "低", "已关闭",
		"业务取消需求", "", "", "", "王工", "", "", "", "", "", "", ""},
	{"34", "网银", "企业网银", "回单", "电子回单下载", "新功能", "企业客户可批量下载电子回单（PDF）", "否", "", "回单服务增加批量打包接口", "孙丽", "2026/11/5", "中", "开发完成",
		"", "", "2026/11/6", "2026/11/24", "王工", "2026/11/30", "2026/12/3", "小周", "", "", "", "docs/req-34.docx"},
	{"35", "支付", "清算", "对账", "对账差错处理", "优化", "对账差错自动生成调账单", "是", "", "", "周强", "2026/11/20", "中", "处理中",
		"", "", "2026/11/23", "2026/12/11", "王工", "", "", "琳琳", "", "核心", "", "docs/req-35.docx"},
}

// SeedEntry is the seed's entry, which 王工 finishes during the demo.
const SeedEntry = "20"

// SampleLedger renders the sample ledger as the team's .xlsx: a caption
// row, the seed's header row and the entries, on one sheet.
func SampleLedger() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "上线运维台帐"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, fmt.Errorf("sample ledger: %w", err)
	}
	rows := append([][]string{{"上线运维台帐（演示数据）"}, ledgerHeader}, ledgerRows...)
	for i, r := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			return nil, err
		}
		vals := make([]any, len(r))
		for j, v := range r {
			vals[j] = v
		}
		if err := f.SetSheetRow(sheet, cell, &vals); err != nil {
			return nil, fmt.Errorf("sample ledger row %d: %w", i+1, err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, fmt.Errorf("sample ledger: %w", err)
	}
	return buf.Bytes(), nil
}

// testerEntries lists the entries of the demo's release whose test lead
// is name: those development has finished (开发完成, 待提测), and the
// seed's entry, which 王工 finishes before the cut.
func testerEntries(name string) []string {
	var out []string
	for _, r := range ledgerRows {
		ready := r[13] == "开发完成" || r[13] == "待提测" || r[0] == SeedEntry
		if ready && r[21] == name {
			out = append(out, r[0])
		}
	}
	return out
}
