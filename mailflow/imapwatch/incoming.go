package imapwatch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // GBK, GB18030, Big5 … in encoded headers
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/fabu-team/fabu/ledger"
)

// Incoming is one mail handed to a Handler. Raw is only valid during
// HandleMail; copy what you keep.
type Incoming struct {
	Mailbox      string
	UIDValidity  uint32
	UID          uint32
	Size         int64     // bytes, as the server reported (RFC822.SIZE)
	InternalDate time.Time // when the server received it
	// MessageID is the inbox key: "<id@host>" from the header, or a
	// synthetic "sha256:<hex>" when the mail has none (HasMessageID false).
	MessageID    string
	HasMessageID bool
	From         string // decoded From header, for logs and records
	Subject      string // decoded Subject header
	Raw          []byte // the whole RFC 5322 message, never more than Options.MaxSize
	RawHash      string // hex SHA-256 of Raw
	// Rescan is true when the mail was found by a rescan (first start or
	// UIDVALIDITY change) rather than as new mail.
	Rescan bool
}

// Outcome is what a Handler made of a mail; it is recorded in the inbox.
type Outcome struct {
	// Verdict, e.g. "decided", "ignored", "unclear" (default: "processed"
	// when Processed, else "ignored").
	Verdict string
	Reason  string // why, in words a person can check
	Release string // the release the mail concerned, if any
	Step    string // the step, if any
	// Processed moves the mail to Options.ProcessedFolder (else it goes to
	// Options.IgnoredFolder).
	Processed bool
}

// Handler decides what a mail means. HandleMail runs inside the ledger
// write transaction that also records the mail and advances the IMAP
// cursor, so everything it writes through tx commits together with them,
// exactly once per Message-ID.
//
// Because the transaction may be rolled back and HandleMail called again
// (a later mail of the same batch failed, or the commit failed), it must
// have no effect outside tx: queue mail in the outbox through tx instead
// of sending it. It must not block on the network; the whole store waits
// for it.
//
// Return an error wrapped with Permanent for a mail that can never be
// handled (it is recorded as "failed" and skipped); any other error is
// temporary: nothing is recorded, the cursor stays, and the mail is tried
// again after a backoff.
type Handler interface {
	HandleMail(ctx context.Context, tx *ledger.Tx, m *Incoming) (Outcome, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, tx *ledger.Tx, m *Incoming) (Outcome, error)

// HandleMail calls f.
func (f HandlerFunc) HandleMail(ctx context.Context, tx *ledger.Tx, m *Incoming) (Outcome, error) {
	return f(ctx, tx, m)
}

// maxKeyLen bounds a Message-ID used as a key; longer ones are hashed.
const maxKeyLen = 512

// normalizeMessageID turns a Message-ID header value (with or without
// angle brackets, comments or folding) into the inbox key "<id>", or ""
// when there is none.
func normalizeMessageID(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	v = strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' {
			return -1
		}
		return r
	}, v)
	if v == "" {
		return ""
	}
	key := "<" + v + ">"
	if len(key) > maxKeyLen || !utf8.ValidString(key) {
		sum := sha256.Sum256([]byte(v))
		return "msgid-sha256:" + hex.EncodeToString(sum[:])
	}
	return key
}

// headerInfo is what the watcher reads from a mail's header.
type headerInfo struct {
	messageID string // normalized, "" when absent
	from      string
	subject   string
}

// readHeader parses the header of raw leniently: a mail from outside may
// be malformed, and then only what could be read is returned.
func readHeader(raw []byte) headerInfo {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil && h.Len() == 0 {
		return headerInfo{}
	}
	mh := mail.Header{Header: message.Header{Header: h}}
	info := headerInfo{messageID: normalizeMessageID(h.Get("Message-Id"))}
	if s, err := mh.Subject(); err == nil {
		info.subject = s
	} else {
		info.subject = h.Get("Subject")
	}
	if addrs, err := mh.AddressList("From"); err == nil && len(addrs) > 0 {
		info.from = formatAddress(addrs[0].Name, addrs[0].Address)
	} else if s, err := mh.Text("From"); err == nil {
		info.from = s
	} else {
		info.from = h.Get("From")
	}
	info.from = clean(info.from, 256)
	info.subject = clean(info.subject, 256)
	return info
}

func formatAddress(name, addr string) string {
	if name == "" {
		return addr
	}
	return fmt.Sprintf("%s <%s>", name, addr)
}

// clean drops control characters and invalid UTF-8 and caps s at max runes.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	n := 0
	for _, r := range s {
		if unicode.IsControl(r) {
			r = ' '
		}
		if n == max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

func hashRaw(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}
