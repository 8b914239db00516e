package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

// postGuest creates a guest in the emulator as an admin's script would
// (POST /users with userType Guest) and returns its id.
func postGuest(t *testing.T, root, alias, display string, enabled bool) string {
	t.Helper()
	u := graphCall(t, root, http.MethodPost, "/users", map[string]any{
		"accountEnabled": enabled, "displayName": display, "givenName": alias, "surname": "Partner",
		"mailNickname": alias, "userPrincipalName": alias + "_fabrikam.com#EXT#@contoso.onmicrosoft.com",
		"mail": alias + "@fabrikam.com", "userType": "Guest",
		"passwordProfile": map[string]any{"password": "Pa55-" + alias + "-word!"},
	})
	return u["id"].(string)
}

// TestGuestsToShadowsThroughTheConfig: a config of the second direction
// with the ldif target, run through validate, source dump, plan and sync:
// every enabled guest of the tenant becomes one shadow in the change file,
// a disabled guest none, and plan writes nothing.
func TestGuestsToShadowsThroughTheConfig(t *testing.T) {
	t.Parallel()
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"contoso.onmicrosoft.com"}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	root := srv.URL + "/v1.0"
	ann := postGuest(t, root, "ann", "Ann Åberg", true)
	postGuest(t, root, "bob", "Bob Brown", true)
	postGuest(t, root, "cyd", "Cyd Off", false)

	dir := t.TempDir()
	mappingPath, err := filepath.Abs(repoPath("mappings/guest-shadow.yaml"))
	require.NoError(t, err)
	changes := filepath.Join(dir, "shadows.ldif")
	cfg := filepath.Join(dir, "shadows.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`version: 1
direction: guests-to-shadows
source: {kind: graph}
guests: {scope: all}
mapping: {file: %q}
graph: {url: %q, auth: emulator}
target: {kind: ldif, file: shadows.ldif}
ad:
  baseDN: DC=corp,DC=contoso,DC=com
  ou: OU=B2B Guests,DC=corp,DC=contoso,DC=com
  disabledOU: OU=Disabled,DC=corp,DC=contoso,DC=com
  owner: contoso
state: {file: state.json}
`, mappingPath, root)), 0o600))

	code, out, stderr := guestsync(t, nil, "validate", "--config", cfg)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)

	code, out, stderr = guestsync(t, nil, "source", "dump", "--config", cfg, "--format", "count")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "2\n", out, "the enabled guests")

	code, out, stderr = guestsync(t, nil, "plan", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "+ create shadow account ann_fabrikam.com#EXT#@contoso.onmicrosoft.com")
	assert.Contains(t, out, "Plan: 2 to create")
	_, err = os.Stat(changes)
	assert.ErrorIs(t, err, os.ErrNotExist, "plan writes nothing")

	// preview shows one guest's steps; a reviewed plan applies as saved.
	code, out, stderr = guestsync(t, nil, "preview", "--config", cfg, "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "+ create shadow account ann_fabrikam.com#EXT#@contoso.onmicrosoft.com")
	saved := filepath.Join(dir, "plan.json")
	code, _, stderr = guestsync(t, nil, "plan", "--config", cfg, "--out", saved)
	require.Equal(t, 0, code, stderr)
	plan, err := os.ReadFile(saved)
	require.NoError(t, err)
	assert.Contains(t, string(plan), `"kind": "ldif"`, "the saved plan names its target")

	code, out, stderr = guestsync(t, nil, "apply", saved, "--config", cfg)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, "Applied: 2 created")
	data, err := os.ReadFile(changes)
	require.NoError(t, err)
	ldif := strings.ReplaceAll(string(data), "\n ", "") // unfolded (RFC 2849)
	assert.Equal(t, 2, strings.Count(ldif, "changetype: add"))
	assert.Contains(t, ldif, "userPrincipalName: ann_fabrikam.com#EXT#@contoso.onmicrosoft.com")
	assert.Contains(t, ldif, "adminDescription: User_guestsync:contoso:"+ann)
	assert.NotContains(t, ldif, "cyd", "a disabled guest gets no shadow")

	// The config's mapping must write shadows: the partners' mapping does not.
	partner, err := filepath.Abs(repoPath("mappings/partner-guest.yaml"))
	require.NoError(t, err)
	code, out, _ = guestsync(t, map[string]string{"GUESTSYNC_MAPPING_FILE": partner}, "validate", "--config", cfg)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "needs a mapping with target: ad")
}
