package intake

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/fabu-team/fabu/mailflow/reply"
)

// Rule is how the managers' replies decide a release.
type Rule struct {
	// Approvals is the number of distinct managers (or admitted deputies)
	// whose approval of the current report approves the release: 1 (the
	// default) is "any one manager", N is an N-of-M quorum.
	Approvals int
	// Rejections is the number of distinct rejections that reject the
	// release; 1 (the default) means one rejection rejects.
	Rejections int
}

func (r Rule) withDefaults() Rule {
	if r.Approvals < 1 {
		r.Approvals = 1
	}
	if r.Rejections < 1 {
		r.Rejections = 1
	}
	return r
}

// DeputyPolicy says when a person with the deputy role may decide on a
// report that was mailed to the managers.
type DeputyPolicy string

const (
	// DeputyAfterRelay (the default): a deputy decides a release only after
	// a manager's out-of-office reply to its report was relayed (the
	// deputy then answers the relayed report, or the report itself).
	DeputyAfterRelay DeputyPolicy = "after_relay"
	// DeputyAlways: a deputy decides like a manager.
	DeputyAlways DeputyPolicy = "always"
)

// Options configure a Handler. Only Secret is required.
type Options struct {
	// Secret is the reply token secret (the same the train signs with).
	Secret []byte
	// Words are the phrase lists replies are understood with (zero value:
	// reply.DefaultWords()).
	Words reply.Words
	// Auth optionally requires a DKIM/DMARC pass from a trusted server.
	Auth AuthPolicy
	// Rule is the decision rule (zero value: any one manager; one
	// rejection rejects).
	Rule Rule
	// Deputy is when deputies may decide (default DeputyAfterRelay).
	Deputy DeputyPolicy
	// Parse bounds the reading of one mail (reply.Options).
	Parse reply.Options
	// Logger gets one line per mail handled (nil: discard).
	Logger *slog.Logger
	// Clock checks token expiry (nil: the store transaction's time).
	Clock func() time.Time

	// OnAllPassed is called after the commit of a tester's reply after
	// which every entry of an open release has passed the last
	// environment: cmd wires it to the scheduler's early report trigger.
	OnAllPassed func(release string)
	// Kick is called after the commit of a reply that queued mail (the
	// outbox worker's Kick).
	Kick func()
}

func (o *Options) check() error {
	var errs []error
	if len(o.Secret) == 0 {
		errs = append(errs, errors.New("no reply token secret: set tokens.secret_file or FABU_TOKEN_SECRET"))
	}
	switch o.Deputy {
	case "":
		o.Deputy = DeputyAfterRelay
	case DeputyAfterRelay, DeputyAlways:
	default:
		errs = append(errs, fmt.Errorf("deputy policy %q is not one of after_relay, always", o.Deputy))
	}
	if o.Auth.Require && o.Auth.Trusted == "" {
		errs = append(errs, errors.New("auth policy requires authentication but names no trusted authserv-id"))
	}
	o.Rule = o.Rule.withDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if isZeroWords(o.Words) {
		o.Words = reply.DefaultWords()
	}
	return errors.Join(errs...)
}

func isZeroWords(w reply.Words) bool {
	return len(w.Approve) == 0 && len(w.Reject) == 0 && len(w.Done) == 0 && len(w.Pass) == 0 && len(w.Fail) == 0
}
