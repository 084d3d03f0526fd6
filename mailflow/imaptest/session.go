package imaptest

import (
	"bytes"
	"crypto/subtle"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
)

// session is an imapmemserver user session with our own logins (passwords
// that can change, XOAUTH2 tokens) and a log of body fetches.
type session struct {
	*imapmemserver.UserSession // nil until logged in

	srv      *Server
	user     string
	selected string
}

var (
	_ imapserver.SessionIMAP4rev2 = (*session)(nil)
	_ imapserver.SessionSASL      = (*session)(nil)
)

func (ss *session) Login(username, password string) error {
	ss.srv.mu.Lock()
	a := ss.srv.users[username]
	ok := a != nil && subtle.ConstantTimeCompare([]byte(password), []byte(a.password)) == 1
	ss.srv.mu.Unlock()
	if !ok {
		return imapserver.ErrAuthFailed
	}
	ss.loggedIn(username, a)
	return nil
}

func (ss *session) loggedIn(username string, a *account) {
	ss.srv.mu.Lock()
	ss.srv.logins++
	ss.srv.mu.Unlock()
	ss.user = username
	ss.UserSession = imapmemserver.NewUserSession(a.mem)
}

func (ss *session) AuthenticateMechanisms() []string { return []string{"PLAIN", "XOAUTH2"} }

func (ss *session) Authenticate(mech string) (sasl.Server, error) {
	switch mech {
	case "PLAIN":
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return imapserver.ErrAuthFailed
			}
			return ss.Login(username, password)
		}), nil
	case "XOAUTH2":
		return &xoauth2Server{check: func(user, token string) bool {
			ss.srv.mu.Lock()
			a := ss.srv.users[user]
			ok := a != nil && a.tokens[token]
			ss.srv.mu.Unlock()
			if ok {
				ss.loggedIn(user, a)
			}
			return ok
		}}, nil
	}
	return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "SASL mechanism not supported"}
}

func (ss *session) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	data, err := ss.UserSession.Select(name, options)
	if err == nil {
		ss.selected = name
	}
	return data, err
}

func (ss *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	if len(options.BodySection) > 0 || len(options.BinarySection) > 0 {
		if uids, ok := numSet.(imap.UIDSet); ok {
			ss.srv.recordBodyFetch(bodyFetch{user: ss.user, mailbox: ss.selected, uids: append(imap.UIDSet(nil), uids...)})
		} else {
			// A body fetch by sequence number: record it as "everything".
			ss.srv.recordBodyFetch(bodyFetch{user: ss.user, mailbox: ss.selected, uids: imap.UIDSet{{Start: 1, Stop: 0}}})
		}
	}
	return ss.UserSession.Fetch(w, numSet, options)
}

func (ss *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if ss.srv.opts.SilentIdle {
		<-stop
		return nil
	}
	// imapmemserver only reports updates that arrive after IDLE began its
	// wait; flush what came in between "+ idling" and now first, so a test
	// that delivers right after the client entered IDLE is not missed.
	if err := ss.UserSession.Poll(w, true); err != nil {
		return err
	}
	return ss.UserSession.Idle(w, stop)
}

// xoauth2Server is the server side of Google's XOAUTH2 SASL mechanism:
// "user=<user>\x01auth=Bearer <token>\x01\x01". A refused token gets a JSON
// error challenge; the client's (empty) answer then ends in NO.
type xoauth2Server struct {
	check  func(user, token string) bool
	failed bool
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, false, imapserver.ErrAuthFailed
	}
	if resp == nil {
		return []byte{}, false, nil // ask for the initial response
	}
	var user, token string
	for _, f := range bytes.Split(resp, []byte{1}) {
		s := string(f)
		switch {
		case strings.HasPrefix(s, "user="):
			user = strings.TrimPrefix(s, "user=")
		case strings.HasPrefix(s, "auth="):
			a := strings.TrimPrefix(s, "auth=")
			if len(a) > 7 && strings.EqualFold(a[:7], "Bearer ") {
				token = a[7:]
			}
		}
	}
	if user == "" || token == "" || !x.check(user, token) {
		x.failed = true
		return []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`), false, nil
	}
	return nil, true, nil
}
