package intake

import (
	"fmt"
	"net/textproto"
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// AuthPolicy requires that the sender's domain was authenticated by a
// trusted server: a DKIM or DMARC pass in an Authentication-Results header
// whose authserv-id is Trusted. Headers stamped by anyone else are ignored,
// because a sender can write any header into their own mail.
type AuthPolicy struct {
	Require bool
	Trusted string // authserv-id of the receiving server, e.g. mx.example.com
}

// Check returns nil when the policy is off or the mail passes it; otherwise
// an error saying why. fromDomain is the domain of the From address.
func (p AuthPolicy) Check(h textproto.MIMEHeader, fromDomain string) error {
	if !p.Require {
		return nil
	}
	fromDomain = strings.ToLower(fromDomain)
	seen := false
	for _, v := range h.Values("Authentication-Results") {
		id, results, err := authres.Parse(v)
		if err != nil || !strings.EqualFold(id, p.Trusted) {
			continue
		}
		seen = true
		for _, r := range results {
			switch r := r.(type) {
			case *authres.DMARCResult:
				if r.Value == authres.ResultPass && (r.From == "" || strings.EqualFold(r.From, fromDomain)) {
					return nil
				}
			case *authres.DKIMResult:
				if r.Value == authres.ResultPass && (strings.EqualFold(r.Domain, fromDomain) || strings.HasSuffix(strings.ToLower(r.Identifier), "@"+fromDomain)) {
					return nil
				}
			}
		}
	}
	if !seen {
		return fmt.Errorf("no Authentication-Results from the trusted server %s", p.Trusted)
	}
	return fmt.Errorf("no DKIM or DMARC pass for %s from %s", fromDomain, p.Trusted)
}
