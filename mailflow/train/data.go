package train

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/templates"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"
)

// view is what the mails show of a release: its entries (in id order), the
// results and what follows from them.
type view struct {
	rel      *ledger.Release
	entries  []*ledger.Entry
	matrix   ledger.ResultMatrix
	hasRes   bool
	failed   map[string]bool
	allPass  bool
	sqlCount int
}

// loadView reads the entries ids (missing ones are skipped) and the
// release's results.
func (t *Train) loadView(tx *ledger.Tx, rel *ledger.Release, ids []string) (*view, error) {
	v := &view{rel: rel, failed: map[string]bool{}}
	for _, id := range ids {
		e, err := tx.Entry(id)
		if errors.Is(err, ledger.ErrNotFound) {
			t.log().Warn("train: release lists an entry that is gone from the ledger", "release", rel.Name, "entry", id)
			continue
		}
		if err != nil {
			return nil, err
		}
		v.entries = append(v.entries, e)
		if e.HasSQL.Bool() {
			v.sqlCount++
		}
	}
	res, err := tx.Results(rel.Name)
	if err != nil {
		return nil, err
	}
	v.matrix = ledger.MatrixOf(res)
	v.hasRes = len(res) > 0
	envs := t.envs()
	v.allPass = len(v.entries) > 0
	for _, e := range v.entries {
		for _, env := range envs {
			switch v.matrix.State(e.ID, env) {
			case ledger.ResultFail:
				v.failed[e.ID] = true
				v.allPass = false
			case ledger.ResultPending:
				v.allPass = false
			}
		}
	}
	return v, nil
}

// ids returns the entry ids of the view.
func (v *view) ids() []string {
	out := make([]string, len(v.entries))
	for i, e := range v.entries {
		out[i] = e.ID
	}
	return out
}

// reportDigest is the digest a report of this view is bound to.
func (t *Train) reportDigest(v *view) string {
	return ledger.ReportDigest(v.ids(), t.envs(), v.matrix)
}

// fmtTime formats t in the train's zone, "" for zero.
func (t *Train) fmtTime(at time.Time) string {
	if at.IsZero() {
		return ""
	}
	return at.In(t.loc()).Format("2006-01-02 15:04")
}

var zhWeekdays = [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}

// releaseDay is the release date for people: 12月3日（周四） / Thu 3 Dec.
func (t *Train) releaseDay(name string) string {
	d, err := time.Parse("2006-01-02", name)
	if err != nil {
		return name
	}
	if t.lang() == "en" {
		return d.Format("Mon 2 Jan")
	}
	return fmt.Sprintf("%d月%d日（%s）", int(d.Month()), d.Day(), zhWeekdays[d.Weekday()])
}

// baseData fills the fields every mail of release rel shares.
func (t *Train) baseData(release, step string, late LateInfo) *templates.Data {
	d := &templates.Data{
		Title:      t.Options.Title,
		Train:      t.Options.TrainName,
		Release:    release,
		ReleaseDay: t.releaseDay(release),
		Step:       step,
		Sent:       t.fmtTime(t.now()),
		Envs:       t.envs(),
		Window:     t.Options.ReleaseWindow,
		Early:      late.Early,
	}
	if !late.Due.IsZero() {
		reason := late.Reason
		if reason == "" {
			reason = t.word("fabu 当时未运行", "fabu was not running then")
		}
		d.Late = &templates.Late{Due: t.fmtTime(late.Due), Reason: reason}
	}
	for _, s := range late.Skipped {
		d.Skipped = append(d.Skipped, templates.Skipped{Step: s.Step, Due: t.fmtTime(s.Due), Reason: s.Reason})
	}
	return d
}

// word picks the Chinese or English text by the templates' language.
func (t *Train) word(zh, en string) string {
	if t.lang() == "en" {
		return en
	}
	return zh
}

// changes renders the release's pending hand-made changes.
func (t *Train) changes(tx *ledger.Tx, rel *ledger.Release) []templates.Change {
	var out []templates.Change
	for _, c := range rel.PendingChanges() {
		ch := templates.Change{Op: c.Op, ID: c.Entry, Who: c.Actor, At: t.fmtTime(c.At), Note: c.Note}
		if e, err := tx.Entry(c.Entry); err == nil {
			ch.Summary = strings.TrimSpace(e.System + " " + e.Function)
		}
		out = append(out, ch)
	}
	return out
}

// fill puts the view's entries (grouped by system) into d, with the result
// cells when withResults.
func (t *Train) fill(d *templates.Data, v *view, withResults bool) {
	d.Groups = t.groups(v, v.entries, withResults)
	d.Count = len(v.entries)
	d.SQLCount = v.sqlCount
	d.HasResults = withResults && v.hasRes
	if withResults {
		d.AllPassed = v.allPass
		for _, e := range v.entries {
			if v.failed[e.ID] {
				d.Failures = append(d.Failures, t.entry(v, e, true))
			}
		}
	}
}

// groups groups entries by system (systems in name order, entries in the
// order given).
func (t *Train) groups(v *view, entries []*ledger.Entry, withResults bool) []templates.Group {
	var order []string
	by := map[string][]templates.Entry{}
	for _, e := range entries {
		sys := strings.TrimSpace(e.System)
		if sys == "" {
			sys = t.word("（未填系统）", "(no system)")
		}
		if _, ok := by[sys]; !ok {
			order = append(order, sys)
		}
		by[sys] = append(by[sys], t.entry(v, e, withResults))
	}
	t.sortNames(order)
	out := make([]templates.Group, 0, len(order))
	for _, s := range order {
		out = append(out, templates.Group{System: s, Entries: by[s]})
	}
	return out
}

// entry converts a ledger entry for the templates.
func (t *Train) entry(v *view, e *ledger.Entry, withResults bool) templates.Entry {
	en := t.lang() == "en"
	te := templates.Entry{
		ID: e.ID, System: e.System, Subsystem: e.Subsystem, Module: e.Module, Function: e.Function,
		Category: e.Category, Description: e.Description, SQL: e.HasSQL.Bool(),
		Priority: e.Priority.Chinese(), Status: e.StatusWord(), TechLead: e.TechLead, TestLead: e.TestLead,
		TestStart: e.TestStart.String(), TestFinish: e.TestFinish.String(), RequirementDoc: strings.TrimSpace(e.RequirementDoc),
		RelatedSystems: e.RelatedSystems, TestOpinion: e.TestOpinion,
	}
	if en {
		te.Priority, te.Status = e.Priority.String(), e.Status.String()
	}
	if low := strings.ToLower(te.RequirementDoc); strings.HasPrefix(low, "http://") || strings.HasPrefix(low, "https://") {
		te.DocURL = te.RequirementDoc
	}
	if withResults && v != nil {
		for _, env := range t.envs() {
			c := templates.Cell{Env: env, State: string(ledger.ResultPending)}
			if r, ok := v.matrix.Get(e.ID, env); ok {
				c.State, c.Note, c.Who, c.At = string(r.State), r.Note, r.Who, t.fmtTime(r.At)
			}
			te.Cells = append(te.Cells, c)
		}
		te.Failed = v.failed[e.ID]
	}
	return te
}

// leadGroups groups the entries not yet passed in env by test lead (leads
// in name order, entries without a lead last).
func (t *Train) leadGroups(v *view, env string) ([]templates.LeadGroup, int) {
	by := map[string][]templates.Entry{}
	var leads []string
	n := 0
	for _, e := range v.entries {
		if v.matrix.State(e.ID, env) == ledger.ResultPass {
			continue
		}
		n++
		lead := strings.TrimSpace(e.TestLead)
		if _, ok := by[lead]; !ok {
			leads = append(leads, lead)
		}
		by[lead] = append(by[lead], t.entry(v, e, true))
	}
	t.sortNames(leads)
	if len(leads) > 0 && leads[0] == "" {
		leads = append(leads[1:], "") // entries without a test lead last
	}
	out := make([]templates.LeadGroup, 0, len(leads))
	for _, l := range leads {
		out = append(out, templates.LeadGroup{Lead: l, Entries: by[l]})
	}
	return out, n
}

// sortNames sorts names for people: Chinese by pinyin (小贷 before 信贷),
// others alphabetically.
func (t *Train) sortNames(names []string) {
	if t.lang() == "en" {
		sort.Strings(names)
		return
	}
	collate.New(language.SimplifiedChinese).SortStrings(names)
}

// expectFor is the kind of answer a role gives.
func expectFor(role string) string {
	switch role {
	case RoleManager, RoleDeputy:
		return "decision"
	case RoleOps:
		return "done"
	case RoleTester, RoleTestLead:
		return "results"
	}
	return ""
}
