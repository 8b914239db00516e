package ldap

import (
	"context"
	"errors"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustDN(t *testing.T, s string) *goldap.DN {
	t.Helper()
	dn, err := goldap.ParseDN(s)
	require.NoError(t, err, s)
	return dn
}

func TestExcludedBy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		exclude, dn string
		want        bool
	}{
		{"OU=Excluded,OU=Partners,DC=example,DC=test", "CN=Ann,OU=Excluded,OU=Partners,DC=example,DC=test", true},
		{"OU=Excluded,OU=Partners,DC=example,DC=test", "OU=Excluded,OU=Partners,DC=example,DC=test", true},
		{"OU=Excluded,OU=Partners,DC=example,DC=test", "CN=Ann,OU=Deeper,OU=Excluded,OU=Partners,DC=example,DC=test", true},
		// Letter case of types and values.
		{"OU=Excluded,OU=Partners,DC=example,DC=test", "cn=ann,ou=EXCLUDED,ou=partners,dc=Example,dc=TEST", true},
		{"ou=excluded,ou=partners,dc=example,dc=test", "CN=Ann,OU=Excluded,OU=Partners,DC=example,DC=test", true},
		// Spaces around = and , are not part of the DN.
		{"OU = Excluded , OU=Partners,  DC=example ,DC=test", "CN=Ann,OU=Excluded,OU=Partners,DC=example,DC=test", true},
		{"OU=Excluded,OU=Partners,DC=example,DC=test", "CN = Ann , OU = Excluded,OU=Partners , DC=example,DC=test", true},
		// Escapes: \, and \2C are the same comma, inside one value.
		{`OU=Smith\, Jones,DC=example,DC=test`, `CN=Ann,OU=Smith\2C Jones,DC=example,DC=test`, true},
		{`OU=Smith\, Jones,DC=example,DC=test`, `CN=Ann,OU=smith\, JONES,DC=example,DC=test`, true},
		{`OU=Smith\, Jones,DC=example,DC=test`, `CN=Ann,OU=Smith,OU=Jones,DC=example,DC=test`, false},
		{`OU=Smith\, Jones,DC=example,DC=test`, `CN=Ann, OU=Jones,DC=example,DC=test`, false},
		// UTF-8, raw or hex-escaped, folded beyond ASCII.
		{"OU=Sociétés,DC=example,DC=test", `CN=Ann,OU=Soci\C3\A9t\C3\A9s,DC=example,DC=test`, true},
		{"OU=Sociétés,DC=example,DC=test", "CN=Ann,OU=SOCIÉTÉS,DC=example,DC=test", true},
		{"OU=Sociétés,DC=example,DC=test", "CN=Ann,OU=Societes,DC=example,DC=test", false},
		// A multi-valued RDN, in another order.
		{"OU=Ext+CN=Partners,DC=example,DC=test", "CN=Ann,cn=partners+ou=ext,DC=example,DC=test", true},
		{"OU=Ext+CN=Partners,DC=example,DC=test", "CN=Ann,CN=Partners,DC=example,DC=test", false},
		// Not below: a sibling, the parent, a string prefix, another type,
		// another domain.
		{"OU=Excluded,OU=Partners,DC=example,DC=test", "CN=Ann,OU=Excluded2,OU=Partners,DC=example,DC=test", false},
		{"OU=Excluded,OU=Partners,DC=example,DC=test", "OU=Partners,DC=example,DC=test", false},
		{"OU=Ex,DC=example,DC=test", "CN=Ann,OU=NotEx,DC=example,DC=test", false},
		{"OU=Excluded,OU=Partners,DC=example,DC=test", "CN=Ann,CN=Excluded,OU=Partners,DC=example,DC=test", false},
		{"OU=Excluded,OU=Partners,DC=example,DC=test", "CN=Ann,OU=Excluded,OU=Partners,DC=example,DC=other", false},
	}
	for _, tt := range tests {
		excludes := []subtree{{dn: "other", parsed: mustDN(t, "OU=Other,DC=example,DC=test")}, {dn: tt.exclude, parsed: mustDN(t, tt.exclude)}}
		got, ok := excludedBy(mustDN(t, tt.dn), excludes)
		assert.Equal(t, tt.want, ok, "%s under %s", tt.dn, tt.exclude)
		if ok {
			assert.Equal(t, tt.exclude, got.dn)
		}
	}
}

func TestDNKey(t *testing.T) {
	t.Parallel()
	same := [][]string{
		{"CN=Ann,OU=Partners,DC=example,DC=test", "cn=ann,ou=partners,dc=example,dc=test", " cn = Ann , ou=Partners,DC=EXAMPLE,dc=test"},
		{`CN=Smith\, Jones,DC=x`, `cn=smith\2c jones,dc=x`, `CN=Smith\2C Jones,DC=X`},
		{"CN=Zoë Müller,DC=x", `cn=ZOË MÜLLER,dc=x`, `CN=Zo\C3\AB M\C3\BCller,DC=x`},
		{"OU=Ext+CN=Partners,DC=x", "cn=partners+ou=ext,dc=x"},
	}
	var keys []string
	for _, group := range same {
		key := dnKey(mustDN(t, group[0]))
		for _, s := range group[1:] {
			assert.Equal(t, key, dnKey(mustDN(t, s)), "%s and %s", group[0], s)
		}
		keys = append(keys, key)
	}
	for _, s := range []string{"CN=Smith,OU=Jones,DC=x", `CN=Smith\,,DC=x`, "CN=Ann,DC=x", "OU=Ext,CN=Partners,DC=x", "CN=Zoe Muller,DC=x"} {
		assert.NotContains(t, keys, dnKey(mustDN(t, s)), s)
	}
	assert.NotEqual(t, dnKey(mustDN(t, `CN=a\,b=c,DC=x`)), dnKey(mustDN(t, `CN=a,B=c,DC=x`)))
	assert.NotEqual(t, dnKey(mustDN(t, `CN=a\+OU=b,DC=x`)), dnKey(mustDN(t, `CN=a+OU=b,DC=x`)))
}

func TestInChainFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		filter string
		groups []string
		want   string
	}{
		{"no groups", "(objectClass=user)", nil, "(objectClass=user)"},
		{"one group", "(objectClass=user)", []string{"CN=Partner Access,OU=Groups,DC=example,DC=test"},
			"(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=CN=Partner Access,OU=Groups,DC=example,DC=test))"},
		{"two groups", "(&(objectClass=user)(mail=*))", []string{"CN=A,DC=x", "CN=B,DC=x"},
			"(&(&(objectClass=user)(mail=*))(|(memberOf:1.2.840.113556.1.4.1941:=CN=A,DC=x)(memberOf:1.2.840.113556.1.4.1941:=CN=B,DC=x)))"},
		{"filter specials and an escaped comma", "(objectClass=user)", []string{`CN=Partners (EU)\, *all*,DC=x`},
			`(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=CN=Partners \28EU\29\5c, \2aall\2a,DC=x))`},
		{"non-ASCII and a NUL", "(objectClass=user)", []string{"CN=Sociétés\x00,DC=x"},
			`(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=CN=Soci\c3\a9t\c3\a9s\00,DC=x))`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := inChainFilter(tt.filter, tt.groups)
			assert.Equal(t, tt.want, got)
			p, err := goldap.CompileFilter(got)
			require.NoError(t, err)
			if len(tt.groups) == 1 {
				// The server sees the DN exactly as configured.
				clause := p.Children[1]
				assert.Equal(t, "memberOf", clause.Children[1].Value)
				assert.Equal(t, tt.groups[0], clause.Children[2].Value)
			}
		})
	}
}

func TestWithoutUID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"uid=a,dc=x#'0101'B": "uid=a,dc=x",
		"uid=a,dc=x#''B":     "uid=a,dc=x",
		"uid=a,dc=x":         "uid=a,dc=x",
		"uid=a,dc=x#'012'B":  "uid=a,dc=x#'012'B",
		`cn=\#'B,dc=x`:       `cn=\#'B,dc=x`,
	} {
		assert.Equal(t, want, withoutUID(in), in)
	}
}

func TestExplainReadNamesTheLimits(t *testing.T) {
	t.Parallel()
	r, err := New(validConfig(), nil)
	require.NoError(t, err)
	for code, want := range map[uint16]string{
		goldap.LDAPResultSizeLimitExceeded:  "the server's size limit stopped the search",
		goldap.LDAPResultTimeLimitExceeded:  "the server's time limit stopped the search",
		goldap.LDAPResultAdminLimitExceeded: "an administrative limit of the server stopped the search",
	} {
		err := r.explainRead(context.Background(), goldap.NewError(code, errors.New("limit")))
		assert.ErrorContains(t, err, want)
		assert.True(t, goldap.IsErrorWithCode(err, code), "the result code stays visible")
	}
}
