package config

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/guestsync/guestsync/pkg/yamlfile"
)

// FuzzLoad loads arbitrary config text twice: as it is, and with every
// value under a secret's key (in any spelling, anywhere) replaced by a
// marker secret; the same marker is every secret of the environment. It
// must not panic, every problem must name a line, a key or the
// environment, and the marker must appear in no message.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		ldapConfig,
		ldifBase,
		ldifBase + "ldap:\n  <<: {bindPassword: x}\n",
		ldifBase + "x: &s {bindPassword: x}\nldap: *s\n",
		ldifBase + "ldap: {BindPassword: !!float x, url: 'ldaps://u:x@dc 1'}\n",
		ldifBase + "ldap: {bindPassword: !!binary eA==}\n---\nx: 1\n",
		ldifBase + "ldap: {timeout: x, pageSize: [x], bases: {bindPassword: x}}\n",
		"version: 1\nsource: {kind: ldap}\nldap: {url: ldaps://dc1, bindDN: cn=x, bindPassword: x}\n",
		"version: [\n",
	} {
		f.Add([]byte(seed))
	}
	env := Environment{
		Getenv: func(k string) string {
			switch k {
			case "GUESTSYNC_LDAP_BINDPASSWORD", "GUESTSYNC_GRAPH_CLIENTSECRET", "GUESTSYNC_GRAPH_CERTIFICATEPASSWORD":
				return marker
			}
			return ""
		},
		Environ: func() []string { return nil },
		WorkDir: "/nonexistent", HomeDir: "/nonexistent",
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if strings.Contains(string(data), marker) {
			return // the marker is the harness's, not the input's
		}
		check(t, data, env)
		if withMarker := markSecrets(data); withMarker != nil {
			check(t, withMarker, env)
		}
	})
}

func check(t *testing.T, data []byte, env Environment) {
	_, err := parse("fuzz.yaml", data, env, (*Config).Validate)
	if err == nil {
		return
	}
	if strings.Contains(err.Error(), marker) {
		t.Fatalf("a secret in a message:\n%s\ninput:\n%s", err, data)
	}
	for _, p := range yamlfile.AsProblems("fuzz.yaml", err) {
		if p.Line == 0 && p.Path == "" && p.File != "environment" && !strings.HasPrefix(p.Msg, "YAML syntax:") {
			t.Fatalf("a problem with neither line nor key: %q\ninput:\n%s", p.Error(), data)
		}
	}
}

// markSecrets returns data with every scalar under a secret's key set to
// the marker, or nil when data is not YAML.
func markSecrets(data []byte) []byte {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return nil
	}
	names := map[string]bool{}
	for _, s := range secretFields(&Config{}) {
		_, name, _ := strings.Cut(s.key, ".")
		names[strings.ToLower(name)] = true
	}
	marked := false
	yamlfile.Walk(&root, func(k, v *yaml.Node) {
		if names[strings.ToLower(k.Value)] {
			yamlfile.Scalars(v, func(n *yaml.Node) {
				n.Value, n.Tag, n.Style, marked = marker, "!!str", 0, true
			})
		}
	})
	if !marked {
		return nil
	}
	out, err := yaml.Marshal(&root)
	if err != nil {
		return nil
	}
	return out
}
