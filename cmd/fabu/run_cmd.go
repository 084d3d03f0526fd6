package main

import (
	"github.com/spf13/cobra"
)

func newRunCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the daemon: scheduler, outbox, IMAP watcher, /healthz and /metrics",
		Long: "run starts fabu under one root context: the scheduler fires the train's steps,\n" +
			"the outbox worker sends their mail, the IMAP watcher reads the replies.\n" +
			"SIGINT or SIGTERM stops it within 10 s; unsent mail stays in the outbox.\n" +
			"It exits non-zero when it cannot start (config, store in use, bad credentials).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			a.logFormat, a.logLevel = pick(cmd, "log-format", a.logFormat, cfg.Log.Format), pick(cmd, "log-level", a.logLevel, cfg.Log.Level)
			log := a.logger()
			clock, err := testClockFromEnv()
			if err != nil {
				return asUsage(err)
			}
			opts := daemonOptions{Logger: log}
			if opts.SMTPTLS, opts.IMAPTLS, err = configTLS(cfg); err != nil {
				return err
			}
			if clock != nil {
				log.Warn("TEST CLOCK in use: this binary was built with -tags fabutest", "now", clock.Now())
				opts.Clock = clock
			}
			d, err := newDaemon(cfg, a.storePath(cfg), opts)
			if err != nil {
				return err
			}
			defer d.Close()
			return d.Run(cmd.Context())
		},
	}
}

// pick returns the flag's value when it was set on the command line, else
// the config's.
func pick(cmd *cobra.Command, flag, flagVal, cfgVal string) string {
	if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
		return flagVal
	}
	if cfgVal != "" {
		return cfgVal
	}
	return flagVal
}
