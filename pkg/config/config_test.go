package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/yamlfile"
)

// fakeEnv is an Environment with the given variables and folders.
func fakeEnv(t *testing.T, vars map[string]string) Environment {
	dir := t.TempDir()
	return Environment{
		Getenv: func(k string) string { return vars[k] },
		Environ: func() []string {
			var out []string
			for k, v := range vars {
				out = append(out, k+"="+v)
			}
			return out
		},
		WorkDir: filepath.Join(dir, "work"),
		HomeDir: filepath.Join(dir, "home"),
	}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

const ldapConfig = `version: 1
source:
  kind: ldap
ldap:
  url: ldaps://dc1.corp.example.com
  bindDN: CN=svc-guestsync,OU=Service,DC=corp,DC=example,DC=com
  bindPasswordFile: ldap.secret
  baseDN: OU=Partners,DC=corp,DC=example,DC=com
  timeout: 45s
mapping:
  file: mappings/partner-guest.yaml
graph:
  tenantID: 11111111-2222-3333-4444-555555555555
  clientID: 66666666-7777-8888-9999-000000000000
  owner: prod
`

func TestLoadFullConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "ldap.secret", "s3cret-pw\n")
	path := write(t, dir, "guestsync.yaml", ldapConfig)
	env := fakeEnv(t, map[string]string{"GUESTSYNC_GRAPH_CLIENTSECRET": "app-secret"})
	c, err := Load(path, env)
	require.NoError(t, err)
	assert.Equal(t, "ldaps://dc1.corp.example.com", c.LDAP.URL)
	assert.Equal(t, "s3cret-pw", c.LDAP.BindPassword.Reveal(), "secret file read, trailing newline trimmed")
	assert.Equal(t, 45*time.Second, c.LDAP.Timeout)
	assert.Equal(t, uint32(500), c.LDAP.PageSize, "default applies")
	assert.Equal(t, filepath.Join(dir, "mappings/partner-guest.yaml"), c.Mapping.File, "relative to the config file")
	assert.Equal(t, "app-secret", c.Graph.ClientSecret.Reveal())
	assert.Equal(t, "https://graph.microsoft.com/v1.0", c.Graph.URL)
}

func TestEnvironmentOverridesEveryKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := write(t, dir, "g.yaml", ldapConfig)
	write(t, dir, "ldap.secret", "pw")
	env := fakeEnv(t, map[string]string{
		"GUESTSYNC_GRAPH_CLIENTSECRET": "x",
		"GUESTSYNC_LDAP_URL":           "ldaps://dc2.corp.example.com",
		"GUESTSYNC_LDAP_PAGESIZE":      "1000",
		"GUESTSYNC_LDAP_STARTTLS":      "true",
		"GUESTSYNC_GRAPH_URL":          "https://graph.microsoft.us/v1.0", // not in the file at all
	})
	c, err := Load(path, env)
	require.NoError(t, err)
	assert.Equal(t, "ldaps://dc2.corp.example.com", c.LDAP.URL)
	assert.Equal(t, uint32(1000), c.LDAP.PageSize)
	assert.True(t, c.LDAP.StartTLS)
	assert.Equal(t, "https://graph.microsoft.us/v1.0", c.Graph.URL)
	// Every key has an environment variable of the documented form.
	assert.Contains(t, KnownEnv(), "GUESTSYNC_LDAP_BINDPASSWORD")
	assert.Contains(t, KnownEnv(), "GUESTSYNC_SOURCE_KIND")
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := write(t, dir, "bad.yaml", `version: 2
source:
  kind: ldap
ldap:
  url: http://dc1
  bindDN: CN=svc
  bindPassword: hunter2
  pagesize: 500
  pageSize: 5000
graph:
  auth: emulator
  url: http://graph.example.com/v1.0
`)
	env := fakeEnv(t, map[string]string{"GUESTSYNC_LDAP_URLL": "x"})
	_, err := Load(path, env)
	require.Error(t, err)
	ps := yamlfile.AsProblems(path, err)
	text := err.Error()
	for _, want := range []string{
		path + `:8:3: ldap.pagesize: unknown key "pagesize"; did you mean "pageSize"?`,
		path + `:7:17: ldap.bindPassword: do not write secrets in the config file; set GUESTSYNC_LDAP_BINDPASSWORD or ldap.bindPasswordFile`,
		path + ":1:10: version: must be 1 (got 2)",
		path + `:5:8: ldap.url: "http://dc1" is not an ldap:// or ldaps:// URL`,
		"ldap.baseDN: required when source.kind is ldap",
		"ldap.pageSize: must be 1 to 1000",
		"graph.url: plain http is accepted only for a loopback emulator",
		"environment: GUESTSYNC_LDAP_URLL does not name a config key; did you mean GUESTSYNC_LDAP_URL?",
	} {
		assert.Contains(t, text, want)
	}
	assert.GreaterOrEqual(t, len(ps), 8)
	assert.NotContains(t, text, "hunter2", "a secret never appears in a message")
}

func TestSyntaxErrorNamesLine(t *testing.T) {
	t.Parallel()
	path := write(t, t.TempDir(), "broken.yaml", "version: 1\nsource:\n  kind: [ldap\n")
	_, err := Load(path, fakeEnv(t, nil))
	require.Error(t, err)
	assert.Regexp(t, `broken\.yaml:\d+: YAML syntax`, err.Error())
}

func TestSecretBothEnvAndFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "ldap.secret", "pw")
	path := write(t, dir, "g.yaml", ldapConfig)
	env := fakeEnv(t, map[string]string{"GUESTSYNC_GRAPH_CLIENTSECRET": "x", "GUESTSYNC_LDAP_BINDPASSWORD": "y"})
	_, err := Load(path, env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ldap.bindPassword: both the secret and ldap.bindPasswordFile are set")
}

func TestFindOrder(t *testing.T) {
	t.Parallel()
	env := fakeEnv(t, map[string]string{})
	_, err := Find("", env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GUESTSYNC_CONFIG")

	xdg := write(t, env.HomeDir, ".config/guestsync/guestsync.yaml", "version: 1\n")
	got, err := Find("", env)
	require.NoError(t, err)
	assert.Equal(t, xdg, got)

	wd := write(t, env.WorkDir, "guestsync.yaml", "version: 1\n")
	got, err = Find("", env)
	require.NoError(t, err)
	assert.Equal(t, wd, got, "./guestsync.yaml comes before XDG")

	env2 := fakeEnv(t, map[string]string{"GUESTSYNC_CONFIG": "/from/env.yaml"})
	write(t, env2.WorkDir, "guestsync.yaml", "version: 1\n")
	got, _ = Find("", env2)
	assert.Equal(t, "/from/env.yaml", got, "GUESTSYNC_CONFIG comes before the search path")
	got, _ = Find("/explicit.yaml", env2)
	assert.Equal(t, "/explicit.yaml", got, "--config comes first")
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	s := Secret("hunter2")
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "password", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), logged.String()} {
		assert.NotContains(t, out, "hunter2")
	}
	assert.Equal(t, "hunter2", s.Reveal())
}

func TestLDAPScopingOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "ldap.secret", "pw")
	path := write(t, dir, "g.yaml", strings.Replace(ldapConfig, "  baseDN: OU=Partners,DC=corp,DC=example,DC=com\n", `  bases:
    - {dn: "OU=Partners,DC=corp,DC=example,DC=com"}
    - {dn: "OU=Vendors,DC=corp,DC=example,DC=com", scope: one}
  excludeDNs: ["OU=Former,OU=Partners,DC=corp,DC=example,DC=com"]
`, 1))
	env := fakeEnv(t, map[string]string{
		"GUESTSYNC_GRAPH_CLIENTSECRET": "x",
		// DNs contain commas, so list items are separated by ";".
		"GUESTSYNC_LDAP_GROUPS": "CN=Partner Access,OU=Groups,DC=corp,DC=example,DC=com;CN=Vendors,OU=Groups,DC=corp,DC=example,DC=com",
	})
	c, err := Load(path, env)
	require.NoError(t, err)
	assert.Equal(t, []LDAPBase{{DN: "OU=Partners,DC=corp,DC=example,DC=com"}, {DN: "OU=Vendors,DC=corp,DC=example,DC=com", Scope: "one"}}, c.LDAP.Bases)
	assert.Equal(t, []string{"OU=Former,OU=Partners,DC=corp,DC=example,DC=com"}, c.LDAP.ExcludeDNs)
	assert.Equal(t, []string{"CN=Partner Access,OU=Groups,DC=corp,DC=example,DC=com", "CN=Vendors,OU=Groups,DC=corp,DC=example,DC=com"}, c.LDAP.Groups)

	both := write(t, dir, "both.yaml", strings.Replace(ldapConfig, "  timeout: 45s\n", "  timeout: 45s\n  bases: [{dn: \"OU=X,DC=corp,DC=example,DC=com\"}]\n", 1))
	_, err = Load(both, env)
	assert.ErrorContains(t, err, "set either ldap.baseDN (with ldap.scope) or ldap.bases, not both")
}

func TestGraphCloudsAndCertificates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "ldap.secret", "pw")
	cfg := strings.Replace(ldapConfig, "graph:\n", "graph:\n  cloud: usgov\n  auth: certificate\n  certificateFile: app.pfx\n", 1)
	path := write(t, dir, "g.yaml", cfg)
	c, err := Load(path, fakeEnv(t, map[string]string{"GUESTSYNC_GRAPH_CERTIFICATEPASSWORD": "pfx-pw"}))
	require.NoError(t, err)
	assert.Equal(t, "https://graph.microsoft.us/v1.0", c.Graph.URL, "the cloud's Graph root by default")
	assert.Equal(t, filepath.Join(dir, "app.pfx"), c.Graph.CertificateFile)
	assert.Equal(t, "pfx-pw", c.Graph.CertificatePassword.Reveal())

	bad := write(t, dir, "bad.yaml", strings.Replace(ldapConfig, "graph:\n", "graph:\n  cloud: mars\n  auth: certificate\n  certificatePassword: x\n", 1))
	_, err = Load(bad, fakeEnv(t, nil))
	require.Error(t, err)
	for _, want := range []string{
		`graph.cloud: must be global, usgov, usgovdod or china (got "mars")`,
		"graph.certificateFile: required for auth certificate",
		"graph.certificatePassword: do not write secrets in the config file",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestInvitationRedirectDefaultsToTheTenantsMyApps(t *testing.T) {
	t.Parallel()
	c, err := loadLDAP(t, "a.yaml", ldapConfig, nil)
	require.NoError(t, err)
	assert.Equal(t, "https://myapplications.microsoft.com/?tenantid=11111111-2222-3333-4444-555555555555", c.Graph.Invitation.RedirectURL)

	set := strings.Replace(ldapConfig, "graph:\n", "graph:\n  invitation: {redirectURL: \"https://partners.example.com/welcome\"}\n", 1)
	c, err = loadLDAP(t, "b.yaml", set, nil)
	require.NoError(t, err)
	assert.Equal(t, "https://partners.example.com/welcome", c.Graph.Invitation.RedirectURL, "a configured URL wins")

	noTenant := "version: 1\nsource: {kind: ldif}\nldif: {path: x.ldif}\ngraph: {auth: default}\n"
	c, err = loadLDAP(t, "c.yaml", noTenant, nil)
	require.NoError(t, err)
	assert.Empty(t, c.Graph.Invitation.RedirectURL, "no tenant, no default: invite mode is then refused")
}

// loadLDAP loads the config text from name, next to an ldap.secret, with
// a client secret and vars in the environment.
func loadLDAP(t *testing.T, name, text string, vars map[string]string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, "ldap.secret", "pw")
	env := map[string]string{"GUESTSYNC_GRAPH_CLIENTSECRET": "s"}
	for k, v := range vars {
		env[k] = v
	}
	return Load(write(t, dir, name, text), fakeEnv(t, env))
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	c, err := loadLDAP(t, "a.yaml", ldapConfig, nil)
	require.NoError(t, err)
	assert.Equal(t, Policy{Mode: "sync", Removal: "disable", DeleteAfter: 720 * time.Hour, RemovalThreshold: 500}, c.Policy, "defaults")

	set := ldapConfig + "policy:\n  mode: upsert-only\n  removal: delete\n  removalThreshold: 50\n  removalThresholdPercent: 10\n"
	c, err = loadLDAP(t, "b.yaml", set, map[string]string{"GUESTSYNC_POLICY_DELETEAFTER": "168h"})
	require.NoError(t, err)
	assert.Equal(t, Policy{Mode: "upsert-only", Removal: "delete", DeleteAfter: 168 * time.Hour, RemovalThreshold: 50, RemovalThresholdPercent: 10}, c.Policy)

	bad := ldapConfig + "policy:\n  mode: mirror\n  removal: purge\n  removalThreshold: 0\n  removalThresholdPercent: 120\n"
	_, err = loadLDAP(t, "c.yaml", bad, nil)
	require.Error(t, err)
	for _, want := range []string{
		`c.yaml:17:9: policy.mode: must be sync, upsert-only or create-only (got "mirror")`,
		`policy.removal: must be disable, delete or none (got "purge")`,
		"policy.removalThreshold: must be at least 1 (got 0)",
		"policy.removalThresholdPercent: must be 0 (off) to 100 (got 120)",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestLDAPDecoder(t *testing.T) {
	t.Parallel()
	c, err := loadLDAP(t, "a.yaml", ldapConfig, nil)
	require.NoError(t, err)
	assert.Equal(t, "tap", c.LDAP.Decoder, "the default")

	c, err = loadLDAP(t, "b.yaml", strings.Replace(ldapConfig, "  timeout: 45s\n", "  timeout: 45s\n  decoder: go-ldap\n", 1), nil)
	require.NoError(t, err)
	assert.Equal(t, "go-ldap", c.LDAP.Decoder)

	c, err = loadLDAP(t, "c.yaml", ldapConfig, map[string]string{"GUESTSYNC_LDAP_DECODER": "go-ldap"})
	require.NoError(t, err)
	assert.Equal(t, "go-ldap", c.LDAP.Decoder)

	_, err = loadLDAP(t, "d.yaml", strings.Replace(ldapConfig, "  timeout: 45s\n", "  timeout: 45s\n  decoder: goldap\n", 1), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `d.yaml:10:12: ldap.decoder: must be tap or go-ldap (got "goldap")`)
}

func TestSourceFullReadEvery(t *testing.T) {
	t.Parallel()
	c, err := loadLDAP(t, "a.yaml", ldapConfig, nil)
	require.NoError(t, err)
	assert.Equal(t, 168*time.Hour, c.Source.FullReadEvery, "a week by default")

	c, err = loadLDAP(t, "b.yaml", strings.Replace(ldapConfig, "  kind: ldap\n", "  kind: ldap\n  fullReadEvery: 0s\n", 1), nil)
	require.NoError(t, err)
	assert.Zero(t, c.Source.FullReadEvery, "0: only with --full")

	c, err = loadLDAP(t, "c.yaml", ldapConfig, map[string]string{"GUESTSYNC_SOURCE_FULLREADEVERY": "24h"})
	require.NoError(t, err)
	assert.Equal(t, 24*time.Hour, c.Source.FullReadEvery)

	_, err = loadLDAP(t, "d.yaml", ldapConfig, map[string]string{"GUESTSYNC_SOURCE_FULLREADEVERY": "-1h"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "source.fullReadEvery: must be 0 (only with --full) or a positive duration such as 168h (a week)")
}

func TestEveryCloudNameHasAGraphRoot(t *testing.T) {
	t.Parallel()
	for _, name := range CloudNames() {
		root, ok := CloudGraphRoot(name)
		assert.True(t, ok, name)
		assert.True(t, strings.HasPrefix(root, "https://"), name)
	}
	_, ok := CloudGraphRoot("mars")
	assert.False(t, ok)
}
