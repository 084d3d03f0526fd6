package ledger

import (
	"fmt"
	"sort"
	"strings"
)

// Status is the stage of an entry in the release train.
type Status int8

const (
	StatusUnset      Status = iota
	StatusRegistered        // 待处理, 未开始, 新建, 已登记
	StatusInProgress        // 处理中, 开发中
	StatusDevDone           // 开发完成, 待提测: ready for the Friday cut
	StatusInTest            // 测试中, 已提测
	StatusPassed            // 测试通过
	StatusFailed            // 测试不通过
	StatusApproved          // 待发版, 已审批
	StatusReleased          // 已上线, 已发版
	StatusClosed            // 已关闭, 已取消 (closed or withdrawn)
)

var statusNames = [...]string{
	StatusUnset:      "",
	StatusRegistered: "registered",
	StatusInProgress: "in_progress",
	StatusDevDone:    "dev_done",
	StatusInTest:     "in_test",
	StatusPassed:     "passed",
	StatusFailed:     "failed",
	StatusApproved:   "approved",
	StatusReleased:   "released",
	StatusClosed:     "closed",
}

var statusChinese = [...]string{
	StatusUnset:      "",
	StatusRegistered: "待处理",
	StatusInProgress: "处理中",
	StatusDevDone:    "开发完成",
	StatusInTest:     "测试中",
	StatusPassed:     "测试通过",
	StatusFailed:     "测试不通过",
	StatusApproved:   "待发版",
	StatusReleased:   "已上线",
	StatusClosed:     "已关闭",
}

var statusByName = func() map[string]Status {
	m := map[string]Status{}
	for i, n := range statusNames {
		if n != "" {
			m[n] = Status(i)
		}
	}
	return m
}()

// String returns the English name used in JSON and the CLI.
func (s Status) String() string {
	if int(s) < len(statusNames) && s >= 0 {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Chinese returns the canonical Chinese word for the status.
func (s Status) Chinese() string {
	if int(s) < len(statusChinese) && s >= 0 {
		return statusChinese[s]
	}
	return s.String()
}

// Label is "英文 (中文)", for messages.
func (s Status) Label() string {
	if s == StatusUnset {
		return "unset"
	}
	return s.String() + " (" + s.Chinese() + ")"
}

// MarshalText writes the English name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText accepts English names and the default Chinese words.
func (s *Status) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = StatusUnset
		return nil
	}
	v, err := DefaultStatusWords.Parse(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// transitions lists the moves the train (or a person) may make.
var transitions = map[Status][]Status{
	StatusUnset:      {StatusRegistered, StatusInProgress, StatusDevDone, StatusInTest, StatusPassed, StatusFailed, StatusApproved, StatusReleased, StatusClosed},
	StatusRegistered: {StatusInProgress, StatusDevDone, StatusClosed},
	StatusInProgress: {StatusRegistered, StatusDevDone, StatusClosed},
	StatusDevDone:    {StatusInProgress, StatusInTest, StatusClosed},
	StatusInTest:     {StatusPassed, StatusFailed, StatusDevDone, StatusInProgress, StatusClosed},
	StatusPassed:     {StatusApproved, StatusFailed, StatusInTest, StatusDevDone, StatusClosed},
	StatusFailed:     {StatusInTest, StatusPassed, StatusInProgress, StatusDevDone, StatusClosed},
	StatusApproved:   {StatusReleased, StatusDevDone, StatusInProgress, StatusClosed},
	StatusReleased:   {StatusClosed},
	StatusClosed:     {StatusRegistered, StatusInProgress},
}

// TransitionError is returned for a move the lifecycle does not allow.
type TransitionError struct {
	ID       string
	From, To Status
}

func (e *TransitionError) Error() string {
	who := ""
	if e.ID != "" {
		who = "entry " + e.ID + ": "
	}
	allowed := make([]string, 0, 4)
	for _, s := range transitions[e.From] {
		allowed = append(allowed, s.Label())
	}
	return fmt.Sprintf("%scannot move from %s to %s (from %s it may go to: %s)",
		who, e.From.Label(), e.To.Label(), e.From.Label(), strings.Join(allowed, ", "))
}

// CanTransition reports whether an entry may move from one status to another.
// Staying in the same status is always allowed.
func CanTransition(from, to Status) bool {
	if from == to {
		return true
	}
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// SetStatus moves the entry to status to, refusing an illegal move.
func (e *Entry) SetStatus(to Status) error {
	if !CanTransition(e.Status, to) {
		return &TransitionError{ID: e.ID, From: e.Status, To: to}
	}
	if e.Status != to {
		e.StatusText = ""
	}
	e.Status = to
	return nil
}

// StatusWords maps the words teams write in the 问题状态 column to statuses.
type StatusWords struct {
	m map[string]Status
}

// DefaultStatusWords holds the words of ledger.md and the English names.
// It is read-only; NewStatusWords builds one with configured aliases.
var DefaultStatusWords = mustStatusWords(nil)

func mustStatusWords(aliases map[string]string) *StatusWords {
	w, err := NewStatusWords(aliases)
	if err != nil {
		panic(err)
	}
	return w
}

// NewStatusWords returns the default words plus aliases (word → status
// name, English or a default Chinese word).
func NewStatusWords(aliases map[string]string) (*StatusWords, error) {
	m := map[string]Status{}
	add := func(s Status, words ...string) {
		for _, w := range words {
			m[normWord(w)] = s
		}
	}
	for i, n := range statusNames {
		if n != "" {
			add(Status(i), n, strings.ReplaceAll(n, "_", " "), strings.ReplaceAll(n, "_", "-"))
		}
	}
	add(StatusRegistered, "待处理", "未开始", "新建", "已登记", "登记")
	add(StatusInProgress, "处理中", "开发中", "进行中")
	add(StatusDevDone, "开发完成", "待提测", "development finished", "dev done")
	add(StatusInTest, "测试中", "已提测", "提测")
	add(StatusPassed, "测试通过", "通过")
	add(StatusFailed, "测试不通过", "测试未通过", "不通过")
	add(StatusApproved, "待发版", "已审批", "待上线")
	add(StatusReleased, "已上线", "已发版", "上线")
	add(StatusClosed, "已关闭", "关闭", "已取消", "取消", "withdrawn", "已撤回")
	keys := make([]string, 0, len(aliases))
	for k := range aliases {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, word := range keys {
		target := aliases[word]
		s, ok := m[normWord(target)]
		if !ok {
			return nil, fmt.Errorf("status alias %q → %q: %q is not a status (use one of %s)", word, target, target, strings.Join(statusNames[1:], ", "))
		}
		m[normWord(word)] = s
	}
	return &StatusWords{m: m}, nil
}

func normWord(w string) string {
	w = strings.TrimSpace(strings.ToLower(w))
	w = strings.Join(strings.Fields(w), " ")
	return w
}

// Lookup returns the status a word means.
func (w *StatusWords) Lookup(word string) (Status, bool) {
	s, ok := w.m[normWord(word)]
	return s, ok
}

// Parse returns the status a word means; an empty word is StatusUnset.
func (w *StatusWords) Parse(word string) (Status, error) {
	if strings.TrimSpace(word) == "" {
		return StatusUnset, nil
	}
	if s, ok := w.Lookup(word); ok {
		return s, nil
	}
	return StatusUnset, fmt.Errorf("%q is not a known status (e.g. 待处理, 处理中, 开发完成, 测试中, 测试通过, 测试不通过, 待发版, 已上线, 已关闭; more can be configured under ledger.status_aliases)", word)
}
