// Package token makes and checks the reply tokens fabu puts into the mails
// that ask for an answer: in the Reply-To plus-address (fabu+TOKEN@domain),
// as a short id in the subject ([#xxxxxxxx]) and in References. A token
// says which train, release, step and role a reply belongs to and which
// content (digest) it answers, and it expires.
//
// It is not the matching of replies (mailflow/intake does that, also by
// Message-ID) and it stores nothing: the short id → token map is kept by
// the outbox (ledger.SentByToken).
//
// # Format v1
//
//	"v1." + base32(payload ‖ mac)          lower-case RFC 4648 alphabet, no padding
//
//	payload:
//	  release  2 bytes  days since 2000-01-01 (big endian); 0xFFFF → a string field follows
//	  expires  4 bytes  Unix minutes (big endian)
//	  role     1 byte   code of a known role; 0xFF → string field (1 length byte + bytes)
//	  step     1 byte   code of a known step; 0xFF → string field
//	  digest   6 bytes  first 6 bytes of the hex content digest (zero when none)
//	  train    3 bytes  first 3 bytes of SHA-256(train name)
//	mac: the first 10 bytes of HMAC-SHA256(secret, "fabu-token-v1\x00" ‖ payload)
//
// With known role and step codes a token is 27 bytes = 44 characters plus
// "v1.", so "fabu+" + token is 52 characters: within the 64 a local part
// may have, for reply addresses whose local part has up to 11 characters.
// Base32 survives servers that lower- or upper-case local parts, and the
// alphabet needs no quoting in an address or a Message-ID.
//
// The train and the digest are carried as prefixes: Verify returns them
// as such (Claims.TrainTag, Claims.Digest of 12 hex digits) and the caller
// checks them with ForTrain and DigestMatches.
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Prefix starts every v1 token.
const Prefix = "v1."

// Errors Verify returns (wrapped).
var (
	// ErrMalformed: not a token of a known version or not decodable.
	ErrMalformed = errors.New("reply token is malformed")
	// ErrForged: the MAC does not match (not made with our secret, or altered).
	ErrForged = errors.New("reply token is forged or altered")
	// ErrExpired: a genuine token past its expiry.
	ErrExpired = errors.New("reply token has expired")
)

// Claims are what a token binds.
type Claims struct {
	Train   string    // train name (Sign); empty after Verify, see TrainTag
	Release string    // YYYY-MM-DD
	Step    string    // e.g. testlist, sit-1, report, approved
	Role    string    // role whose reply is expected: tester, manager, ops …
	Digest  string    // hex digest of the content mailed; after Verify its first 12 hex digits
	Expires time.Time // minute precision

	// TrainTag is the 3-byte train hash carried by the token (set by Verify).
	TrainTag [3]byte
}

// ForTrain reports whether the claims were signed for train name.
func (c Claims) ForTrain(name string) bool { return c.TrainTag == trainTag(name) }

// DigestMatches reports whether full (a hex digest) is the digest the
// token was bound to. A token bound to no digest matches only "".
func (c Claims) DigestMatches(full string) bool {
	want := digestPrefix(full)
	return hex.EncodeToString(want[:]) == c.Digest || (c.Digest == "" && full == "")
}

var roleCodes = []string{"", "tester", "test_lead", "tech_lead", "manager", "deputy", "ops", "admin"}

var stepCodes = []string{"", "testlist", "report", "escalate", "approved", "clarify", "relay", "outdated",
	"sit-1", "sit-2", "uat", "preprod", "released", "rejected", "receipt", "empty",
	"remind-1", "remind-2", "remind-3", "remind-4", "remind-5", "remind-6", "remind-7", "remind-8",
	"env-1-1", "env-1-2", "env-2", "env-3", "cannotuse"}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	macLen    = 10
	escape    = 0xFF
	maxString = 40
)

// Sign returns the token for c. Release, role and step outside the known
// forms are carried as strings (up to 40 bytes each), making the token
// longer; Sign never fails.
func Sign(c Claims, secret []byte) string {
	p := payload(c)
	mac := sum(secret, p)
	return Prefix + strings.ToLower(b32.EncodeToString(append(p, mac...)))
}

func payload(c Claims) []byte {
	var p []byte
	if d, ok := releaseDay(c.Release); ok {
		p = binary.BigEndian.AppendUint16(p, d)
	} else {
		p = binary.BigEndian.AppendUint16(p, 0xFFFF)
		p = appendString(p, c.Release)
	}
	mins := c.Expires.Unix() / 60
	if mins < 0 {
		mins = 0
	}
	if mins > 0xFFFFFFFF {
		mins = 0xFFFFFFFF
	}
	p = binary.BigEndian.AppendUint32(p, uint32(mins))
	p = appendCoded(p, roleCodes, c.Role)
	p = appendCoded(p, stepCodes, c.Step)
	d := digestPrefix(c.Digest)
	p = append(p, d[:]...)
	tt := trainTag(c.Train)
	return append(p, tt[:]...)
}

func releaseDay(r string) (uint16, bool) {
	t, err := time.Parse("2006-01-02", r)
	if err != nil || t.Before(epoch) {
		return 0, false
	}
	d := int(t.Sub(epoch).Hours() / 24)
	if d >= 0xFFFF {
		return 0, false
	}
	return uint16(d), true
}

func appendCoded(p []byte, table []string, s string) []byte {
	for i, v := range table {
		if v == s {
			return append(p, byte(i))
		}
	}
	p = append(p, escape)
	return appendString(p, s)
}

func appendString(p []byte, s string) []byte {
	if len(s) > maxString {
		s = s[:maxString]
	}
	p = append(p, byte(len(s)))
	return append(p, s...)
}

func digestPrefix(hexDigest string) [6]byte {
	var out [6]byte
	b, err := hex.DecodeString(hexDigest)
	if err != nil || len(b) < 6 {
		return out
	}
	copy(out[:], b)
	return out
}

func trainTag(name string) [3]byte {
	h := sha256.Sum256([]byte(name))
	return [3]byte{h[0], h[1], h[2]}
}

func sum(secret, p []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("fabu-token-v1\x00"))
	m.Write(p)
	return m.Sum(nil)[:macLen]
}

// Verify checks tok with secret at time now and returns its claims. It
// returns an error wrapping ErrMalformed, ErrForged (checked before the
// expiry, so nothing is told about a forged token) or ErrExpired (the
// claims are returned too).
func Verify(tok string, secret []byte, now time.Time) (Claims, error) {
	tok = strings.TrimSpace(tok)
	if len(tok) < len(Prefix) || !strings.EqualFold(tok[:len(Prefix)], Prefix) {
		return Claims{}, fmt.Errorf("%w: it does not start with %q", ErrMalformed, Prefix)
	}
	raw, err := b32.DecodeString(strings.ToUpper(tok[len(Prefix):]))
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(raw) < macLen+1 {
		return Claims{}, fmt.Errorf("%w: too short", ErrMalformed)
	}
	p, mac := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	c, err := decode(p)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !hmac.Equal(mac, sum(secret, p)) {
		return Claims{}, ErrForged
	}
	if !now.Before(c.Expires) {
		return c, fmt.Errorf("%w (at %s)", ErrExpired, c.Expires.UTC().Format(time.RFC3339))
	}
	return c, nil
}

func decode(p []byte) (Claims, error) {
	var c Claims
	r := reader{b: p}
	day := r.u16()
	if day == 0xFFFF {
		c.Release = r.str()
	} else {
		c.Release = epoch.AddDate(0, 0, int(day)).Format("2006-01-02")
	}
	c.Expires = time.Unix(int64(r.u32())*60, 0).UTC()
	c.Role = r.coded(roleCodes)
	c.Step = r.coded(stepCodes)
	d := r.take(6)
	if d != nil && !allZero(d) {
		c.Digest = hex.EncodeToString(d)
	}
	if tt := r.take(3); tt != nil {
		copy(c.TrainTag[:], tt)
	}
	if r.err != nil {
		return Claims{}, r.err
	}
	if len(r.b) != 0 {
		return Claims{}, fmt.Errorf("%d bytes too many", len(r.b))
	}
	return c, nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = errors.New("truncated")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) str() string {
	n := r.take(1)
	if n == nil {
		return ""
	}
	return string(r.take(int(n[0])))
}

func (r *reader) coded(table []string) string {
	b := r.take(1)
	if b == nil {
		return ""
	}
	if b[0] == escape {
		return r.str()
	}
	if int(b[0]) >= len(table) {
		r.err = fmt.Errorf("unknown code %d", b[0])
		return ""
	}
	return table[b[0]]
}

// Short is the short id of a token: 8 lower-case base32 characters of its
// SHA-256, shown in subjects as [#xxxxxxxx] and mapped back to the mail by
// the outbox's token bucket.
func Short(tok string) string {
	h := sha256.Sum256([]byte(strings.ToLower(tok)))
	return strings.ToLower(b32.EncodeToString(h[:5]))
}

// PlusAddress returns local+tok@domain for the address addr, or addr and
// false when the result would exceed 64 characters in the local part (RFC
// 5321) or addr has no @.
func PlusAddress(addr, tok string) (string, bool) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || tok == "" {
		return addr, false
	}
	local := addr[:at]
	if i := strings.IndexByte(local, '+'); i >= 0 {
		local = local[:i]
	}
	local += "+" + tok
	if len(local) > 64 {
		return addr, false
	}
	return local + addr[at:], true
}

// FromAddress extracts the token from a plus-address local+TOKEN@domain,
// or "" when the address carries none.
func FromAddress(addr string) string {
	addr = strings.Trim(strings.TrimSpace(addr), "<>")
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	local := addr[:at]
	i := strings.IndexByte(local, '+')
	if i < 0 {
		return ""
	}
	t := local[i+1:]
	if len(t) < len(Prefix) || !strings.EqualFold(t[:len(Prefix)], Prefix) {
		return ""
	}
	return t
}
