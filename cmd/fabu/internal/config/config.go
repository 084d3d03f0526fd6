// Package config is fabu's configuration file: one struct decoded from YAML
// with unknown keys rejected, defaults, secrets from environment variables
// or files, and Validate, which reports every problem at once with its key
// path, line and a hint.
//
// It is not where the parts are built: cmd turns these sections into the
// options of ledger, mailflow and schedule.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// Config is the whole configuration file.
type Config struct {
	Store     Store     `yaml:"store"`
	Log       Log       `yaml:"log"`
	HTTP      HTTP      `yaml:"http"`
	Train     Train     `yaml:"train"`
	People    []Person  `yaml:"people"`
	SMTP      SMTP      `yaml:"smtp"`
	IMAP      IMAP      `yaml:"imap"`
	Tokens    Tokens    `yaml:"tokens"`
	Templates Templates `yaml:"templates"`
	Ledger    Ledger    `yaml:"ledger"`
	Reply     Reply     `yaml:"reply"`

	// File is the path the config was loaded from ("" for defaults).
	File string `yaml:"-"`
	// source is the YAML text, for line numbers in problems.
	source []byte
}

// Store is the bbolt file.
type Store struct {
	Path        string   `yaml:"path"`         // default ./fabu.db
	LockTimeout Duration `yaml:"lock_timeout"` // default 1.5s
}

// Log chooses the log format and level.
type Log struct {
	Format string `yaml:"format"` // text | json
	Level  string `yaml:"level"`  // debug | info | warn | error
}

// HTTP is the health and metrics listener.
type HTTP struct {
	Listen string `yaml:"listen"` // default 127.0.0.1:9470; "" or "off" disables
}

// Train is the weekly release train.
type Train struct {
	Name         string   `yaml:"name"`         // key prefix in the store; default "default"
	Title        string   `yaml:"title"`        // shown in mails, e.g. 小贷运维
	Timezone     string   `yaml:"timezone"`     // default Asia/Shanghai
	Environments []string `yaml:"environments"` // default SIT, UAT, 准生产
	Schedule     Schedule `yaml:"schedule"`
	// HolidayPolicy: what happens to a step on a day off: "shift" (move to
	// the previous working day; the release day itself on a day off skips
	// the week) or "skip" (skip the step).
	HolidayPolicy   string   `yaml:"holiday_policy"`
	Holidays        []string `yaml:"holidays"`        // extra days off, YYYY-MM-DD
	Workdays        []string `yaml:"workdays"`        // extra working days, YYYY-MM-DD
	Grace           Duration `yaml:"grace"`           // how late a missed step may still run; default 12h
	EmptyWeekNote   *bool    `yaml:"empty_week_note"` // a short note when nothing is to test; default true
	Decision        Decision `yaml:"decision"`
	ReleaseWindow   string   `yaml:"release_window"`   // shown in the ops mail, e.g. 22:00-24:00
	RequireAuth     bool     `yaml:"require_auth"`     // require DKIM/DMARC pass in Authentication-Results
	TrustedAuthServ string   `yaml:"trusted_authserv"` // authserv-id of the server whose Authentication-Results count
}

// Schedule holds a cron spec per step (five fields, seconds optional,
// CRON_TZ= accepted).
type Schedule struct {
	Cut       string     `yaml:"cut"`
	Reminders []Reminder `yaml:"reminders"`
	Report    string     `yaml:"report"`
	Escalate  string     `yaml:"escalate"`
}

// Reminder is one environment reminder.
type Reminder struct {
	Name string `yaml:"name"` // step name, e.g. sit1; default remind-<n>
	Env  string `yaml:"env"`  // one of train.environments
	Cron string `yaml:"cron"`
	Note string `yaml:"note"` // extra line, e.g. SIT closes today
}

// Decision is how managers' replies decide a release.
type Decision struct {
	Rule   string `yaml:"rule"`   // any | quorum
	Quorum int    `yaml:"quorum"` // N approvals for rule quorum
	// Deputy says when a person with the deputy role may decide:
	// after_relay (default: once a manager's out-of-office reply to the
	// report was relayed) or always (like a manager).
	Deputy string `yaml:"deputy"`
}

// Roles a person may hold.
const (
	RoleTester   = "tester"
	RoleTestLead = "test_lead"
	RoleTechLead = "tech_lead"
	RoleManager  = "manager"
	RoleDeputy   = "deputy"
	RoleOps      = "ops"
	RoleAdmin    = "admin"
)

// KnownRoles lists the roles in the order they are documented.
var KnownRoles = []string{RoleTester, RoleTestLead, RoleTechLead, RoleManager, RoleDeputy, RoleOps, RoleAdmin}

// Person is someone the train mails, with the names the ledger uses.
type Person struct {
	Name    string   `yaml:"name"` // as written in the ledger (技术负责人, 测试负责人)
	Email   string   `yaml:"email"`
	Aliases []string `yaml:"aliases"` // other addresses that are the same person
	Roles   []string `yaml:"roles"`
}

// SMTP is the outgoing mail server.
type SMTP struct {
	Host         string   `yaml:"host"`
	Port         int      `yaml:"port"`
	TLS          string   `yaml:"tls"`  // starttls | opportunistic | implicit | none (loopback only)
	Auth         string   `yaml:"auth"` // none | plain | login | cram-md5 | xoauth2
	Username     string   `yaml:"username"`
	PasswordFile string   `yaml:"password_file"` // else $FABU_SMTP_PASSWORD
	From         string   `yaml:"from"`          // e.g. fabu@example.com
	FromName     string   `yaml:"from_name"`
	ReplyTo      string   `yaml:"reply_to"` // mailbox fabu reads; plus-addressed with the token
	PlusAddress  *bool    `yaml:"plus_address"`
	Timeout      Duration `yaml:"timeout"`
	AlertAfter   Duration `yaml:"alert_after"` // a mail still failing after this alerts the admins
	CAFile       string   `yaml:"ca_file"`     // PEM CA certificate(s) trusted besides the system's (a private CA)
	Password     string   `yaml:"-"`
}

// IMAP is the mailbox fabu reads replies from.
type IMAP struct {
	Enabled         *bool    `yaml:"enabled"`
	Host            string   `yaml:"host"`
	Port            int      `yaml:"port"`
	TLS             string   `yaml:"tls"`  // implicit | starttls | none (loopback only)
	Auth            string   `yaml:"auth"` // login | xoauth2
	Username        string   `yaml:"username"`
	PasswordFile    string   `yaml:"password_file"` // else $FABU_IMAP_PASSWORD
	Mailbox         string   `yaml:"mailbox"`       // default INBOX
	PollInterval    Duration `yaml:"poll_interval"` // when IDLE is not offered; default 60s
	IdleRestart     Duration `yaml:"idle_restart"`  // restart IDLE and re-check; default 5m
	ProcessedFolder string   `yaml:"processed_folder"`
	IgnoredFolder   string   `yaml:"ignored_folder"`
	CAFile          string   `yaml:"ca_file"` // PEM CA certificate(s) trusted besides the system's (a private CA)
	Password        string   `yaml:"-"`
}

// Tokens sign the reply tokens.
type Tokens struct {
	SecretFile string   `yaml:"secret_file"` // else $FABU_TOKEN_SECRET
	TTL        Duration `yaml:"ttl"`         // default 336h (two weeks)
	Secret     string   `yaml:"-"`
}

// Templates chooses language and overrides.
type Templates struct {
	Language string `yaml:"language"` // zh-CN (default) | en
	Dir      string `yaml:"dir"`      // overrides: files named like the embedded ones
}

// Ledger configures how sheets are read.
type Ledger struct {
	StatusAliases map[string]string `yaml:"status_aliases"` // word → status
}

// Reply configures how replies are understood.
type Reply struct {
	MaxSize      int64    `yaml:"max_size"` // bytes; default 10 MB
	ApproveWords []string `yaml:"approve_words"`
	RejectWords  []string `yaml:"reject_words"`
	DoneWords    []string `yaml:"done_words"`
}

// Duration is a time.Duration written like 90s, 5m, 12h.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalText reads 90s, 5m, 12h, 2h30m.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%q is not a duration (write it like 90s, 5m or 12h)", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Load reads the config file at path, applies defaults and reads secrets.
// It does not validate; call Validate for the list of problems. A YAML
// syntax error or an unknown key is returned as an error with its line.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.File = path
	return c, nil
}

// Parse decodes YAML text, rejecting unknown keys, and applies defaults.
func Parse(data []byte) (*Config, error) {
	c := &Config{}
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data), yaml.DisallowUnknownField())
		if err := dec.Decode(c); err != nil {
			return nil, errors.New(yaml.FormatError(err, false, true))
		}
	}
	c.source = data
	c.ApplyDefaults()
	return c, nil
}

// Default returns the configuration with every default applied.
func Default() *Config {
	c := &Config{}
	c.ApplyDefaults()
	return c
}

// ApplyDefaults fills unset keys with their defaults.
func (c *Config) ApplyDefaults() {
	def := func(s *string, v string) {
		if strings.TrimSpace(*s) == "" {
			*s = v
		}
	}
	def(&c.Store.Path, "fabu.db")
	if c.Store.LockTimeout == 0 {
		c.Store.LockTimeout = Duration(1500 * time.Millisecond)
	}
	def(&c.Log.Format, "text")
	def(&c.Log.Level, "info")
	def(&c.HTTP.Listen, "127.0.0.1:9470")
	t := &c.Train
	def(&t.Name, "default")
	def(&t.Timezone, "Asia/Shanghai")
	if len(t.Environments) == 0 {
		t.Environments = []string{"SIT", "UAT", "准生产"}
	}
	def(&t.Schedule.Cut, "0 17 * * FRI")
	def(&t.Schedule.Report, "0 18 * * THU")
	def(&t.Schedule.Escalate, "0 21 * * THU")
	if t.Schedule.Reminders == nil {
		t.Schedule.Reminders = DefaultReminders(t.Environments)
	}
	for i := range t.Schedule.Reminders {
		if t.Schedule.Reminders[i].Name == "" {
			t.Schedule.Reminders[i].Name = fmt.Sprintf("remind-%d", i+1)
		}
	}
	def(&t.HolidayPolicy, "shift")
	if t.Grace == 0 {
		t.Grace = Duration(12 * time.Hour)
	}
	if t.EmptyWeekNote == nil {
		v := true
		t.EmptyWeekNote = &v
	}
	def(&t.Decision.Rule, "any")
	def(&t.Decision.Deputy, "after_relay")
	if t.Decision.Quorum == 0 {
		t.Decision.Quorum = 1
	}
	def(&t.ReleaseWindow, "22:00-24:00")
	s := &c.SMTP
	def(&s.Host, "127.0.0.1")
	if s.Port == 0 {
		switch s.TLS {
		case "implicit":
			s.Port = 465
		default:
			s.Port = 587
		}
	}
	def(&s.TLS, "starttls")
	def(&s.Auth, "plain")
	def(&s.From, "fabu@example.com")
	def(&s.FromName, "fabu 发布")
	if s.PlusAddress == nil {
		v := true
		s.PlusAddress = &v
	}
	if s.Timeout == 0 {
		s.Timeout = Duration(30 * time.Second)
	}
	if s.AlertAfter == 0 {
		s.AlertAfter = Duration(2 * time.Hour)
	}
	m := &c.IMAP
	if m.Enabled == nil {
		v := true
		m.Enabled = &v
	}
	def(&m.TLS, "implicit")
	if m.Port == 0 {
		switch m.TLS {
		case "implicit":
			m.Port = 993
		default:
			m.Port = 143
		}
	}
	def(&m.Auth, "login")
	def(&m.Mailbox, "INBOX")
	if m.PollInterval == 0 {
		m.PollInterval = Duration(60 * time.Second)
	}
	if m.IdleRestart == 0 {
		m.IdleRestart = Duration(5 * time.Minute)
	}
	if c.Tokens.TTL == 0 {
		c.Tokens.TTL = Duration(14 * 24 * time.Hour)
	}
	def(&c.Templates.Language, "zh-CN")
	if c.Reply.MaxSize == 0 {
		c.Reply.MaxSize = 10 << 20
	}
}

// DefaultReminders are the seed's reminders: SIT Monday and Tuesday, then
// one per further environment on the following days, at 09:00.
func DefaultReminders(envs []string) []Reminder {
	days := []string{"MON", "TUE", "WED", "THU"}
	var out []Reminder
	if len(envs) == 0 {
		return nil
	}
	out = append(out, Reminder{Name: "sit-1", Env: envs[0], Cron: "0 9 * * MON"})
	out = append(out, Reminder{Name: "sit-2", Env: envs[0], Cron: "0 9 * * TUE", Note: "closes today"})
	for i, e := range envs[1:] {
		if i+2 >= len(days) {
			break
		}
		out = append(out, Reminder{Name: strings.ToLower(fmt.Sprintf("env-%d", i+2)), Env: e, Cron: "0 9 * * " + days[i+2]})
	}
	if len(envs) >= 2 {
		out[2].Name = "uat"
	}
	if len(envs) >= 3 {
		out[3].Name = "preprod"
	}
	if envs[0] != "SIT" {
		out[0].Name, out[1].Name = "env-1-1", "env-1-2"
	}
	return out
}

// ReadSecrets fills the passwords and the token secret from their files or
// the environment variables FABU_SMTP_PASSWORD, FABU_IMAP_PASSWORD and
// FABU_TOKEN_SECRET. getenv is os.Getenv in production.
func (c *Config) ReadSecrets(getenv func(string) string) []Problem {
	var probs []Problem
	read := func(key, file, env string, dst *string) {
		if file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				probs = append(probs, c.problem(key, "cannot read the secret file: "+err.Error(), "check the path and that fabu may read it"))
				return
			}
			*dst = strings.TrimRight(string(b), "\r\n")
			return
		}
		*dst = getenv(env)
	}
	read("smtp.password_file", c.SMTP.PasswordFile, "FABU_SMTP_PASSWORD", &c.SMTP.Password)
	read("imap.password_file", c.IMAP.PasswordFile, "FABU_IMAP_PASSWORD", &c.IMAP.Password)
	read("tokens.secret_file", c.Tokens.SecretFile, "FABU_TOKEN_SECRET", &c.Tokens.Secret)
	return probs
}

// Location returns the train's time zone (UTC if it does not load; Validate
// reports that).
func (c *Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.Train.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// PeopleWithRole returns the people who hold role.
func (c *Config) PeopleWithRole(role string) []Person {
	var out []Person
	for _, p := range c.People {
		for _, r := range p.Roles {
			if r == role {
				out = append(out, p)
				break
			}
		}
	}
	return out
}
