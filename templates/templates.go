// Package templates holds the wording of every mail of the train, in
// Chinese (zh-CN, the default) and English, embedded in the binary: a text
// part and an HTML part per mail, Go text/template and html/template over
// the plain Data struct of this package. A folder of overrides replaces any
// template file; Load checks overrides by parsing them and rendering them
// with sample data, so a mistake is reported with its file and line when
// the configuration is loaded, not on Friday at 17:00.
//
// It is not where data comes from or where mail is built: mailflow/train
// fills Data from the ledger, and mailflow/outbox turns the rendered parts
// into a MIME message. This package imports nothing of fabu.
//
// # Files
//
// For every mail NAME (see Names) there are NAME.txt.tmpl (text/template;
// it must define the block "subject", and its body is the text part) and
// NAME.html.tmpl (html/template). _common.txt.tmpl and _common.html.tmpl
// hold the shared blocks (late notice, skipped steps, changes, the entry
// table grouped by system, the entry × environment matrix, header and
// footer). An override folder holds files with these names, either flat
// (used for every language) or in a zh-CN/ or en/ sub-folder (wins).
//
// # HTML
//
// The HTML is for Outlook, Foxmail and phone clients: nested tables,
// inline styles and bgcolor attributes only; no <style> block, no scripts,
// no external images. Result cells are coloured (passed green, failed red,
// pending grey) and also carry a word and a sign, for clients that drop
// colours.
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	texttemplate "text/template"
)

// Names of the mails.
const (
	TestList    = "testlist"  // Friday: the week's test list, with the .xlsx
	Reminder    = "reminder"  // Mon–Thu: what is still untested in an environment
	Report      = "report"    // test-complete report to the managers
	Receipt     = "receipt"   // to the approver: your approval was recorded
	Clarify     = "clarify"   // a reply was unclear: what we understood, how to reply
	Approved    = "approved"  // the release mail to ops
	Rejected    = "rejected"  // notice to the team: the release was rejected
	Escalate    = "escalate"  // no decision yet: managers (ForManagers) and team
	Released    = "released"  // ops confirmed: note to the team
	Empty       = "empty"     // nothing to test this week
	Outdated    = "outdated"  // a reply answered an outdated report
	CannotUse   = "cannotuse" // a reply could not be used, and why
	OutOfOff    = "ooo"       // a manager is away: the report relayed to deputies
	OutboxAlert = "alert"     // outbox: a mail could not be delivered
	Vote        = "vote"      // to a manager: the vote counts toward an N-of-M rule
)

// Names lists every mail, in the order above.
var Names = []string{TestList, Reminder, Report, Receipt, Clarify, Approved, Rejected, Escalate, Released, Empty, Outdated, CannotUse, OutOfOff, OutboxAlert, Vote}

// Languages lists the languages with embedded templates; the first is the default.
var Languages = []string{"zh-CN", "en"}

//go:embed all:files
var embedded embed.FS

const commonName = "_common"

// Set is the loaded templates of one language. It is safe for concurrent use.
type Set struct {
	lang  string
	text  map[string]*texttemplate.Template
	html  map[string]*htmltemplate.Template
	files map[string]string // file name → where it came from (for errors)
}

// Rendered is one mail's subject and parts.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

// Lang returns the set's language.
func (s *Set) Lang() string { return s.lang }

// Load parses the embedded templates of lang ("" means zh-CN), replacing
// any file present in overrideDir ("" for none), and checks every mail by
// rendering it with sample data. Errors name the file and line.
func Load(lang, overrideDir string) (*Set, error) {
	if lang == "" {
		lang = Languages[0]
	}
	if !slices.Contains(Languages, lang) {
		return nil, fmt.Errorf("templates: no templates for language %q (have %s)", lang, strings.Join(Languages, ", "))
	}
	src, err := sources(lang, overrideDir)
	if err != nil {
		return nil, err
	}
	s := &Set{lang: lang, text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}, files: map[string]string{}}
	for name, f := range src {
		s.files[name] = f.origin
	}
	fm := funcs(lang)
	for _, name := range Names {
		txtName, htmlName := name+".txt.tmpl", name+".html.tmpl"
		tt := texttemplate.New(txtName).Funcs(texttemplate.FuncMap(fm)).Option("missingkey=error")
		if _, err := tt.New(commonName + ".txt.tmpl").Parse(src[commonName+".txt.tmpl"].text); err != nil {
			return nil, s.wrap(err)
		}
		if _, err := tt.Parse(src[txtName].text); err != nil {
			return nil, s.wrap(err)
		}
		if tt.Lookup("subject") == nil {
			return nil, fmt.Errorf("templates: %s: it must define the subject: {{define \"subject\"}}…{{end}}", s.files[txtName])
		}
		ht := htmltemplate.New(htmlName).Funcs(htmltemplate.FuncMap(fm)).Option("missingkey=error")
		if _, err := ht.New(commonName + ".html.tmpl").Parse(src[commonName+".html.tmpl"].text); err != nil {
			return nil, s.wrap(err)
		}
		if _, err := ht.Parse(src[htmlName].text); err != nil {
			return nil, s.wrap(err)
		}
		s.text[name], s.html[name] = tt, ht
	}
	for _, name := range Names {
		if _, err := s.Render(name, Sample(lang, name)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// MustLoad is Load for the embedded templates, which are tested.
func MustLoad(lang string) *Set {
	s, err := Load(lang, "")
	if err != nil {
		panic(err)
	}
	return s
}

// Render renders mail name with d. d.Lang and, when empty, d.Tag are set
// from the set. The subject is one line.
func (s *Set) Render(name string, d *Data) (*Rendered, error) {
	tt, ok := s.text[name]
	if !ok {
		return nil, fmt.Errorf("templates: no mail named %q (have %s)", name, strings.Join(Names, ", "))
	}
	dd := *d
	dd.Lang = s.lang
	if dd.Tag == "" {
		dd.Tag = DefaultTag(s.lang)
	}
	var subj, txt, html bytes.Buffer
	if err := tt.ExecuteTemplate(&subj, "subject", &dd); err != nil {
		return nil, s.wrap(err)
	}
	if err := tt.Execute(&txt, &dd); err != nil {
		return nil, s.wrap(err)
	}
	if err := s.html[name].Execute(&html, &dd); err != nil {
		return nil, s.wrap(err)
	}
	return &Rendered{Subject: OneLine(subj.String()), Text: tidyText(txt.String()), HTML: html.String()}, nil
}

// DefaultTag is the subject tag of a language.
func DefaultTag(lang string) string {
	if lang == "en" {
		return "[fabu] "
	}
	return "【fabu】"
}

// OneLine collapses every run of white space (line breaks included) into
// one space and trims the ends.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// tidyText trims trailing blanks of every line, keeps at most one empty
// line in a row and ends the text with one newline.
func tidyText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var out []string
	blank := true
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}

type source struct {
	text   string
	origin string // "embedded:zh-CN/x.txt.tmpl" or the override's path
}

// sources returns every file for lang: embedded, then overrides.
func sources(lang, dir string) (map[string]source, error) {
	out := map[string]source{}
	base := "files/" + lang
	entries, err := fs.ReadDir(embedded, base)
	if err != nil {
		return nil, fmt.Errorf("templates: embedded %s: %w", lang, err)
	}
	for _, e := range entries {
		b, err := embedded.ReadFile(base + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		out[e.Name()] = source{text: string(b), origin: "embedded:" + lang + "/" + e.Name()}
	}
	if dir == "" {
		return out, nil
	}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("templates: override folder %s: not a folder", dir)
	}
	for _, d := range []string{dir, filepath.Join(dir, lang)} {
		files, err := os.ReadDir(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("templates: override folder %s: %w", d, err)
		}
		for _, f := range files {
			if f.IsDir() || !strings.HasSuffix(f.Name(), ".tmpl") {
				continue
			}
			p := filepath.Join(d, f.Name())
			if _, known := out[f.Name()]; !known {
				return nil, fmt.Errorf("templates: %s: no template is named %s; overrides are named like the embedded ones: NAME.txt.tmpl or NAME.html.tmpl with NAME one of %s, or _common.txt.tmpl / _common.html.tmpl", p, f.Name(), strings.Join(Names, ", "))
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("templates: %w", err)
			}
			out[f.Name()] = source{text: string(b), origin: p}
		}
	}
	return out, nil
}

// wrap rewrites "template: NAME:LINE: …" so NAME is the file's origin.
func (s *Set) wrap(err error) error {
	msg := err.Error()
	for name, origin := range s.files {
		msg = strings.ReplaceAll(msg, "template: "+name+":", "template: "+origin+":")
		msg = strings.ReplaceAll(msg, "html/template:"+name+":", "html/template: "+origin+":")
		msg = strings.ReplaceAll(msg, "\""+name+"\"", "\""+origin+"\"")
	}
	return &Error{msg: "templates: " + msg, err: err}
}

// Error is a template parse or render error; its text names the file
// (embedded:LANG/NAME or the override's path) and line.
type Error struct {
	msg string
	err error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }
