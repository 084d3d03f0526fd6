package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/spf13/cobra"
)

func newConfigCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check the configuration",
	}
	var asJSON bool
	check := &cobra.Command{
		Use:   "check",
		Short: "Print every problem of the config at once (exit 2 if any)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.loadConfigUnchecked()
			if err != nil {
				return err
			}
			probs := c.ReadSecrets(os.Getenv)
			probs = append(probs, c.Validate()...)
			probs = append(probs, c.SecretWarnings()...)
			if asJSON {
				if probs == nil {
					probs = config.Problems{}
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(probs); err != nil {
					return err
				}
			} else {
				for _, p := range probs {
					fmt.Fprintln(a.stdout, p.String())
				}
			}
			name := c.File
			if name == "" {
				name = "built-in defaults"
			}
			if n := len(config.Problems(probs).Errors()); n > 0 {
				return usageError("config %s: %d problem(s)", name, n)
			}
			if !asJSON {
				fmt.Fprintf(a.stdout, "config %s: ok\n", name)
			}
			return nil
		},
	}
	check.Flags().BoolVar(&asJSON, "json", false, "print the problems as a JSON array")
	cmd.AddCommand(check)
	return cmd
}
