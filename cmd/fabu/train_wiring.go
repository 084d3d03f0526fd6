package main

import (
	"fmt"
	"log/slog"
	"net/mail"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/outbox"
	"github.com/fabu-team/fabu/mailflow/train"
	"github.com/fabu-team/fabu/templates"
)

// trainPeople turns the configured people into the train's people.
func trainPeople(c *config.Config) []train.Person {
	out := make([]train.Person, 0, len(c.People))
	for _, p := range c.People {
		out = append(out, train.Person{Name: p.Name, Email: plainAddr(p.Email), Roles: append([]string(nil), p.Roles...)})
	}
	return out
}

// plainAddr reduces "Name <a@b>" (which the config accepts) to a@b.
func plainAddr(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Address
	}
	return s
}

// fromAddr is the From address and name: smtp.from may carry a name too.
func fromAddr(c *config.Config) outbox.Address {
	from := outbox.Address{Name: c.SMTP.FromName, Addr: c.SMTP.From}
	if a, err := mail.ParseAddress(c.SMTP.From); err == nil {
		from.Addr = a.Address
		if from.Name == "" {
			from.Name = a.Name
		}
	}
	return from
}

// trainOptions builds the train's options from the configuration. The
// token secret is left as configured (it may be empty).
func trainOptions(c *config.Config) train.Options {
	o := train.Options{
		TrainName:     c.Train.Name,
		Title:         c.Train.Title,
		Envs:          append([]string(nil), c.Train.Environments...),
		Lang:          c.Templates.Language,
		From:          fromAddr(c),
		ReplyTo:       plainAddr(c.SMTP.ReplyTo),
		PlusAddress:   c.SMTP.PlusAddress == nil || *c.SMTP.PlusAddress,
		TokenSecret:   []byte(c.Tokens.Secret),
		TokenTTL:      c.Tokens.TTL.D(),
		ReleaseWindow: c.Train.ReleaseWindow,
		Location:      c.Location(),
		EmptyWeekNote: c.Train.EmptyWeekNote == nil || *c.Train.EmptyWeekNote,
	}
	for _, r := range c.Train.Schedule.Reminders {
		o.Reminders = append(o.Reminders, train.Reminder{Name: r.Name, Env: r.Env, Note: r.Note})
	}
	return o
}

// loadTemplates loads the configured language and override folder; a bad
// override is a configuration error (exit 2) naming its file and line.
func loadTemplates(c *config.Config) (*templates.Set, error) {
	set, err := templates.Load(c.Templates.Language, c.Templates.Dir)
	if err != nil {
		return nil, asUsage(fmt.Errorf("config templates (language %s, dir %q): %w", c.Templates.Language, c.Templates.Dir, err))
	}
	return set, nil
}

// buildTrain builds the train's mail steps for the daemon and the CLI.
// Without a configured token secret the reply tokens are signed with a
// random secret kept in the store (made on first use), so tokens stay
// valid across restarts; c.Tokens.Secret is set to it for the intake.
func buildTrain(c *config.Config, store *ledger.Store, now func() time.Time, log *slog.Logger) (*train.Train, error) {
	set, err := loadTemplates(c)
	if err != nil {
		return nil, err
	}
	if c.Tokens.Secret == "" {
		sec, err := store.Secret("reply-token")
		if err != nil {
			return nil, err
		}
		c.Tokens.Secret = string(sec)
		log.Debug("reply tokens are signed with the store's own secret (set FABU_TOKEN_SECRET or tokens.secret_file to choose one)")
	}
	o := trainOptions(c)
	return &train.Train{Store: store, Templates: set, People: trainPeople(c), Options: o, Clock: now, Logger: log}, nil
}

// nextReleaseDay is the coming Thursday (after today) in the train's zone,
// the default release of `fabu trigger cut`.
func nextReleaseDay(c *config.Config, now time.Time) string {
	t := now.In(c.Location())
	days := (int(time.Thursday) - int(t.Weekday()) + 7) % 7
	if days == 0 {
		days = 7
	}
	return t.AddDate(0, 0, days).Format("2006-01-02")
}
