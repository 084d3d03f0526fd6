package main

import (
	"crypto/tls"
	"fmt"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
)

// configTLS builds the TLS settings of smtp.ca_file and imap.ca_file: a
// client configuration that trusts the file's CA certificates besides the
// system's. A nil result means the defaults (system CAs only). A bad file
// is a configuration error (exit 2); Validate reports it first.
func configTLS(c *config.Config) (smtpTLS, imapTLS *tls.Config, err error) {
	build := func(key, file string) (*tls.Config, error) {
		if file == "" {
			return nil, nil
		}
		pool, err := config.LoadCAFile(file)
		if err != nil {
			return nil, asUsage(fmt.Errorf("config %s: %w", key, err))
		}
		return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
	}
	if smtpTLS, err = build("smtp.ca_file", c.SMTP.CAFile); err != nil {
		return nil, nil, err
	}
	if imapTLS, err = build("imap.ca_file", c.IMAP.CAFile); err != nil {
		return nil, nil, err
	}
	return smtpTLS, imapTLS, nil
}
