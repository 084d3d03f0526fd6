package ledger

import (
	"bytes"
	"path/filepath"
	"testing"
)

func TestSecretPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Secret("token")
	if err != nil || len(a) != 32 {
		t.Fatalf("secret = %x, %v", a, err)
	}
	b, _ := s.Secret("other")
	if bytes.Equal(a, b) {
		t.Fatal("two names gave one secret")
	}
	s.Close()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	again, _ := s.Secret("token")
	if !bytes.Equal(a, again) {
		t.Fatal("secret changed across reopen")
	}
}
