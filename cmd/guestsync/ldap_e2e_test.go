package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

// slapdEnv returns the harness's slapd connection details; see
// .ci/testservers.
func slapdEnv(t testing.TB) map[string]string {
	t.Helper()
	return serverEnv(t, "SLAPD", "URL", "LDAPS_URL", "CAFILE", "BINDDN", "PASSWORD", "ADMINDN", "ADMINPASSWORD", "BASEDN", "USERS")
}

// sambaEnv returns the harness's Samba AD connection details.
func sambaEnv(t testing.TB) map[string]string {
	t.Helper()
	return serverEnv(t, "SAMBA", "URL", "LDAPS_URL", "CAFILE", "BINDDN", "PASSWORD", "ADMINDN", "ADMINPASSWORD", "BASEDN")
}

// serverEnv reads GUESTSYNC_TEST_<server>_<key> for each key. Without the
// harness (LDAPS_URL unset) the test is skipped, or failed under CI, where
// the real-server tests may not be skipped.
func serverEnv(t testing.TB, server string, keys ...string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, k := range keys {
		env[k] = os.Getenv("GUESTSYNC_TEST_" + server + "_" + k)
	}
	if env["LDAPS_URL"] == "" {
		how := "GUESTSYNC_TEST_" + server + "_LDAPS_URL is not set: run the tests through .ci/with-testservers (make test)"
		if os.Getenv("CI") == "true" {
			t.Fatal(how)
		}
		t.Skip(how)
	}
	return env
}

const slapdMapping = `version: 1
name: openldap-partners
anchor:
  attributes: [entryUUID]
scope:
  - clauses:
      - {attribute: employeeType, operator: EQUALS, value: Partner}
flows:
  - target: userPrincipalName
    type: expression
    expression: Join("@", [uid], "partners.contoso.com")
  - {target: mailNickname, type: direct, source: uid}
  - {target: displayName, type: direct, source: cn}
  - {target: mail, type: direct, source: mail}
  - {target: accountEnabled, type: constant, value: "True"}
`

// TestSyncFromSlapd runs the whole job from a real OpenLDAP over LDAPS,
// through paging, into the emulator: every partner created, then a second
// sync with zero writes.
func TestSyncFromSlapd(t *testing.T) {
	t.Parallel()
	s := slapdEnv(t)
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mapping.yaml"), []byte(slapdMapping), 0o600))
	cfg := fmt.Sprintf(`version: 1
source: {kind: ldap}
ldap:
  url: %q
  caFile: %q
  bindDN: %q
  baseDN: "ou=Partners,%s"
  filter: (objectClass=inetOrgPerson)
  pageSize: 500
mapping: {file: mapping.yaml}
graph: {url: %q, auth: emulator}
`, s["LDAPS_URL"], s["CAFILE"], s["BINDDN"], s["BASEDN"], srv.URL+"/v1.0")
	path := filepath.Join(dir, "guestsync.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	env := map[string]string{
		"GUESTSYNC_LDAP_BINDPASSWORD": s["PASSWORD"],
		// The emulator here runs without throttling; pacing 5,000
		// creates at the real budget would take 100 s for nothing.
		"GUESTSYNC_GRAPH_WRITEBUDGET": "100000",
	}

	code, out, stderr := guestsync(t, env, "sync", "--config", path, "--log-level", "warn")
	require.Equal(t, 0, code, stderr)
	want := s["USERS"]
	assert.Contains(t, out, fmt.Sprintf("Applied: %s created, 0 updated, 0 failed", want))
	assert.Contains(t, out, `displayName            "Zoë Müller"`)
	assert.Equal(t, want, fmt.Sprint(sim.Stats().Users))
	assert.NotContains(t, stderr, s["PASSWORD"], "the bind password is never logged")

	writes := sim.Stats().Writes
	code, out, stderr = guestsync(t, env, "plan", "--config", path, "--log-level", "debug")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "No changes: "+want+" guests up to date")
	assert.Equal(t, writes, sim.Stats().Writes)
	assert.Contains(t, stderr, "ldapsearch", "the search is logged as a runnable ldapsearch command")
	assert.NotContains(t, stderr, s["PASSWORD"], "not even at debug level")

	// source dump sees what the reader sees, with any key overridden from
	// the environment.
	env["GUESTSYNC_LDAP_FILTER"] = "(employeeType=Partner)"
	code, out, stderr = guestsync(t, env, "source", "dump", "--config", path, "--format", "count")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, want+"\n", out)
}
