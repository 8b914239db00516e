package ldap

import (
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// validateBases returns the bases to search: Bases, or BaseDN with Scope.
func (cfg Config) validateBases(bad func(string, ...any)) []base {
	if len(cfg.Bases) == 0 {
		if cfg.Scope != "sub" && cfg.Scope != "one" {
			bad("scope must be sub or one, not %q", cfg.Scope)
		}
		if cfg.BaseDN == "" {
			bad("baseDN is required")
			return nil
		}
		dn, err := goldap.ParseDN(cfg.BaseDN)
		if err != nil {
			bad("baseDN %q: %v", cfg.BaseDN, err)
			return nil
		}
		return []base{{dn: cfg.BaseDN, parsed: dn, scope: scopeOf(cfg.Scope)}}
	}

	if cfg.BaseDN != "" || cfg.Scope != "" {
		bad("baseDN and scope are the one-base form of bases: set either, not both")
	}
	var bases []base
	for i, b := range cfg.Bases {
		scope := b.Scope
		if scope == "" {
			scope = DefaultScope
		}
		if scope != "sub" && scope != "one" {
			bad("bases[%d]: scope must be sub or one, not %q", i, b.Scope)
		}
		if strings.TrimSpace(b.DN) == "" {
			bad("bases[%d]: dn is required", i)
			continue
		}
		dn, err := goldap.ParseDN(b.DN)
		if err != nil {
			bad("bases[%d]: dn %q: %v", i, b.DN, err)
			continue
		}
		bases = append(bases, base{dn: b.DN, parsed: dn, scope: scopeOf(scope)})
	}
	return bases
}

// validateExcludes parses ExcludeDNs. An excluded subtree that does not
// overlap any base is reported: it would exclude nothing, which is most
// likely a typo that would let unwanted entries through (unless referrals
// are followed, which may lead anywhere).
func (cfg Config) validateExcludes(bases []base, bad func(string, ...any)) []subtree {
	var out []subtree
	for i, s := range cfg.ExcludeDNs {
		if strings.TrimSpace(s) == "" {
			bad("excludeDNs[%d]: a DN is required", i)
			continue
		}
		dn, err := goldap.ParseDN(s)
		if err != nil {
			bad("excludeDNs[%d] %q: %v", i, s, err)
			continue
		}
		overlaps := false
		for _, b := range bases {
			if atOrBelow(dn, b.parsed) || atOrBelow(b.parsed, dn) {
				overlaps = true
				break
			}
		}
		// With referrals followed, it may apply to a referred subtree.
		if !overlaps && len(bases) > 0 && !cfg.FollowReferrals {
			bad("excludeDNs[%d] %q is not under any base DN, so it excludes nothing", i, s)
		}
		out = append(out, subtree{dn: s, parsed: dn})
	}
	return out
}

// validateGroups checks Groups, MaxGroupDepth and Directory.
func (cfg Config) validateGroups(bad func(string, ...any)) []string {
	var groups []string
	for i, g := range cfg.Groups {
		g = strings.TrimSpace(g)
		if g == "" {
			bad("groups[%d]: a group DN is required", i)
			continue
		}
		if _, err := goldap.ParseDN(g); err != nil {
			bad("groups[%d] %q: %v", i, g, err)
			continue
		}
		groups = append(groups, g)
	}
	switch cfg.Directory {
	case "", DirectoryAD, DirectoryLDAP:
	default:
		bad("directory must be ad, ldap or empty (detected from the server), not %q", cfg.Directory)
	}
	if cfg.MaxGroupDepth < 0 {
		bad("maxGroupDepth must be positive, not %d", cfg.MaxGroupDepth)
	}
	return groups
}

// ntlmUser is the user name for go-ldap's NTLM bind (see
// ldapconn.Config.NTLMUser).
func (cfg Config) ntlmUser() string { return cfg.connection().NTLMUser() }

// validateReferrals checks ReferralHosts.
func (cfg Config) validateReferrals(bad func(string, ...any)) {
	if len(cfg.ReferralHosts) > 0 && !cfg.FollowReferrals {
		bad("referralHosts only apply with followReferrals")
	}
	for i, h := range cfg.ReferralHosts {
		name := strings.TrimPrefix(h, "*.")
		if name == "" || strings.ContainsAny(name, " /:@*?#") {
			bad(`referralHosts[%d]: %q is not a host name (or "*.domain")`, i, h)
		}
	}
}
