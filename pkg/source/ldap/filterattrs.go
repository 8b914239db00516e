package ldap

import (
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// canonicalFilter returns filter as go-ldap writes it back after parsing
// it: the same filter always reads the same, whatever its spacing and
// escaping. A filter that does not parse is returned as it is (New has
// rejected it already).
func canonicalFilter(filter string) string {
	p, err := goldap.CompileFilter(filter)
	if err != nil {
		return filter
	}
	s, err := goldap.DecompileFilter(p)
	if err != nil {
		return filter
	}
	return s
}

// filterAttributes returns the attribute types that filter tests, lower
// case, sorted and without repeats ("memberOf" for the in-chain rule,
// nothing for an extensible match without a type).
func filterAttributes(filter string) []string {
	// In go-ldap's canonical form every "(" that is part of a value is
	// escaped (\28), so each unescaped "(" opens a filter: a set (&, |, !)
	// or an item, whose type runs to the first operator character.
	s := canonicalFilter(filter)
	var attrs []string
	for i := 0; i < len(s); i++ {
		if s[i] != '(' || i+1 >= len(s) || strings.IndexByte("&|!", s[i+1]) >= 0 {
			continue
		}
		end := strings.IndexAny(s[i+1:], "=~<>:")
		if end <= 0 {
			continue
		}
		name, _, _ := strings.Cut(s[i+1:i+1+end], ";") // options such as ;binary
		name = strings.ToLower(name)
		if !slices.Contains(attrs, name) {
			attrs = append(attrs, name)
		}
	}
	slices.Sort(attrs)
	return attrs
}
