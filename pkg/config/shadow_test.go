package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const shadowConfig = `version: 1
direction: guests-to-shadows
source:
  kind: graph
guests:
  scope: groups
  groups: [11111111-0000-0000-0000-000000000001]
mapping:
  file: mappings/guest-shadow.yaml
graph:
  tenantID: 11111111-2222-3333-4444-555555555555
  clientID: 66666666-7777-8888-9999-000000000000
target:
  kind: ad
ad:
  url: ldaps://dc1.corp.example.com
  bindDN: CN=svc-shadows,OU=Service,DC=corp,DC=example,DC=com
  bindPasswordFile: ad.secret
  baseDN: DC=corp,DC=example,DC=com
  ou: OU=B2B Guests,DC=corp,DC=example,DC=com
  disabledOU: OU=Disabled,DC=corp,DC=example,DC=com
  owner: contoso-tenant
`

// TestGuestsToShadowsConfig: the second direction's keys load, and each
// value that does not fit the direction is a problem at its line.
func TestGuestsToShadowsConfig(t *testing.T) {
	t.Parallel()
	load := func(t *testing.T, text string, vars map[string]string) (*Config, error) {
		t.Helper()
		dir := t.TempDir()
		write(t, dir, "ad.secret", "pw")
		env := map[string]string{"GUESTSYNC_GRAPH_CLIENTSECRET": "s"}
		for k, v := range vars {
			env[k] = v
		}
		return Load(write(t, dir, "c.yaml", text), fakeEnv(t, env))
	}
	c, err := load(t, shadowConfig, nil)
	require.NoError(t, err)
	assert.Equal(t, DirectionGuestsToShadows, c.Direction)
	assert.Equal(t, Guests{Scope: "groups", Groups: []string{"11111111-0000-0000-0000-000000000001"}}, c.Guests)
	assert.Equal(t, "pw", c.AD.BindPassword.Reveal())
	assert.Equal(t, "adminDescription", c.AD.MarkAttribute, "the default keeps shadows out of Entra Connect's rules")
	assert.Empty(t, c.Warnings, "ad.owner is set")

	tests := []struct {
		name, from, to string
		vars           map[string]string
		want           string
	}{
		{"unknown direction", "direction: guests-to-shadows", "direction: shadows", nil, `c.yaml:2:12: direction: must be partners-to-guests or guests-to-shadows (got "shadows")`},
		{"an ldap source", "  kind: graph", "  kind: ldap", nil, `source.kind: direction guests-to-shadows reads the tenant's guests: source.kind must be graph (got "ldap")`},
		{"a graph target", "  kind: ad", "  kind: graph", nil, `c.yaml:14:9: target.kind: direction guests-to-shadows writes shadow accounts: target.kind must be ad or ldif (got "graph")`},
		{"plain LDAP", "ldaps://dc1", "ldap://dc1", nil, `ad.url: ldap://dc1.corp.example.com is plain LDAP: shadows are written only over ldaps:// or with ad.startTLS`},
		{"groups scope without groups", "  groups: [11111111-0000-0000-0000-000000000001]\n", "", nil, "guests.groups: required when guests.scope is groups"},
		{"application scope", "scope: groups", "scope: application", nil, "guests.servicePrincipal: required when guests.scope is application"},
		{"no OU", "  ou: OU=B2B Guests,DC=corp,DC=example,DC=com\n", "", nil, "ad.ou: required: shadows are kept under it"},
		{"an OU outside the domain", "ou: OU=B2B Guests,DC=corp", "ou: OU=B2B Guests,DC=other", nil, "ad.ou: must be inside ad.baseDN"},
		{"a disabled OU outside the domain", "disabledOU: OU=Disabled,DC=corp", "disabledOU: OU=Disabled,DC=other", nil, "ad.disabledOU: must be inside ad.baseDN"},
		{"not a DN", "ou: OU=B2B Guests,DC=corp", "ou: OU=B2B Guests,,DC=corp", nil, "ad.ou: \"OU=B2B Guests,,DC=corp,DC=example,DC=com\" is not a DN"},
		{"ldif without a file", "  kind: ad", "  kind: ldif", nil, "target.file: required when target.kind is ldif"},
		{"no password", "  bindPasswordFile: ad.secret\n", "", nil, "ad.bindDN: ad.bindDN and a password (GUESTSYNC_AD_BINDPASSWORD or ad.bindPasswordFile) are required"},
		{"an owner with a colon", "owner: contoso-tenant", "owner: a:b", nil, "ad.owner: ad.owner and ad.markAttribute must be set; the owner may not contain"},
		{"partners to guests with an ad target", "direction: guests-to-shadows", "direction: partners-to-guests", nil, "target.kind: direction partners-to-guests writes Entra ID guests: target.kind must be graph"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			text := strings.Replace(shadowConfig, tt.from, tt.to, 1)
			require.NotEqual(t, shadowConfig, text)
			_, err := load(t, text, tt.vars)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}

	// DNs are compared as DNs: spaces and case do not matter.
	_, err = load(t, strings.Replace(shadowConfig, "ou: OU=B2B Guests,DC=corp,DC=example,DC=com", "ou: ou=B2B Guests, dc=CORP, dc=example, dc=com", 1), nil)
	require.NoError(t, err)

	// The environment sets the second direction's keys like any other.
	c, err = load(t, strings.Replace(shadowConfig, "  groups: [11111111-0000-0000-0000-000000000001]\n", "", 1),
		map[string]string{"GUESTSYNC_AD_OWNER": "from-env", "GUESTSYNC_GUESTS_SCOPE": "all"})
	require.NoError(t, err)
	assert.Equal(t, "from-env", c.AD.Owner)
	assert.Equal(t, "all", c.Guests.Scope)

	// The default owner warns, as graph.owner does.
	c, err = load(t, strings.Replace(shadowConfig, "  owner: contoso-tenant\n", "", 1), nil)
	require.NoError(t, err)
	require.Len(t, c.Warnings, 1)
	assert.Contains(t, c.Warnings[0].Error(), `ad.owner: "default" is the default`)
}
