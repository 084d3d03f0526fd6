package demo

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/ledger/sheet"
	"github.com/fabu-team/fabu/schedule"
)

// importSample imports the sample ledger into a new store.
func importSample(t *testing.T) *ledger.Store {
	t.Helper()
	s, err := ledger.Open(filepath.Join(t.TempDir(), "fabu.db"), ledger.Options{Train: "default"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	data, err := SampleLedger()
	if err != nil {
		t.Fatal(err)
	}
	res, err := sheet.ImportBytes(context.Background(), s, LedgerSheetName, data, sheet.Options{})
	if err != nil {
		t.Fatalf("the sample ledger does not import: %v", err)
	}
	if res.Added != len(ledgerRows) || res.SkippedRows != 0 {
		t.Fatalf("import: %s", res.Summary())
	}
	return s
}

func TestSampleLedgerImports(t *testing.T) {
	s := importSample(t)
	err := s.View(func(tx *ledger.Tx) error {
		e, err := tx.Entry(SeedEntry)
		if err != nil {
			return err
		}
		// The seed's entry 20, column by column.
		got := []string{e.System, e.Subsystem, e.Module, e.Function, e.Category, e.HasSQL.String(), e.TechSolution,
			e.Proposer, e.ProposedOn.String(), e.Priority.Chinese(), e.StatusWord()}
		want := []string{"小贷", "账务", "接口", "生成文件", "新功能", ledger.No.String(), "可以修改", "琳琳", "2019-03-01", "中", "处理中"}
		if !slices.Equal(got, want) {
			t.Errorf("entry 20 = %q, want %q", got, want)
		}
		var ready []string
		systems := map[string]bool{}
		err = tx.ForEachEntry(func(e *ledger.Entry) error {
			systems[e.System] = true
			if e.Status == ledger.StatusDevDone {
				ready = append(ready, e.ID)
			}
			return nil
		})
		if len(systems) < 5 {
			t.Errorf("the sample spans %d systems, want at least 5", len(systems))
		}
		wantReady := append(testerEntries("琳琳"), testerEntries("小周")...)
		wantReady = slices.DeleteFunc(wantReady, func(id string) bool { return id == SeedEntry })
		slices.SortFunc(wantReady, func(a, b string) int {
			if ledger.LessID(a, b) {
				return -1
			}
			return 1
		})
		if !slices.Equal(ready, wantReady) {
			t.Errorf("finished by development: %v, want %v (the testers' entries without #20)", ready, wantReady)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSampleLedgerKeepsTheSeedHeader(t *testing.T) {
	if got := ledgerHeader[19]; got != "测试计划  开始时间" {
		t.Errorf("column 20 header %q: the seed's has stray spaces", got)
	}
	if ledgerHeader[24] != "" {
		t.Errorf("column 25 header %q: the seed's is empty", ledgerHeader[24])
	}
	for i, r := range ledgerRows {
		if len(r) > len(ledgerHeader) {
			t.Errorf("row %d has %d cells, the header %d", i, len(r), len(ledgerHeader))
		}
	}
}

func TestTesterEntries(t *testing.T) {
	lin, zhou := testerEntries("琳琳"), testerEntries("小周")
	if !slices.Equal(lin, []string{"20", "21", "23", "25"}) || !slices.Equal(zhou, []string{"22", "24", "32", "34"}) {
		t.Fatalf("琳琳 %v, 小周 %v", lin, zhou)
	}
	if !slices.Contains(zhou, failingEntry) {
		t.Errorf("the failing entry %s is not 小周's", failingEntry)
	}
}

func TestConfigIsValidAndWeekHasNoHoliday(t *testing.T) {
	sec, err := NewSecrets()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Config("/tmp/x.db", "127.0.0.1:2525", "127.0.0.1:1143", sec)
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.Port != 2525 || c.IMAP.Port != 1143 || c.Tokens.Secret == "" || c.SMTP.Password == "" {
		t.Errorf("ports %d/%d, secret set %v", c.SMTP.Port, c.IMAP.Port, c.Tokens.Secret != "")
	}
	if len(c.People) != len(People) {
		t.Fatalf("config has %d people, the demo %d", len(c.People), len(People))
	}
	for i, p := range People {
		cp := c.People[i]
		if cp.Name != p.Name || cp.Email != p.Email() || !slices.Equal(cp.Roles, p.Roles) {
			t.Errorf("person %d: config %v, demo %v", i, cp, p)
		}
	}
	other, _ := NewSecrets()
	if other.TokenSecret == sec.TokenSecret {
		t.Error("two runs got the same token secret")
	}
	cal, err := schedule.NewCalendar(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for d := DemoStart(); !d.After(DemoStart().AddDate(0, 0, 6)); d = d.AddDate(0, 0, 1) {
		day := cal.Day(d)
		weekend := d.Weekday() == 0 || d.Weekday() == 6
		if day.Work() == weekend {
			t.Errorf("%s is %s: the demo's week must be an ordinary one", d.Format("2006-01-02"), day.Describe())
		}
	}
	if !strings.HasSuffix(DemoRelease, "-12-03") || DemoStart().Weekday() != 5 {
		t.Errorf("the demo starts %s for release %s", DemoStart(), DemoRelease)
	}
}
