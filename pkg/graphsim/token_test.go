package graphsim_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

// TestDeltaLinkOfAnotherInstance pins that a tenant answers only the
// links it issued: a deltaLink or nextLink of another emulator instance
// (another tenant, or the same tenant id started afresh) and an altered
// one are refused like an expired deltaLink, so that a client starts over
// with an initial round instead of reading "no changes" from a tenant
// that never saw its round. A restart with the same state keeps them.
func TestDeltaLinkOfAnotherInstance(t *testing.T) {
	t.Parallel()
	a := newTenantWith(t, graphsim.Options{})
	a.create(newUser("a1", nil))
	a.create(newUser("a2", nil))
	first := a.get("/v1.0/users/delta?$select=id", "Prefer", "odata.maxpagesize=1")
	require.Equal(t, http.StatusOK, first.status, "body: %s", first.body)
	nextLink := first.object(t)["@odata.nextLink"].(string)
	_, _, deltaLink := deltaRound(a, "/v1.0/users/delta?$select=id")

	path := func(link string) string { return strings.TrimPrefix(link, a.srv.URL) }
	altered := func(link string) string {
		i := strings.LastIndex(link, "=") + 1
		raw, err := base64.RawURLEncoding.DecodeString(strings.SplitN(link[i:], ".", 2)[0])
		require.NoError(t, err, "the token's payload is base64url")
		payload := strings.Replace(string(raw), `"t":`, `"t":1`, 1)
		return link[:i] + base64.RawURLEncoding.EncodeToString([]byte(payload)) + link[i+len(strings.SplitN(link[i:], ".", 2)[0]):]
	}

	// b has the same tenant id but is another instance: an empty tenant.
	b := newTenantWith(t, graphsim.Options{})
	for name, link := range map[string]string{
		"deltaLink of another instance": path(deltaLink),
		"nextLink of another instance":  path(nextLink),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			requireSyncStateNotFound(t, b.get(link))
		})
	}
	for name, link := range map[string]string{
		"altered deltaLink":  path(altered(deltaLink)),
		"altered nextLink":   path(altered(nextLink)),
		"unsigned deltaLink": path(deltaLink[:strings.LastIndex(deltaLink, ".")]),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			requireSyncStateNotFound(t, a.get(link))
		})
	}

	// The same instance after a restart from its state file keeps them.
	state := filepath.Join(t.TempDir(), "tenant.json")
	require.NoError(t, a.sim.SaveState(state))
	restarted := newTenantWith(t, graphsim.Options{})
	require.NoError(t, restarted.sim.LoadState(state))
	entries, _, _ := deltaRound(restarted, path(deltaLink))
	assert.Empty(t, entries)
	r := restarted.get(path(nextLink))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
}

// TestOrganizationIdentity pins the tenant id a client learns from GET
// /organization: a fresh emulator without a configured id is a new tenant
// with a random one, and a restart from its state file is the same tenant.
func TestOrganizationIdentity(t *testing.T) {
	t.Parallel()
	fresh := func() *tenant {
		sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"contoso.com"}, Now: fixedNow})
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		return &tenant{t: t, sim: sim, srv: srv}
	}
	orgID := func(tn *tenant) string {
		r := tn.get("/v1.0/organization?$select=id")
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		return r.object(t)["value"].([]any)[0].(map[string]any)["id"].(string)
	}
	a, b := fresh(), fresh()
	assert.NotEqual(t, orgID(a), orgID(b), "two fresh emulators are two tenants")

	state := filepath.Join(t.TempDir(), "tenant.json")
	require.NoError(t, a.sim.SaveState(state))
	restarted := fresh()
	require.NoError(t, restarted.sim.LoadState(state))
	assert.Equal(t, orgID(a), orgID(restarted), "a restart with --state is the same tenant")
}
