package schema

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckAcceptsWhatGraphAccepts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ property, value string }{
		{"displayName", strings.Repeat("é", 256)},
		{"userPrincipalName", "o'brien.x-y_z!#^~@partners.contoso.com"},
		{"userPrincipalName", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 44) + ".com"},
		{"mailNickname", strings.Repeat("z", 64)},
		{"usageLocation", "de"},
		{"accountEnabled", "True"},
		{"employeeType", strings.Repeat("x", 100000)}, // no documented maximum
		{"usageLocation", ""},                         // clearing is Graph's to judge
	} {
		p, ok := Graph().Lookup(tc.property)
		assert.True(t, ok, tc.property)
		assert.NoError(t, p.Check(tc.value), "%s %.40q", tc.property, tc.value)
	}
}

func TestCheckClipsTheValueItQuotes(t *testing.T) {
	t.Parallel()
	p, _ := Graph().Lookup("usageLocation")
	err := p.Check(strings.Repeat("x", 1<<20))
	assert.EqualError(t, err, "usageLocation is 1048576 characters; Graph allows at most 2")
	p, _ = Graph().Lookup("accountEnabled")
	err = p.Check(strings.Repeat("y", 1<<20))
	assert.EqualError(t, err, `accountEnabled must be true or false, not "`+strings.Repeat("y", 40)+`…"`)
}

func TestADAcceptsWhatADAccepts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ property, value string }{
		{"userPrincipalName", "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com"},
		{"userPrincipalName", strings.Repeat("a", 1000) + "@contoso.com"},
		{"sAMAccountName", strings.Repeat("é", 20)},
		{"sAMAccountName", "ann.o'neil-x_y"},
		{"sAMAccountName", ".leading.dot"},
		{"cn", `Müller, Zoë <"#+;\>`}, // the target escapes the RDN
		{"cn", strings.Repeat("z", 64)},
		{"description", strings.Repeat("d", 1024)},
		{"enabled", "FALSE"},
	} {
		p, ok := AD().Lookup(tc.property)
		require.True(t, ok, tc.property)
		assert.NoError(t, p.Check(tc.value), "%s %.40q", tc.property, tc.value)
	}
}

func TestADRefusesWhatADRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ property, value, want string }{
		{"sAMAccountName", strings.Repeat("s", 21), "sAMAccountName is 21 characters; Active Directory allows at most 20"},
		{"sAMAccountName", "ann@fabrikam", `sAMAccountName contains '@', which Active Directory does not allow in a logon name (" / \ [ ] : ; | = , + * ? < > @)`},
		{"sAMAccountName", "a,b", `sAMAccountName contains ','`},
		{"sAMAccountName", "ann.", "sAMAccountName ends with '.'"},
		{"sAMAccountName", "a\tb", "sAMAccountName contains the control character U+0009"},
		{"sAMAccountName", "a\x7fb", "sAMAccountName contains the control character U+007F"},
		{"cn", strings.Repeat("c", 65), "cn is 65 characters; Active Directory allows at most 64"},
		{"cn", "Ann\nSmith", "cn contains the control character U+000A"},
		{"userPrincipalName", "ann", "userPrincipalName must be name@suffix with exactly one @"},
		{"userPrincipalName", "a@b@c", "userPrincipalName must be name@suffix with exactly one @"},
		{"displayName", strings.Repeat("é", 257), "displayName is 257 characters; Active Directory allows at most 256"},
		{"givenName", strings.Repeat("g", 65), "givenName is 65 characters"},
		{"sn", strings.Repeat("s", 65), "sn is 65 characters"},
		{"mail", strings.Repeat("m", 257), "mail is 257 characters"},
		{"description", strings.Repeat("d", 1025), "description is 1025 characters"},
		{"enabled", "yes", `enabled must be true or false, not "yes"`},
	} {
		p, ok := AD().Lookup(tc.property)
		require.True(t, ok, tc.property)
		err := p.Check(tc.value)
		if assert.Error(t, err, "%s %.40q", tc.property, tc.value) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
	for _, c := range SAMAccountNameForbidden {
		p, _ := AD().Lookup("sAMAccountName")
		assert.Error(t, p.Check("a"+string(c)+"b"), "%c", c)
	}
}

func TestTables(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"graph", "ad"}, Kinds())
	for _, kind := range Kinds() {
		tb, ok := ForKind(kind)
		require.True(t, ok)
		assert.Equal(t, kind, tb.Kind)
		assert.NotEmpty(t, tb.Properties())
	}
	_, ok := ForKind("ldif")
	assert.False(t, ok)
	assert.Equal(t, []string{"accountEnabled", "displayName", "mailNickname", "userPrincipalName"}, Graph().Required())
	assert.Equal(t, []string{"cn", "sAMAccountName", "userPrincipalName"}, AD().Required())
	_, ok = AD().Lookup("mailNickname")
	assert.False(t, ok, "the tables do not mix")
}
