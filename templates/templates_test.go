package templates

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestEveryMailRendersInEveryLanguage(t *testing.T) {
	for _, lang := range Languages {
		s, err := Load(lang, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range Names {
			t.Run(lang+"/"+name, func(t *testing.T) {
				r, err := s.Render(name, Sample(lang, name))
				if err != nil {
					t.Fatal(err)
				}
				wantTag := "【fabu】"
				if lang == "en" {
					wantTag = "[fabu] "
				}
				if !strings.HasPrefix(r.Subject, wantTag) || strings.ContainsAny(r.Subject, "\r\n") {
					t.Errorf("subject %q", r.Subject)
				}
				if name != OutboxAlert && name != CannotUse && !strings.Contains(r.Subject, "2026-12-03") {
					t.Errorf("subject %q does not name the release", r.Subject)
				}
				checkOutlookSafe(t, r.HTML)
				if strings.Contains(r.Text, "<no value>") || strings.Contains(r.HTML, "<no value>") {
					t.Error("a field rendered as <no value>")
				}
				if strings.Contains(r.HTML, "ZgotmplZ") {
					t.Error("html/template refused a value (ZgotmplZ)")
				}
			})
		}
	}
}

// checkOutlookSafe checks the HTML rules for Outlook, Foxmail and phones.
func checkOutlookSafe(t *testing.T, html string) {
	t.Helper()
	low := strings.ToLower(html)
	for _, bad := range []string{"<script", "<style", "<img", "<link", "javascript:", "position:", "display:flex", "display:grid", "@media"} {
		if strings.Contains(low, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	if !strings.Contains(low, "<table") {
		t.Error("HTML has no table layout")
	}
}

func TestMatrixColoursAndEscaping(t *testing.T) {
	s := MustLoad("zh-CN")
	d := Sample("zh-CN", Report)
	d.Groups[0].Entries[0].Function = `<b onmouseover="x()">生成文件</b>`
	d.Groups[0].Entries[1].Cells[1].Note = "a & b <c>"
	r, err := s.Render(Report, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`bgcolor="#c6efce" style="background-color:#c6efce;color:#006100;`, // passed: green
		`bgcolor="#ffc7ce" style="background-color:#ffc7ce;color:#9c0006;`, // failed: red
		`bgcolor="#ededed" style="background-color:#ededed;color:#595959;`, // pending: grey
		`&lt;b onmouseover=&#34;x()&#34;&gt;生成文件&lt;/b&gt;`,
		`a &amp; b &lt;c&gt;`,
		`<a href="https://wiki.example.com/req/21"`,
	} {
		if !strings.Contains(r.HTML, want) {
			t.Errorf("HTML lacks %s", want)
		}
	}
	if strings.Contains(r.HTML, `<b onmouseover`) {
		t.Error("ledger text was not escaped")
	}
	// Every entry row of the matrix has one cell per environment.
	if n := strings.Count(r.HTML, `bgcolor="#c6efce"`) + strings.Count(r.HTML, `bgcolor="#ffc7ce"`) + strings.Count(r.HTML, `bgcolor="#ededed"`); n != 5*3 {
		t.Errorf("matrix has %d result cells, want 15", n)
	}
}

func TestRequirementLinkOnlyForHTTP(t *testing.T) {
	s := MustLoad("en")
	d := Sample("en", TestList)
	d.Groups[1].Entries[1].DocURL = "javascript:alert(1)"
	r, err := s.Render(TestList, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "javascript:") {
		t.Error("a javascript: link got through")
	}
}

func TestOverrides(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string // path below the override dir → text
		wantErr string            // regexp; "" = loads
		check   func(t *testing.T, s *Set)
	}{
		{
			name:  "flat override of the subject",
			files: map[string]string{"testlist.txt.tmpl": "{{define \"subject\"}}{{.Tag}}{{.Release}} 本周提测{{end}}正文 {{.Count}}\n"},
			check: func(t *testing.T, s *Set) {
				r, err := s.Render(TestList, Sample("zh-CN", TestList))
				if err != nil {
					t.Fatal(err)
				}
				if r.Subject != "【fabu】2026-12-03 本周提测" || r.Text != "正文 5\n" {
					t.Errorf("got %q / %q", r.Subject, r.Text)
				}
			},
		},
		{
			name: "language folder wins over flat",
			files: map[string]string{
				"receipt.txt.tmpl":       "{{define \"subject\"}}flat{{end}}flat",
				"zh-CN/receipt.txt.tmpl": "{{define \"subject\"}}zh{{end}}zh",
			},
			check: func(t *testing.T, s *Set) {
				r, _ := s.Render(Receipt, Sample("zh-CN", Receipt))
				if r.Subject != "zh" {
					t.Errorf("subject = %q", r.Subject)
				}
			},
		},
		{
			name:    "parse error names file and line",
			files:   map[string]string{"report.html.tmpl": "{{define \"heading\"}}x{{end}}\n<p>\n{{if .Count}}\n"},
			wantErr: `report\.html\.tmpl:\d+: .*(unexpected EOF|missing end)`,
		},
		{
			name:    "unknown field names file and line",
			files:   map[string]string{"empty.txt.tmpl": "{{define \"subject\"}}x{{end}}\nline two\n{{.NoSuchField}}\n"},
			wantErr: `empty\.txt\.tmpl:3:.*NoSuchField`,
		},
		{
			name:    "missing subject",
			files:   map[string]string{"empty.txt.tmpl": "just a body"},
			wantErr: `empty\.txt\.tmpl: it must define the subject`,
		},
		{
			name:    "misspelt file name",
			files:   map[string]string{"testlst.txt.tmpl": "x"},
			wantErr: `testlst\.txt\.tmpl: no template is named`,
		},
		{
			name:    "bad common block",
			files:   map[string]string{"_common.html.tmpl": "{{define \"top\"}}<table>{{end}"},
			wantErr: `_common\.html\.tmpl:1`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for p, text := range tc.files {
				full := filepath.Join(dir, p)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Load("zh-CN", dir)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatal("loaded")
				}
				if !regexp.MustCompile(tc.wantErr).MatchString(err.Error()) {
					t.Fatalf("error %q does not match %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), dir) {
					t.Errorf("error %q does not name the file's path", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load("fr", ""); err == nil {
		t.Error("language fr loaded")
	}
	if _, err := Load("en", filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing override folder was accepted")
	}
	s := MustLoad("")
	if s.Lang() != "zh-CN" {
		t.Errorf("default language = %s", s.Lang())
	}
	if _, err := s.Render("nosuch", &Data{}); err == nil {
		t.Error("unknown mail rendered")
	}
	var te *Error
	_, err := s.Render(Receipt, &Data{}) // no Decision: the template fails
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "embedded:zh-CN/receipt.txt.tmpl") {
		t.Errorf("render error = %v", err)
	}
}

func BenchmarkRenderTestList200(b *testing.B) {
	s := MustLoad("zh-CN")
	d := Sample("zh-CN", TestList)
	var g []Group
	for sys := 0; sys < 10; sys++ {
		grp := Group{System: "系统" + string(rune('A'+sys))}
		for i := 0; i < 20; i++ {
			e := d.Groups[0].Entries[i%3]
			e.ID = string(rune('0'+sys)) + "-" + string(rune('a'+i))
			grp.Entries = append(grp.Entries, e)
		}
		g = append(g, grp)
	}
	d.Groups, d.Count = g, 200
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Render(TestList, d); err != nil {
			b.Fatal(err)
		}
	}
}
