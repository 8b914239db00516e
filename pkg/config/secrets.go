package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/guestsync/guestsync/pkg/yamlfile"
)

// secretKeys are the keys whose value is a credential, with the key that
// names a file holding it instead.
var secretKeys = []struct{ section, key, fileKey string }{
	{"ldap", "bindPassword", "bindPasswordFile"},
	{"graph", "clientSecret", "clientSecretFile"},
	{"graph", "certificatePassword", "certificatePasswordFile"},
}

// secretsInFile refuses credentials written into the config file itself:
// config files get copied, committed and mailed around. A credential comes
// from the environment or from a file only root can read.
func secretsInFile(file string, doc *yaml.Node) yamlfile.Problems {
	var ps yamlfile.Problems
	for _, s := range secretKeys {
		sec := valueOf(doc, s.section)
		if n := valueOf(sec, s.key); n != nil && n.Value != "" {
			ps = append(ps, yamlfile.At(file, n, s.section+"."+s.key,
				"do not write secrets in the config file; set %s or %s.%s",
				envName(strings.ToLower(s.section+"."+s.key)), s.section, s.fileKey))
		}
	}
	return ps
}

func valueOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// resolve makes relative paths relative to the config file's folder (so
// that a config works from any working directory) and reads secret files.
func (c *Config) resolve(dir string, env Environment) yamlfile.Problems {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.LDIF.Path)
	abs(&c.Mapping.File)
	abs(&c.LDAP.CAFile)
	abs(&c.LDAP.BindPasswordFile)
	abs(&c.Graph.ClientSecretFile)
	abs(&c.Graph.CertificateFile)
	abs(&c.Graph.CertificatePasswordFile)
	abs(&c.Graph.CAFile)
	if root, ok := CloudGraphRoot(c.Graph.Cloud); ok && c.Graph.URL == "" {
		c.Graph.URL = root + "/v1.0"
	}
	if c.Graph.Invitation.RedirectURL == "" && c.Graph.TenantID != "" {
		// Where an invited guest lands after redeeming: the inviting
		// tenant's My Apps, as Microsoft's B2B examples use.
		c.Graph.Invitation.RedirectURL = "https://myapplications.microsoft.com/?tenantid=" + url.QueryEscape(c.Graph.TenantID)
	}
	abs(&c.State.File)
	if c.State.File == "" {
		c.State.File = DefaultStateFile(env)
	}
	var ps yamlfile.Problems
	read := func(key, file string, into *Secret) {
		if file == "" {
			return
		}
		if *into != "" {
			ps = append(ps, yamlfile.Problem{File: c.File, Path: key,
				Msg: fmt.Sprintf("both the secret and %sFile are set; use one", key)})
			return
		}
		b, err := os.ReadFile(file)
		if err != nil {
			ps = append(ps, yamlfile.Problem{File: c.File, Path: key + "File", Msg: fmt.Sprintf("read secret: %v", err)})
			return
		}
		*into = Secret(strings.TrimRight(string(b), "\r\n"))
	}
	read("ldap.bindPassword", c.LDAP.BindPasswordFile, &c.LDAP.BindPassword)
	read("graph.clientSecret", c.Graph.ClientSecretFile, &c.Graph.ClientSecret)
	read("graph.certificatePassword", c.Graph.CertificatePasswordFile, &c.Graph.CertificatePassword)
	return ps
}

// DefaultStateFile is $XDG_STATE_HOME/guestsync/state.json, with
// XDG_STATE_HOME defaulting to ~/.local/state as the XDG spec says.
func DefaultStateFile(env Environment) string {
	dir := env.Getenv("XDG_STATE_HOME")
	if dir == "" {
		dir = filepath.Join(env.HomeDir, ".local", "state")
	}
	return filepath.Join(dir, "guestsync", "state.json")
}
