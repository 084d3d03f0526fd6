// Package sample builds the sample ledger workbook (testdata/sample-ledger.xlsx)
// the way the seed's team keeps its sheet: a sheet named 上线运维台帐 with a
// merged caption row above the header, the 24 headers exactly as the seed
// writes them (stray spaces included), an empty 25th header column, a
// 需求文档 column after it, and some dates as real Excel date cells.
//
// It is test and demo data only; fabu itself never imports it.
package sample

import (
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"
)

// SheetName is the sample's sheet.
const SheetName = "上线运维台帐"

// Caption is the merged title row above the header.
const Caption = "上线运维台帐"

// Header is the sample's header row: the seed's 24 headers, the seed's
// empty 25th header, then the requirement document column.
var Header = []string{
	"编号", "系统", "子系统", "所属模块", "涉及功能", "问题分类", "问题描述", "是否有SQL脚本",
	"期望解决方案", "技术实现方案", "提出人", "提出日期", "优先级", "问题状态", "业务部门反馈",
	"解决情况备注", "计划开始时间", "计划完成时间", "技术负责人", "测试计划  开始时间",
	"测试计划完成时间", "测试负责人", "测试意见", "关联系统", "", "需求文档",
}

// D marks a value that is written as an Excel date cell (number format
// yyyy/m/d) instead of text.
const D = "\x00date:"

// Rows are the sample entries, one slice per row in Header order. A value
// starting with D is a date written as a real date cell.
var Rows = [][]string{
	// Entry 20 exactly as the seed's row.
	{"20", "小贷", "账务", "接口", "生成文件", "新功能", "", "否", "", "可以修改", "琳琳", D + "2019/3/1", "中", "处理中", "", "", D + "2019/3/1", D + "2019/3/7", "琳琳", "", "", "", "", "", "", "docs/req-20.docx"},
	{"21", "小贷", "贷后", "催收", "逾期短信", "新功能", "逾期3天以上的客户每天上午发送一次催收短信，\n短信模板见需求文档。", "是", "按逾期天数分级发送", "新增定时任务，读取逾期台账", "张敏", D + "2026/11/2", "高", "开发完成", "", "", D + "2026/11/3", D + "2026/11/18", "王工", D + "2026/11/23", D + "2026/11/26", "琳琳", "", "短信平台", "", "docs/req-21.docx"},
	{"22", "小贷", "账务", "利息计提", "日终批量", "缺陷", "提前还款当日利息重复计提", "是", "当日只计提一次", "修正日终批量的判断条件", "刘洋", "2026-11-05", "高", "开发完成", "", "", "2026-11-06", "2026-11-19", "王工", "2026-11-23", "2026-11-26", "小周", "", "核心", "", "https://wiki.example.com/req/22"},
	{"23", "核心", "存款", "利率", "利率调整", "优化", "挂牌利率调整后批量刷新存量账户", "是", "", "分批刷新，每批1万户", "陈静", "2026年11月6日", "中", "开发完成", "", "", "2026年11月9日", "2026年11月20日", "王工", "", "", "琳琳", "", "小贷, 网银", "", "docs/req-23.docx"},
	{"24", "核心", "总账", "报表", "日报导出", "新功能", "日报导出为 Excel，列：机构, 科目, 余额", "否", "", "复用报表引擎", "陈静", D + "2026/11/9", "低", "待提测", "", "", D + "2026/11/10", D + "2026/11/19", "王工", "", "", "小周", "", "", "", "docs/req-24.docx"},
	{"25", "信贷", "审批", "授信", "额度审批", "缺陷", "额度为 \"0\" 时审批页面报错", "否", "", "空值判断", "赵磊", D + "2026/11/10", "高", "开发完成", "", "", D + "2026/11/11", D + "2026/11/17", "王工", D + "2026/11/23", D + "2026/11/24", "琳琳", "", "", "", "docs/req-25.docx"},
	{"26", "信贷", "放款", "接口", "放款回调", "优化", "放款回调超时后自动重试三次", "否", "", "加重试与幂等", "赵磊", D + "2026/11/11", "中", "测试中", "", "", D + "2026/11/12", D + "2026/11/14", "王工", D + "2026/11/16", D + "2026/11/19", "小周", "SIT 已通过", "支付", "", "docs/req-26.docx"},
	{"27", "网银", "个人网银", "转账", "限额设置", "新功能", "客户可自行调低单笔转账限额", "是", "", "新增限额表及页面", "孙丽", D + "2026/10/20", "中", "测试通过", "", "", D + "2026/10/21", D + "2026/11/6", "王工", D + "2026/11/9", D + "2026/11/12", "琳琳", "SIT、UAT、准生产均通过", "核心", "", "docs/req-27.docx"},
	{"28", "网银", "企业网银", "登录", "短信验证码", "缺陷", "验证码 60 秒内可重复获取", "否", "", "加发送间隔校验", "孙丽", D + "2026/10/12", "高", "已上线", "", "", D + "2026/10/13", D + "2026/10/20", "王工", D + "2026/10/26", D + "2026/10/29", "小周", "通过", "", "", "docs/req-28.docx"},
	{"29", "小贷", "进件", "资料", "身份证识别", "新功能", "身份证 OCR 识别后自动回填", "否", "", "", "张敏", D + "2026/11/16", "中", "待处理", "", "", "", "", "王工", "", "", "", "", "", "", ""},
	{"30", "核心", "存款", "结息", "季度结息", "数据修复", "修复 9 月季度结息漏记的 12 笔", "是", "补记利息", "一次性数据修复脚本", "陈静", D + "2026/10/8", "高", "已上线", "已确认", "脚本已执行", D + "2026/10/8", D + "2026/10/9", "王工", D + "2026/10/12", D + "2026/10/13", "琳琳", "通过", "", "", "docs/req-30.docx"},
	{"31", "信贷", "贷后", "预警", "风险预警", "新功能", "逾期预警推送企业微信", "否", "", "", "赵磊", D + "2026/11/13", "低", "开发中", "", "", D + "2026/11/16", D + "2026/12/4", "王工", "", "", "小周", "", "", "", "https://wiki.example.com/req/31"},
	{"32", "支付", "代扣", "渠道", "代扣渠道切换", "优化", "代扣失败自动切换备用渠道", "是", "", "渠道路由表增加优先级", "周强", D + "2026/11/3", "中", "开发完成", "", "", D + "2026/11/4", D + "2026/11/20", "王工", D + "2026/11/23", D + "2026/11/26", "小周", "", "小贷, 信贷", "", "docs/req-32.docx"},
	{"33", "网银", "个人网银", "理财", "产品展示", "优化", "理财产品列表按收益率排序", "否", "", "", "孙丽", D + "2026/9/1", "低", "已关闭", "业务取消需求", "", "", "", "王工", "", "", "", "", "", "", ""},
}

// Workbook builds the sample workbook.
func Workbook() (*excelize.File, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", SheetName); err != nil {
		return nil, err
	}
	if err := Fill(f, SheetName, Rows); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Fill writes the caption row, the header and rows (in Header order) to
// sheet, the way the seed's sheet is laid out.
func Fill(f *excelize.File, sheet string, rows [][]string) error {
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("yyyy/m/d")})
	if err != nil {
		return err
	}
	last, _ := excelize.ColumnNumberToName(len(Header))
	if err := f.SetCellStr(sheet, "A1", Caption); err != nil {
		return err
	}
	if err := f.MergeCell(sheet, "A1", last+"1"); err != nil {
		return err
	}
	for i, h := range Header {
		cell, _ := excelize.CoordinatesToCellName(i+1, 2)
		if h == "" {
			continue
		}
		if err := f.SetCellStr(sheet, cell, h); err != nil {
			return err
		}
	}
	for r, row := range rows {
		for c, v := range row {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+3)
			switch {
			case v == "":
			case strings.HasPrefix(v, D):
				serial, err := serialOf(strings.TrimPrefix(v, D))
				if err != nil {
					return fmt.Errorf("row %d column %d: %w", r+3, c+1, err)
				}
				if err := f.SetCellInt(sheet, cell, int64(serial)); err != nil {
					return err
				}
				if err := f.SetCellStyle(sheet, cell, cell, dateStyle); err != nil {
					return err
				}
			case c == 0 && isInt(v):
				// Teams type the number; Excel keeps it as a number cell.
				n := 0
				fmt.Sscan(v, &n)
				if err := f.SetCellInt(sheet, cell, int64(n)); err != nil {
					return err
				}
			default:
				// Text, including dates typed as text as teams often do.
				if err := f.SetCellStr(sheet, cell, v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func isInt(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// serialOf converts y/m/d to an Excel 1900-system serial day number.
func serialOf(s string) (int, error) {
	var y, m, d int
	if _, err := fmt.Sscanf(s, "%d/%d/%d", &y, &m, &d); err != nil {
		return 0, fmt.Errorf("sample date %q: %w", s, err)
	}
	// Days from 1899-12-30 (valid for dates after 1900-02-28).
	days := daysFromCivil(y, m, d) - daysFromCivil(1899, 12, 30)
	return days, nil
}

// daysFromCivil counts days since 1970-01-01 (proleptic Gregorian).
func daysFromCivil(y, m, d int) int {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
