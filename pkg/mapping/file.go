// Package mapping turns source entries into desired accounts of a target:
// Entra ID guest users (target graph) or Active Directory shadow accounts
// (target ad). A mapping file (YAML, `version: 1`) names its target and
// declares which entries are in scope, which source attribute anchors an
// account, and how each of the target's properties (pkg/schema) flows from
// the entry: copied (direct), fixed (constant) or computed (expression, in
// Microsoft's Entra provisioning expression language). A mapping is
// compiled once and then applied to many entries.
package mapping

import "gopkg.in/yaml.v3"

// FormatVersion is the mapping file format this build reads.
const FormatVersion = 1

// file is the YAML shape of a mapping file. Keys are checked strictly.
type file struct {
	Version     int         `yaml:"version"`
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Target      string      `yaml:"target"`
	Mode        string      `yaml:"mode"`
	Anchor      fileAnchor  `yaml:"anchor"`
	Scope       []fileGroup `yaml:"scope"`
	Flows       []fileFlow  `yaml:"flows"`
	Tests       []fileTest  `yaml:"tests"`
}

// fileAnchor names the source attributes that anchor an account, most
// preferred first (Entra Connect prefers ms-DS-ConsistencyGuid and falls
// back to objectGUID), and how their value becomes the anchor.
type fileAnchor struct {
	Attributes []string `yaml:"attributes"`
	Format     string   `yaml:"format"`
}

// fileGroup is one scoping filter: its clauses are AND-ed; the groups of a
// scope are OR-ed, as in Entra's scoping filters.
type fileGroup struct {
	Name    string       `yaml:"name"`
	Clauses []fileClause `yaml:"clauses"`
}

type fileClause struct {
	Attribute string `yaml:"attribute"`
	Operator  string `yaml:"operator"`
	Value     string `yaml:"value"`
}

type fileFlow struct {
	Target        string  `yaml:"target"`
	Type          string  `yaml:"type"`
	Source        string  `yaml:"source"`
	Value         *string `yaml:"value"`
	Expression    string  `yaml:"expression"`
	Apply         string  `yaml:"apply"`
	DefaultIfNull *string `yaml:"defaultIfNull"`
}

// fileTest is one test embedded in a mapping file: an entry and what the
// mapping must make of it.
type fileTest struct {
	Name       string                `yaml:"name"`
	DN         string                `yaml:"dn"`
	Attributes map[string]testValues `yaml:"attributes"`
	// Now fixes the clock (RFC 3339) for Now and the date functions.
	Now string `yaml:"now"`
	// Taken lists values already used in the target (the tenant, the
	// domain), per property, for SelectUniqueValue.
	Taken  map[string][]string `yaml:"taken"`
	Expect fileExpect          `yaml:"expect"`
}

type fileExpect struct {
	OutOfScope bool   `yaml:"outOfScope"`
	Error      string `yaml:"error"`
	Anchor     string `yaml:"anchor"`
	// Properties are compared one by one; a property given as null (~)
	// must not be set.
	Properties map[string]*string `yaml:"properties"`
}

// testValues is an attribute's values in a test: one scalar or a list.
// Binary values are written with YAML's !!binary tag (base64).
type testValues []string

func (v *testValues) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var s string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*v = testValues{s}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*v = list
	return nil
}
