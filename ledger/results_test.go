package ledger

import (
	"slices"
	"testing"
)

func TestResultsProgressAndDigest(t *testing.T) {
	s := openReleaseStore(t, StatusDevDone, StatusDevDone, StatusDevDone)
	envs := []string{"SIT", "UAT", "准生产"}
	const R = "2026-12-03"
	err := s.Update(func(tx *Tx) error {
		if _, _, err := tx.CutRelease(R, "train"); err != nil {
			return err
		}
		for _, r := range []Result{
			{Release: R, Entry: "1", Env: "SIT", State: ResultPass, Who: "琳琳"},
			{Release: R, Entry: "2", Env: "SIT", State: ResultFail, Who: "琳琳", Note: "报错"},
			{Release: R, Entry: "3", Env: "SIT", State: ResultPass, Who: "小周"},
		} {
			if err := tx.RecordResult(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var d1 string
	err = s.Update(func(tx *Tx) error {
		np, last, err := tx.EnvProgress(R, "SIT", envs)
		if err != nil {
			return err
		}
		if !slices.Equal(np, []string{"2"}) || last {
			t.Errorf("SIT progress = %v, %v", np, last)
		}
		res, err := tx.Results(R)
		if err != nil {
			return err
		}
		m := MatrixOf(res)
		if got := m.Failed([]string{"1", "2", "3"}, envs); !slices.Equal(got, []string{"2"}) {
			t.Errorf("failed = %v", got)
		}
		d1 = ReportDigest([]string{"1", "2", "3"}, envs, m)
		// The fix: 2 passes SIT now, all pass 准生产.
		if err := tx.RecordResult(Result{Release: R, Entry: "2", Env: "SIT", State: ResultPass, Who: "琳琳"}); err != nil {
			return err
		}
		for _, id := range []string{"1", "2", "3"} {
			if err := tx.RecordResult(Result{Release: R, Entry: id, Env: "准生产", State: ResultPass, Who: "琳琳"}); err != nil {
				return err
			}
		}
		np, last, err = tx.EnvProgress(R, "UAT", envs)
		if err != nil {
			return err
		}
		if len(np) != 3 || !last {
			t.Errorf("UAT progress = %v, all passed last = %v", np, last)
		}
		res, _ = tx.Results(R)
		if len(res) != 6 || res[0].Entry != "1" {
			t.Errorf("results = %+v", res)
		}
		if d2 := ReportDigest([]string{"3", "2", "1"}, envs, MatrixOf(res)); d2 == d1 {
			t.Error("report digest did not change with the results")
		}
		log, err := tx.AuditLog("2")
		if err != nil {
			return err
		}
		var saw bool
		for _, a := range log {
			if a.Action == "result.record" && a.Old == "fail" && a.New == "pass" {
				saw = true
			}
		}
		if !saw {
			t.Error("result change not audited with old and new state")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRecordResultRejectsBadInput(t *testing.T) {
	s := openReleaseStore(t)
	cases := []struct {
		name string
		r    Result
	}{
		{"bad release", Result{Release: "soon", Entry: "1", Env: "SIT", State: ResultPass}},
		{"no entry", Result{Release: "2026-12-03", Env: "SIT", State: ResultPass}},
		{"no env", Result{Release: "2026-12-03", Entry: "1", State: ResultPass}},
		{"bad state", Result{Release: "2026-12-03", Entry: "1", Env: "SIT", State: "ok"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Update(func(tx *Tx) error { return tx.RecordResult(tc.r) })
			if err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
