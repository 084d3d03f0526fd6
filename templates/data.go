package templates

// Data is everything a mail template may use. One struct serves every
// mail; each mail uses the fields its documentation names (unused fields
// are zero). All text is plain: the HTML templates escape it, and the
// subject is cleaned of line breaks after rendering.
type Data struct {
	Lang       string // "zh-CN" or "en" (set by Render)
	Tag        string // subject tag: 【fabu】 or [fabu] (set by Render when empty)
	Title      string // the train's title, e.g. 小贷运维 (may be empty)
	Train      string // the train's name
	Release    string // YYYY-MM-DD
	ReleaseDay string // the release date for people, e.g. 12月3日（周四） / Thu 3 Dec
	Step       string // step name, e.g. testlist, sit-1, report
	Sent       string // when the mail was made, local time "2006-01-02 15:04"

	// Late is set when the step ran after its time (e.g. fabu was down).
	Late *Late
	// Skipped lists steps that did not run since the last mail (shown
	// once, in the next mail).
	Skipped []Skipped
	// Changes are entries added to / removed from the release by hand since
	// the last mail.
	Changes []Change

	// Envs are the test environments in order (SIT, UAT, 准生产).
	Envs []string
	// Groups are the release's entries grouped by system (test list,
	// report, ops mail, notes). With HasResults every entry carries one
	// Cell per environment.
	Groups     []Group
	Count      int  // number of entries
	SQLCount   int  // entries with SQL scripts
	HasResults bool // at least one result is known: show the matrix

	// Reminder.
	Env      string      // environment the reminder is about
	Note     string      // extra line from the configuration, e.g. "SIT 今天截止"
	Leads    []LeadGroup // entries not yet passed in Env, per test lead
	Untested int         // number of entries not yet passed in Env

	// Report and ops mail.
	Failures  []Entry // entries with a failed result
	Excluded  []Entry // ops mail: entries left out because a test failed
	AllPassed bool    // every entry passed every environment
	Early     bool    // the report went out early because all passed
	Window    string  // tonight's release window, e.g. 22:00-24:00

	// Decisions and replies.
	Decision   *Decision // the decision a mail reports (approval, rejection, release)
	Reply      *Reply    // the reply a notice is about (clarify, cannot use, outdated)
	Understood string    // clarify: what fabu understood of the reply
	Problem    string    // cannot use: why the reply was not used (plain words)
	Recipient  string    // the name of the person a personal note is for
	// Expect is the kind of reply a mail asks for, so the instructions fit:
	// "decision" (managers: 同意 / 驳回), "results" (testers), "done" (ops).
	Expect  string
	ReplyTo string // the address replies go to (for instructions)
	Away    *Away  // out-of-office relay
	// Tally is where an N-of-M decision stands after a vote (vote receipt).
	Tally *Tally
	// ForManagers: the escalation's managers version (else the team note).
	ForManagers bool

	// Alert is set for the outbox alert to the admins.
	Alert *Alert
}

// Late says that a step ran after its planned time, and why.
type Late struct {
	Due    string // planned time, "2006-01-02 15:04"
	Reason string // e.g. "fabu was not running"
}

// Skipped is a step that did not run.
type Skipped struct {
	Step   string // step name
	Due    string // planned time
	Reason string // e.g. "public holiday", "the day had passed when fabu started"
}

// Change is an entry added to or removed from an open release by hand.
type Change struct {
	Op      string // "add" or "remove"
	ID      string
	Summary string // system and function of the entry
	Who     string
	At      string
	Note    string
}

// Group is the entries of one system.
type Group struct {
	System  string
	Entries []Entry
}

// LeadGroup is the entries one test lead still has to test.
type LeadGroup struct {
	Lead    string // test lead's name, or "" for entries without one
	Entries []Entry
}

// Entry is one ledger entry as a mail shows it.
type Entry struct {
	ID             string
	System         string
	Subsystem      string
	Module         string
	Function       string
	Category       string
	Description    string
	SQL            bool
	Priority       string // 高/中/低 or high/medium/low
	Status         string
	TechLead       string
	TestLead       string
	TestStart      string
	TestFinish     string
	RequirementDoc string
	DocURL         string // RequirementDoc when it is an http(s) link (else "")
	RelatedSystems string
	TestOpinion    string
	Cells          []Cell // one per environment, in Envs order (when HasResults)
	Failed         bool   // a result is fail
}

// Cell is one entry's result in one environment.
type Cell struct {
	Env   string
	State string // "pass", "fail" or "pending"
	Note  string
	Who   string
	At    string
}

// Decision is a manager's or ops' word.
type Decision struct {
	Who     string
	Email   string
	At      string
	Words   string // the words that decided it
	Verdict string // approve, reject, done
	Reason  string
}

// Reply is a mail fabu received and answers.
type Reply struct {
	From      string // address
	Name      string // person's name when known
	Subject   string
	Date      string
	MessageID string
	Excerpt   string // the new text, shortened
}

// Away is a manager's out-of-office notice relayed to the deputies.
type Away struct {
	Name  string
	Email string
	Text  string // the auto-reply's text, shortened
	// Informed are the names of the test leads copied so they know the
	// release waits for a decision (may be empty).
	Informed []string
	// Nobody: no deputy and no other manager may decide; the mail only
	// tells the test leads and admins that the release waits (it asks for
	// no answer).
	Nobody bool
}

// Tally is the count a vote receipt reports: the decider's vote (Data's
// Decision) was recorded and counts toward the rule, which it does not
// meet yet.
type Tally struct {
	Have int // distinct deciders who gave this verdict on the current report, this one included
	Need int // how many it takes to decide the release
}

// Alert reports a mail the outbox could not deliver.
type Alert struct {
	MessageID string
	Subject   string
	Release   string
	Step      string
	Queued    string
	Attempts  int
	LastError string
	Failed    []AlertRecipient // recipients refused for good
	Pending   []string         // recipients still waiting
}

// AlertRecipient is a recipient the server refused.
type AlertRecipient struct {
	Addr  string
	Code  int
	Error string
}
