package token

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

const digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestSignVerifyRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		claims Claims
		maxLen int
	}{
		{"test list", Claims{Train: "default", Release: "2026-12-03", Step: "testlist", Role: "tester", Digest: digest}, 47},
		{"report", Claims{Train: "小贷", Release: "2026-12-03", Step: "report", Role: "manager", Digest: digest}, 47},
		{"custom step and role", Claims{Train: "t", Release: "2026-12-03", Step: "smoke-check", Role: "qa"}, 72},
		{"no digest", Claims{Train: "t", Release: "2026-12-03", Step: "approved", Role: "ops"}, 47},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.claims.Expires = now.Add(336 * time.Hour)
			tok := Sign(tc.claims, secret)
			if len(tok) > tc.maxLen {
				t.Errorf("token %q has %d characters, want ≤ %d", tok, len(tok), tc.maxLen)
			}
			if tok != strings.ToLower(tok) || strings.ContainsAny(tok, "=+/") {
				t.Errorf("token %q is not lower-case base32", tok)
			}
			c, err := Verify(strings.ToUpper(tok), secret, now)
			if err != nil {
				t.Fatal(err)
			}
			if c.Release != tc.claims.Release || c.Step != tc.claims.Step || c.Role != tc.claims.Role {
				t.Errorf("claims = %+v", c)
			}
			if !c.ForTrain(tc.claims.Train) || c.ForTrain(tc.claims.Train+"x") {
				t.Error("train binding wrong")
			}
			if !c.DigestMatches(tc.claims.Digest) || (tc.claims.Digest != "" && c.DigestMatches(strings.Repeat("0", 64))) {
				t.Errorf("digest binding wrong: %q", c.Digest)
			}
			if !c.Expires.Equal(tc.claims.Expires) {
				t.Errorf("expires %v, want %v", c.Expires, tc.claims.Expires)
			}
		})
	}
}

func TestVerifyErrors(t *testing.T) {
	now := time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC)
	good := Sign(Claims{Train: "default", Release: "2026-12-03", Step: "report", Role: "manager", Digest: digest, Expires: now.Add(time.Hour)}, secret)
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	cases := []struct {
		name string
		tok  string
		sec  []byte
		at   time.Time
		want error
	}{
		{"other secret", good, []byte("another secret"), now, ErrForged},
		{"mac altered", flip(good, len(good)-2), secret, now, ErrForged},
		{"digest altered", flip(good, 3+16), secret, now, ErrForged},
		{"expired", good, secret, now.Add(2 * time.Hour), ErrExpired},
		{"no prefix", strings.TrimPrefix(good, Prefix), secret, now, ErrMalformed},
		{"v2", "v2." + good[3:], secret, now, ErrMalformed},
		{"not base32", Prefix + "!!!!", secret, now, ErrMalformed},
		{"too short", Prefix + "aaaa", secret, now, ErrMalformed},
		{"empty", "", secret, now, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.tok, tc.sec, tc.at)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPlusAddressAndShort(t *testing.T) {
	now := time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC)
	tok := Sign(Claims{Train: "default", Release: "2026-12-03", Step: "testlist", Role: "tester", Digest: digest, Expires: now.Add(time.Hour)}, secret)
	addr, ok := PlusAddress("fabu@example.com", tok)
	if !ok || addr != "fabu+"+tok+"@example.com" {
		t.Fatalf("PlusAddress = %q, %v", addr, ok)
	}
	if local := addr[:strings.IndexByte(addr, '@')]; len(local) > 64 {
		t.Errorf("local part has %d characters", len(local))
	}
	if got := FromAddress("<" + strings.ToUpper(addr[:strings.IndexByte(addr, '@')]) + "@example.com>"); !strings.EqualFold(got, tok) {
		t.Errorf("FromAddress = %q", got)
	}
	if _, ok := PlusAddress("a-very-long-mailbox-name-for-releases@example.com", tok); ok {
		t.Error("PlusAddress exceeded 64 characters instead of refusing")
	}
	if FromAddress("fabu+other@example.com") != "" || FromAddress("fabu@example.com") != "" {
		t.Error("FromAddress found a token where there is none")
	}
	s := Short(tok)
	if len(s) != 8 || s != Short(strings.ToUpper(tok)) || s == Short(tok+"x") {
		t.Errorf("Short = %q", s)
	}
}
