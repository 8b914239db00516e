package mapping

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

// TestScopeOperators checks every operator of "Scoping users or groups to
// be provisioned with scoping filters" against its documented meaning.
func TestScopeOperators(t *testing.T) {
	t.Parallel()
	null := []string(nil)
	tests := []struct {
		op, value string
		attr      []string
		want      bool
	}{
		{"EQUALS", "Partner", []string{"Partner"}, true},
		{"EQUALS", "Partner", []string{"partner"}, false}, // case sensitive
		{"EQUALS", "Partner", null, false},
		{"EQUALS", "", []string{""}, false}, // null / empty is false
		{"EQUALS", "b", []string{"a", "b"}, true},
		{"NOT EQUALS", "Partner", []string{"Employee"}, true},
		{"NOT EQUALS", "Partner", []string{"Partner"}, false},
		{"NOT EQUALS", "Partner", null, false}, // null is false, even negated
		{"NOT_EQUALS", "Partner", []string{"partner"}, true},
		{"NOT EQUALS", "b", []string{"a", "b"}, false},
		{"IS TRUE", "", []string{"TRUE"}, true}, // AD writes booleans as TRUE
		{"IS TRUE", "", []string{"FALSE"}, false},
		{"IS TRUE", "", null, false},
		{"IS FALSE", "", []string{"false"}, true},
		{"IS FALSE", "", null, false},
		{"IS NULL", "", null, true},
		{"IS NULL", "", []string{""}, true}, // "returns true if the evaluated attribute is empty"
		{"IS NULL", "", []string{"x"}, false},
		{"IS NOT NULL", "", []string{"x"}, true},
		{"IS NOT NULL", "", []string{""}, false},
		{"IS NOT NULL", "", null, false},
		{"REGEX MATCH", "([1-9][0-9])", []string{"42"}, true}, // the documented example
		{"REGEX MATCH", "([1-9][0-9])", []string{"7"}, false},
		{"REGEX MATCH", `.*\@domain.com`, []string{"ann@domain.com"}, true},
		{"REGEX MATCH", "^a$", []string{"A"}, false},
		{"REGEX MATCH", "x", null, false},
		{"NOT REGEX MATCH", `.*\@domain.com`, []string{"ann@other.com"}, true},
		{"NOT REGEX MATCH", `.*\@domain.com`, []string{"ann@domain.com"}, false},
		{"NOT REGEX MATCH", "x", null, false}, // "returns false if the attribute is null / empty"
		{"NOT REGEX MATCH", "x", []string{""}, false},
		{"Greater_Than", "1000000", []string{"1500000"}, true},
		{"Greater_Than", "1000000", []string{"1000000"}, false},
		{"Greater_Than", "10", []string{"abc"}, false}, // "the attribute on the user must be an integer"
		{"Greater_Than", "10", null, false},
		{"GREATER_THAN_OR_EQUALS", "1000000", []string{"1000000"}, true},
		{"Greater_Than_OR_EQUALS", "1000000", []string{"999999"}, false},
		{"Includes", "Sales", []string{"EMEA Sales"}, true},
		{"Includes", "sales", []string{"EMEA Sales"}, false}, // case sensitive, as String.Contains
		{"Includes", "x", null, false},
		{"ENDS_WITH", "@fabrikam.com", []string{"ann@fabrikam.com"}, true},
		{"ENDS_WITH", "@fabrikam.com", []string{"ann@fabrikam.co"}, false},
		{"ends with", "x", []string{"ax"}, true},
		{"&", "FR,DE,BE", []string{"DE"}, true}, // the attribute exists in the value
		{"&", "FR,DE,BE", []string{"NL"}, false},
		{"&", "FR,DE,BE", null, false},
		{"!&", "FR,DE,BE", []string{"NL"}, true},
		{"!&", "FR,DE,BE", []string{"DE"}, false},
		{"!&", "FR,DE,BE", null, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %q on %q", tt.op, tt.value, tt.attr), func(t *testing.T) {
			t.Parallel()
			def, ok := lookupOperator(tt.op)
			require.True(t, ok)
			c := clause{attribute: "a", isNull: def.build == nil}
			if def.build != nil {
				op, err := def.build(tt.value)
				require.NoError(t, err)
				c.eval = op
			}
			e := source.Entry{Attributes: map[string][]string{}}
			if tt.attr != nil {
				e.Attributes["A"] = tt.attr
			}
			assert.Equal(t, tt.want, c.holds(e))
		})
	}
}

func TestScopeGroupsAreORedAndClausesANDed(t *testing.T) {
	t.Parallel()
	m, err := Parse("m.yaml", []byte(minimal(`scope:
  - name: fabrikam partners
    clauses:
      - {attribute: company, operator: EQUALS, value: Fabrikam}
      - {attribute: employeeType, operator: EQUALS, value: Partner}
  - name: contractors
    clauses:
      - {attribute: employeeType, operator: EQUALS, value: Contractor}
`)))
	require.NoError(t, err)
	for _, tt := range []struct {
		company, kind string
		in            bool
	}{
		{"Fabrikam", "Partner", true},
		{"Woodgrove", "Partner", false},
		{"Woodgrove", "Contractor", true},
		{"Fabrikam", "Employee", false},
	} {
		r := m.Map(partner(set("company", tt.company), set("employeeType", tt.kind)))
		assert.Equal(t, tt.in, r.InScope, "%s %s: %s", tt.company, tt.kind, r.Reason)
		if !tt.in {
			assert.Contains(t, r.Reason, "fabrikam partners: ")
			assert.Contains(t, r.Reason, "contractors: employeeType EQUALS \"Contractor\" is false")
		}
	}
}
