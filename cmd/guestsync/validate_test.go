package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// watchedConfig writes a config whose directory and tenant count every
// connection and request made to them, with the mapping and the graph
// section's extra keys given, and returns its path and the counts.
func watchedConfig(t *testing.T, mappingFile, graphExtra string) (path string, ldapConns, graphRequests *atomic.Int64) {
	t.Helper()
	ldapConns, graphRequests = new(atomic.Int64), new(atomic.Int64)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			ldapConns.Add(1)
			conn.Close()
		}
	}()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		graphRequests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden) // not retried
		fmt.Fprint(w, `{"error": {"code": "Authorization_RequestDenied", "message": "not here"}}`)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	cfg := fmt.Sprintf("version: 1\nsource: {kind: ldap}\nldap: {url: %q, baseDN: \"ou=Partners,dc=example,dc=com\"}\n"+
		"mapping: {file: %q}\nstate: {file: %q}\ngraph:\n  url: %q\n  auth: emulator\n%s",
		"ldap://"+ln.Addr().String(), mappingFile, filepath.Join(dir, "state.json"), srv.URL+"/v1.0", graphExtra)
	path = filepath.Join(dir, "guestsync.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	return path, ldapConns, graphRequests
}

// An invite-mode mapping needs graph.invitation.redirectURL (or a tenant
// id for My Apps): validate --config says so at the config's line, and a
// run with that config refuses to start with the same problem, before it
// reads the directory or the tenant.
func TestInviteWithoutRedirectURLIsAConfigProblem(t *testing.T) {
	t.Parallel()
	invite, err := filepath.Abs(repoPath("mappings/partner-invite.yaml"))
	require.NoError(t, err)
	cfg, ldapConns, graphRequests := watchedConfig(t, invite, "")
	problem := cfg + ":6:1: graph.invitation.redirectURL: required: mapping " + invite + ":10 invites guests (mode: invite), " +
		"and Graph requires a redirect URL for every invitation (set it, or graph.tenantID to default to the tenant's My Apps)"

	code, out, stderr := guestsync(t, nil, "validate", "--config", cfg)
	assert.Equal(t, exitFailed, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, problem+"\n")
	assert.Contains(t, stderr, "1 problem(s) in 2 file(s)")

	code, out, _ = guestsync(t, nil, "validate", "--config", cfg, "--format", "json")
	assert.Equal(t, exitFailed, code)
	var v validation
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	assert.False(t, v.Valid)
	assert.Equal(t, cfg, v.Config)
	assert.Equal(t, []string{invite}, v.Files)
	require.Len(t, v.Problems, 1)
	assert.Equal(t, problem, v.Problems[0].Error())

	for _, command := range []string{"plan", "sync"} {
		code, out, stderr = guestsync(t, nil, command, "--config", cfg)
		assert.Equal(t, exitUsage, code, "%s\nstdout:\n%s\nstderr:\n%s", command, out, stderr)
		assert.Contains(t, stderr, "invalid configuration:\n"+problem+"\n", command)
	}
	assert.Zero(t, ldapConns.Load(), "the directory was not read")
	assert.Zero(t, graphRequests.Load(), "the tenant was not read")

	// The same config with a redirect URL starts reading.
	fixed, ldapConns, graphRequests := watchedConfig(t, invite, "  invitation: {redirectURL: \"https://partners.example.com/welcome\"}\n")
	code, out, stderr = guestsync(t, nil, "validate", "--config", fixed)
	assert.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, "configuration valid, 1 mapping file(s) valid")
	code, _, stderr = guestsync(t, nil, "plan", "--config", fixed)
	assert.NotEqual(t, exitUsage, code, stderr)
	assert.Positive(t, ldapConns.Load()+graphRequests.Load(), "the run read: the counting works")
}

// The default owner while removals are on is a warning: validate lists it
// and still exits 0; a run logs it.
func TestValidateListsTheDefaultOwnerWarning(t *testing.T) {
	t.Parallel()
	guest, err := filepath.Abs(repoPath("mappings/partner-guest.yaml"))
	require.NoError(t, err)
	cfg, _, _ := watchedConfig(t, guest, "")
	warning := "warning: " + cfg + `:6:1: graph.owner: "default" is the default: if another guestsync with the default owner syncs into this tenant, ` +
		"each will see the other's guests as its own and remove them; set graph.owner to a name for this source\n"

	code, out, stderr := guestsync(t, nil, "validate", "--config", cfg)
	assert.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, warning)
	assert.Contains(t, out, "configuration valid, 1 mapping file(s) valid")
	assert.Empty(t, stderr, "listed once, in the output")

	code, out, _ = guestsync(t, nil, "validate", "--config", cfg, "--format", "json")
	assert.Equal(t, 0, code)
	var v validation
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	assert.True(t, v.Valid)
	require.Len(t, v.Warnings, 1)
	assert.Equal(t, "graph.owner", v.Warnings[0].Path)
	assert.Equal(t, 6, v.Warnings[0].Line)

	named, _, _ := watchedConfig(t, guest, "  owner: fabrikam-ad\n")
	code, out, _ = guestsync(t, nil, "validate", "--config", named)
	assert.Equal(t, 0, code, out)
	assert.NotContains(t, out, "warning:")
}

// A config that does not load is validate's problem to list, like a
// mapping's: file:line on stdout, exit 1.
func TestValidateListsConfigProblems(t *testing.T) {
	t.Parallel()
	guest, err := filepath.Abs(repoPath("mappings/partner-guest.yaml"))
	require.NoError(t, err)
	cfg, _, _ := watchedConfig(t, guest, "  ownr: fabrikam-ad\n")
	code, out, stderr := guestsync(t, nil, "validate", "--config", cfg)
	assert.Equal(t, exitFailed, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, cfg+`:9:3: graph.ownr: unknown key "ownr"; did you mean "owner"?`)
	assert.False(t, strings.Contains(out, "mapping file(s) valid"))

	code, _, stderr = guestsync(t, nil, "validate", "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	assert.Equal(t, exitFailed, code, stderr)
}

// The CA files a config names must hold a certificate: validate lists each
// one that does not at its line, and a run does not start.
func TestValidateChecksCAFiles(t *testing.T) {
	t.Parallel()
	guest, err := filepath.Abs(repoPath("mappings/partner-guest.yaml"))
	require.NoError(t, err)
	cfg, ldapConns, graphRequests := watchedConfig(t, guest, "  caFile: not-pem.txt\n")
	dir := filepath.Dir(cfg)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "not-pem.txt"), []byte("no certificate here\n"), 0o600))
	data, err := os.ReadFile(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg, []byte(strings.Replace(string(data), "ldap: {", "ldap: {caFile: gone.pem, ", 1)), 0o600))

	code, out, stderr := guestsync(t, nil, "validate", "--config", cfg)
	assert.Equal(t, exitFailed, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, cfg+":3:16: ldap.caFile: open "+filepath.Join(dir, "gone.pem")+": no such file or directory\n")
	assert.Contains(t, out, cfg+":9:11: graph.caFile: "+filepath.Join(dir, "not-pem.txt")+": no PEM certificate found\n")

	code, _, stderr = guestsync(t, nil, "sync", "--config", cfg)
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, cfg+":9:11: graph.caFile: "+filepath.Join(dir, "not-pem.txt")+": no PEM certificate found")
	assert.Zero(t, ldapConns.Load()+graphRequests.Load(), "nothing was read")
}
