package config

import (
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/guestsync/guestsync/pkg/yamlfile"
)

// Validate checks the values (not the keys: Load checks those), and that
// the CA files named hold certificates, and returns every problem, each
// with its key path.
func (c *Config) Validate() yamlfile.Problems {
	return append(c.ValidateSource(), c.validateTarget()...)
}

// problems collects a config's problems.
type problems struct {
	c  *Config
	ps yamlfile.Problems
}

func (p *problems) bad(path, format string, args ...any) {
	p.ps = append(p.ps, yamlfile.Problem{File: p.c.File, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// ValidateSource checks the version and the source's settings only.
func (c *Config) ValidateSource() yamlfile.Problems {
	p := &problems{c: c}
	bad := p.bad
	if c.Version != FormatVersion {
		bad("version", "must be %d (got %d)", FormatVersion, c.Version)
	}
	switch c.Source.Kind {
	case "ldif":
		if c.LDIF.Path == "" {
			bad("ldif.path", "required when source.kind is ldif")
		}
	case "ldap":
		if c.LDAP.URL == "" {
			bad("ldap.url", "required when source.kind is ldap")
		}
		for _, u := range strings.Fields(c.LDAP.URL) {
			if pu, err := url.Parse(u); err != nil || (pu.Scheme != "ldap" && pu.Scheme != "ldaps") {
				bad("ldap.url", "%q is not an ldap:// or ldaps:// URL", RedactURL(u))
			}
		}
		switch {
		case c.LDAP.BaseDN == "" && len(c.LDAP.Bases) == 0:
			bad("ldap.baseDN", "required when source.kind is ldap (or list several in ldap.bases)")
		case c.LDAP.BaseDN != "" && len(c.LDAP.Bases) > 0:
			bad("ldap.bases", "set either ldap.baseDN (with ldap.scope) or ldap.bases, not both")
		}
		if s := c.LDAP.Scope; s != "" && s != "sub" && s != "one" {
			bad("ldap.scope", "must be sub or one (got %q)", s)
		}
		if c.LDAP.PageSize == 0 || c.LDAP.PageSize > 1000 {
			bad("ldap.pageSize", "must be 1 to 1000 (Active Directory's MaxPageSize is 1000); got %d", c.LDAP.PageSize)
		}
		if c.LDAP.Timeout <= 0 {
			bad("ldap.timeout", "must be positive, like 30s")
		}
		if d := c.LDAP.Decoder; d != "tap" && d != "go-ldap" {
			bad("ldap.decoder", "must be tap or go-ldap (got %q)", d)
		}
		if c.LDAP.BindDN != "" && c.LDAP.BindPassword == "" {
			bad("ldap.bindPassword", "bindDN is set but no password: set %s or ldap.bindPasswordFile", envName("ldap.bindpassword"))
		}
		p.caFile("ldap.caFile", c.LDAP.CAFile)
	case "graph":
		p.validateGuests()
		p.validateGraph()
	default:
		bad("source.kind", "must be ldap, ldif or graph (got %q)", c.Source.Kind)
	}
	if c.Source.FullReadEvery < 0 {
		bad("source.fullReadEvery", "must be 0 (only with --full) or a positive duration such as 168h (a week)")
	}
	return p.ps
}

// validateTarget checks the mapping's, Graph's and the policy's settings.
func (c *Config) validateTarget() yamlfile.Problems {
	p := &problems{c: c}
	bad := p.bad
	switch c.Policy.Mode {
	case "sync", "upsert-only", "create-only":
	default:
		bad("policy.mode", "must be sync, upsert-only or create-only (got %q)", c.Policy.Mode)
	}
	switch c.Policy.Removal {
	case "disable", "delete", "none":
	default:
		bad("policy.removal", "must be disable, delete or none (got %q)", c.Policy.Removal)
	}
	if c.Policy.DeleteAfter < 0 {
		bad("policy.deleteAfter", "must be 0 (never) or a positive duration such as 720h (30 days)")
	}
	if c.Policy.RemovalThreshold < 1 {
		bad("policy.removalThreshold", "must be at least 1 (got %d); use policy.removal: none to never remove", c.Policy.RemovalThreshold)
	}
	if pct := c.Policy.RemovalThresholdPercent; pct < 0 || pct > 100 {
		bad("policy.removalThresholdPercent", "must be 0 (off) to 100 (got %g)", pct)
	}
	if c.Mapping.File == "" {
		bad("mapping.file", "required")
	}
	p.validateDirection()
	switch {
	case c.Target.Kind == "ad" || c.Target.Kind == "ldif":
		p.validateShadowTarget()
	case c.Source.Kind != "graph": // a graph source checked the graph section
		p.validateGraph()
	}
	return p.ps
}

// validateGraph checks the Graph endpoint and how guestsync signs in to
// it: the target of partners to guests, the source of guests to shadows.
func (p *problems) validateGraph() {
	c, bad := p.c, p.bad
	if r := c.Graph.Invitation.RedirectURL; r != "" {
		if ru, err := url.Parse(r); err != nil || (ru.Scheme != "https" && ru.Scheme != "http") || ru.Host == "" {
			bad("graph.invitation.redirectURL", "%q is not an http(s) URL", RedactURL(r))
		}
	}
	if c.Graph.WriteBudget <= 0 || c.Graph.WriteWindow <= 0 {
		bad("graph.writeBudget", "writeBudget and writeWindow must be positive (Graph documents 3000 writes per 150s)")
	}
	if c.Graph.Concurrency < 1 || c.Graph.Concurrency > 20 {
		bad("graph.concurrency", "must be 1 to 20 (got %d)", c.Graph.Concurrency)
	}
	p.caFile("graph.caFile", c.Graph.CAFile)
	if a := c.Graph.Adopt; a != "" && a != "mail" && a != "upn" {
		bad("graph.adopt", "must be empty (never adopt), mail or upn (got %q)", a)
	}
	if _, ok := CloudGraphRoot(c.Graph.Cloud); !ok {
		bad("graph.cloud", "must be global, usgov, usgovdod or china (got %q)", c.Graph.Cloud)
	}
	u, err := url.Parse(c.Graph.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("graph.url", "%q is not an http(s) URL", RedactURL(c.Graph.URL))
	} else if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		bad("graph.url", "plain http is accepted only for a loopback emulator, not %s", u.Host)
	}
	switch c.Graph.Auth {
	case "clientSecret":
		if c.Graph.TenantID == "" {
			bad("graph.tenantID", "required for auth clientSecret")
		}
		if c.Graph.ClientID == "" {
			bad("graph.clientID", "required for auth clientSecret")
		}
		if c.Graph.ClientSecret == "" {
			bad("graph.clientSecret", "required for auth clientSecret: set %s or graph.clientSecretFile", envName("graph.clientsecret"))
		}
	case "certificate":
		if c.Graph.TenantID == "" {
			bad("graph.tenantID", "required for auth certificate")
		}
		if c.Graph.ClientID == "" {
			bad("graph.clientID", "required for auth certificate")
		}
		if c.Graph.CertificateFile == "" {
			bad("graph.certificateFile", "required for auth certificate: a PEM file with the certificate and its key, or a .pfx")
		}
	case "default":
		// azidentity's chain finds its own settings (AZURE_CLIENT_ID, a
		// managed identity, ...); tenantID only narrows it.
	case "emulator":
		if err == nil && !IsLoopback(u.Hostname()) {
			bad("graph.auth", "emulator auth sends a fixed token and is accepted only for a loopback graph.url, not %s", u.Host)
		}
	default:
		bad("graph.auth", "must be clientSecret, certificate, default or emulator (got %q)", c.Graph.Auth)
	}
}

// maxCAFile bounds a CA file: a bundle of every public root CA is some
// 200 KiB; a file beyond 4 MiB is the wrong file, and is not read whole.
const maxCAFile = 4 << 20

// caFile checks that the CA file named by key holds at least one PEM
// certificate, as the TLS client that reads it will require: a wrong path
// is then one more problem with its line, found before a run starts.
func (p *problems) caFile(key, path string) {
	if path == "" {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		p.bad(key, "%v", err)
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCAFile+1))
	switch {
	case err != nil:
		p.bad(key, "%v", err)
	case len(data) > maxCAFile:
		p.bad(key, "%s is larger than %d MiB: not a CA file", path, maxCAFile>>20)
	case !x509.NewCertPool().AppendCertsFromPEM(data):
		p.bad(key, "%s: no PEM certificate found", path)
	}
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
