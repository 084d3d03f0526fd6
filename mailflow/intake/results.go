package intake

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fabu-team/fabu/mailflow/reply"
	"github.com/fabu-team/fabu/mailflow/train"
)

// defaultEnvs are the train's environments when none are configured (the
// same default as mailflow/train).
var defaultEnvs = []string{"SIT", "UAT", "准生产"}

func (h *Handler) envs() []string {
	if len(h.tr.Options.Envs) > 0 {
		return h.tr.Options.Envs
	}
	return defaultEnvs
}

// stepEnv is the environment a reply to step reports on: the reminder's
// environment, the first one for the test list (and anything unknown).
func (h *Handler) stepEnv(step string) string {
	envs := h.envs()
	for _, r := range h.tr.Options.Reminders {
		if r.Name == step && r.Env != "" {
			return r.Env
		}
	}
	if env, ok := strings.CutPrefix(step, "remind-"); ok {
		for _, e := range envs {
			if strings.EqualFold(e, env) {
				return e
			}
		}
	}
	if step != train.StepTestList {
		h.o.Logger.Debug("reply intake: no environment known for step; using the first", "step", step, "env", envs[0])
	}
	return envs[0]
}

// envResult is a result with the environment it was reported for.
type envResult struct {
	reply.Result
	env string
}

// testerReading is what a tester's reply says.
type testerReading struct {
	kind    reply.Kind
	why     string
	results []envResult
}

// leadingIDs matches the entry list a result line starts with ("20",
// "#20、21", "20 and 21").
var leadingIDs = regexp.MustCompile(`^\s*#?\d{1,6}(?:\s*号)?(?:\s*(?:[,、/&和及]|and)\s*#?\d{1,6}(?:\s*号)?)*`)

// readResults reads a tester's reply. Besides what mailflow/reply reads
// ("20 通过", "全部通过"), a line may name its environment the way the
// mails ask for it: "20 SIT 通过", "UAT 21 不通过 原因", "UAT: 20 通过", or
// an environment alone on a line for the lines below it. A line without an
// environment reports on the environment of the mail answered.
func (c *call) readResults() testerReading {
	if c.e.AutoReply {
		return testerReading{kind: reply.IntentUnclear, why: c.e.Why}
	}
	envs := c.h.envs()
	def := c.h.stepEnv(c.m.Step)
	lines := strings.Split(c.e.NewText, "\n")
	cleaned := make([]string, len(lines))
	lineEnv := make([]string, len(lines))
	named := false
	cur := def
	for i, l := range lines {
		rest, env, kind := stripEnv(l, envs)
		switch kind {
		case envHeader:
			cur, named = env, true
			cleaned[i], lineEnv[i] = "", env
		case envOnLine:
			named = true
			cleaned[i], lineEnv[i] = rest, env
		default:
			cleaned[i], lineEnv[i] = l, cur
		}
	}
	in := reply.Classify(strings.Join(cleaned, "\n"), c.h.o.Words)
	out := testerReading{kind: in.Kind, why: in.Why}
	if in.Kind != reply.IntentResults {
		return out
	}
	if named {
		for i, l := range cleaned {
			if strings.TrimSpace(l) == "" {
				continue
			}
			li := reply.Classify(l, c.h.o.Words)
			if li.Kind != reply.IntentResults {
				continue
			}
			for _, r := range li.Results {
				out.results = append(out.results, envResult{Result: r, env: lineEnv[i]})
			}
		}
		if len(out.results) > 0 {
			return out
		}
	}
	for _, r := range in.Results {
		out.results = append(out.results, envResult{Result: r, env: def})
	}
	return out
}

// How stripEnv found an environment.
const (
	envNone   = iota
	envHeader // the line is only an environment name: it applies to the lines below
	envOnLine // the line names its environment
)

// stripEnv finds an environment name at the start of line or right after
// its leading entry list, and returns the line without it.
func stripEnv(line string, envs []string) (rest, env string, kind int) {
	t := strings.TrimLeftFunc(line, unicode.IsSpace)
	if env, after, ok := envPrefix(t, envs); ok {
		if strings.TrimSpace(after) == "" {
			return "", env, envHeader
		}
		return after, env, envOnLine
	}
	loc := leadingIDs.FindStringIndex(t)
	if loc == nil {
		return line, "", envNone
	}
	ids := t[:loc[1]]
	tail := strings.TrimLeftFunc(t[loc[1]:], unicode.IsSpace)
	tail = strings.TrimLeft(tail, ":：")
	tail = strings.TrimLeftFunc(tail, unicode.IsSpace)
	if env, after, ok := envPrefix(tail, envs); ok && strings.TrimSpace(after) != "" {
		return ids + " " + after, env, envOnLine
	}
	return line, "", envNone
}

// envPrefix reports whether s starts with one of envs (ignoring case, the
// longest first) followed by a boundary; after is the rest with an
// optional "环境" and separator removed.
func envPrefix(s string, envs []string) (env, after string, ok bool) {
	best := ""
	for _, e := range envs {
		if e == "" || len(e) > len(s) || len(e) <= len(best) || !strings.EqualFold(s[:len(e)], e) {
			continue
		}
		if next, _ := utf8.DecodeRuneInString(s[len(e):]); next < utf8.RuneSelf && (unicode.IsLetter(next) || unicode.IsDigit(next)) && isASCIIWordEnd(e) {
			continue // "SITE" is not "SIT"
		}
		best = e
	}
	if best == "" {
		return "", "", false
	}
	after = strings.TrimLeftFunc(s[len(best):], unicode.IsSpace)
	after = strings.TrimPrefix(after, "环境")
	after = strings.TrimLeftFunc(after, unicode.IsSpace)
	after = strings.TrimLeft(after, ":：-")
	return best, strings.TrimLeftFunc(after, unicode.IsSpace), true
}

// isASCIIWordEnd reports whether e ends in an ASCII letter or digit (so a
// following letter or digit would continue the word).
func isASCIIWordEnd(e string) bool {
	r, _ := utf8.DecodeLastRuneInString(e)
	return r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))
}
