package intake

import (
	"net/mail"
	"slices"
	"strings"
)

// Person is someone the train knows, with every address that is theirs.
type Person struct {
	Name      string   `json:"name"`
	Addresses []string `json:"addresses"` // first is the primary address
	Roles     []string `json:"roles"`     // tester, test_lead, tech_lead, manager, deputy, ops, admin
}

// Has reports whether the person holds role.
func (p *Person) Has(role string) bool { return slices.Contains(p.Roles, role) }

// Directory finds people by address. Addresses compare case-insensitively
// on the whole address; a plus tag in the local part is not stripped,
// because a sender controls it.
type Directory struct {
	byAddr map[string]*Person
	people []*Person
	own    map[string]bool
}

// NewDirectory builds a directory; own lists fabu's own addresses (its
// From and Reply-To), whose mail coming back is never a decision.
func NewDirectory(people []Person, own ...string) *Directory {
	d := &Directory{byAddr: map[string]*Person{}, own: map[string]bool{}}
	for i := range people {
		p := people[i]
		d.people = append(d.people, &p)
		for _, a := range p.Addresses {
			d.byAddr[normAddr(a)] = &p
		}
	}
	for _, a := range own {
		if a != "" {
			d.own[normAddr(a)] = true
			d.own[normAddr(stripPlus(a))] = true
		}
	}
	return d
}

// Lookup returns the person who owns address, or nil.
func (d *Directory) Lookup(address string) *Person {
	return d.byAddr[normAddr(address)]
}

// IsOwn reports whether address is fabu's own (with or without a plus tag).
func (d *Directory) IsOwn(address string) bool {
	a := normAddr(address)
	return d.own[a] || d.own[normAddr(stripPlus(a))]
}

// HasOwn reports whether fabu's own addresses were given.
func (d *Directory) HasOwn() bool { return len(d.own) > 0 }

// WithRole returns the people holding role, in configuration order.
func (d *Directory) WithRole(role string) []*Person {
	var out []*Person
	for _, p := range d.people {
		if p.Has(role) {
			out = append(out, p)
		}
	}
	return out
}

// ByName returns the person the ledger names (技术负责人/测试负责人), or nil.
func (d *Directory) ByName(name string) *Person {
	name = strings.TrimSpace(name)
	for _, p := range d.people {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func normAddr(a string) string {
	a = strings.TrimSpace(a)
	if pa, err := mail.ParseAddress(a); err == nil {
		a = pa.Address
	}
	return strings.ToLower(strings.Trim(a, "<>"))
}

func stripPlus(a string) string {
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		return a
	}
	local, domain := a[:at], a[at:]
	if i := strings.IndexByte(local, '+'); i >= 0 {
		local = local[:i]
	}
	return local + domain
}
