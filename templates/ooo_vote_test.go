package templates

import (
	"strings"
	"testing"
)

func TestOutOfOfficeVariants(t *testing.T) {
	for _, lang := range Languages {
		s := MustLoad(lang)
		for _, tc := range []struct {
			name      string
			nobody    bool
			informed  []string
			want, not []string
		}{
			{"relayed, test leads informed", false, []string{"琳琳", "小周"},
				[]string{"琳琳", "小周", "本人休假至12月7日|out of the office"}, []string{"deputy"}},
			{"relayed, no test lead", false, nil,
				[]string{"同意|approve"}, []string{"抄送测试负责人|test leads"}},
			{"nobody else may decide", true, []string{"琳琳"},
				[]string{"deputy", "本人休假至12月7日|out of the office"}, []string{"同意本期发版|to release as listed", "抄送测试负责人|test leads"}},
		} {
			t.Run(lang+"/"+tc.name, func(t *testing.T) {
				d := Sample(lang, OutOfOff)
				d.Away.Nobody, d.Away.Informed = tc.nobody, tc.informed
				r, err := s.Render(OutOfOff, d)
				if err != nil {
					t.Fatal(err)
				}
				for _, part := range []string{r.Text, r.HTML} {
					for _, w := range tc.want {
						if !containsAny(part, w) {
							t.Errorf("lacks %q:\n%s", w, part)
						}
					}
					for _, w := range tc.not {
						if containsAny(part, w) {
							t.Errorf("has %q:\n%s", w, part)
						}
					}
				}
			})
		}
	}
}

func TestVoteReceiptSaysWhereTheCountStands(t *testing.T) {
	for _, lang := range Languages {
		s := MustLoad(lang)
		for _, tc := range []struct {
			verdict    string
			have, need int
			want       []string
		}{
			{"approve", 1, 2, []string{"1/2|1 of 2 approvals", "2 位经理同意|2 managers have approved"}},
			{"approve", 2, 3, []string{"2/3|2 of 3 approvals", "3 位经理同意|3 managers have approved"}},
			{"reject", 1, 2, []string{"1/2|1 of 2 rejections", "2 位经理驳回|2 managers have rejected"}},
		} {
			t.Run(lang+"/"+tc.verdict, func(t *testing.T) {
				d := Sample(lang, Vote)
				d.Decision.Verdict = tc.verdict
				d.Tally = &Tally{Have: tc.have, Need: tc.need}
				r, err := s.Render(Vote, d)
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range tc.want {
					if !containsAny(r.Subject+"\n"+r.Text, w) {
						t.Errorf("text lacks %q:\n%s\n%s", w, r.Subject, r.Text)
					}
				}
				if !strings.Contains(r.HTML, d.Decision.Who) {
					t.Errorf("HTML does not name %s", d.Decision.Who)
				}
			})
		}
	}
}

// containsAny reports whether s contains one of the |-separated words.
func containsAny(s, words string) bool {
	for _, w := range strings.Split(words, "|") {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
