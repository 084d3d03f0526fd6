package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCA writes a self-signed CA certificate as PEM and returns its path
// and the certificate.
func writeCA(t *testing.T, dir string) (string, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(7),
		Subject:               pkix.Name{CommonName: "fabu test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, cert
}

func TestCAFileValidate(t *testing.T) {
	dir := t.TempDir()
	good, _ := writeCA(t, dir)
	notPEM := filepath.Join(dir, "key.txt")
	if err := os.WriteFile(notPEM, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope.pem")
	cases := []struct {
		name     string
		yaml     string
		wantKey  string // "" when no ca_file problem is expected
		wantLine int
		wantText string
	}{
		{"smtp good", "smtp:\n  ca_file: " + good + "\n", "", 0, ""},
		{"imap good", "imap:\n  host: imap.example.com\n  ca_file: " + good + "\n", "", 0, ""},
		{"smtp missing", "smtp:\n  host: 127.0.0.1\n  ca_file: " + missing + "\n", "smtp.ca_file", 3, "cannot read"},
		{"imap no certificate", "imap:\n  ca_file: " + notPEM + "\n", "imap.ca_file", 2, "no PEM certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			var got []Problem
			for _, p := range c.Validate() {
				if strings.HasSuffix(p.Key, ".ca_file") {
					got = append(got, p)
				}
			}
			if tc.wantKey == "" {
				if len(got) > 0 {
					t.Fatalf("unexpected problems: %v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Key != tc.wantKey {
				t.Fatalf("problems = %v, want one for %s", got, tc.wantKey)
			}
			p := got[0]
			if p.Line != tc.wantLine || !strings.Contains(p.Message, tc.wantText) || p.Hint == "" || p.Warning {
				t.Errorf("problem = %+v, want line %d, text %q, a hint, an error", p, tc.wantLine, tc.wantText)
			}
		})
	}
}

func TestLoadCAFileTrustsTheCA(t *testing.T) {
	path, ca := writeCA(t, t.TempDir())
	pool, err := LoadCAFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Errorf("the CA from ca_file is not trusted: %v", err)
	}
}
