package mapping

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/guestsync/guestsync/pkg/schema"
	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/yamlfile"
)

// testCase is a compiled `tests:` item of a mapping file. A mapping file
// that tests itself can be checked in CI with no directory and no tenant.
type testCase struct {
	index  int
	name   string
	entry  source.Entry
	now    *time.Time
	taken  map[string]map[string]bool // property → lower-cased values
	expect fileExpect
	// at locates the test, its expect block and each expected property,
	// so that a failure points at the line to look at.
	at       yamlfile.Problem
	expectAt yamlfile.Problem
	propAt   map[string]yamlfile.Problem
}

// compileTests compiles the tests of a mapping whose target has table (nil
// when the target is unknown: the expected properties are then not checked).
func (c *compiler) compileTests(table *schema.Table, tests []fileTest) []testCase {
	var out []testCase
	for i, t := range tests {
		node := child(child(c.doc, "tests"), i)
		tc := testCase{index: i, name: t.Name, expect: t.Expect, propAt: map[string]yamlfile.Problem{}}
		tc.at = yamlfile.At(c.file, node, fmt.Sprintf("tests[%d]", i), "")
		tc.expectAt = tc.at
		if n := child(node, "expect"); n != nil {
			tc.expectAt = yamlfile.At(c.file, n, tc.at.Path+".expect", "")
		}
		props := child(child(node, "expect"), "properties")
		for name := range t.Expect.Properties {
			tc.propAt[name] = yamlfile.At(c.file, keyNode(props, name), tc.at.Path+".expect.properties."+name, "")
			if table == nil {
				continue
			}
			if _, ok := table.Lookup(name); !ok {
				c.problem([]any{"tests", i, "expect", "properties", name}, "%q is not %s a mapping writes%s", name, withArticle(table.What), suggestProperty(table, name))
			}
		}
		if t.Name == "" {
			c.problem([]any{"tests", i}, "a test needs a name")
		}
		if t.Expect.OutOfScope && (len(t.Expect.Properties) > 0 || t.Expect.Anchor != "" || t.Expect.Error != "") {
			c.problem([]any{"tests", i, "expect"}, "an out-of-scope entry produces no %s: expect only `outOfScope: true`", nounOf(table))
		}
		dn := t.DN
		if dn == "" {
			dn = "CN=" + t.Name + ",OU=guestsync tests"
		}
		tc.entry = source.Entry{DN: dn, Attributes: make(map[string][]string, len(t.Attributes))}
		for name, v := range t.Attributes {
			tc.entry.Add(name, v...)
		}
		if t.Now != "" {
			now, err := time.Parse(time.RFC3339, t.Now)
			if err != nil {
				c.problem([]any{"tests", i, "now"}, "now must be an RFC 3339 time like 2025-01-15T08:00:00Z, not %q", t.Now)
			}
			tc.now = &now
		}
		tc.taken = map[string]map[string]bool{}
		for prop, values := range t.Taken {
			set := map[string]bool{}
			for _, v := range values {
				set[strings.ToLower(v)] = true
			}
			tc.taken[prop] = set
		}
		out = append(out, tc)
	}
	return out
}

// keyNode returns the key node (not the value) of key in a mapping node.
func keyNode(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return n
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return n
}

// Tests returns how many tests the mapping file embeds.
func (m *Mapping) Tests() int { return len(m.tests) }

// RunTests runs the tests embedded in the mapping file and returns one
// problem per failed expectation, each at the line of what failed and
// saying what was wanted and what the mapping produced.
func (m *Mapping) RunTests() yamlfile.Problems {
	var ps yamlfile.Problems
	for _, tc := range m.tests {
		ps = append(ps, m.runTest(tc)...)
	}
	ps.Sort()
	return ps
}

func (m *Mapping) runTest(tc testCase) yamlfile.Problems {
	var ps yamlfile.Problems
	fail := func(at yamlfile.Problem, format string, args ...any) {
		at.Msg = fmt.Sprintf("test %q: ", tc.name) + fmt.Sprintf(format, args...)
		ps = append(ps, at)
	}
	opts := Options{Taken: func(_, property, value string) (bool, error) {
		return tc.taken[property][strings.ToLower(value)], nil
	}}
	if tc.now != nil {
		now := *tc.now
		opts.Now = func() time.Time { return now }
	}
	r := m.MapWith(tc.entry, opts)
	want := tc.expect
	switch {
	case want.OutOfScope && r.InScope:
		fail(tc.expectAt, "want out of scope, got in scope")
		return ps
	case want.OutOfScope:
		return ps
	case !r.InScope:
		fail(tc.expectAt, "want a %s, got %s", m.noun(), r.Reason)
		return ps
	}
	if want.Error != "" {
		if r.Err == nil {
			fail(tc.expectAt, "want an error containing %q, got none", want.Error)
		} else if !strings.Contains(r.Err.Error(), want.Error) {
			fail(tc.expectAt, "want an error containing %q, got %q", want.Error, r.Err.Error())
		}
		return ps
	}
	if r.Err != nil {
		fail(tc.expectAt, "mapping failed: %v", r.Err)
		return ps
	}
	if want.Anchor != "" && want.Anchor != r.Account.Anchor {
		fail(tc.expectAt, "anchor: want %q, got %q", want.Anchor, r.Account.Anchor)
	}
	names := make([]string, 0, len(want.Properties))
	for name := range want.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w := want.Properties[name]
		got, set := r.Account.Properties[name]
		switch {
		case w == nil && set:
			fail(tc.propAt[name], "%s: want not set, got %q", name, got)
		case w == nil:
		case !set:
			fail(tc.propAt[name], "%s: want %q, got nothing (the property is not set)", name, *w)
		case !m.sameValue(name, *w, got):
			fail(tc.propAt[name], "%s: want %q, got %q", name, *w, got)
		}
	}
	return ps
}

// sameValue compares an expected value with a mapped one; booleans
// compare as booleans ("True" in a test matches "true").
func (m *Mapping) sameValue(property, want, got string) bool {
	if p, ok := m.table.Lookup(property); ok && p.Kind == schema.Bool {
		return strings.EqualFold(strings.TrimSpace(want), got)
	}
	return want == got
}

func nounOf(table *schema.Table) string {
	if table == nil {
		return "account"
	}
	return table.Noun
}

// withArticle puts "a" or "an" before what ("a Graph user property", "an
// AD attribute").
func withArticle(what string) string {
	if what != "" && strings.ContainsRune("AEIOUaeiou", rune(what[0])) {
		return "an " + what
	}
	return "a " + what
}
