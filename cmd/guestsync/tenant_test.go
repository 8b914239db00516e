package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/engine"
	"github.com/guestsync/guestsync/pkg/graphsim"
	"github.com/guestsync/guestsync/pkg/target/graph"
)

// The engine reads the tenant through change tracking only from a
// DeltaTarget; a Graph client that stopped being one would silently list
// every guest on every run, and skip the tenant check.
var _ engine.DeltaTarget = (*graph.Client)(nil)

// TestNewTenantBehindTheSameURL: a sync into emulator A, then the same URL
// served by another emulator. A fresh one is an empty tenant, whatever its
// tenant id: the next run must create every guest again, never report "No
// changes" from what it remembers of A. One restarted from A's state is A.
func TestNewTenantBehindTheSameURL(t *testing.T) {
	t.Parallel()
	const tenantA = "0a0a0a0a-0000-4000-8000-00000000000a"
	tests := []struct {
		name string
		// next is the emulator behind the URL for the second run, given A.
		next     func(t *testing.T, a *graphsim.Server) *graphsim.Server
		wantOut  string
		wantLogs []string
	}{
		{
			name: "fresh emulator, another tenant",
			next: func(*testing.T, *graphsim.Server) *graphsim.Server {
				return graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}})
			},
			wantOut: "Applied: 27 created",
			wantLogs: []string{"the tenant behind the Graph URL changed", `"previousTenant":"` + tenantA + `"`,
				`"msg":"read target changes","incremental":false`},
		},
		{
			name: "fresh emulator, the same tenant id",
			next: func(*testing.T, *graphsim.Server) *graphsim.Server {
				return graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}, TenantID: tenantA})
			},
			wantOut: "Applied: 27 created",
			wantLogs: []string{"the tenant's change-tracking link expired; reading every guest", "syncStateNotFound",
				`"msg":"read target changes","incremental":false`},
		},
		{
			name: "restarted from its state",
			next: func(t *testing.T, a *graphsim.Server) *graphsim.Server {
				snap, err := a.Snapshot()
				require.NoError(t, err)
				b := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}})
				require.NoError(t, b.LoadSnapshot(snap))
				return b
			},
			wantOut:  "No changes: 27 guests up to date",
			wantLogs: []string{`"msg":"read target changes","incremental":true`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var behind atomic.Pointer[graphsim.Server]
			a := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}, TenantID: tenantA})
			behind.Store(a)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				behind.Load().ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			cfg := tenantConfig(t, srv.URL+"/v1.0")
			env := map[string]string{"GUESTSYNC_STATE_FILE": filepath.Join(t.TempDir(), "state.json")}

			code, out, stderr := guestsync(t, env, "sync", "--config", cfg, "--log-format", "json")
			require.Equal(t, 0, code, stderr)
			require.Contains(t, out, "Applied: 27 created")
			code, out, stderr = guestsync(t, env, "sync", "--config", cfg, "--log-format", "json")
			require.Equal(t, 0, code, stderr)
			require.Contains(t, out, "No changes: 27 guests up to date")

			b := tt.next(t, a)
			behind.Store(b)
			code, out, stderr = guestsync(t, env, "sync", "--config", cfg, "--log-format", "json")
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, out, tt.wantOut)
			for _, l := range tt.wantLogs {
				assert.Contains(t, stderr, l)
			}
			assert.Equal(t, 27, b.Stats().Users, "the tenant behind the URL has every guest")

			code, out, stderr = guestsync(t, env, "sync", "--config", cfg, "--log-format", "json")
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, out, "No changes: 27 guests up to date", "and the next run converges")
			assert.NotContains(t, stderr, "the tenant behind the Graph URL changed")
		})
	}
}

// tenantConfig writes a config for the shipped example data against the
// Graph root url.
func tenantConfig(t *testing.T, url string) string {
	t.Helper()
	ldifPath, err := filepath.Abs(repoPath("examples/partners.ldif"))
	require.NoError(t, err)
	mappingPath, err := filepath.Abs(repoPath("mappings/partner-guest.yaml"))
	require.NoError(t, err)
	cfg := fmt.Sprintf("version: 1\nsource: {kind: ldif}\nldif: {path: %q}\nmapping: {file: %q}\ngraph: {url: %q, auth: emulator}\n",
		ldifPath, mappingPath, url)
	path := filepath.Join(t.TempDir(), "guestsync.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	return path
}
