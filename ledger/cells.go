package ledger

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDate reads a date cell as teams write it: 2019/3/1, 2019-03-01,
// 2019.3.1, 2019年3月1日, 20190301, an Excel serial number (e.g. 43525), or an
// RFC 3339 timestamp. An empty cell is the zero Date.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}, nil
	}
	// Excel serial day numbers (the 1900 date system).
	if isDigits(s) && len(s) <= 5 {
		n, _ := strconv.Atoi(s)
		if n >= 1 && n < 2958466 {
			return serialDate(float64(n)), nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && strings.Contains(s, ".") && f >= 1 && f < 2958466 && !strings.ContainsAny(s, "/-年") && strings.Count(s, ".") == 1 && len(strings.SplitN(s, ".", 2)[0]) <= 5 {
		return serialDate(f), nil
	}
	if len(s) == 8 && isDigits(s) {
		y, _ := strconv.Atoi(s[:4])
		m, _ := strconv.Atoi(s[4:6])
		d, _ := strconv.Atoi(s[6:])
		return mkDate(s, y, m, d)
	}
	// Drop a time part: "2019/3/1 0:00:00", "2019-03-01T00:00:00+08:00".
	if i := strings.IndexAny(s, " T"); i > 0 {
		s = s[:i]
	}
	parts := strings.Split(dateSeparators.Replace(s), "-")
	if len(parts) == 3 && isDigits(parts[0]) && isDigits(parts[1]) && isDigits(parts[2]) && len(parts[0]) == 4 && len(parts[1]) <= 2 && len(parts[2]) <= 2 {
		y, _ := strconv.Atoi(parts[0])
		m, _ := strconv.Atoi(parts[1])
		d, _ := strconv.Atoi(parts[2])
		return mkDate(s, y, m, d)
	}
	return Date{}, fmt.Errorf("%q is not a date (write it like 2019/3/1, 2019-03-01 or 2019年3月1日)", s)
}

// dateSeparators turns 年/月/日, slashes and dots into hyphens. It is
// built once: building a Replacer per call dominated bulk imports.
var dateSeparators = strings.NewReplacer("年", "-", "月", "-", "日", "", "/", "-", ".", "-")

func mkDate(orig string, y, m, d int) (Date, error) {
	if y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31 {
		return Date{}, fmt.Errorf("%q is not a valid date", orig)
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return Date{}, fmt.Errorf("%q is not a valid date (%d-%02d has no day %d)", orig, y, m, d)
	}
	return Date{y, time.Month(m), d}, nil
}

// serialDate converts an Excel 1900-system serial to a date (Excel's
// fictitious 1900-02-29 is honoured as Excel does).
func serialDate(f float64) Date {
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	n := int(f)
	if n < 61 {
		n++ // serials before 1900-03-01 are off by Excel's leap-year bug
	}
	return DateOf(base.AddDate(0, 0, n))
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ParseYesNo reads 是/否 (and Y/N, yes/no, 有/无, true/false, 1/0).
func ParseYesNo(s string) (YesNo, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return YesNoUnset, nil
	case "是", "有", "y", "yes", "true", "1", "√", "✓":
		return Yes, nil
	case "否", "无", "没有", "n", "no", "false", "0", "×":
		return No, nil
	}
	return YesNoUnset, fmt.Errorf("%q is not 是 or 否", s)
}

// ParsePriority reads 高/中/低 (and high/medium/low, H/M/L).
func ParsePriority(s string) (Priority, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return PriorityUnset, nil
	case "高", "high", "h", "紧急", "urgent":
		return High, nil
	case "中", "medium", "m", "normal", "一般":
		return Medium, nil
	case "低", "low", "l":
		return Low, nil
	}
	return PriorityUnset, fmt.Errorf("%q is not 高, 中 or 低", s)
}
