package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ResultState is one entry's test outcome in one environment.
type ResultState string

const (
	ResultPass    ResultState = "pass"
	ResultFail    ResultState = "fail"
	ResultPending ResultState = "pending"
)

// Valid reports whether s is one of pass, fail, pending.
func (s ResultState) Valid() bool {
	return s == ResultPass || s == ResultFail || s == ResultPending
}

// Result is the latest word on one entry in one environment of a release.
// Earlier words stay in the audit log.
type Result struct {
	Release   string      `json:"release"`
	Entry     string      `json:"entry"`
	Env       string      `json:"env"`
	State     ResultState `json:"state"`
	Note      string      `json:"note,omitempty"`
	Who       string      `json:"who"`
	At        time.Time   `json:"at"`
	MessageID string      `json:"message_id,omitempty"` // reply that reported it
}

func resultsPath(release string) []string { return []string{BucketResults, release} }

// resultKey is "<entry>\x00<env>": one flat bucket per release, ordered by
// entry then environment.
func resultKey(entry, env string) string { return entry + "\x00" + env }

// RecordResult stores r as the latest result of (release, entry, env) and
// audits the change. At defaults to the transaction time.
func (t *Tx) RecordResult(r Result) error {
	if err := ValidReleaseName(r.Release); err != nil {
		return err
	}
	if strings.TrimSpace(r.Entry) == "" || strings.TrimSpace(r.Env) == "" {
		return fmt.Errorf("result for release %s needs an entry and an environment (got entry %q, env %q)", r.Release, r.Entry, r.Env)
	}
	if !r.State.Valid() {
		return fmt.Errorf("result %q for entry %s in %s: state must be pass, fail or pending", r.State, r.Entry, r.Env)
	}
	if r.At.IsZero() {
		r.At = t.now
	}
	var old Result
	oldState := ""
	if err := t.GetJSON(resultsPath(r.Release), resultKey(r.Entry, r.Env), &old); err == nil {
		oldState = string(old.State)
	}
	if err := t.PutJSON(resultsPath(r.Release), resultKey(r.Entry, r.Env), &r); err != nil {
		return err
	}
	return t.Audit(AuditRecord{Actor: r.Who, Action: "result.record", Subject: r.Entry, Field: r.Env, Old: oldState, New: string(r.State), Detail: r.Note, Release: r.Release})
}

// Results returns the latest results of a release, ordered by entry (as
// LessID) then environment name.
func (t *Tx) Results(release string) ([]Result, error) {
	var out []Result
	err := t.ForEachRaw(resultsPath(release), "", func(k, v []byte) error {
		var r Result
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode result %q of %s: %w", k, release, err)
		}
		out = append(out, r)
		return nil
	})
	slices.SortStableFunc(out, func(a, b Result) int {
		if c := cmpID(a.Entry, b.Entry); c != 0 {
			return c
		}
		return strings.Compare(a.Env, b.Env)
	})
	return out, err
}

// ResultMatrix is a release's results indexed by entry then environment.
type ResultMatrix map[string]map[string]Result

// MatrixOf indexes results.
func MatrixOf(results []Result) ResultMatrix {
	m := ResultMatrix{}
	for _, r := range results {
		if m[r.Entry] == nil {
			m[r.Entry] = map[string]Result{}
		}
		m[r.Entry][r.Env] = r
	}
	return m
}

// State returns the state of entry in env; pending when nothing is known.
func (m ResultMatrix) State(entry, env string) ResultState {
	if r, ok := m[entry][env]; ok {
		return r.State
	}
	return ResultPending
}

// Get returns the result of entry in env, if any.
func (m ResultMatrix) Get(entry, env string) (Result, bool) {
	r, ok := m[entry][env]
	return r, ok
}

// NotPassed returns the entries (in the order given) that have not passed
// env: pending or failed there.
func (m ResultMatrix) NotPassed(entries []string, env string) []string {
	var out []string
	for _, id := range entries {
		if m.State(id, env) != ResultPass {
			out = append(out, id)
		}
	}
	return out
}

// Failed returns the entries (in the order given) whose latest result is
// fail in any of envs.
func (m ResultMatrix) Failed(entries []string, envs []string) []string {
	var out []string
	for _, id := range entries {
		for _, env := range envs {
			if m.State(id, env) == ResultFail {
				out = append(out, id)
				break
			}
		}
	}
	return out
}

// AllPassed reports whether every entry has passed env (for the early
// report: every entry passed the last environment). An empty list has not.
func (m ResultMatrix) AllPassed(entries []string, env string) bool {
	return len(entries) > 0 && len(m.NotPassed(entries, env)) == 0
}

// EnvProgress answers, for one environment of a release, which entries
// have not passed yet and whether every entry passed the last environment
// of envs (the condition for sending the report early).
func (t *Tx) EnvProgress(release, env string, envs []string) (notPassed []string, allPassedLast bool, err error) {
	r, err := t.Release(release)
	if err != nil {
		return nil, false, err
	}
	res, err := t.Results(release)
	if err != nil {
		return nil, false, err
	}
	m := MatrixOf(res)
	notPassed = m.NotPassed(r.Entries, env)
	if len(envs) > 0 {
		allPassedLast = m.AllPassed(r.Entries, envs[len(envs)-1])
	}
	return notPassed, allPassedLast, nil
}

// ReportDigest is the digest of what a test-complete report shows: the
// entry list and every entry's state in every environment. A token bound
// to it goes stale when an entry or a result changes.
func ReportDigest(entries []string, envs []string, m ResultMatrix) string {
	ids := slices.Clone(entries)
	slices.SortFunc(ids, cmpID)
	h := sha256.New()
	for _, id := range ids {
		h.Write([]byte(id))
		for _, env := range envs {
			h.Write([]byte{0})
			h.Write([]byte(env))
			h.Write([]byte{'='})
			h.Write([]byte(m.State(id, env)))
		}
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
