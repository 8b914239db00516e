package mapping

import (
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

// guid is a binary objectGUID as AD returns it (16 bytes).
var guid = string([]byte{0x89, 0x57, 0xc9, 0xf3, 0xe1, 0xac, 0x54, 0x49, 0xac, 0x5d, 0x6b, 0xae, 0xd2, 0xea, 0xc9, 0x02})

func partner(mods ...func(*source.Entry)) source.Entry {
	e := source.Entry{DN: "CN=Zoë Lefèvre,OU=Fabrikam,OU=Partners,DC=corp,DC=contoso,DC=com", Attributes: map[string][]string{
		"objectGUID":         {guid},
		"givenName":          {"Zoë"},
		"sn":                 {"Lefèvre"},
		"displayName":        {"Zoë Lefèvre (Fabrikam)"},
		"company":            {"Fabrikam"},
		"title":              {"Account Manager"},
		"c":                  {"FR"},
		"mail":               {"zoe.lefevre@fabrikam.com"},
		"sAMAccountName":     {"zlefevre"},
		"userPrincipalName":  {"zoe.lefevre@partners.contoso.com"},
		"employeeType":       {"Partner"},
		"userAccountControl": {"512"},
	}}
	for _, m := range mods {
		m(&e)
	}
	return e
}

func set(attr string, values ...string) func(*source.Entry) {
	return func(e *source.Entry) {
		if values == nil {
			delete(e.Attributes, attr)
			return
		}
		e.Attributes[attr] = values
	}
}

func loadShipped(t *testing.T) *Mapping {
	t.Helper()
	m, err := Load(filepath.Join("..", "..", "mappings", "partner-guest.yaml"))
	require.NoError(t, err)
	return m
}

func TestShippedMappingMapsAPartner(t *testing.T) {
	t.Parallel()
	r := loadShipped(t).Map(partner())
	require.True(t, r.InScope)
	require.NoError(t, r.Err)
	assert.Equal(t, base64.StdEncoding.EncodeToString([]byte(guid)), r.Account.Anchor)
	assert.Equal(t, "iVfJ8+GsVEmsXWuu0urJAg==", r.Account.Anchor)
	assert.Equal(t, map[string]string{
		"userPrincipalName": "zoe.lefevre@partners.contoso.com",
		"mailNickname":      "zlefevre",
		"displayName":       "Zoë Lefèvre (Fabrikam)",
		"givenName":         "Zoë",
		"surname":           "Lefèvre",
		"mail":              "zoe.lefevre@fabrikam.com",
		"companyName":       "Fabrikam",
		"jobTitle":          "Account Manager",
		"usageLocation":     "FR",
		"accountEnabled":    "true",
	}, r.Account.Properties)
	assert.Equal(t, []string{"usageLocation"}, r.Account.CreateOnly)
	assert.Equal(t, partner().DN, r.Account.Source)
}

func TestShippedMappingEdgeCases(t *testing.T) {
	t.Parallel()
	m := loadShipped(t)
	consistency := string([]byte("0123456789abcdef"))
	tests := []struct {
		name    string
		entry   source.Entry
		inScope bool
		errHas  string
		check   func(t *testing.T, r Result)
	}{
		{name: "disabled account maps to accountEnabled false", entry: partner(set("userAccountControl", "514")), inScope: true,
			check: func(t *testing.T, r Result) { assert.Equal(t, "false", r.Account.Properties["accountEnabled"]) }},
		{name: "no userAccountControl: defaultIfNull", entry: partner(set("userAccountControl")), inScope: true,
			check: func(t *testing.T, r Result) { assert.Equal(t, "true", r.Account.Properties["accountEnabled"]) }},
		{name: "employee is out of scope with the reason", entry: partner(set("employeeType", "Employee")),
			check: func(t *testing.T, r Result) {
				assert.Equal(t, `out of scope: partners: employeeType EQUALS "Partner" is false (value "Employee")`, r.Reason)
			}},
		{name: "missing scope attribute is null, and null is false", entry: partner(set("employeeType")),
			check: func(t *testing.T, r Result) { assert.Contains(t, r.Reason, "(value null)") }},
		{name: "scope compares exactly, case-sensitive as documented", entry: partner(set("employeeType", "partner"))},
		{name: "ms-DS-ConsistencyGuid is preferred", entry: partner(set("ms-DS-ConsistencyGuid", consistency)), inScope: true,
			check: func(t *testing.T, r Result) {
				assert.Equal(t, base64.StdEncoding.EncodeToString([]byte(consistency)), r.Account.Anchor)
			}},
		{name: "attribute names are case-insensitive", entry: partner(set("objectGUID"), set("OBJECTGUID", guid)), inScope: true,
			check: func(t *testing.T, r Result) { assert.Equal(t, "iVfJ8+GsVEmsXWuu0urJAg==", r.Account.Anchor) }},
		{name: "no anchor", entry: partner(set("objectGUID")), inScope: true, errHas: "anchor: the entry has none of ms-DS-ConsistencyGuid, objectGUID"},
		{name: "anchor of the wrong size", entry: partner(set("objectGUID", "short")), inScope: true, errHas: "neither a 16-byte binary GUID nor a UUID string"},
		{name: "missing required property", entry: partner(set("sAMAccountName")), inScope: true, errHas: "mailNickname: no value, and the guest cannot be created without one"},
		{name: "too long for Graph", entry: partner(set("company", strings.Repeat("x", 65))), inScope: true, errHas: "companyName: value is 65 characters; Graph allows at most 64"},
		{name: "a UPN Graph refuses", entry: partner(set("userPrincipalName", "zoe+ext@partners.contoso.com")), inScope: true,
			errHas: "userPrincipalName: value contains '+' before the @; Graph allows only A-Z a-z 0-9 ' . - _ ! # ^ ~ there"},
		{name: "a mailNickname Graph refuses", entry: partner(set("sAMAccountName", "zoe lefevre")), inScope: true,
			errHas: "mailNickname: value contains ' ', which Graph does not allow"},
		{name: "multi-valued into a single-valued property", entry: partner(set("mail", "a@x.com", "b@x.com")), inScope: true, errHas: `mail: 2 values ("a@x.com", "b@x.com")`},
		{name: "every failing flow is reported", entry: partner(set("company", strings.Repeat("x", 65)), set("title", strings.Repeat("y", 129))), inScope: true, errHas: "jobTitle: value is 129"},
		{name: "non-UTF-8 bytes in a text attribute", entry: partner(set("title", "\xff\xfe")), inScope: true, errHas: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := m.Map(tt.entry)
			assert.Equal(t, tt.inScope, r.InScope, r.Reason)
			if tt.errHas != "" {
				require.Error(t, r.Err)
				assert.Contains(t, r.Err.Error(), tt.errHas)
			} else if tt.inScope {
				assert.NoError(t, r.Err)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestEntryUUIDAnchor(t *testing.T) {
	t.Parallel()
	m, err := Parse("m.yaml", []byte(minimal("anchor:\n  attributes: [entryUUID]\n")))
	require.NoError(t, err)
	e := partner(set("entryUUID", "5f0d4a3e-91c2-4c0b-8a7e-2b1c9d8e7f60"))
	r := m.Map(e)
	require.NoError(t, r.Err)
	assert.Equal(t, base64.StdEncoding.EncodeToString([]byte{0x5f, 0x0d, 0x4a, 0x3e, 0x91, 0xc2, 0x4c, 0x0b, 0x8a, 0x7e, 0x2b, 0x1c, 0x9d, 0x8e, 0x7f, 0x60}), r.Account.Anchor)
}

// minimal is a valid mapping plus extra top-level YAML.
func minimal(extra string) string {
	return `version: 1
` + extra + `flows:
  - {target: userPrincipalName, type: direct, source: userPrincipalName}
  - {target: mailNickname, type: direct, source: sAMAccountName}
  - {target: displayName, type: direct, source: displayName}
  - {target: accountEnabled, type: constant, value: "true"}
`
}

// minimalAD is the smallest valid mapping with target ad, plus extra
// top-level keys.
func minimalAD(extra string) string {
	return `version: 1
target: ad
` + extra + `flows:
  - {target: userPrincipalName, type: direct, source: userPrincipalName}
  - {target: sAMAccountName, type: expression, expression: 'Left([id], 20)'}
  - {target: cn, type: direct, source: id}
`
}

func TestCompileProblems(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "broken.yaml"))
	require.NoError(t, err)
	_, perr := Parse("broken.yaml", data)
	require.Error(t, perr)
	golden(t, "broken.problems", perr.Error()+"\n")
}

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./pkg/mapping -update")
	assert.Equal(t, string(want), got)
}

func TestCompileProblemsPerCase(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"empty file", "", "m.yaml:1: the file is empty"},
		{"no version", strings.Replace(minimal(""), "version: 1\n", "", 1), "m.yaml:1:1: missing `version: 1` at the top of the file"},
		{"future version", strings.Replace(minimal(""), "version: 1", "version: 7", 1), "m.yaml:1:10: version: unsupported version 7"},
		{"unknown key", minimal("anchr: {}\n"), `m.yaml:2:1: anchr: unknown key "anchr"; did you mean "anchor"?`},
		{"userType other than Guest", minimal("") + "  - {target: userType, type: constant, value: Member}\n", "userType is always Guest"},
		{"userType Guest is redundant but accepted", minimal("") + "  - {target: userType, type: constant, value: Guest}\n", ""},
		{"immutable id is the anchor", minimal("") + "  - {target: onPremisesImmutableId, type: direct, source: objectGUID}\n", "use `anchor.attributes`"},
		{"duplicate target", minimal("") + "  - {target: displayName, type: direct, source: cn}\n", "m.yaml:7:14: flows[4].target: displayName is already the target of flows[2]"},
		{"value in a direct flow", minimal("") + "  - {target: city, type: direct, source: l, value: x}\n", "`value` has no meaning in a direct flow"},
		{"bad regex", minimal("scope:\n  - clauses:\n    - {attribute: x, operator: REGEX MATCH, value: '('}\n"), "invalid regular expression"},
		{"bad operator", minimal("scope:\n  - clauses:\n    - {attribute: x, operator: LIKE, value: y}\n"), `m.yaml:4:32: scope[0].clauses[0].operator: unknown scoping operator "LIKE"; use one of !&, &, ENDS_WITH`},
		{"near operator", minimal("scope:\n  - clauses:\n    - {attribute: x, operator: EQUAL, value: y}\n"), `did you mean "EQUALS"?`},
		{"Greater_Than needs an integer", minimal("scope:\n  - clauses:\n    - {attribute: x, operator: Greater_Than, value: ten}\n"), `m.yaml:4:53: scope[0].clauses[0].value: Greater_Than: the value must be an integer, not "ten"`},
		{"unary operator with a value", minimal("scope:\n  - clauses:\n    - {attribute: x, operator: IS NULL, value: y}\n"), `IS NULL takes no value`},
		{"expression syntax error at its file position", minimal("") + "  - {target: city, type: expression, expression: 'Left([l], 3'}\n", "m.yaml:7:62: flows[4].expression: missing ')' to close Left("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("m.yaml", []byte(tt.src))
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestSyntaxErrorsStopCompilation: a file that does not parse reports its
// syntax error alone, not a cascade of "no flow produces ..." problems.
func TestSyntaxErrorsStopCompilation(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]string{
		"":                       "m.yaml:1: the file is empty",
		"version: 1\nflows: [\n": "m.yaml:2: YAML syntax: did not find expected node content",
	} {
		_, err := Parse("m.yaml", []byte(src))
		require.Error(t, err)
		assert.Equal(t, want, err.Error())
	}
}
