// Package train is the release train's mail steps: it decides who gets
// which mail, fills the templates from the ledger, and queues the mail in
// the outbox in the same store transaction as the state change that causes
// it. The scheduler calls the scheduled steps (Cut, Remind, Report,
// Escalate, EmptyWeek: each one transaction of its own); the reply intake
// calls the reply steps inside its own transaction (Approve, Reject,
// VoteRecorded, Released, Clarify, NotifyCannotUse, RelayOutOfOffice,
// RefuseOutdated).
//
// Every step is idempotent: the state it needs is checked, and each mail
// has a stable id (outbox.MailID) so running a step twice queues nothing
// twice. The outbox worker sends what is queued; Train.Kick wakes it.
//
// It is not the clock (schedule decides when), not the reading of replies
// (mailflow/intake decides what a reply means and calls these steps), and
// not the wording (templates).
package train

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/outbox"
	"github.com/fabu-team/fabu/templates"
)

// Roles a person may hold (the same words as the configuration).
const (
	RoleTester   = "tester"
	RoleTestLead = "test_lead"
	RoleTechLead = "tech_lead"
	RoleManager  = "manager"
	RoleDeputy   = "deputy"
	RoleOps      = "ops"
	RoleAdmin    = "admin"
)

// Step names of the mails that are not scheduled reminders.
const (
	StepTestList  = "testlist"
	StepReport    = "report"
	StepEscalate  = "escalate"
	StepApproved  = "approved"
	StepReceipt   = "receipt"
	StepVote      = "vote" // receipt of a vote that counts toward an N-of-M rule
	StepRejected  = "rejected"
	StepReleased  = "released"
	StepEmpty     = "empty"
	StepClarify   = "clarify"
	StepCannotUse = "cannotuse"
	StepRelay     = "relay"
	StepOutdated  = "outdated"
	StepAlert     = "alert"
)

// Person is someone the train mails.
type Person struct {
	Name  string // as the ledger writes it (技术负责人, 测试负责人)
	Email string
	Roles []string
}

// Has reports whether p holds role.
func (p Person) Has(role string) bool { return slices.Contains(p.Roles, role) }

// Reminder is a configured reminder step.
type Reminder struct {
	Name string // step name, e.g. sit-1
	Env  string
	Note string
}

// Options are the train's settings (cmd builds them from the configuration).
type Options struct {
	TrainName string
	Title     string
	Envs      []string // test environments in order (default SIT, UAT, 准生产)
	Lang      string   // zh-CN | en (the templates' language)
	From      outbox.Address
	// ReplyTo is the mailbox fabu reads (default From). With PlusAddress
	// the reply token goes into it: local+TOKEN@domain.
	ReplyTo       string
	PlusAddress   bool
	TokenSecret   []byte
	TokenTTL      time.Duration // default 14 days
	ReleaseWindow string        // e.g. 22:00-24:00
	Location      *time.Location
	// EmptyWeekNote: a cut with nothing to test mails a short note.
	EmptyWeekNote bool
	// Reminders are the configured reminder steps (for previews).
	Reminders []Reminder
}

// Train runs the mail steps. Fill the fields; the zero Clock is time.Now.
type Train struct {
	Store     *ledger.Store
	Templates *templates.Set
	People    []Person
	Options   Options
	Clock     func() time.Time
	Logger    *slog.Logger
	// Kick is called after a step committed mail (the outbox worker's Kick).
	Kick func()
}

// LateInfo tells a scheduled step how it runs. The zero value means on
// time, nothing skipped.
type LateInfo struct {
	// Due is the planned time of a step that runs late; zero when on time.
	Due time.Time
	// Reason says why it is late (e.g. "fabu was not running").
	Reason string
	// Skipped are steps that did not run since the last mail; the mail
	// mentions them.
	Skipped []Skipped
	// Early: the report goes out before its time because every entry
	// passed the last environment.
	Early bool
}

// Skipped is a step that did not run.
type Skipped struct {
	Step   string
	Due    time.Time
	Reason string
}

// ReplyRef is a received mail a step answers (from the intake).
type ReplyRef struct {
	From      string // address
	Name      string // person's name when known
	Subject   string
	Date      time.Time
	MessageID string // without angle brackets
	Excerpt   string // the new text, as understood
	// Step and Role are what the reply answered (from the matched mail),
	// so a clarification asks for the same kind of answer.
	Step string
	Role string
}

// Errors the steps return (wrapped).
var (
	// ErrState: the release is not in the state the step needs (e.g.
	// approving a release that was not reported). Wraps ledger.ErrReleaseState.
	ErrState = ledger.ErrReleaseState
	// ErrUnknownPerson: a personal note was asked for an address that is no
	// configured person; fabu never mails strangers (no backscatter).
	ErrUnknownPerson = errors.New("address is not a configured person")
)

func (t *Train) now() time.Time {
	if t.Clock != nil {
		return t.Clock()
	}
	return time.Now()
}

func (t *Train) log() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (t *Train) loc() *time.Location {
	if t.Options.Location != nil {
		return t.Options.Location
	}
	return time.UTC
}

func (t *Train) envs() []string {
	if len(t.Options.Envs) > 0 {
		return t.Options.Envs
	}
	return []string{"SIT", "UAT", "准生产"}
}

func (t *Train) lang() string {
	if t.Templates != nil {
		return t.Templates.Lang()
	}
	return t.Options.Lang
}

func (t *Train) kick() {
	if t.Kick != nil {
		t.Kick()
	}
}

// withRole returns the addresses of the people holding any of roles, in
// configuration order, each once.
func (t *Train) withRole(roles ...string) []outbox.Address {
	var out []outbox.Address
	for _, p := range t.People {
		for _, r := range roles {
			if p.Has(r) {
				out = addAddr(out, outbox.Address{Name: p.Name, Addr: p.Email})
				break
			}
		}
	}
	return out
}

// byName returns the person the ledger names, if configured.
func (t *Train) byName(name string) (Person, bool) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Person{}, false
	}
	for _, p := range t.People {
		if p.Name == name {
			return p, true
		}
	}
	return Person{}, false
}

// byAddr returns the person with address addr (case-insensitive).
func (t *Train) byAddr(addr string) (Person, bool) {
	for _, p := range t.People {
		if strings.EqualFold(p.Email, strings.TrimSpace(addr)) {
			return p, true
		}
	}
	return Person{}, false
}

func addAddr(list []outbox.Address, a outbox.Address) []outbox.Address {
	if a.Addr == "" {
		return list
	}
	for _, x := range list {
		if strings.EqualFold(x.Addr, a.Addr) {
			return list
		}
	}
	return append(list, a)
}

// minus returns list without the addresses in drop.
func minus(list, drop []outbox.Address) []outbox.Address {
	var out []outbox.Address
	for _, a := range list {
		if !slices.ContainsFunc(drop, func(d outbox.Address) bool { return strings.EqualFold(d.Addr, a.Addr) }) {
			out = append(out, a)
		}
	}
	return out
}
