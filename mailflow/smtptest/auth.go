package smtptest

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// loginServer is the server side of AUTH LOGIN (username, then password).
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp != nil { // initial response: the username
			l.user = string(resp)
			l.step = 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(resp)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, false, errors.New("unexpected LOGIN step")
}

// cramServer is the server side of AUTH CRAM-MD5 (RFC 2195).
type cramServer struct {
	challenge []byte
	user      string
	pass      string
	ok        func(user string) error
}

func newCRAMServer(user, pass string, ok func(string) error) *cramServer {
	var b [8]byte
	rand.Read(b[:])
	ch := fmt.Sprintf("<%x.%d@sink.localhost>", b, time.Now().UnixNano())
	return &cramServer{challenge: []byte(ch), user: user, pass: pass, ok: ok}
}

func (c *cramServer) Next(resp []byte) ([]byte, bool, error) {
	if resp == nil {
		return c.challenge, false, nil
	}
	user, digest, found := strings.Cut(string(resp), " ")
	if !found || user != c.user {
		return nil, false, smtp.ErrAuthFailed
	}
	m := hmac.New(md5.New, []byte(c.pass))
	m.Write(c.challenge)
	if !hmac.Equal([]byte(hex.EncodeToString(m.Sum(nil))), []byte(digest)) {
		return nil, false, smtp.ErrAuthFailed
	}
	return nil, true, c.ok(user)
}

// xoauth2Server is the server side of AUTH XOAUTH2 (Google/Microsoft):
// "user=U\x01auth=Bearer T\x01\x01".
type xoauth2Server struct {
	check func(user, token string) error
	done  bool
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.done {
		return nil, true, nil
	}
	if resp == nil {
		return []byte{}, false, nil
	}
	var user, token string
	for _, f := range bytes.Split(resp, []byte{1}) {
		k, v, _ := strings.Cut(string(f), "=")
		switch k {
		case "user":
			user = v
		case "auth":
			token = strings.TrimPrefix(v, "Bearer ")
		}
	}
	x.done = true
	return nil, true, x.check(user, token)
}
