package ldap

import (
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewAcceptsScoping(t *testing.T) {
	t.Parallel()
	tests := map[string]func(*Config){
		"several bases": func(c *Config) {
			c.BaseDN = ""
			c.Bases = []Base{{DN: "ou=Partners,dc=example,dc=test"}, {DN: "ou=Vendors,dc=example,dc=test", Scope: "one"}}
		},
		"excluded subtree under the base": func(c *Config) {
			c.ExcludeDNs = []string{"OU = Excluded , OU=partners,DC=Example,DC=test"}
		},
		"excluded subtree above the base": func(c *Config) { c.ExcludeDNs = []string{"dc=example,dc=test"} },
		"groups, detected":                func(c *Config) { c.Groups = []string{"cn=Partner Access,ou=Groups,dc=example,dc=test"} },
		"groups on ad":                    func(c *Config) { c.Groups, c.Directory = []string{"CN=Partner Access,DC=example,DC=test"}, "ad" },
		"groups expanded, deep":           func(c *Config) { c.Groups, c.Directory, c.MaxGroupDepth = []string{"cn=g,dc=x"}, "ldap", 50 },
		"ntlm with a domain":              func(c *Config) { c.BindMethod, c.BindDN, c.NTLMDomain = "ntlm", "svc-guestsync", "EXAMPLE" },
		"ntlm, down-level name":           func(c *Config) { c.BindMethod, c.BindDN = "ntlm", `EXAMPLE\svc-guestsync` },
		"ntlm, both agree":                func(c *Config) { c.BindMethod, c.BindDN, c.NTLMDomain = "ntlm", `example\svc`, "EXAMPLE" },
		"ntlm, user principal name":       func(c *Config) { c.BindMethod, c.BindDN = "ntlm", "svc-guestsync@example.test" },
		"ntlm over plain ldap": func(c *Config) {
			// No allowInsecureBind: NTLM never sends the password.
			c.URL, c.BindMethod, c.BindDN, c.NTLMDomain = "ldap://dc1.example.test", "ntlm", "svc", "EXAMPLE"
		},
		"referrals": func(c *Config) {
			c.FollowReferrals, c.ReferralHosts = true, []string{"dc2.example.test", "*.example.test"}
		},
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			change(&cfg)
			_, err := New(cfg, nil)
			assert.NoError(t, err)
		})
	}
}

func TestNewKeepsTheOneBaseForm(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.Scope = "one"
	r, err := New(cfg, nil)
	require.NoError(t, err)
	require.Len(t, r.bases, 1)
	assert.Equal(t, "ou=Partners,dc=example,dc=test", r.bases[0].dn)
	assert.Equal(t, goldap.ScopeSingleLevel, r.bases[0].scope)

	cfg = validConfig()
	cfg.BaseDN = ""
	cfg.Bases = []Base{{DN: "ou=a,dc=x"}, {DN: "ou=b,dc=x", Scope: "one"}}
	r, err = New(cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, []int{goldap.ScopeWholeSubtree, goldap.ScopeSingleLevel}, []int{r.bases[0].scope, r.bases[1].scope})
	assert.Empty(t, r.cfg.Scope, "scope is not defaulted next to bases")
	assert.Equal(t, "simple", r.cfg.BindMethod)
	assert.Equal(t, 10, r.cfg.MaxGroupDepth)
}

func TestNewRejectsScoping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"base dn and bases", func(c *Config) { c.Bases = []Base{{DN: "ou=a,dc=example,dc=test"}} },
			[]string{"baseDN and scope are the one-base form of bases: set either, not both"}},
		{"scope and bases", func(c *Config) { c.BaseDN, c.Scope, c.Bases = "", "one", []Base{{DN: "ou=a,dc=x"}} },
			[]string{"baseDN and scope are the one-base form of bases"}},
		{"bad bases", func(c *Config) {
			c.BaseDN = ""
			c.Bases = []Base{{DN: ""}, {DN: "ou=a,dc", Scope: "one"}, {DN: "ou=b,dc=x", Scope: "base"}}
		}, []string{"bases[0]: dn is required", `bases[1]: dn "ou=a,dc"`, `bases[2]: scope must be sub or one, not "base"`}},
		{"bad exclusions", func(c *Config) { c.ExcludeDNs = []string{" ", "ou=x,dc", "ou=Partners,dc=other,dc=test"} },
			[]string{"excludeDNs[0]: a DN is required", `excludeDNs[1] "ou=x,dc"`, `excludeDNs[2] "ou=Partners,dc=other,dc=test" is not under any base DN, so it excludes nothing`}},
		{"sibling exclusion", func(c *Config) { c.ExcludeDNs = []string{"ou=Partners2,dc=example,dc=test"} },
			[]string{"is not under any base DN"}},
		{"bad groups", func(c *Config) { c.Groups = []string{"", "cn=g,dc"} },
			[]string{"groups[0]: a group DN is required", `groups[1] "cn=g,dc"`}},
		{"bad directory", func(c *Config) { c.Directory = "openldap" },
			[]string{`directory must be ad, ldap or empty (detected from the server), not "openldap"`}},
		{"negative depth", func(c *Config) { c.MaxGroupDepth = -1 }, []string{"maxGroupDepth must be positive, not -1"}},
		{"bad bind method", func(c *Config) { c.BindMethod = "kerberos" }, []string{`bindMethod must be simple or ntlm, not "kerberos"`}},
		{"ntlm domain with simple", func(c *Config) { c.NTLMDomain = "EXAMPLE" }, []string{"ntlmDomain only applies to bindMethod ntlm"}},
		{"ntlm without credentials", func(c *Config) { c.BindMethod, c.BindDN, c.BindPassword = "ntlm", "", "" },
			[]string{"bindDN (the account name) and bindPassword are required with bindMethod ntlm"}},
		{"ntlm with a dn", func(c *Config) { c.BindMethod = "ntlm" },
			[]string{`with bindMethod ntlm, bindDN is an account name (svc-guestsync, EXAMPLE\svc-guestsync or svc-guestsync@example.test), not the DN "cn=guestsync,ou=Services,dc=example,dc=test"`}},
		{"ntlm without domain", func(c *Config) { c.BindMethod, c.BindDN = "ntlm", "svc" },
			[]string{`ntlmDomain is required with bindMethod ntlm, unless bindDN is written DOMAIN\name or name@domain`}},
		{"ntlm domains disagree", func(c *Config) { c.BindMethod, c.BindDN, c.NTLMDomain = "ntlm", `OTHER\svc`, "EXAMPLE" },
			[]string{`ntlmDomain "EXAMPLE" and the domain in bindDN "OTHER\\svc" disagree`}},
		{"ntlm empty name", func(c *Config) { c.BindMethod, c.BindDN = "ntlm", `EXAMPLE\` }, []string{`write DOMAIN\name`}},
		{"referral hosts without following", func(c *Config) { c.ReferralHosts = []string{"dc2"} },
			[]string{"referralHosts only apply with followReferrals"}},
		{"bad referral hosts", func(c *Config) {
			c.FollowReferrals, c.ReferralHosts = true, []string{"ldap://dc2", "*.", "dc3:636"}
		}, []string{`referralHosts[0]: "ldap://dc2" is not a host name`, `referralHosts[1]: "*."`, `referralHosts[2]: "dc3:636"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			tt.change(&cfg)
			r, err := New(cfg, nil)
			require.Error(t, err)
			assert.Nil(t, r)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Equal(t, len(tt.want), strings.Count(err.Error(), "\n")+1, err.Error())
			assert.NotContains(t, err.Error(), "s3cret")
		})
	}
}

func TestNewReportsEveryScopingProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := New(Config{
		URL:        "ldaps://dc1",
		Bases:      []Base{{DN: "ou=a,dc=x", Scope: "subtree"}, {}},
		ExcludeDNs: []string{"ou=b,dc=y"},
		Groups:     []string{"cn=g,dc"},
		Directory:  "samba",
		BindMethod: "ntlm",
	}, nil)
	require.Error(t, err)
	msg := err.Error()
	for _, w := range []string{"bases[0]: scope", "bases[1]: dn is required", "excludeDNs[0]", `groups[0] "cn=g,dc"`, "directory must be", "required with bindMethod ntlm"} {
		assert.Contains(t, msg, w)
	}
	assert.Equal(t, 6, strings.Count(msg, "\n")+1, msg)
}

func TestNTLMUser(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ bindDN, domain, want string }{
		{"svc", "EXAMPLE", `EXAMPLE\svc`},
		{`EXAMPLE\svc`, "", `EXAMPLE\svc`},
		{`EXAMPLE\svc`, "EXAMPLE", `EXAMPLE\svc`},
		{"svc@example.test", "", "svc@example.test"},
	} {
		assert.Equal(t, tt.want, Config{BindDN: tt.bindDN, NTLMDomain: tt.domain}.ntlmUser())
	}
}

func TestCommandWithSeveralBases(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.BaseDN = ""
	cfg.Bases = []Base{{DN: "ou=Partners,dc=example,dc=test"}, {DN: "ou=O'Brien & Co,dc=example,dc=test", Scope: "one"}}
	cfg.ExcludeDNs = []string{"ou=Excluded,ou=Partners,dc=example,dc=test"}
	cfg.Filter = "(objectClass=inetOrgPerson)"
	cfg.Attributes = []string{"mail"}
	r, err := New(cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, strings.Join([]string{
		`ldapsearch -H ldaps://dc1.example.test -x -D 'cn=guestsync,ou=Services,dc=example,dc=test' -w '****' -b 'ou=Partners,dc=example,dc=test' -s sub -E pr=500/noprompt '(objectClass=inetOrgPerson)' mail`,
		`ldapsearch -H ldaps://dc1.example.test -x -D 'cn=guestsync,ou=Services,dc=example,dc=test' -w '****' -b 'ou=O'\''Brien & Co,dc=example,dc=test' -s one -E pr=500/noprompt '(objectClass=inetOrgPerson)' mail`,
	}, "\n"), r.Command())
}

func TestCommandOnActiveDirectory(t *testing.T) {
	t.Parallel()
	cfg := Config{
		URL: "ldaps://dc1.example.test", BindMethod: "ntlm", BindDN: "svc-guestsync", NTLMDomain: "EXAMPLE", BindPassword: "pw",
		BaseDN: "OU=Partners,DC=example,DC=test", Filter: "(objectClass=user)", Attributes: []string{"mail"},
		Directory: "ad", Groups: []string{"CN=Partner Access,OU=Groups,DC=example,DC=test"},
	}
	r, err := New(cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, `ldapsearch -H ldaps://dc1.example.test -x -D 'EXAMPLE\svc-guestsync' -w '****' -b 'OU=Partners,DC=example,DC=test' -s sub -E pr=500/noprompt '(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=CN=Partner Access,OU=Groups,DC=example,DC=test))' mail`, r.Command())

	cfg.Directory = "" // detected at read time: the command shows the filter as configured
	r, err = New(cfg, nil)
	require.NoError(t, err)
	assert.Contains(t, r.Command(), ` '(objectClass=user)' mail`)
}
