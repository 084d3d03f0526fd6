package imapwatch

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
)

// PermanentError is a failure that retrying will not fix: bad credentials,
// a mailbox that does not exist, an untrusted certificate, a server
// without STARTTLS. At the first connect Run returns it; later the watcher
// logs it and keeps retrying (a password may be fixed on the server).
//
// A Handler returns one (see Permanent) for a mail it can never handle:
// that mail is recorded with verdict "failed" and the watcher moves on.
type PermanentError struct {
	Op  string // what failed, e.g. "login", "select INBOX"
	Err error
}

func (e *PermanentError) Error() string {
	if e.Op == "" {
		return e.Err.Error()
	}
	return e.Op + ": " + e.Err.Error()
}

func (e *PermanentError) Unwrap() error { return e.Err }

// TemporaryError is a failure worth retrying: the network, a server that
// is busy or restarting, a token endpoint that is down, a Handler that
// cannot commit right now.
type TemporaryError struct {
	Op  string
	Err error
}

func (e *TemporaryError) Error() string {
	if e.Op == "" {
		return e.Err.Error()
	}
	return e.Op + ": " + e.Err.Error()
}

func (e *TemporaryError) Unwrap() error { return e.Err }

// Permanent marks err as permanent (for Handlers).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err is (or wraps) a PermanentError.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}

// classifyIMAP wraps an error of an IMAP command: a NO/BAD answer is
// permanent unless its response code says "try later"; anything else
// (network, timeouts) is temporary.
func classifyIMAP(op string, err error) error {
	if err == nil {
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		switch ie.Code {
		case imap.ResponseCodeUnavailable, imap.ResponseCodeInUse, imap.ResponseCodeLimit,
			imap.ResponseCodeServerBug, imap.ResponseCodeOverQuota, imap.ResponseCodeExpired:
			return &TemporaryError{Op: op, Err: err}
		}
		if ie.Type == imap.StatusResponseTypeBye {
			return &TemporaryError{Op: op, Err: err}
		}
		return &PermanentError{Op: op, Err: err}
	}
	return &TemporaryError{Op: op, Err: err}
}

// classifyTLS makes certificate problems permanent (they need a config
// change or reveal an impostor) and every other handshake failure
// temporary.
func classifyTLS(op string, err error) error {
	var (
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		hne x509.HostnameError
		cie x509.CertificateInvalidError
	)
	if errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &hne) || errors.As(err, &cie) {
		return &PermanentError{Op: op, Err: fmt.Errorf("%w (check the server name, or trust its CA in the TLS settings)", err)}
	}
	return &TemporaryError{Op: op, Err: err}
}

// handlerError is a Handler failure on one mail.
type handlerError struct {
	uid       uint32
	messageID string
	err       error
	permanent bool
}

func (e *handlerError) Error() string {
	return fmt.Sprintf("handle mail UID %d %s: %v", e.uid, e.messageID, e.err)
}

func (e *handlerError) Unwrap() error { return e.err }
