package main

import (
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// app holds what every command shares: the global flags and the output
// streams. It is built once per run and passed to the command constructors;
// there are no package-level globals.
type app struct {
	configPath string // --config; "" means fabu.yaml in the working dir if present
	dbPath     string // --db; "" means the config's store path, else ./fabu.db
	logFormat  string // --log-format text|json
	logLevel   string // --log-level debug|info|warn|error

	stdout io.Writer
	stderr io.Writer
}

func newApp(stdout, stderr io.Writer) *app {
	return &app{stdout: stdout, stderr: stderr}
}

// logger returns a slog.Logger writing to stderr in the chosen format.
func (a *app) logger() *slog.Logger {
	level := slog.LevelInfo
	switch a.logLevel {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if a.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(a.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(a.stderr, opts))
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "fabu",
		Short:         "fabu runs a team's weekly release train by mail",
		Long:          "fabu (发布) keeps the maintenance ledger (上线运维台帐), mails the week's test list and reminders,\nreads the manager's reply over IMAP and mails ops the release.",
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError("missing command; see fabu --help")
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", "", "config file (default: ./fabu.yaml when present)")
	pf.StringVar(&a.dbPath, "db", "", "store file (default: the config's store.path, else ./fabu.db)")
	pf.StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return asUsage(err)
	})

	// Each command group lives in its own file: <group>_cmd.go.
	for _, c := range []*cobra.Command{
		newConfigCmd(a),
		newBackupCmd(a),
		newLedgerCmd(a),
		newPlanCmd(a),
		newReplyCmd(a),
		newRunCmd(a),
		newPreviewCmd(a), newReleaseCmd(a), newOutboxCmd(a), newTriggerCmd(a),
		newDemoCmd(a),
	} {
		root.AddCommand(c)
	}
	markUsageErrors(root)
	return root
}

// markUsageErrors makes argument-count errors and unknown subcommands exit 2.
func markUsageErrors(c *cobra.Command) {
	if c.Args != nil {
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			return asUsage(check(cmd, args))
		}
	} else if c.HasSubCommands() {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		}
		if c.RunE == nil && c.Run == nil {
			c.RunE = func(cmd *cobra.Command, args []string) error {
				return usageError("%s needs a subcommand; see %s --help", cmd.CommandPath(), cmd.CommandPath())
			}
		}
	}
	c.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return asUsage(err) })
	for _, sub := range c.Commands() {
		markUsageErrors(sub)
	}
}
