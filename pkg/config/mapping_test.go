package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/mapping"
)

// inviteMapping is a mapping in invite mode; its mode: key is on line 2.
const inviteMapping = "version: 1\nmode: invite\nflows:\n  - {target: mail, type: direct, source: mail}\n"

func TestInviteModeNeedsARedirectURL(t *testing.T) {
	t.Parallel()
	invite, err := mapping.Parse("invite.yaml", []byte(inviteMapping))
	require.NoError(t, err)
	create, err := mapping.Parse("create.yaml", []byte("version: 1\nflows:\n"+
		"  - {target: userPrincipalName, type: direct, source: userPrincipalName}\n"+
		"  - {target: mailNickname, type: direct, source: sAMAccountName}\n"+
		"  - {target: displayName, type: direct, source: displayName}\n"+
		"  - {target: accountEnabled, type: constant, value: \"true\"}\n"))
	require.NoError(t, err)
	const ldif = "version: 1\nsource: {kind: ldif}\nldif: {path: x.ldif}\n"
	const why = "graph.invitation.redirectURL: required: mapping invite.yaml:2 invites guests (mode: invite), and Graph requires a redirect URL for every invitation (set it, or graph.tenantID to default to the tenant's My Apps)"
	tests := []struct {
		name, config string
		vars         map[string]string
		m            *mapping.Mapping
		at           string // after the config file's name; "-": no problem
	}{
		{"no tenant, no URL: at the graph section", ldif + "graph:\n  auth: default\n", nil, invite, ":4:1"},
		{"at the invitation section", ldif + "graph:\n  auth: default\n  invitation:\n    sendMessage: true\n", nil, invite, ":6:3"},
		{"no graph section in the file", ldif, map[string]string{"GUESTSYNC_GRAPH_AUTH": "default"}, invite, ""},
		{"a URL", ldif + "graph: {auth: default, invitation: {redirectURL: 'https://partners.example.com/'}}\n", nil, invite, "-"},
		{"a URL from the environment", ldif + "graph: {auth: default}\n", map[string]string{"GUESTSYNC_GRAPH_INVITATION_REDIRECTURL": "https://partners.example.com/"}, invite, "-"},
		{"a tenant: its My Apps", ldif + "graph: {auth: default, tenantID: contoso.onmicrosoft.com}\n", nil, invite, "-"},
		{"create mode needs none", ldif + "graph: {auth: default}\n", nil, create, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := write(t, t.TempDir(), "c.yaml", tt.config)
			c, err := Load(path, fakeEnv(t, tt.vars))
			require.NoError(t, err, "Load does not read the mapping")
			ps := c.CheckMapping(tt.m)
			if tt.at == "-" {
				assert.Empty(t, ps)
				return
			}
			require.Len(t, ps, 1)
			assert.Equal(t, path+tt.at+": "+why, ps[0].Error())
		})
	}
}

// Two instances with the default owner in one tenant would remove each
// other's guests: Load warns while removals are on.
func TestDefaultOwnerWarning(t *testing.T) {
	t.Parallel()
	noOwner := strings.Replace(ldapConfig, "  owner: prod\n", "", 1)
	tests := []struct {
		name, config string
		vars         map[string]string
		line, col    int // 0: no warning
	}{
		{"left out: at the graph section", noOwner, nil, 12, 1},
		{"written as the default", strings.Replace(ldapConfig, "owner: prod", "owner: default", 1), nil, 15, 3},
		{"removal by delete", noOwner + "policy: {removal: delete}\n", nil, 12, 1},
		{"a name", ldapConfig, nil, 0, 0},
		{"a name from the environment", noOwner, map[string]string{"GUESTSYNC_GRAPH_OWNER": "prod"}, 0, 0},
		{"no removals", noOwner + "policy: {removal: none}\n", nil, 0, 0},
		{"upsert-only", noOwner + "policy: {mode: upsert-only}\n", nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadLDAP(t, "a.yaml", tt.config, tt.vars)
			require.NoError(t, err)
			if tt.line == 0 {
				assert.Empty(t, c.Warnings)
				return
			}
			require.Len(t, c.Warnings, 1)
			w := c.Warnings[0]
			assert.Equal(t, [2]int{tt.line, tt.col}, [2]int{w.Line, w.Col})
			assert.Equal(t, "graph.owner", w.Path)
			assert.True(t, strings.HasPrefix(w.Msg, `"default" is the default: if another guestsync with the default owner syncs into this tenant,`), w.Msg)
		})
	}
}

// TestTheMappingMustFitTheDirection: a mapping that writes AD shadow
// accounts under a config of partners to guests (or the other way round)
// is a problem at mapping.file.
func TestTheMappingMustFitTheDirection(t *testing.T) {
	t.Parallel()
	shadow, err := mapping.Load("../../mappings/guest-shadow.yaml")
	require.NoError(t, err)
	guest, err := mapping.Load("../../mappings/partner-guest.yaml")
	require.NoError(t, err)
	dir := t.TempDir()
	write(t, dir, "ad.secret", "pw")
	shadows, err := Load(write(t, dir, "shadows.yaml", shadowConfig), fakeEnv(t, map[string]string{"GUESTSYNC_GRAPH_CLIENTSECRET": "s"}))
	require.NoError(t, err)
	assert.Empty(t, shadows.CheckMapping(shadow))
	ps := shadows.CheckMapping(guest)
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0].Error(), "shadows.yaml:9:3: mapping.file: mapping ../../mappings/partner-guest.yaml writes target graph, but direction guests-to-shadows needs a mapping with target: ad")

	partners, err := Load(write(t, dir, "partners.yaml", "version: 1\nsource: {kind: ldif}\nldif: {path: x.ldif}\ngraph: {auth: default}\n"), fakeEnv(t, nil))
	require.NoError(t, err)
	assert.Empty(t, partners.CheckMapping(guest))
	ps = partners.CheckMapping(shadow)
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0].Error(), "needs a mapping with target: graph")
}
