package graphsim_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

func TestStateSurvivesARestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tenant.json")
	first := newTenantWith(t, graphsim.Options{})
	kept := first.create(newUser("kept", map[string]any{
		"onPremisesExtensionAttributes": map[string]any{"extensionAttribute15": "guestsync"},
		"businessPhones":                []string{"+1 555 0100"},
	}))["id"].(string)
	guest := first.invite(invitation("g@partner.example", nil))["invitedUser"].(map[string]any)["id"].(string)
	binned := first.create(newUser("binned", nil))["id"].(string)
	require.Equal(t, http.StatusNoContent, first.request(http.MethodDelete, "/v1.0/users/"+binned, nil).status)
	_, _, deltaLink := deltaRound(first, "/v1.0/users/delta?$select=displayName")

	saved, err := first.sim.SaveStateIfChanged(path)
	require.NoError(t, err)
	assert.True(t, saved)
	saved, err = first.sim.SaveStateIfChanged(path)
	require.NoError(t, err)
	assert.False(t, saved, "nothing changed since")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "Passw0rd", "passwords are never written")
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".tenant.json.tmp-*"))
	assert.Empty(t, leftovers, "the temporary file was renamed")

	second := newTenantWith(t, graphsim.Options{})
	require.NoError(t, second.sim.LoadState(path))
	a, err := first.sim.Snapshot()
	require.NoError(t, err)
	b, err := second.sim.Snapshot()
	require.NoError(t, err)
	assert.JSONEq(t, string(a), string(b), "the restarted tenant is the same tenant")
	assert.Equal(t, []string{kept, guest}, ids(t, second.get("/v1.0/users")))
	assert.Equal(t, []string{binned}, ids(t, second.get(deletedUsersPath)))
	u := second.get("/v1.0/users/" + kept + "?$select=onPremisesExtensionAttributes,businessPhones").object(t)
	assert.Equal(t, "guestsync", u["onPremisesExtensionAttributes"].(map[string]any)["extensionAttribute15"])
	assert.Equal(t, []any{"+1 555 0100"}, u["businessPhones"])
	require.Equal(t, http.StatusOK, second.request(http.MethodPost, "/v1.0/directory/deletedItems/"+binned+"/restore", nil).status)

	// A deltaLink issued before the restart continues after it.
	link := strings.Replace(deltaLink, first.srv.URL, second.srv.URL, 1)
	changes, _, _ := deltaRound(second, strings.TrimPrefix(link, second.srv.URL))
	assert.Equal(t, []map[string]any{{"id": binned, "displayName": "User binned"}}, changes)
	// A new user does not reuse a creation number.
	fresh := second.create(newUser("fresh", nil))["id"].(string)
	assert.Equal(t, []string{kept, guest, binned, fresh}, ids(t, second.get("/v1.0/users")))
}

func TestLoadState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tn := newTenantWith(t, graphsim.Options{})
	require.NoError(t, tn.sim.LoadState(filepath.Join(dir, "missing.json")), "a missing file is an empty tenant")

	valid := `{"version":1,"tenantId":"11111111-2222-4333-8444-555555555555","users":[]}`
	tests := []struct {
		name, content, wantErr string
	}{
		{"not JSON", "{", "graphsim: read snapshot: unexpected end of JSON input"},
		{"version", `{"version":2}`, "graphsim: snapshot version 2, want 1"},
		{"other tenant", `{"version":1,"tenantId":"99999999-2222-4333-8444-555555555555"}`,
			"graphsim: snapshot of tenant 99999999-2222-4333-8444-555555555555, not 11111111-2222-4333-8444-555555555555"},
		{"unknown property", `{"version":1,"users":[{"id":"a","seq":1,"properties":{"shoeSize":44}}]}`,
			`graphsim: snapshot: user a: unknown property "shoeSize"`},
		{"duplicate", `{"version":1,"users":[{"id":"a","seq":1,"properties":{}},{"id":"A","seq":2,"properties":{}}]}`,
			"graphsim: snapshot: user A is not unique"},
		{"short deltaKey", `{"version":1,"deltaKey":"c2hvcnQ="}`, "graphsim: snapshot: deltaKey has 5 bytes, want 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".json")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))
			assert.EqualError(t, tn.sim.LoadState(path), path+": "+tt.wantErr)
		})
	}
	require.NoError(t, tn.sim.LoadSnapshot([]byte(valid)))
}

func TestStateEndpoint(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	id := tn.create(newUser("dump", nil))["id"].(string)

	r := tn.get("/_graphsim/state")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	var snap struct {
		Version  int
		TenantID string
		Users    []struct {
			ID         string
			Properties map[string]any
		}
	}
	require.NoError(t, json.Unmarshal(r.body, &snap))
	assert.Equal(t, 1, snap.Version)
	assert.Equal(t, "11111111-2222-4333-8444-555555555555", snap.TenantID)
	require.Len(t, snap.Users, 1)
	assert.Equal(t, id, snap.Users[0].ID)
	assert.Equal(t, "dump@contoso.com", snap.Users[0].Properties["userPrincipalName"])
	assert.Equal(t, map[string]any{"forceChangePasswordNextSignIn": false}, snap.Users[0].Properties["passwordProfile"])

	requireError(t, tn.get("/_graphsim/state", "Authorization", "Bearer wrong"), 401, "InvalidAuthenticationToken",
		"Access token validation failure. Invalid audience.")
	requireError(t, tn.request(http.MethodPost, "/_graphsim/state", nil), 405, "Request_BadRequest",
		"Specified HTTP method is not allowed for the request target.")
	requireError(t, tn.get("/_graphsim/expire-delta-tokens"), 405, "Request_BadRequest",
		"Specified HTTP method is not allowed for the request target.")
	requireError(t, tn.get("/_graphsim/other"), 404, "Request_ResourceNotFound",
		"graphsim serves only GET /_graphsim/state and POST /_graphsim/expire-delta-tokens here.")
	assert.Equal(t, graphsim.Stats{Users: 1, Writes: 1}, tn.sim.Stats(), "the state endpoint is not counted")
}
