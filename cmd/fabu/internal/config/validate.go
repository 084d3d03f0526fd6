package config

import (
	"fmt"
	"net"
	"net/mail"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/fabu-team/fabu/schedule"
	"github.com/fabu-team/fabu/templates"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
)

// Problem is one thing wrong with the configuration.
type Problem struct {
	Key     string `json:"key"`            // key path, e.g. train.schedule.cut
	Line    int    `json:"line,omitempty"` // line in the file, 0 when the key is absent
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	Warning bool   `json:"warning,omitempty"` // a warning does not stop fabu
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(p.Key)
	if p.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", p.Line)
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	if p.Hint != "" {
		b.WriteString("\n    hint: ")
		b.WriteString(p.Hint)
	}
	return b.String()
}

// Problems is a list of problems; as an error it prints them all.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Errors returns the problems that are not warnings.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// problem builds a Problem for key with the line where the key is written.
func (c *Config) problem(key, msg, hint string) Problem {
	return Problem{Key: key, Line: c.lineOf(key), Message: msg, Hint: hint}
}

// lineOf finds the line of a key path like "train.schedule.reminders[1].cron".
func (c *Config) lineOf(key string) int {
	if len(c.source) == 0 {
		return 0
	}
	// Walk up the path until a node is found.
	for k := key; k != ""; {
		p, err := yaml.PathString("$." + k)
		if err == nil {
			file, perr := parser.ParseBytes(c.source, 0)
			if perr == nil {
				if n, ferr := p.FilterFile(file); ferr == nil && n != nil {
					return n.GetToken().Position.Line
				}
			}
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

// Validate returns every problem at once (errors and warnings).
func (c *Config) Validate() Problems {
	var ps Problems
	add := func(key, msg, hint string) { ps = append(ps, c.problem(key, msg, hint)) }
	warn := func(key, msg, hint string) {
		p := c.problem(key, msg, hint)
		p.Warning = true
		ps = append(ps, p)
	}

	if !slices.Contains([]string{"text", "json"}, c.Log.Format) {
		add("log.format", fmt.Sprintf("%q is not a log format", c.Log.Format), "use text or json")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		add("log.level", fmt.Sprintf("%q is not a log level", c.Log.Level), "use debug, info, warn or error")
	}
	if c.HTTP.Listen != "off" {
		if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			add("http.listen", fmt.Sprintf("%q is not host:port", c.HTTP.Listen), "e.g. 127.0.0.1:9470, or off")
		}
	}

	// Train.
	t := c.Train
	if strings.ContainsAny(t.Name, "/\x00") || strings.TrimSpace(t.Name) != t.Name {
		add("train.name", fmt.Sprintf("%q is not a usable train name", t.Name), "use letters, digits and dashes")
	}
	if _, err := time.LoadLocation(t.Timezone); err != nil {
		add("train.timezone", fmt.Sprintf("unknown time zone %q", t.Timezone), "an IANA name such as Asia/Shanghai")
	}
	seenEnv := map[string]bool{}
	for i, e := range t.Environments {
		if strings.TrimSpace(e) == "" {
			add(fmt.Sprintf("train.environments[%d]", i), "empty environment name", "e.g. SIT, UAT, 准生产")
		}
		if seenEnv[e] {
			add(fmt.Sprintf("train.environments[%d]", i), fmt.Sprintf("environment %q listed twice", e), "list each environment once")
		}
		seenEnv[e] = true
	}
	checkCron := func(key, spec string) {
		if strings.TrimSpace(spec) == "" {
			add(key, "missing cron spec", `five fields, e.g. "0 17 * * FRI"`)
			return
		}
		if _, err := schedule.ParseSpec(spec); err != nil {
			add(key, fmt.Sprintf("bad cron spec %q: %v", spec, err), `five fields (minute hour day-of-month month day-of-week), seconds optional, e.g. "0 9 * * MON"; CRON_TZ=Asia/Shanghai may prefix it`)
		}
	}
	checkCron("train.schedule.cut", t.Schedule.Cut)
	checkCron("train.schedule.report", t.Schedule.Report)
	checkCron("train.schedule.escalate", t.Schedule.Escalate)
	names := map[string]bool{"cut": true, "report": true, "escalate": true}
	for i, r := range t.Schedule.Reminders {
		key := fmt.Sprintf("train.schedule.reminders[%d]", i)
		checkCron(key+".cron", r.Cron)
		if !seenEnv[r.Env] {
			add(key+".env", fmt.Sprintf("environment %q is not in train.environments", r.Env), "use one of: "+strings.Join(t.Environments, ", "))
		}
		if names[r.Name] {
			add(key+".name", fmt.Sprintf("step name %q is used twice", r.Name), "give every reminder its own name")
		}
		names[r.Name] = true
	}
	if !slices.Contains([]string{"shift", "skip"}, t.HolidayPolicy) {
		add("train.holiday_policy", fmt.Sprintf("%q is not a policy", t.HolidayPolicy), "use shift (move to the previous working day) or skip")
	}
	for i, d := range t.Holidays {
		if _, err := time.Parse("2006-01-02", d); err != nil {
			add(fmt.Sprintf("train.holidays[%d]", i), fmt.Sprintf("%q is not a date", d), "write YYYY-MM-DD")
		}
	}
	for i, d := range t.Workdays {
		if _, err := time.Parse("2006-01-02", d); err != nil {
			add(fmt.Sprintf("train.workdays[%d]", i), fmt.Sprintf("%q is not a date", d), "write YYYY-MM-DD")
		}
	}
	if t.Grace < 0 {
		add("train.grace", "negative grace period", "e.g. 12h")
	}
	switch t.Decision.Rule {
	case "any":
	case "quorum":
		if n := len(c.PeopleWithRole(RoleManager)); t.Decision.Quorum < 1 || (n > 0 && t.Decision.Quorum > n) {
			add("train.decision.quorum", fmt.Sprintf("quorum %d does not fit %d managers", t.Decision.Quorum, n), "a number from 1 to the number of managers")
		}
	default:
		add("train.decision.rule", fmt.Sprintf("%q is not a decision rule", t.Decision.Rule), "use any (one manager decides) or quorum (N of M)")
	}
	switch t.Decision.Deputy {
	case "after_relay", "always":
	default:
		add("train.decision.deputy", fmt.Sprintf("%q is not a deputy policy", t.Decision.Deputy), "use after_relay (a deputy decides once a manager's out-of-office was relayed) or always")
	}
	if t.RequireAuth && t.TrustedAuthServ == "" {
		add("train.trusted_authserv", "require_auth needs the authserv-id of your mail server", "the first word of the Authentication-Results header your server stamps, e.g. mx.example.com")
	}

	// People.
	seenMail := map[string]int{}
	for i, p := range c.People {
		key := fmt.Sprintf("people[%d]", i)
		if strings.TrimSpace(p.Name) == "" {
			add(key+".name", "a person needs a name", "the name as the ledger writes it, e.g. 琳琳")
		}
		for j, a := range append([]string{p.Email}, p.Aliases...) {
			k := key + ".email"
			if j > 0 {
				k = fmt.Sprintf("%s.aliases[%d]", key, j-1)
			}
			if _, err := mail.ParseAddress(a); err != nil || !strings.Contains(a, "@") {
				add(k, fmt.Sprintf("%q is not a mail address", a), "e.g. linlin@example.com")
				continue
			}
			la := strings.ToLower(a)
			if prev, ok := seenMail[la]; ok && prev != i {
				add(k, fmt.Sprintf("%s is also people[%d]", a, prev), "one address belongs to one person")
			}
			seenMail[la] = i
		}
		if len(p.Roles) == 0 {
			add(key+".roles", "no roles", "one or more of: "+strings.Join(KnownRoles, ", "))
		}
		for j, r := range p.Roles {
			if !slices.Contains(KnownRoles, r) {
				add(fmt.Sprintf("%s.roles[%d]", key, j), fmt.Sprintf("unknown role %q", r), "one of: "+strings.Join(KnownRoles, ", "))
			}
		}
	}
	if len(c.People) > 0 {
		for _, r := range []string{RoleTester, RoleManager, RoleOps} {
			if len(c.PeopleWithRole(r)) == 0 {
				warn("people", "nobody has the role "+r, "the train has nobody to mail for that step")
			}
		}
	}

	// SMTP.
	s := c.SMTP
	if !slices.Contains([]string{"starttls", "opportunistic", "implicit", "none"}, s.TLS) {
		add("smtp.tls", fmt.Sprintf("%q is not a TLS mode", s.TLS), "starttls, opportunistic, implicit (port 465) or none (loopback only)")
	} else if s.TLS == "none" && !isLoopback(s.Host) {
		add("smtp.tls", "tls none is allowed only for a loopback host, not "+s.Host, "use starttls or implicit")
	}
	if !slices.Contains([]string{"none", "plain", "login", "cram-md5", "xoauth2"}, s.Auth) {
		add("smtp.auth", fmt.Sprintf("%q is not an AUTH mechanism", s.Auth), "none, plain, login, cram-md5 or xoauth2")
	}
	if s.Port < 1 || s.Port > 65535 {
		add("smtp.port", fmt.Sprintf("port %d is out of range", s.Port), "usually 587 (starttls) or 465 (implicit)")
	}
	if _, err := mail.ParseAddress(s.From); err != nil {
		add("smtp.from", fmt.Sprintf("%q is not a mail address", s.From), "the address fabu sends from")
	}
	if s.ReplyTo != "" {
		if _, err := mail.ParseAddress(s.ReplyTo); err != nil {
			add("smtp.reply_to", fmt.Sprintf("%q is not a mail address", s.ReplyTo), "the mailbox fabu reads replies from")
		}
	}
	if s.Timeout < 0 {
		add("smtp.timeout", "negative timeout", "e.g. 30s")
	}
	if s.CAFile != "" {
		if _, err := LoadCAFile(s.CAFile); err != nil {
			add("smtp.ca_file", err.Error(), "a PEM file with the CA certificate(s) that signed the server's certificate, or leave it empty")
		}
	}

	// IMAP.
	m := c.IMAP
	if !slices.Contains([]string{"implicit", "starttls", "none"}, m.TLS) {
		add("imap.tls", fmt.Sprintf("%q is not a TLS mode", m.TLS), "implicit (port 993), starttls or none (loopback only)")
	} else if m.TLS == "none" && m.Host != "" && !isLoopback(m.Host) {
		add("imap.tls", "tls none is allowed only for a loopback host, not "+m.Host, "use implicit or starttls")
	}
	if !slices.Contains([]string{"login", "xoauth2"}, m.Auth) {
		add("imap.auth", fmt.Sprintf("%q is not an auth mechanism", m.Auth), "login or xoauth2")
	}
	if m.PollInterval.D() < time.Second {
		add("imap.poll_interval", "poll interval under 1s", "e.g. 60s")
	}
	if m.CAFile != "" {
		if _, err := LoadCAFile(m.CAFile); err != nil {
			add("imap.ca_file", err.Error(), "a PEM file with the CA certificate(s) that signed the server's certificate, or leave it empty")
		}
	}
	if m.IdleRestart.D() < 10*time.Second || m.IdleRestart.D() > 29*time.Minute {
		add("imap.idle_restart", "IDLE must be restarted between every 10s and 29m", "e.g. 5m")
	}

	// Tokens, templates, reply.
	if c.Tokens.TTL.D() < time.Hour {
		add("tokens.ttl", "token lifetime under an hour", "e.g. 336h (two weeks)")
	}
	if !slices.Contains([]string{"zh-CN", "en"}, c.Templates.Language) {
		add("templates.language", fmt.Sprintf("%q is not a language fabu has templates for", c.Templates.Language), "zh-CN or en")
	}
	if c.Templates.Dir != "" {
		if fi, err := os.Stat(c.Templates.Dir); err != nil || !fi.IsDir() {
			add("templates.dir", fmt.Sprintf("%q is not a folder", c.Templates.Dir), "a folder with template overrides, or leave it empty")
		} else if slices.Contains(templates.Languages, c.Templates.Language) {
			// Parse and try every override now, not on Friday at 17:00.
			if _, err := templates.Load(c.Templates.Language, c.Templates.Dir); err != nil {
				add("templates.dir", err.Error(), "fix the template at the file and line shown, or remove the file to use the built-in one")
			}
		}
	}
	if c.Reply.MaxSize < 1024 {
		add("reply.max_size", "size limit under 1 KB", "bytes, e.g. 10485760")
	}
	for word, st := range c.Ledger.StatusAliases {
		if strings.TrimSpace(word) == "" || strings.TrimSpace(st) == "" {
			add("ledger.status_aliases", "empty alias", "word: status, e.g. 待测试: dev_done")
		}
	}
	return ps
}

// SecretWarnings warns when the config file that holds secret file paths or
// the secret files themselves are readable by others.
func (c *Config) SecretWarnings() Problems {
	var ps Problems
	check := func(key, path string) {
		if path == "" {
			return
		}
		fi, err := os.Stat(path)
		if err != nil {
			return
		}
		if fi.Mode().Perm()&0o044 != 0 {
			p := c.problem(key, fmt.Sprintf("%s is readable by others (mode %v)", path, fi.Mode().Perm()), "chmod 600 "+path)
			p.Warning = true
			ps = append(ps, p)
		}
	}
	check("smtp.password_file", c.SMTP.PasswordFile)
	check("imap.password_file", c.IMAP.PasswordFile)
	check("tokens.secret_file", c.Tokens.SecretFile)
	return ps
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
