// Command fabu runs a team's weekly release train by mail: it keeps the
// maintenance ledger, mails the test list and reminders, reads the manager's
// reply over IMAP and mails ops the release.
//
// main is thin: it parses flags through the command tree in root.go and maps
// errors to exit codes (2 for usage and config errors, 1 for everything else).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	os.Exit(exitCode(err))
}

// run builds the command tree and executes it with args.
func run(ctx context.Context, args []string) error {
	a := newApp(os.Stdout, os.Stderr)
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fabu:", err)
	}
	return err
}

// exitCode maps an error from run to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}
