package schema

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Kind is the type of a property's value.
type Kind int

const (
	String Kind = iota
	// Bool is "true" or "false" (in any case).
	Bool
)

// Property describes a property a mapping may write to a target.
type Property struct {
	Name string
	Kind Kind
	// MaxLength is the documented maximum length in characters; 0 means
	// the documentation gives none.
	MaxLength int
	// RequiredOnCreate marks what the target needs to create an account.
	RequiredOnCreate bool
	// authority names who refuses a bad value, in messages.
	authority string
	// rule checks what the documentation says of the value beyond its
	// length; subject names the value in the message.
	rule func(v, subject string) error
}

// Table is the set of properties one kind of target accepts.
type Table struct {
	// Kind names the target, as its plan.Target does ("graph", "ad").
	Kind string
	// Authority is who refuses a bad value, in messages ("Graph").
	Authority string
	// What is what one property is called, in messages ("Graph user
	// property").
	What string
	// Noun is what one account is called ("guest", "shadow account").
	Noun string
	// byName holds the properties; names are exact.
	byName map[string]Property
	sorted []Property
}

func newTable(kind, authority, what, noun string, props []Property) *Table {
	t := &Table{Kind: kind, Authority: authority, What: what, Noun: noun, byName: map[string]Property{}}
	for _, p := range props {
		if _, dup := t.byName[p.Name]; dup {
			panic("schema: property " + p.Name + " defined twice in " + kind)
		}
		p.authority = authority
		t.byName[p.Name] = p
		t.sorted = append(t.sorted, p)
	}
	sort.Slice(t.sorted, func(i, j int) bool { return t.sorted[i].Name < t.sorted[j].Name })
	return t
}

// Lookup returns the property with the exact name.
func (t *Table) Lookup(name string) (Property, bool) {
	p, ok := t.byName[name]
	return p, ok
}

// Properties returns every property, sorted by name.
func (t *Table) Properties() []Property { return append([]Property(nil), t.sorted...) }

// Required lists the properties needed to create an account, sorted.
func (t *Table) Required() []string {
	var out []string
	for _, p := range t.sorted {
		if p.RequiredOnCreate {
			out = append(out, p.Name)
		}
	}
	return out
}

// ForKind returns the table of a target kind.
func ForKind(kind string) (*Table, bool) {
	for _, t := range tables {
		if t.Kind == kind {
			return t, true
		}
	}
	return nil, false
}

// Kinds lists the target kinds that have a table, in a fixed order.
func Kinds() []string {
	out := make([]string, len(tables))
	for i, t := range tables {
		out[i] = t.Kind
	}
	return out
}

var tables = []*Table{graph, ad}

// Check returns why the target would refuse v as this property's value:
// its documented maximum length (in characters, as the directory counts
// them) and, for the properties whose documentation gives them, its
// character rules. The messages name the property, so that a failed object
// says what to fix.
func (p Property) Check(v string) error { return p.check(v, p.Name) }

// CheckValue is Check for a message about the value of a property already
// named (a mapping's flow): "value is 300 characters; Graph allows at most
// 256".
func (p Property) CheckValue(v string) error { return p.check(v, "value") }

func (p Property) check(v, subject string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s is not valid UTF-8 text", subject)
	}
	if p.Kind == Bool {
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return fmt.Errorf("%s must be true or false, not %q", subject, clip(v))
		}
		return nil
	}
	if v == "" {
		// Whether a property may be empty (cleared) is the directory's to
		// say: required ones cannot be, and its answer names them.
		return nil
	}
	if p.MaxLength > 0 && len(v) > p.MaxLength {
		// Only long byte strings can be too long in characters.
		if n := utf8.RuneCountInString(v); n > p.MaxLength {
			return fmt.Errorf("%s is %d characters; %s allows at most %d", subject, n, p.authority, p.MaxLength)
		}
	}
	if p.rule != nil {
		return p.rule(v, subject)
	}
	return nil
}

// controlCharacter returns the first C0 control character or DEL in v.
func controlCharacter(v string) (rune, bool) {
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return r, true
		}
	}
	return 0, false
}

func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// clip keeps a value quoted in a message short: a bad value may be huge.
func clip(v string) string {
	const max = 40
	if utf8.RuneCountInString(v) <= max {
		return v
	}
	return string([]rune(v)[:max]) + "…"
}
