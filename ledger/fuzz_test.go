package ledger

import (
	"testing"
	"unicode/utf8"
)

// The seed corpora are in testdata/fuzz/<Fuzz name>/, plus the f.Add seeds.

// FuzzParseDate: no panic; an accepted date is a real calendar day that
// reads back from its own YYYY-MM-DD form and from JSON.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2019/3/1", "2019-03-01", "2019年3月1日", "43525", "43525.5", "20190301", "2019/2/30", "", "1e5", "99999.99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			if !d.IsZero() {
				t.Fatalf("ParseDate(%q) failed but returned %v", s, d)
			}
			return
		}
		if d.IsZero() {
			return
		}
		if d.Year < 1900 || d.Year > 9999 || d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
			t.Fatalf("ParseDate(%q) = %#v, not a calendar day", s, d)
		}
		back, err := ParseISODate(d.String())
		if err != nil || back != d {
			t.Fatalf("ParseDate(%q) = %v, which does not read back: %v, %v", s, d, back, err)
		}
		again, err := ParseDate(d.String())
		if err != nil || again != d {
			t.Fatalf("ParseDate(%q) = %v but ParseDate of that = %v, %v", s, d, again, err)
		}
		raw, _ := d.MarshalText()
		var u Date
		if err := u.UnmarshalText(raw); err != nil || u != d {
			t.Fatalf("text round trip of %v: %v, %v", d, u, err)
		}
	})
}

// FuzzParseYesNo: an accepted value reads back from its Chinese and
// English forms.
func FuzzParseYesNo(f *testing.F) {
	for _, s := range []string{"是", "否", "Y", "no", "", "有", "√", "maybe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseYesNo(s)
		if err != nil {
			if v != YesNoUnset {
				t.Fatalf("ParseYesNo(%q) failed but returned %v", s, v)
			}
			return
		}
		for _, form := range []string{v.Chinese(), v.String()} {
			if back, err := ParseYesNo(form); err != nil || back != v {
				t.Fatalf("ParseYesNo(%q) = %v, but %q reads as %v, %v", s, v, form, back, err)
			}
		}
		raw, _ := v.MarshalText()
		var u YesNo
		if err := u.UnmarshalText(raw); err != nil || u != v {
			t.Fatalf("text round trip of %v: %v, %v", v, u, err)
		}
	})
}

// FuzzParseStatus: an accepted word reads back from the status's Chinese
// word and English name; any non-blank word can be configured as an alias
// and then means its target.
func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{"处理中", "开发完成", "待提测", "dev_done", "In Progress", "已上线", "", "搁置", "  测试中  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := DefaultStatusWords.Parse(s)
		if err == nil {
			for _, form := range []string{st.Chinese(), st.String()} {
				if back, err := DefaultStatusWords.Parse(form); err != nil || back != st {
					t.Fatalf("Parse(%q) = %s, but %q reads as %s, %v", s, st, form, back, err)
				}
			}
			raw, _ := st.MarshalText()
			var u Status
			if err := u.UnmarshalText(raw); err != nil || u != st {
				t.Fatalf("text round trip of %s: %s, %v", st, u, err)
			}
		} else if st != StatusUnset {
			t.Fatalf("Parse(%q) failed but returned %s", s, st)
		}
		if !utf8.ValidString(s) || normWord(s) == "" {
			return
		}
		w, err := NewStatusWords(map[string]string{s: "approved"})
		if err != nil {
			t.Fatalf("alias %q: %v", s, err)
		}
		if got, err := w.Parse(s); err != nil || got != StatusApproved {
			t.Fatalf("alias %q → approved parses as %s, %v", s, got, err)
		}
	})
}
