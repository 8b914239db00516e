package ad

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/engine"
	"github.com/guestsync/guestsync/pkg/ldapconn"
)

// The engine runs Check in the plan step only if the target has it.
var _ engine.TargetCheck = (*Target)(nil)

func withUPN(upns ...string) []account.Account {
	out := make([]account.Account, 0, len(upns))
	for _, u := range upns {
		out = append(out, account.Account{Properties: map[string]string{"userPrincipalName": u}})
	}
	return out
}

func TestUPNSuffixes(t *testing.T) {
	t.Parallel()
	deleted := withUPN("gone_x.com#EXT#@gone.onmicrosoft.com")
	deleted[0].Deleted = true
	tests := []struct {
		name    string
		desired []account.Account
		want    []SuffixCount
	}{
		{"none", nil, nil},
		{"after the last @, most used first, case folded to the first use",
			withUPN("ann_fabrikam.com#EXT#@contoso.onmicrosoft.com", "bob@partners.example.test",
				"odd@name@Contoso.onmicrosoft.com", "cy_x.org#EXT#@CONTOSO.ONMICROSOFT.COM"),
			[]SuffixCount{{"contoso.onmicrosoft.com", 3}, {"partners.example.test", 1}}},
		{"ties by name", withUPN("a@b.test", "a@a.test"), []SuffixCount{{"a.test", 1}, {"b.test", 1}}},
		{"without a suffix, or deleted: not counted",
			append(withUPN("no-at-sign", "trailing@", ""), append(deleted, account.Account{})...), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, UPNSuffixes(tt.desired))
		})
	}
}

func TestSuffixWarnings(t *testing.T) {
	t.Parallel()
	forest := Forest{Root: "example.test", Domains: []string{"example.test", "child.example.test"},
		UPNSuffixes: []string{"partners.example.test"}}
	desired := withUPN(
		"ann_fabrikam.com#EXT#@contoso.onmicrosoft.com",
		"bob_fabrikam.com#EXT#@contoso.onmicrosoft.com",
		"cy@fabrikam.example",
		"dee@Example.Test",
		"eve@CHILD.example.test",
		"fay@Partners.Example.Test",
	)
	warnings := forest.SuffixWarnings(desired)
	require.Len(t, warnings, 2, "the domains and the UPN suffixes are listed, compared without case")
	assert.Equal(t, `UPN suffix contoso.onmicrosoft.com is not one of the forest's (example.test, child.example.test, partners.example.test), and 2 guests use it: LDAP accepts the shadows anyway, but add the suffix to the forest as Microsoft's hybrid identity lab does before it creates shadows: Active Directory Domains and Trusts, Properties, UPN Suffixes; or Set-ADForest -Identity example.test -UPNSuffixes @{Add="contoso.onmicrosoft.com"}`,
		warnings[0])
	assert.Contains(t, warnings[1], "UPN suffix fabrikam.example is not one of the forest's")
	assert.Contains(t, warnings[1], "and 1 guest uses it")

	assert.Empty(t, forest.SuffixWarnings(withUPN("x@partners.example.test")))
	assert.Contains(t, Forest{Domains: []string{"example.test"}}.SuffixWarnings(withUPN("x@y.test"))[0],
		"Set-ADForest -Identity <forest root domain>", "a forest root not found is a placeholder")
}

// Over plain ldap:// the check fails, saying why, even when the rest
// cannot be checked either.
func TestCheckPlainConnection(t *testing.T) {
	t.Parallel()
	target, err := New(Options{Connection: ldapconn.Config{URL: "ldap://127.0.0.1:1", Timeout: time.Second},
		BaseDN: "DC=x", OU: "OU=S,DC=x", Owner: "prod"})
	require.NoError(t, err)
	warnings, err := target.Check(context.Background(), withUPN("a@b.test"))
	require.Error(t, err)
	assert.Empty(t, warnings)
	assert.Contains(t, err.Error(), "the connection to ldap://127.0.0.1:1 is not encrypted: every write would be refused")
	assert.Contains(t, err.Error(), "use an ldaps:// URL or startTLS: true")
	assert.Contains(t, err.Error(), "connect to check the OU")
}
