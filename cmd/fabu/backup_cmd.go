package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newBackupCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the store to FILE while fabu runs",
		Long: "backup writes a hot copy of the bbolt store from one read transaction:\n" +
			"the daemon may keep running. Restore by stopping fabu and copying FILE over the store.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.loadConfig()
			if err != nil {
				return err
			}
			s, err := a.openStoreShared(c)
			if err != nil {
				return err
			}
			defer s.Close()
			n, err := s.BackupFile(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "backup of %s written to %s (%d bytes)\n", s.Path(), args[0], n)
			return nil
		},
	}
}
