package imapwatch

import (
	"context"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
)

// xoauth2Client is the client side of Google's and Microsoft's XOAUTH2
// SASL mechanism (go-sasl has OAUTHBEARER only). The initial response is
// "user=<user>\x01auth=Bearer <token>\x01\x01". A refused token gets a
// base64 JSON error as a challenge, which the client must answer with an
// empty response to receive the final NO.
type xoauth2Client struct {
	username, token string
	serverErr       string // the JSON error the server sent, if any
}

var _ sasl.Client = (*xoauth2Client)(nil)

func (x *xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.username + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

func (x *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	x.serverErr = string(challenge)
	return []byte{}, nil
}

// login authenticates s according to the options.
func (w *Watcher) login(ctx context.Context, s *conn) error {
	caps := s.c.Caps()
	switch w.o.Auth {
	case AuthXOAUTH2:
		if caps != nil && !caps.Has(imap.AuthCap("XOAUTH2")) {
			return &PermanentError{Op: "login", Err: fmt.Errorf("server %s does not offer AUTH=XOAUTH2; use auth: login", w.o.Addr)}
		}
		token := w.o.Password
		if w.o.Token != nil {
			var err error
			if token, err = w.o.Token(ctx); err != nil {
				return &TemporaryError{Op: "get XOAUTH2 token", Err: err}
			}
		}
		x := &xoauth2Client{username: w.o.Username, token: token}
		s.wd.arm(w.o.CommandTimeout)
		err := s.c.Authenticate(x)
		s.wd.disarm()
		if err != nil {
			if x.serverErr != "" {
				err = fmt.Errorf("%w (server said %s)", err, x.serverErr)
			}
			return classifyIMAP(fmt.Sprintf("XOAUTH2 login as %s", w.o.Username), s.wd.explain(err))
		}
	default:
		if caps.Has(imap.CapLoginDisabled) {
			return &PermanentError{Op: "login", Err: fmt.Errorf("server %s refuses LOGIN on this connection (LOGINDISABLED); use tls: implicit or starttls", w.o.Addr)}
		}
		s.wd.arm(w.o.CommandTimeout)
		err := s.c.Login(w.o.Username, w.o.Password).Wait()
		s.wd.disarm()
		if err != nil {
			return classifyIMAP(fmt.Sprintf("login as %s (check the username and password)", w.o.Username), s.wd.explain(err))
		}
	}
	return nil
}
