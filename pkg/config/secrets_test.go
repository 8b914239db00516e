package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/yamlfile"
)

// marker is the secret the tests write; no message may contain it.
const marker = "Hunter2-marker-Secret"

// ldifBase is a valid config that needs no secret.
const ldifBase = "version: 1\nsource: {kind: ldif}\nldif: {path: x.ldif}\ngraph: {auth: default}\n"

// The rule that refuses secrets in the config file holds whatever YAML
// feature puts the key there; the message names the key, never the value.
func TestSecretInFileInAnyYAMLForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string // each must be in the error
	}{
		{"plain", "ldap:\n  bindPassword: %S%\n", []string{":6:17: ldap.bindPassword: do not write secrets"}},
		{"quoted key", "ldap:\n  \"bindPassword\": %S%\n", []string{":6:19: ldap.bindPassword: do not write secrets"}},
		{"tagged key and value", "ldap:\n  !!str bindPassword: !!str %S%\n", []string{"ldap.bindPassword: do not write secrets"}},
		{"flow style", "ldap: {bindPassword: %S%}\n", []string{":5:22: ldap.bindPassword: do not write secrets"}},
		{"merge key", "ldap:\n  <<: {bindPassword: %S%}\n", []string{":6:22: ldap.bindPassword: do not write secrets"}},
		{"merge of a list", "ldap:\n  <<: [{url: 'ldaps://dc1'}, {bindPassword: %S%}]\n", []string{"ldap.bindPassword: do not write secrets"}},
		{"merge of an anchor", "ldap:\n  <<: &s {bindPassword: %S%}\ngraph:\n  auth: default\n  <<: *s\n", []string{"ldap.bindPassword: do not write secrets"}},
		{"alias to an anchor elsewhere", "x: &s {bindPassword: %S%}\nldap: *s\n", []string{":5:22: ldap.bindPassword: do not write secrets", `unknown key "x"`}},
		{"merge with another case", "ldap:\n  <<: {BindPassword: %S%}\n", []string{"ldap.bindPassword: do not write secrets"}},
		{"another case", "ldap:\n  BindPassword: %S%\n", []string{":6:17: ldap.bindPassword: do not write secrets", `unknown key "BindPassword"`}},
		{"lower case", "ldap:\n  bindpassword: %S%\n", []string{"ldap.bindPassword: do not write secrets"}},
		{"written twice", "ldap:\n  bindPassword: %S%\n  bindPassword: %S%\n", []string{"ldap.bindPassword: do not write secrets", "already defined"}},
		{"twice, in two cases", "ldap:\n  bindPassword: ''\n  BINDPASSWORD: %S%\n", []string{"ldap.bindPassword: do not write secrets"}},
		{"a tag the value does not fit", "ldap: {bindPassword: !!float %S%}\n", []string{"ldap.bindPassword: do not write secrets"}},
		{"binary", "ldap: {bindPassword: !!binary SHVudGVyMi1tYXJrZXItU2VjcmV0}\n", []string{"ldap.bindPassword: do not write secrets"}},
		{"a list", "ldap: {bindPassword: [%S%]}\n", []string{"ldap.bindPassword: do not write secrets"}},
		{"block scalar", "ldap:\n  bindPassword: |\n    %S%\n", []string{"ldap.bindPassword: do not write secrets"}},
		{"a second document", "---\nldap: {bindPassword: %S%}\n", []string{"a second YAML document"}},
		{"client secret through an alias", "graph: &g\n  auth: default\n  clientSecret: %S%\n", []string{"graph.clientSecret: do not write secrets"}},
		{"certificate password merged", "graph:\n  <<: {certificatePassword: %S%}\n", []string{"graph.certificatePassword: do not write secrets in the config file; set GUESTSYNC_GRAPH_CERTIFICATEPASSWORD or graph.certificatePasswordFile"}},
		{"password in the LDAP URL", "ldap: {url: 'ldaps://svc:%S%@dc1.corp.example.com'}\n", []string{`ldap.url: ldaps://svc:xxxxx@dc1.corp.example.com: a password in a URL is refused`}},
		{"password in an LDAP URL that does not parse", "source: {kind: ldap}\nldap: {url: 'ldaps://svc:%S%@dc1:ldaps'}\n", []string{`ldap.url: ldaps://svc:xxxxx@dc1:ldaps: a password in a URL is refused`, `"ldaps://svc:xxxxx@dc1:ldaps" is not an ldap:// or ldaps:// URL`}},
		{"password in the Graph URL", "graph: {auth: default, url: 'https://app:%S%@graph.example.com/v1.0'}\n", []string{"graph.url: https://app:xxxxx@graph.example.com/v1.0: a password in a URL is refused"}},
		{"password in the redirect URL", "graph: {auth: default, invitation: {redirectURL: 'https://u:%S%@example.com/'}}\n", []string{"graph.invitation.redirectURL: https://u:xxxxx@example.com/: a password in a URL is refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := mergeSections(ldifBase, strings.ReplaceAll(tt.yaml, "%S%", marker))
			path := write(t, t.TempDir(), "c.yaml", src)
			_, err := Load(path, fakeEnv(t, nil))
			require.Error(t, err, "accepted:\n%s", src)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), marker)
			assert.NotContains(t, err.Error(), "SHVudGVyMi1tYXJrZXItU2VjcmV0")
		})
	}
}

// mergeSections appends extra to base, dropping base's graph line when
// extra has its own graph section (a key written twice is another test).
func mergeSections(base, extra string) string {
	if strings.Contains(extra, "\ngraph:") || strings.HasPrefix(extra, "graph:") {
		base = strings.Replace(base, "graph: {auth: default}\n", "", 1)
	}
	if strings.HasPrefix(extra, "source:") {
		base = strings.Replace(base, "source: {kind: ldif}\n", "", 1)
	}
	return base + extra
}

// A secret written in a file or the environment but empty is an error
// naming where it came from; a trailing newline is not part of a secret.
func TestSecretEmptyOrWhitespace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		env        map[string]string
		want       string
	}{
		{name: "empty file", file: "", want: "ldap.bindPasswordFile: %s holds no secret: it is empty or only whitespace"},
		{name: "newline only", file: "\n", want: "ldap.bindPasswordFile: %s holds no secret: it is empty or only whitespace"},
		{name: "spaces", file: "  \t \r\n", want: "ldap.bindPasswordFile: %s holds no secret: it is empty or only whitespace"},
		{name: "environment", env: map[string]string{"GUESTSYNC_GRAPH_CLIENTSECRET": "   "}, file: "pw\n", want: "graph.clientSecret: GUESTSYNC_GRAPH_CLIENTSECRET is set but empty or only whitespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			secret := write(t, dir, "ldap.secret", tt.file)
			env := map[string]string{"GUESTSYNC_GRAPH_CLIENTSECRET": "app-secret"}
			for k, v := range tt.env {
				env[k] = v
			}
			_, err := Load(write(t, dir, "g.yaml", ldapConfig), fakeEnv(t, env))
			require.Error(t, err)
			want := tt.want
			if strings.Contains(want, "%s") {
				want = strings.Replace(want, "%s", secret, 1)
			}
			assert.Contains(t, err.Error(), want)
		})
	}
}

// A secret file readable by group or others is a warning naming the file
// and its mode, also through a symlink as Kubernetes mounts Secrets.
func TestSecretFileModeWarning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "ldap.secret", "pw\n")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "..2026_12_02"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "..2026_12_02", "graph.secret"), []byte("app-secret\n"), 0o644))
	require.NoError(t, os.Symlink("..2026_12_02", filepath.Join(dir, "..data")))
	require.NoError(t, os.Symlink("..data/graph.secret", filepath.Join(dir, "graph.secret")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.pem"), []byte("key"), 0o640))
	cfg := strings.Replace(ldapConfig, "graph:\n", "graph:\n  clientSecretFile: graph.secret\n", 1)
	path := write(t, dir, "g.yaml", cfg)
	c, err := Load(path, fakeEnv(t, nil))
	require.NoError(t, err)
	target, err := filepath.EvalSymlinks(filepath.Join(dir, "graph.secret"))
	require.NoError(t, err)
	assert.Equal(t, yamlfile.Problems{{File: path, Msg: "graph.clientSecretFile " + filepath.Join(dir, "graph.secret") +
		" is readable by group and others (mode 0644): chmod 600 " + filepath.Join(dir, "graph.secret") +
		" (it is a symlink to " + target + "; in a Kubernetes Secret volume set defaultMode: 0400)"}}, c.Warnings)
	assert.Equal(t, "app-secret", c.Graph.ClientSecret.Reveal())

	cert := strings.Replace(ldapConfig, "graph:\n", "graph:\n  auth: certificate\n  certificateFile: app.pem\n", 1)
	c, err = Load(write(t, dir, "cert.yaml", cert), fakeEnv(t, nil))
	require.NoError(t, err)
	assert.Equal(t, yamlfile.Problems{{File: filepath.Join(dir, "cert.yaml"), Msg: "graph.certificateFile " + filepath.Join(dir, "app.pem") +
		" is readable by group (mode 0640): chmod 600 " + filepath.Join(dir, "app.pem")}}, c.Warnings)

	c, err = Load(path, fakeEnv(t, nil))
	require.NoError(t, err)
	require.NoError(t, os.Chmod(target, 0o600))
	c, err = Load(path, fakeEnv(t, nil))
	require.NoError(t, err)
	assert.Empty(t, c.Warnings, "0600 is private")
}

// Every Secret field is found by reflection and has its ...File key, so
// that the rules above cover a credential added later.
func TestSecretFieldsHaveFiles(t *testing.T) {
	t.Parallel()
	var keys []string
	for _, s := range secretFields(&Config{}) {
		keys = append(keys, s.key)
		assert.NotNil(t, s.file, "%s has no %s", s.key, s.fileKey)
	}
	assert.Equal(t, []string{"ldap.bindPassword", "graph.clientSecret", "graph.certificatePassword", "ad.bindPassword"}, keys)
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"ldaps://svc:Passw0rd@dc1":            "ldaps://svc:xxxxx@dc1",
		"ldaps://dc1.corp.example.com":        "ldaps://dc1.corp.example.com",
		"http://u:p%20w@proxy:3128/x":         "http://u:xxxxx@proxy:3128/x",
		"ldaps://svc:Pass@word@dc 1/ou":       "ldaps://svc:xxxxx@dc 1/ou",
		"not a url svc:pw@x":                  "not a url svc:pw@x",
		"https://only-user@graph.example.com": "https://only-user@graph.example.com",
	} {
		assert.Equal(t, want, RedactURL(in), in)
	}
}

// A config file over the size limit is refused before it is parsed, with
// its name and size.
func TestLoadRefusesAnOversizedFile(t *testing.T) {
	t.Parallel()
	path := write(t, t.TempDir(), "huge.yaml", ldifBase+"#"+strings.Repeat("x", yamlfile.MaxFileSize)+"\n")
	_, err := Load(path, fakeEnv(t, nil))
	assert.EqualError(t, err, path+": the file is 1048654 bytes (1.0 MiB); config and mapping files are limited to 1 MiB (1048576 bytes)")
}
