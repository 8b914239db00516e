// Package source defines what guestsync reads from a directory: entries
// with a DN and attributes, delivered one at a time by a Reader so that
// memory does not grow with the size of the directory.
package source

import (
	"context"
	"sort"
	"strings"
)

// Entry is one directory object as read. Attribute values are Go strings
// holding the exact bytes the server sent: binary values such as objectGUID
// or objectSid are kept losslessly, and decoding (to text, GUID strings,
// SIDs) is left to whoever knows the attribute's syntax.
type Entry struct {
	DN string `json:"dn"`
	// Attributes are keyed by the name as the server spelled it. LDAP
	// attribute names are case-insensitive: look them up with Values or
	// First, never by indexing the map directly.
	Attributes map[string][]string `json:"attributes"`
}

// Values returns all values of the named attribute (case-insensitive), or
// nil when the entry does not have it.
func (e Entry) Values(name string) []string {
	if v, ok := e.Attributes[name]; ok {
		return v
	}
	for k, v := range e.Attributes {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// Has reports whether the entry carries the attribute, even with an empty
// value.
func (e Entry) Has(name string) bool {
	if _, ok := e.Attributes[name]; ok {
		return true
	}
	for k := range e.Attributes {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// First returns the first value of the named attribute and whether there was
// one.
func (e Entry) First(name string) (string, bool) {
	v := e.Values(name)
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// Add appends values to an attribute, merging with an existing attribute of
// the same name in another letter case.
func (e *Entry) Add(name string, values ...string) {
	if e.Attributes == nil {
		e.Attributes = make(map[string][]string)
	}
	key := name
	if _, ok := e.Attributes[name]; !ok {
		for k := range e.Attributes {
			if strings.EqualFold(k, name) {
				key = k
				break
			}
		}
	}
	e.Attributes[key] = append(e.Attributes[key], values...)
}

// Names returns the attribute names in a stable (case-insensitive sorted)
// order, for printing.
func (e Entry) Names() []string {
	names := make([]string, 0, len(e.Attributes))
	for k := range e.Attributes {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	return names
}

// Result describes a finished read. Complete is false whenever the reader
// cannot vouch that it saw every entry in scope (an error, a timeout, a size
// limit): nothing downstream may then treat a missing entry as a removal.
type Result struct {
	Entries  int  `json:"entries"`
	Complete bool `json:"complete"`
}

// Reader streams the entries in scope to fn, in the order the directory
// returns them. If fn returns an error the read stops and that error is
// returned.
type Reader interface {
	Read(ctx context.Context, fn func(Entry) error) (Result, error)
}
