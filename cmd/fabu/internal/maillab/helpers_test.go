package maillab

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	alice = "alice@maillab.test"
	bob   = "bob@maillab.test"
)

func labOptions() Options {
	return Options{
		Users: []User{
			{Email: alice, Password: "alice-secret"},
			{Email: bob, Password: "bob secret with spaces"},
		},
		Mailboxes: []string{"Archive"},
	}
}

// testCtx bounds one test's mail operations.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var msgSeq atomic.Int64

// newMessage builds a small RFC 5322 message (CRLF line ends, 8-bit
// UTF-8 body) with a unique Message-ID, returned without brackets.
func newMessage(t *testing.T, from, to, subject string) (raw []byte, id string) {
	t.Helper()
	id = fmt.Sprintf("%s.%d.%d@maillab.test", strings.ReplaceAll(t.Name(), "/", "."), time.Now().UnixNano(), msgSeq.Add(1))
	lines := []string{
		"From: " + from,
		"To: " + to,
		"Subject: " + subject,
		"Date: " + time.Now().Format(time.RFC1123Z),
		"Message-ID: <" + id + ">",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: 8bit",
		"",
		"本周发布列车：请回复 yes 或 no。",
		"This week's release train.",
		"",
	}
	return []byte(strings.Join(lines, "\r\n")), id
}
