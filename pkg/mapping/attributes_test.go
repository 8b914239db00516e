package mapping

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWhatAMappingReadsAndWrites: the source attributes a mapping reads
// (anchor, scope, direct and expression flows) and the properties it
// writes, for sources and targets that must name them.
func TestWhatAMappingReadsAndWrites(t *testing.T) {
	t.Parallel()
	m, err := Load("../../mappings/guest-shadow.yaml")
	require.NoError(t, err)
	reads := m.SourceAttributes()
	for _, a := range []string{"id", "userType", "userPrincipalName", "displayName", "givenName", "surname", "mail"} {
		assert.Contains(t, reads, a)
	}
	assert.IsIncreasing(t, reads)
	assert.Equal(t, []string{"cn", "description", "displayName", "givenName", "mail", "sAMAccountName", "sn", "userPrincipalName"}, m.Targets())

	m, err = Parse("m.yaml", []byte(`version: 1
anchor: {attributes: [objectGUID]}
scope:
  - clauses: [{attribute: employeeType, operator: EQUALS, value: Partner}]
flows:
  - {target: userPrincipalName, type: expression, expression: 'Join("@", [sAMAccountName], "partners.contoso.com")'}
  - {target: mailNickname, type: direct, source: uid}
  - {target: displayName, type: direct, source: cn}
  - {target: accountEnabled, type: constant, value: "true"}
`))
	require.NoError(t, err)
	assert.Equal(t, []string{"cn", "employeeType", "objectGUID", "sAMAccountName", "uid"}, m.SourceAttributes())
	assert.Equal(t, []string{"accountEnabled", "displayName", "mailNickname", "userPrincipalName"}, m.Targets())
}
