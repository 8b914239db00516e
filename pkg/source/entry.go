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
	// Deleted is set by incremental reads for an object the directory
	// reports deleted (AD DirSync's isDeleted). It carries what the
	// directory kept of the object, at least its anchor attribute.
	Deleted bool `json:"deleted,omitempty"`
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
	// Incremental is true when only the changes since a watermark were
	// read: entries that are not delivered did not change, and removals
	// come only as Deleted entries.
	Incremental bool `json:"incremental,omitempty"`
	// Watermark is where the next incremental read starts, to be stored
	// once the run that used this read has succeeded ("" when the reader
	// cannot read incrementally).
	Watermark string `json:"-"`
	// Incomplete says why Complete is false, when the reader knows.
	Incomplete string `json:"incomplete,omitempty"`
}

// Reader streams the entries in scope to fn, in the order the directory
// returns them. If fn returns an error the read stops and that error is
// returned, wrapped with the entry's DN.
type Reader interface {
	Read(ctx context.Context, fn func(Entry) error) (Result, error)
}

// ChangeReader is a Reader that can also read only what changed since a
// watermark it returned earlier (AD DirSync, a USN or entryCSN high-water
// mark). A full Read also returns a watermark.
type ChangeReader interface {
	Reader
	// ReadChanges streams the entries changed or deleted since watermark.
	ReadChanges(ctx context.Context, watermark string, fn func(Entry) error) (Result, error)
	// Key identifies what is read (server, bases, filter, scope): a
	// watermark is only valid for the same key, and a changed key starts
	// again from a full read.
	Key() string
}
