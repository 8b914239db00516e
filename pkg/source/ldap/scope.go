package ldap

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
)

// base is one search base, parsed.
type base struct {
	dn     string
	parsed *goldap.DN
	scope  int // goldap.ScopeWholeSubtree, ScopeSingleLevel, or ScopeBaseObject (referrals only)
}

// subtree is an excluded DN, parsed.
type subtree struct {
	dn     string
	parsed *goldap.DN
}

func scopeOf(name string) int {
	switch name {
	case "one":
		return goldap.ScopeSingleLevel
	case "base":
		return goldap.ScopeBaseObject
	}
	return goldap.ScopeWholeSubtree
}

func scopeName(scope int) string {
	switch scope {
	case goldap.ScopeSingleLevel:
		return "one"
	case goldap.ScopeBaseObject:
		return "base"
	}
	return "sub"
}

// atOrBelow reports whether dn is top or in the subtree under it, comparing
// as RFC 4514 DNs with attribute types and values case-insensitive.
func atOrBelow(dn, top *goldap.DN) bool {
	return top.EqualFold(dn) || top.AncestorOfFold(dn)
}

// excludedBy returns the excluded subtree that dn is at or below, if any.
func excludedBy(dn *goldap.DN, excludes []subtree) (subtree, bool) {
	for _, s := range excludes {
		if atOrBelow(dn, s.parsed) {
			return s, true
		}
	}
	return subtree{}, false
}

// dnKey is a comparison key for dn: two DNs have the same key when
// DN.EqualFold says they are equal, whatever their spacing, escaping, and
// order of the attributes of a multi-valued RDN. Sets of DNs (members,
// entries already delivered) are keyed by it.
func dnKey(dn *goldap.DN) string {
	var b strings.Builder
	for i, rdn := range dn.RDNs {
		if i > 0 {
			b.WriteByte(',')
		}
		parts := make([]string, len(rdn.Attributes))
		for j, a := range rdn.Attributes {
			parts[j] = fold(a.Type) + "=" + goldap.EscapeDN(fold(a.Value))
		}
		sort.Strings(parts)
		b.WriteString(strings.Join(parts, "+"))
	}
	return b.String()
}

// fold maps s to the same string as any other string it is EqualFold to.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteRune(r)
			continue
		}
		// The smallest rune of r's fold orbit stands for all of it.
		for orig, r2 := r, unicode.SimpleFold(r); r2 != orig; r2 = unicode.SimpleFold(r2) {
			r = min(r, r2)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// inChainRule is Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: with
// memberOf, it matches the members of a group and of every group nested
// in it, resolved by the server (cycles included).
const inChainRule = "1.2.840.113556.1.4.1941"

// inChainFilter restricts filter to the members, direct or nested, of any
// of groups, for Active Directory.
func inChainFilter(filter string, groups []string) string {
	if len(groups) == 0 {
		return filter
	}
	var b strings.Builder
	b.WriteString("(&")
	b.WriteString(filter)
	if len(groups) > 1 {
		b.WriteString("(|")
	}
	for _, g := range groups {
		b.WriteString("(memberOf:" + inChainRule + ":=" + goldap.EscapeFilter(g) + ")")
	}
	if len(groups) > 1 {
		b.WriteString(")")
	}
	b.WriteString(")")
	return b.String()
}
