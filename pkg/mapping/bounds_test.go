package mapping

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/mapping/expr"
)

func boundsMapping(flows string) string {
	return `version: 1
scope:
  - name: partners
    clauses:
      - {attribute: employeeType, operator: EQUALS, value: Partner}
flows:
  - {target: userPrincipalName, type: direct, source: userPrincipalName}
  - {target: mailNickname, type: direct, source: sAMAccountName}
  - {target: displayName, type: direct, source: displayName}
  - {target: accountEnabled, type: constant, value: "true"}
` + flows
}

// TestHugeValuesFailTheEntryWithBoundedMessages: an entry whose values are
// far beyond any real attribute fails its flows (the engine skips it) with
// messages that quote a bounded prefix of the values, not the values.
func TestHugeValuesFailTheEntryWithBoundedMessages(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 100<<10)
	thousand := make([]string, 1000)
	for i := range thousand {
		thousand[i] = huge
	}
	prefix := `"` + strings.Repeat("x", 100) + `"… (102,400 bytes)`
	tests := []struct {
		name   string
		flow   string
		attr   string
		values []string
		want   string
		limit  bool // the error is an expression limit
	}{
		{"Join of 1,000 values of 100 KiB", "type: expression\n    expression: Join(\",\", [department])", "department", thousand,
			"department: 1:1: Join: the result would be 100 KiB; a value may be at most 64 KiB", true},
		{"a direct flow of a huge value", "type: direct\n    source: department", "department", []string{huge},
			"department: value is 102400 bytes; a mapped value may be at most 64 KiB", false},
		{"a direct flow of many values", "type: direct\n    source: department", "department", thousand,
			"department: 1000 values (" + prefix + ", " + prefix + ", " + prefix + " and 997 more), but the property takes one", false},
		{"a long value that is not UTF-8", "type: direct\n    source: department", "department", []string{strings.Repeat("\xff", 200)},
			"department: value is not valid UTF-8 text (\"" + strings.Repeat(`\xff`, 100) + "\"… (200 bytes))", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := Parse("bounds.yaml", []byte(boundsMapping("  - target: department\n    "+tt.flow+"\n")))
			require.NoError(t, err)
			r := m.Map(partner(set(tt.attr, tt.values...)))
			require.True(t, r.InScope)
			require.Error(t, r.Err)
			assert.Equal(t, tt.want, strings.SplitN(r.Err.Error(), "\n", 2)[0])
			assert.Less(t, len(r.Err.Error()), 1000)
			assert.Equal(t, tt.limit, errors.Is(r.Err, expr.ErrLimit))
		})
	}
}

// TestScopeReasonIsBounded: a reason for leaving an entry out of scope
// quotes at most a prefix of a few of the attribute's values.
func TestScopeReasonIsBounded(t *testing.T) {
	t.Parallel()
	m, err := Parse("bounds.yaml", []byte(boundsMapping("")))
	require.NoError(t, err)
	many := make([]string, 5000)
	for i := range many {
		many[i] = strings.Repeat("y", 1000)
	}
	r := m.Map(partner(set("employeeType", many...)))
	require.False(t, r.InScope)
	p := `"` + strings.Repeat("y", 100) + `"… (1,000 bytes)`
	assert.Equal(t, `out of scope: partners: employeeType EQUALS "Partner" is false (value [`+p+", "+p+", "+p+" and 4,997 more])", r.Reason)
}

// TestParseDeepInput: a mapping file nested 100,000 deep, in its YAML or
// in an expression, is refused with a message, not a stack overflow.
func TestParseDeepInput(t *testing.T) {
	t.Parallel()
	const n = 100_000
	tests := []struct{ name, src, want string }{
		{"YAML sequences", "version: 1\nflows: " + strings.Repeat("[", n) + strings.Repeat("]", n), "deep.yaml:2: YAML syntax: exceeded max depth of 10000"},
		{"YAML mappings", "version: 1\nflows: " + strings.Repeat("{a: ", n), "deep.yaml:2: YAML syntax: exceeded max depth of 10000"},
		{"parentheses", boundsMapping("  - target: department\n    type: expression\n    expression: " + strings.Repeat("(", n) + "[a]" + strings.Repeat(")", n) + "\n"),
			"deep.yaml:13:17: flows[4].expression: expected an attribute, a string, a number or a function call, found '('"},
		{"calls", boundsMapping("  - target: department\n    type: expression\n    expression: " + strings.Repeat("Trim(", n) + "[a]" + strings.Repeat(")", n) + "\n"),
			"deep.yaml:13:517: flows[4].expression: functions nested more than 100 deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("deep.yaml", []byte(tt.src))
			require.Error(t, err)
			assert.Equal(t, tt.want, strings.SplitN(err.Error(), "\n", 2)[0])
			assert.Less(t, len(err.Error()), 2000)
		})
	}
}
