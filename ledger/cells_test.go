package ledger

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseDate(t *testing.T) {
	ok := []struct{ in, want string }{
		{"2019/3/1", "2019-03-01"},
		{"2019-03-01", "2019-03-01"},
		{"2019年3月1日", "2019-03-01"},
		{"2019年03月01日", "2019-03-01"},
		{"2019.3.1", "2019-03-01"},
		{"20190301", "2019-03-01"},
		{" 2019/3/7 ", "2019-03-07"},
		{"2019/3/1 0:00:00", "2019-03-01"},
		{"2019-03-01T08:00:00+08:00", "2019-03-01"},
		{"43525", "2019-03-01"},    // Excel serial
		{"43525.75", "2019-03-01"}, // serial with a time of day
		{"1", "1900-01-01"},
		{"59", "1900-02-28"},
		{"61", "1900-03-01"},
		{"2024/2/29", "2024-02-29"},
		{"", ""},
		{"   ", ""},
	}
	for _, tc := range ok {
		d, err := ParseDate(tc.in)
		if err != nil || d.String() != tc.want {
			t.Errorf("ParseDate(%q) = %q, %v; want %q", tc.in, d, err, tc.want)
		}
	}
	bad := []struct{ in, msg string }{
		{"2019/2/30", "has no day 30"},
		{"2023/2/29", "has no day 29"},
		{"2019/13/1", "not a valid date"},
		{"1899/12/31", "not a valid date"},
		{"3/1/2019", "write it like 2019/3/1"},
		{"明天", "is not a date"},
		{"2019/3", "is not a date"},
		{"0", "is not a date"},
	}
	for _, tc := range bad {
		if d, err := ParseDate(tc.in); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ParseDate(%q) = %v, %v; want an error saying %q", tc.in, d, err, tc.msg)
		}
	}
}

func TestDateText(t *testing.T) {
	var v struct{ D Date }
	if err := json.Unmarshal([]byte(`{"D":"2019/3/1"}`), &v); err != nil || v.D != (Date{2019, 3, 1}) {
		t.Errorf("unmarshal 2019/3/1: %v %v", v.D, err)
	}
	raw, _ := json.Marshal(v)
	if string(raw) != `{"D":"2019-03-01"}` {
		t.Errorf("marshal = %s", raw)
	}
	if err := json.Unmarshal([]byte(`{"D":"x"}`), &v); err == nil {
		t.Error("bad date unmarshalled")
	}
	if d, err := ParseISODate("2019-03-01"); err != nil || d != (Date{2019, 3, 1}) {
		t.Errorf("ParseISODate: %v %v", d, err)
	}
	if _, err := ParseISODate("2019/3/1"); err == nil {
		t.Error("ParseISODate accepted 2019/3/1")
	}
}

func TestParseYesNo(t *testing.T) {
	for in, want := range map[string]YesNo{"是": Yes, "有": Yes, "Y": Yes, "yes": Yes, "TRUE": Yes, "1": Yes, "√": Yes,
		"否": No, "无": No, "没有": No, "n": No, "No": No, "false": No, "0": No, "×": No, "": YesNoUnset, " 是 ": Yes} {
		if got, err := ParseYesNo(in); err != nil || got != want {
			t.Errorf("ParseYesNo(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseYesNo("可能"); err == nil {
		t.Error("ParseYesNo(可能) succeeded")
	}
	if Yes.Chinese() != "是" || No.Chinese() != "否" || YesNoUnset.Chinese() != "" || !Yes.Bool() || No.Bool() {
		t.Error("YesNo words")
	}
}

func TestParsePriority(t *testing.T) {
	for in, want := range map[string]Priority{"高": High, "high": High, "H": High, "紧急": High, "中": Medium,
		"medium": Medium, "一般": Medium, "低": Low, "low": Low, "l": Low, "": PriorityUnset} {
		if got, err := ParsePriority(in); err != nil || got != want {
			t.Errorf("ParsePriority(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParsePriority("最高"); err == nil {
		t.Error("ParsePriority(最高) succeeded")
	}
	if High.Chinese() != "高" || Medium.String() != "medium" || Low.Chinese() != "低" {
		t.Error("Priority words")
	}
}
