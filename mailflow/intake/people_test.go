package intake

import (
	"net/textproto"
	"strings"
	"testing"
)

func TestDirectory(t *testing.T) {
	d := NewDirectory([]Person{
		{Name: "李经理", Addresses: []string{"limanager@example.com", "li.manager@example.com"}, Roles: []string{"manager"}},
		{Name: "琳琳", Addresses: []string{"linlin@example.com"}, Roles: []string{"tester", "test_lead"}},
	}, "fabu@example.com")
	cases := []struct {
		name, addr, want string
	}{
		{"primary", "limanager@example.com", "李经理"},
		{"alias", "Li.Manager@Example.com", "李经理"},
		{"with display name", "琳琳 <LinLin@example.com>", "琳琳"},
		{"plus tag is not stripped", "limanager+x@example.com", ""},
		{"stranger", "eve@example.org", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := d.Lookup(tc.addr)
			got := ""
			if p != nil {
				got = p.Name
			}
			if got != tc.want {
				t.Errorf("Lookup(%q) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
	if !d.IsOwn("fabu+v1abc@example.com") || !d.IsOwn("FABU@example.com") || d.IsOwn("linlin@example.com") {
		t.Error("IsOwn wrong")
	}
	if n := len(d.WithRole("manager")); n != 1 {
		t.Errorf("managers = %d", n)
	}
	if p := d.ByName(" 琳琳 "); p == nil || !p.Has("test_lead") {
		t.Error("ByName")
	}
}

func TestAuthPolicy(t *testing.T) {
	pol := AuthPolicy{Require: true, Trusted: "mx.example.com"}
	cases := []struct {
		name    string
		headers []string
		ok      bool
		errHas  string
	}{
		{"dkim pass", []string{"mx.example.com; dkim=pass header.d=example.com"}, true, ""},
		{"dmarc pass", []string{"mx.example.com; dmarc=pass header.from=example.com"}, true, ""},
		{"forged by sender", []string{"evil.example.org; dkim=pass header.d=example.com"}, false, "no Authentication-Results from the trusted"},
		{"dkim fail", []string{"mx.example.com; dkim=fail header.d=example.com"}, false, "no DKIM or DMARC pass"},
		{"other domain", []string{"mx.example.com; dkim=pass header.d=other.example"}, false, "no DKIM or DMARC pass"},
		{"none", nil, false, "no Authentication-Results"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := textproto.MIMEHeader{}
			for _, v := range tc.headers {
				h.Add("Authentication-Results", v)
			}
			err := pol.Check(h, "example.com")
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("err %q lacks %q", err, tc.errHas)
			}
		})
	}
	if err := (AuthPolicy{}).Check(textproto.MIMEHeader{}, "x"); err != nil {
		t.Error("policy off must pass")
	}
}
