package config

import (
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// The directions a config can sync.
const (
	DirectionPartnersToGuests = "partners-to-guests"
	DirectionGuestsToShadows  = "guests-to-shadows"
)

// Guests scopes the tenant's guests that become shadow accounts (source
// kind graph).
type Guests struct {
	// Scope is all (every guest), groups (the guests among the transitive
	// members of Groups) or application (the guests assigned to the
	// enterprise application ServicePrincipal, directly or as direct
	// members of an assigned group).
	Scope string `yaml:"scope" mapstructure:"scope"`
	// Groups are the object ids of the scoping groups.
	Groups []string `yaml:"groups" mapstructure:"groups"`
	// ServicePrincipal is the object id of the enterprise application's
	// service principal (not its appId).
	ServicePrincipal string `yaml:"servicePrincipal" mapstructure:"serviceprincipal"`
}

// Target chooses where accounts are written.
type Target struct {
	// Kind is graph (partners to guests: Entra ID guests), ad (guests to
	// shadows: Active Directory over LDAPS or StartTLS) or ldif (guests to
	// shadows: an LDIF change file to review and import with ldapmodify
	// or ldifde, no directory needed).
	Kind string `yaml:"kind" mapstructure:"kind"`
	// File is the LDIF change file the ldif target writes.
	File string `yaml:"file" mapstructure:"file"`
	// Export is an LDIF export of the domain (ldifde -f, ldapsearch) that
	// the ldif target plans against; empty plans every guest as new.
	Export string `yaml:"export" mapstructure:"export"`
}

// AD is the Active Directory that holds the shadow accounts: how to reach
// it, and where and how shadows are kept there.
type AD struct {
	URL              string        `yaml:"url" mapstructure:"url"`
	BindDN           string        `yaml:"bindDN" mapstructure:"binddn"`
	BindPassword     Secret        `yaml:"bindPassword" mapstructure:"bindpassword"`
	BindPasswordFile string        `yaml:"bindPasswordFile" mapstructure:"bindpasswordfile"`
	BindMethod       string        `yaml:"bindMethod" mapstructure:"bindmethod"`
	NTLMDomain       string        `yaml:"ntlmDomain" mapstructure:"ntlmdomain"`
	Timeout          time.Duration `yaml:"timeout" mapstructure:"timeout"`
	StartTLS         bool          `yaml:"startTLS" mapstructure:"starttls"`
	CAFile           string        `yaml:"caFile" mapstructure:"cafile"`
	ServerName       string        `yaml:"serverName" mapstructure:"servername"`
	// BaseDN is the domain: where shadows and the names others' objects
	// have taken are looked for.
	BaseDN string `yaml:"baseDN" mapstructure:"basedn"`
	// OU is where shadows are created; DisabledOU where a removed guest's
	// shadow is moved when it is disabled ("" leaves it in place).
	OU         string `yaml:"ou" mapstructure:"ou"`
	DisabledOU string `yaml:"disabledOU" mapstructure:"disabledou"`
	// MarkAttribute holds guestsync's mark and the guest's id on every
	// shadow: User_guestsync:<owner>:<id>. adminDescription (the default)
	// keeps shadows out of Entra Connect's default sync rules, which skip
	// users whose adminDescription starts with User_.
	MarkAttribute string `yaml:"markAttribute" mapstructure:"markattribute"`
	// Owner tells this instance's shadows from another guestsync's.
	Owner string `yaml:"owner" mapstructure:"owner"`
	// Groups are the DNs of groups every new shadow joins.
	Groups      []string `yaml:"groups" mapstructure:"groups"`
	Concurrency int      `yaml:"concurrency" mapstructure:"concurrency"`
	PageSize    uint32   `yaml:"pageSize" mapstructure:"pagesize"`
}

// validateDirection checks the direction and that the source and target
// kinds belong to it.
func (p *problems) validateDirection() {
	c := p.c
	switch c.Direction {
	case DirectionPartnersToGuests:
		if c.Target.Kind != "graph" {
			p.bad("target.kind", "direction %s writes Entra ID guests: target.kind must be graph (got %q)", c.Direction, c.Target.Kind)
		}
	case DirectionGuestsToShadows:
		if c.Source.Kind != "graph" {
			p.bad("source.kind", "direction %s reads the tenant's guests: source.kind must be graph (got %q)", c.Direction, c.Source.Kind)
		}
		if c.Target.Kind != "ad" && c.Target.Kind != "ldif" {
			p.bad("target.kind", "direction %s writes shadow accounts: target.kind must be ad or ldif (got %q)", c.Direction, c.Target.Kind)
		}
	default:
		p.bad("direction", "must be %s or %s (got %q)", DirectionPartnersToGuests, DirectionGuestsToShadows, c.Direction)
	}
}

// validateGuests checks the guest source's scope.
func (p *problems) validateGuests() {
	g := p.c.Guests
	switch g.Scope {
	case "all":
		if len(g.Groups) > 0 || g.ServicePrincipal != "" {
			p.bad("guests.scope", "all reads every guest: guests.groups and guests.servicePrincipal must be empty")
		}
	case "groups":
		if len(g.Groups) == 0 {
			p.bad("guests.groups", "required when guests.scope is groups: the object ids of the scoping groups")
		}
	case "application":
		if g.ServicePrincipal == "" {
			p.bad("guests.servicePrincipal", "required when guests.scope is application: the object id of the enterprise application's service principal")
		}
	default:
		p.bad("guests.scope", "must be all, groups or application (got %q)", g.Scope)
	}
}

// validateShadowTarget checks the ad section, and the ldif target's file.
func (p *problems) validateShadowTarget() {
	c := p.c
	a := c.AD
	if c.Target.Kind == "ldif" && c.Target.File == "" {
		p.bad("target.file", "required when target.kind is ldif: the LDIF change file to write")
	}
	for _, k := range []struct{ key, v string }{{"ad.baseDN", a.BaseDN}, {"ad.ou", a.OU}} {
		if k.v == "" {
			p.bad(k.key, "required: shadows are kept under it")
		}
	}
	base, err := ldap.ParseDN(a.BaseDN)
	if a.BaseDN != "" && err != nil {
		p.bad("ad.baseDN", "%q is not a DN: %v", a.BaseDN, err)
	}
	for _, k := range []struct{ key, dn string }{{"ad.ou", a.OU}, {"ad.disabledOU", a.DisabledOU}} {
		if k.dn == "" {
			continue
		}
		// Current looks for shadows under baseDN only: one kept outside
		// it would be created again on every run.
		switch dn, err := ldap.ParseDN(k.dn); {
		case err != nil:
			p.bad(k.key, "%q is not a DN: %v", k.dn, err)
		case base != nil && !base.EqualFold(dn) && !base.AncestorOfFold(dn):
			p.bad(k.key, "must be inside ad.baseDN (%s), where shadows are looked for", a.BaseDN)
		}
	}
	if a.MarkAttribute == "" || a.Owner == "" || strings.ContainsAny(a.Owner, ":*()\\") {
		p.bad("ad.owner", "ad.owner and ad.markAttribute must be set; the owner may not contain : * ( ) or \\")
	}
	if c.Target.Kind != "ad" {
		return
	}
	if a.URL == "" {
		p.bad("ad.url", "required when target.kind is ad")
	}
	for _, u := range strings.Fields(a.URL) {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "ldap" && pu.Scheme != "ldaps") {
			p.bad("ad.url", "%q is not an ldap:// or ldaps:// URL", RedactURL(u))
		} else if pu.Scheme == "ldap" && !a.StartTLS {
			// Passwords are written as unicodePwd, which Active Directory
			// takes only over an encrypted connection (MS-ADTS
			// 3.1.1.3.1.5.1); guestsync refuses a plain one for every
			// write, whatever the server would accept.
			p.bad("ad.url", "%s is plain LDAP: shadows are written only over ldaps:// or with ad.startTLS", RedactURL(u))
		}
	}
	if a.BindDN == "" || a.BindPassword == "" {
		p.bad("ad.bindDN", "ad.bindDN and a password (%s or ad.bindPasswordFile) are required: shadows are written by an account allowed to create users in ad.ou", envName("ad.bindpassword"))
	}
	if a.BindMethod != "simple" && a.BindMethod != "ntlm" {
		p.bad("ad.bindMethod", "must be simple or ntlm (got %q)", a.BindMethod)
	}
	if a.Timeout <= 0 {
		p.bad("ad.timeout", "must be positive, like 30s")
	}
	if a.PageSize == 0 || a.PageSize > 1000 {
		p.bad("ad.pageSize", "must be 1 to 1000 (Active Directory's MaxPageSize is 1000); got %d", a.PageSize)
	}
	if a.Concurrency < 1 || a.Concurrency > 16 {
		p.bad("ad.concurrency", "must be 1 to 16 (got %d)", a.Concurrency)
	}
	p.caFile("ad.caFile", a.CAFile)
}
