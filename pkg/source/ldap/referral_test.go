package ldap

import (
	"net/url"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReferralTarget(t *testing.T) {
	t.Parallel()
	sub := base{dn: "DC=example,DC=test", scope: goldap.ScopeWholeSubtree}
	one := base{dn: "DC=example,DC=test", scope: goldap.ScopeSingleLevel}
	tests := []struct {
		name   string
		config func(*Config)
		from   string // the URL of the connection the referral came on
		orig   base
		ref    string
		url    string // want, or
		base   string
		scope  string
		err    string
	}{
		{name: "same host, ldaps", from: "ldaps://dc1.example.test", orig: sub,
			ref: "ldaps://dc1.example.test/OU=Far,DC=example,DC=test??sub", url: "ldaps://dc1.example.test", base: "OU=Far,DC=example,DC=test", scope: "sub"},
		{name: "AD's plain referral from ldaps: upgraded", from: "ldaps://dc1.example.test", orig: sub,
			ref: "ldap://DC1.example.test/CN=Configuration,DC=example,DC=test", url: "ldaps://DC1.example.test", base: "CN=Configuration,DC=example,DC=test", scope: "sub"},
		{name: "plain with a port from ldaps: refused", from: "ldaps://dc1.example.test", orig: sub,
			ref: "ldap://dc1.example.test:389/OU=Far,DC=example,DC=test", err: "refusing to follow a referral to plain LDAP from a TLS connection"},
		{name: "plain from StartTLS: StartTLS again", config: func(c *Config) { c.URL, c.StartTLS = "ldap://dc1.example.test", true },
			from: "ldap://dc1.example.test", orig: sub, ref: "ldap://dc1.example.test:3389/OU=Far,DC=example,DC=test??one",
			url: "ldap://dc1.example.test:3389", base: "OU=Far,DC=example,DC=test", scope: "one"},
		{name: "plain from plain", config: func(c *Config) { c.URL, c.AllowInsecureBind = "ldap://dc1.example.test", true },
			from: "ldap://dc1.example.test", orig: sub, ref: "ldap://dc1.example.test/OU=Far,DC=example,DC=test", url: "ldap://dc1.example.test", base: "OU=Far,DC=example,DC=test", scope: "sub"},
		{name: "one level becomes base", from: "ldaps://dc1.example.test", orig: one,
			ref: "ldaps://dc1.example.test/OU=Far,DC=example,DC=test", url: "ldaps://dc1.example.test", base: "OU=Far,DC=example,DC=test", scope: "base"},
		{name: "scope in the URL wins", from: "ldaps://dc1.example.test", orig: one,
			ref: "ldaps://dc1.example.test/OU=Far,DC=example,DC=test?cn?SUB?(cn=*)", url: "ldaps://dc1.example.test", base: "OU=Far,DC=example,DC=test", scope: "sub"},
		{name: "no DN: the original base", from: "ldaps://dc1.example.test", orig: sub,
			ref: "ldaps://dc1.example.test", url: "ldaps://dc1.example.test", base: "DC=example,DC=test", scope: "sub"},
		{name: "percent-escaped DN", from: "ldaps://dc1.example.test", orig: sub,
			ref: "ldaps://dc1.example.test/OU=O%27Brien%20%26%20Co,DC=example,DC=test", url: "ldaps://dc1.example.test", base: "OU=O'Brien & Co,DC=example,DC=test", scope: "sub"},
		{name: "the second configured URL's host", config: func(c *Config) { c.URL = "ldaps://dc1.example.test ldaps://dc2.example.test" },
			from: "ldaps://dc1.example.test", orig: sub, ref: "ldaps://dc2.example.test/DC=x", url: "ldaps://dc2.example.test", base: "DC=x", scope: "sub"},
		{name: "another host", from: "ldaps://dc1.example.test", orig: sub,
			ref: "ldap://ForestDnsZones.example.test/DC=ForestDnsZones,DC=example,DC=test", err: "host ForestDnsZones.example.test is not one of url's hosts: add it to referralHosts"},
		{name: "another host, allowed by name", config: func(c *Config) { c.ReferralHosts = []string{"forestdnszones.example.test"} },
			from: "ldaps://dc1.example.test", orig: sub, ref: "ldap://ForestDnsZones.example.test/DC=ForestDnsZones,DC=example,DC=test",
			url: "ldaps://ForestDnsZones.example.test", base: "DC=ForestDnsZones,DC=example,DC=test", scope: "sub"},
		{name: "another host, allowed by domain", config: func(c *Config) { c.ReferralHosts = []string{"*.example.test"} },
			from: "ldaps://dc1.example.test", orig: sub, ref: "ldaps://dc9.example.test/DC=x", url: "ldaps://dc9.example.test", base: "DC=x", scope: "sub"},
		{name: "the domain itself is not under *.domain", config: func(c *Config) { c.ReferralHosts = []string{"*.example.test"} },
			from: "ldaps://dc1.example.test", orig: sub, ref: "ldaps://example.test/DC=x", err: "host example.test is not one of url's hosts"},
		{name: "a look-alike domain", config: func(c *Config) { c.ReferralHosts = []string{"*.example.test"} },
			from: "ldaps://dc1.example.test", orig: sub, ref: "ldaps://evilexample.test/DC=x", err: "is not one of url's hosts"},
		{name: "not LDAP", from: "ldaps://dc1.example.test", orig: sub, ref: "https://dc1.example.test/DC=x", err: "only ldap:// and ldaps:// referrals are followed"},
		{name: "credentials in the URL", from: "ldaps://dc1.example.test", orig: sub, ref: "ldaps://u:p@dc1.example.test/DC=x", err: "credentials in the URL"},
		{name: "bad scope", from: "ldaps://dc1.example.test", orig: sub, ref: "ldaps://dc1.example.test/DC=x??children", err: `scope "children"`},
		{name: "bad DN", from: "ldaps://dc1.example.test", orig: sub, ref: "ldaps://dc1.example.test/DC", err: `DN "DC"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			cfg.URL = "ldaps://dc1.example.test"
			cfg.FollowReferrals = true
			if tt.config != nil {
				tt.config(&cfg)
			}
			r, err := New(cfg, nil)
			require.NoError(t, err)
			from := &session{r: r, url: mustURL(t, tt.from)}
			u, b, err := r.referralTarget(tt.ref, from, tt.orig)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.url, u.String())
			assert.Equal(t, tt.base, b.dn)
			assert.Equal(t, tt.scope, scopeName(b.scope))
		})
	}
}

func TestTLSForReferralHosts(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.URL, cfg.ServerName = "ldaps://127.0.0.1:3636", "dc1.example.test"
	r, err := New(cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, "dc1.example.test", r.tlsFor(mustURL(t, "ldaps://127.0.0.1:3637")).ServerName, "a configured host keeps serverName")
	assert.Equal(t, "dc2.example.test", r.tlsFor(mustURL(t, "ldaps://dc2.example.test")).ServerName, "another host is checked against its own name")
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
