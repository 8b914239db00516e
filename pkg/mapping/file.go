// Package mapping turns directory entries into desired guest users. A
// mapping file (YAML, `version: 1`) declares which entries are in scope,
// which source attribute anchors a guest, and how each Graph user property
// flows from the entry: copied (direct), fixed (constant) or computed
// (expression, in Microsoft's Entra provisioning expression language). A
// mapping is compiled once and then applied to many entries.
package mapping

// FormatVersion is the mapping file format this build reads.
const FormatVersion = 1

// file is the YAML shape of a mapping file. Keys are checked strictly.
type file struct {
	Version     int         `yaml:"version"`
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Anchor      fileAnchor  `yaml:"anchor"`
	Scope       []fileGroup `yaml:"scope"`
	Flows       []fileFlow  `yaml:"flows"`
}

// fileAnchor names the source attributes that become onPremisesImmutableId,
// most preferred first: Entra Connect prefers ms-DS-ConsistencyGuid and falls
// back to objectGUID.
type fileAnchor struct {
	Attributes []string `yaml:"attributes"`
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
