package schedule

import (
	"log/slog"

	"github.com/robfig/cron/v3"
)

// CronLogger adapts a *slog.Logger to cron.Logger, so cron's job wrappers
// (cron.Recover in particular) log through the daemon's logger.
func CronLogger(l *slog.Logger) cron.Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return cronLogger{l: l}
}

type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Info("cron: "+msg, kv...) }

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append([]any{"err", err}, kv...)...)
}

// panicCatcher is a cron.Logger that remembers the panic cron.Recover
// reports, then passes it on, so the runner can record the step as failed.
type panicCatcher struct {
	next cron.Logger
	err  error
}

func (p *panicCatcher) Info(msg string, kv ...any) { p.next.Info(msg, kv...) }

func (p *panicCatcher) Error(err error, msg string, kv ...any) {
	if p.err == nil {
		p.err = err
	}
	p.next.Error(err, msg, kv...)
}
