package demo

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/fabu-team/fabu/ledger"
)

// Snapshot is the release as the store has it after the week.
type Snapshot struct {
	Release   string
	State     string
	Envs      []string
	Rows      []MatrixRow
	Decisions []ledger.Decision
	CutAt     time.Time
	Reported  time.Time
	Approved  time.Time
	Released  time.Time
}

// MatrixRow is one entry of the release with its result per environment.
type MatrixRow struct {
	ID, System, Function, TestLead, TechLead string
	SQL                                      bool
	Status                                   string // the entry's status word now
	Cells                                    []MatrixCell
}

// MatrixCell is one entry × environment.
type MatrixCell struct {
	Env     string
	State   string // pass | fail | pending
	Class   string // pass | fail | pending | retest (passed after a failure)
	Label   string // 通过 / 不通过 / 未测
	History []string
}

// TakeSnapshot reads release from the store (in one read transaction).
func TakeSnapshot(s *ledger.Store, release string, envs []string) (*Snapshot, error) {
	snap := &Snapshot{Release: release, Envs: envs}
	err := s.View(func(tx *ledger.Tx) error {
		r, err := tx.Release(release)
		if errors.Is(err, ledger.ErrNotFound) {
			snap.State = "not cut"
			return nil
		}
		if err != nil {
			return err
		}
		snap.State, snap.Decisions = string(r.State), r.Decisions
		snap.CutAt, snap.Reported, snap.Approved, snap.Released = r.CutAt, r.ReportedAt, r.ApprovedAt, r.ReleasedAt
		res, err := tx.Results(release)
		if err != nil {
			return err
		}
		m := ledger.MatrixOf(res)
		ids := append(append([]string(nil), r.Entries...), r.Excluded...)
		for _, id := range ids {
			e, err := tx.Entry(id)
			if err != nil {
				return fmt.Errorf("entry %s of release %s: %w", id, release, err)
			}
			row := MatrixRow{ID: id, System: e.System, Function: e.Function, TestLead: e.TestLead, TechLead: e.TechLead,
				SQL: e.HasSQL.Bool(), Status: e.StatusWord()}
			log, err := tx.AuditLog(id)
			if err != nil {
				return err
			}
			for _, env := range envs {
				c := MatrixCell{Env: env, State: string(m.State(id, env))}
				failed := false
				for _, a := range log {
					if a.Action != "result.record" || a.Field != env || a.Release != release {
						continue
					}
					h := fmt.Sprintf("%s %s %s", simTime(a.Time.In(DemoStart().Location())), a.Actor, resultLabel(a.New))
					if a.Detail != "" {
						h += "：" + a.Detail
					}
					c.History = append(c.History, h)
					failed = failed || a.New == string(ledger.ResultFail)
				}
				c.Class, c.Label = c.State, resultLabel(c.State)
				if c.State == string(ledger.ResultPass) && failed {
					c.Class, c.Label = "retest", "复测通过"
				}
				row.Cells = append(row.Cells, c)
			}
			snap.Rows = append(snap.Rows, row)
		}
		return nil
	})
	return snap, err
}

func resultLabel(state string) string {
	switch state {
	case string(ledger.ResultPass):
		return "通过"
	case string(ledger.ResultFail):
		return "不通过"
	}
	return "未测"
}

// Page is everything index.html shows.
type Page struct {
	Title     string
	From, To  time.Time // simulated
	Real      time.Duration
	Speed     float64
	Snapshot  *Snapshot
	Events    []Event
	Problems  []string
	Files     []PageFile
	Generated time.Time
}

// PageFile is a file of the output folder worth a link.
type PageFile struct{ Name, What string }

var indexPage = template.Must(template.New("index").Funcs(template.FuncMap{
	"sim": simTime,
	"day": dayHeading,
	"dur": func(d time.Duration) string { return d.Round(10 * time.Millisecond).String() },
	"newday": func(events []Event, i int) bool {
		return i == 0 || dayHeading(events[i].At) != dayHeading(events[i-1].At)
	},
	"join": strings.Join,
}).Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px}
table{border-collapse:collapse;font-size:14px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f5f7}
td.pass{background:#d8f3dc}td.fail{background:#ffd6d6}td.retest{background:#fff3bf}td.pending{background:#eee;color:#777}
tr.day td{background:#f4f5f7;font-weight:bold}
td.t{white-space:nowrap;color:#555}td.who{white-space:nowrap}
tr.warn td{background:#fff0f0}
.muted{color:#777}.problem{color:#b00}
</style></head><body>
<h1>{{.Title}}</h1>
<p>One week of fabu's release train, simulated from {{sim .From}} to {{sim .To}} in {{dur .Real}} of real time
(the clock ran up to {{printf "%.0f" .Speed}}× faster and stood still while fabu was at work). Every mail below went through
fabu's real scheduler, outbox, SMTP client, IMAP IDLE watcher and reply understanding.</p>
{{with .Problems}}<h2 class="problem">Problems</h2><ul>{{range .}}<li class="problem">{{.}}</li>{{end}}</ul>{{end}}
{{with .Snapshot}}
<h2>Release {{.Release}}: {{.State}}</h2>
<p class="muted">{{if not .CutAt.IsZero}}cut {{sim .CutAt}}{{end}}{{if not .Reported.IsZero}} · reported {{sim .Reported}}{{end}}{{if not .Approved.IsZero}} · approved {{sim .Approved}}{{end}}{{if not .Released.IsZero}} · released {{sim .Released}}{{end}}</p>
<table>
<tr><th>编号</th><th>系统</th><th>涉及功能</th><th>SQL</th><th>技术负责人</th><th>测试负责人</th>{{range .Envs}}<th>{{.}}</th>{{end}}<th>问题状态</th></tr>
{{range .Rows}}<tr><td>{{.ID}}</td><td>{{.System}}</td><td>{{.Function}}</td><td>{{if .SQL}}是{{else}}否{{end}}</td><td>{{.TechLead}}</td><td>{{.TestLead}}</td>
{{range .Cells}}<td class="{{.Class}}" title="{{join .History "\n"}}">{{.Label}}{{if gt (len .History) 1}} <span class="muted">({{len .History}}×)</span>{{end}}</td>{{end}}<td>{{.Status}}</td></tr>
{{end}}</table>
<p class="muted">Green: passed · yellow: passed after a failure (re-test) · red: failed · grey: not tested. Hover a cell for who reported what, when.</p>
{{with .Decisions}}<h3>Decisions</h3><ul>{{range .}}<li>{{sim .At}} {{.Who}} ({{.Role}}): <b>{{.Verdict}}</b> — “{{.Words}}” <span class="muted">&lt;{{.MessageID}}&gt;</span></li>{{end}}</ul>{{end}}
{{end}}
<h2>Timeline</h2>
<table>
{{$ev := .Events}}{{range $i, $e := .Events}}{{if newday $ev $i}}<tr class="day"><td colspan="4">{{day $e.At}}</td></tr>{{end}}
<tr{{if $e.Warn}} class="warn"{{end}}><td class="t">{{$e.At.Format "15:04"}}</td><td class="who">{{$e.Who}}</td><td>{{$e.Text}}</td>
<td>{{with $e.Mail}}{{if .View}}<a href="{{.View}}">view</a> · <a href="{{.EML}}">.eml</a>{{range .Attachments}} · <a href="{{.File}}">{{.Name}}</a>{{end}}{{end}}{{end}}</td></tr>
{{end}}</table>
<h2>Files</h2><ul>{{range .Files}}<li><a href="{{.Name}}">{{.Name}}</a> — {{.What}}</li>{{end}}</ul>
<p class="muted">Written {{.Generated.Format "2006-01-02 15:04:05"}} by fabu demo.</p>
</body></html>
`))

// WriteIndex renders index.html.
func WriteIndex(w io.Writer, p *Page) error { return indexPage.Execute(w, p) }
