package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/fabu-team/fabu/ledger"
)

// defaultConfigFile is read when --config is not given and the file exists.
const defaultConfigFile = "fabu.yaml"

// loadConfig reads the config named by --config (or ./fabu.yaml when it
// exists, else the built-in defaults), reads secrets and validates it.
// Any problem is a usage error (exit 2) listing every problem.
func (a *app) loadConfig() (*config.Config, error) {
	c, err := a.loadConfigUnchecked()
	if err != nil {
		return nil, err
	}
	probs := c.ReadSecrets(os.Getenv)
	probs = append(probs, c.Validate()...)
	for _, w := range append(probs, c.SecretWarnings()...) {
		if w.Warning {
			fmt.Fprintln(a.stderr, w.String())
		}
	}
	if errs := config.Problems(probs).Errors(); len(errs) > 0 {
		name := c.File
		if name == "" {
			name = "the defaults"
		}
		return nil, asUsage(fmt.Errorf("config %s has %d problem(s):\n%w", name, len(errs), errs))
	}
	return c, nil
}

// loadConfigUnchecked reads the config without validating it.
func (a *app) loadConfigUnchecked() (*config.Config, error) {
	path := a.configPath
	if path == "" {
		if _, err := os.Stat(defaultConfigFile); err == nil {
			path = defaultConfigFile
		}
	}
	if path == "" {
		return config.Default(), nil
	}
	c, err := config.Load(path)
	if err != nil {
		return nil, asUsage(err)
	}
	return c, nil
}

// storePath is --db, else the config's store.path, else ./fabu.db.
func (a *app) storePath(c *config.Config) string {
	if a.dbPath != "" {
		return a.dbPath
	}
	if c != nil && c.Store.Path != "" {
		return c.Store.Path
	}
	return "fabu.db"
}

// openStore opens the store for a command. cfg may be nil (defaults).
func (a *app) openStore(c *config.Config, clock func() time.Time) (*ledger.Store, error) {
	opts := ledger.Options{Now: clock}
	if c != nil {
		opts.Train = c.Train.Name
		opts.LockTimeout = c.Store.LockTimeout.D()
	}
	s, err := ledger.Open(a.storePath(c), opts)
	if err != nil {
		if errors.Is(err, ledger.ErrLocked) {
			return nil, err
		}
		return nil, err
	}
	return s, nil
}

// statusWords returns the configured status words.
func statusWords(c *config.Config) (*ledger.StatusWords, error) {
	if c == nil || len(c.Ledger.StatusAliases) == 0 {
		return ledger.DefaultStatusWords, nil
	}
	w, err := ledger.NewStatusWords(c.Ledger.StatusAliases)
	if err != nil {
		return nil, asUsage(fmt.Errorf("config ledger.status_aliases: %w", err))
	}
	return w, nil
}

// openStoreShared opens the store for a read-only command: it may run
// beside the daemon only if the daemon is not running (bbolt locks the file),
// so it uses the same lock timeout and a clear error.
func (a *app) openStoreShared(c *config.Config) (*ledger.Store, error) {
	return a.openStore(c, nil)
}
