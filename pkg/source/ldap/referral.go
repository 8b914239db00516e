package ldap

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// maxReferralHops bounds chains of referrals (a referral to a server that
// refers on), which a misconfigured directory can make endless.
const maxReferralHops = 5

// pendingReferral is a continuation reference to follow once the search
// that returned it is done.
type pendingReferral struct {
	raw  string
	from *session
	base base // the search that returned it
	hops int
}

// referral records a continuation reference: skipped unless
// FollowReferrals, else followed after the current searches.
func (rs *readState) referral(s *session, b base, ref string, hops int) {
	if !rs.r.cfg.FollowReferrals {
		rs.stats.referralsSkipped++
		rs.r.log.Debug("ldap referral skipped", "referral", ref)
		return
	}
	rs.pending = append(rs.pending, pendingReferral{raw: ref, from: s, base: b, hops: hops + 1})
}

// followReferrals follows the pending referrals, and those they return in
// turn. One that may not or cannot be followed fails the read: the user
// asked for the entries it holds.
func (rs *readState) followReferrals(ctx context.Context) error {
	for len(rs.pending) > 0 {
		p := rs.pending[0]
		rs.pending = rs.pending[1:]
		if err := rs.follow(ctx, p); err != nil {
			return fmt.Errorf("follow referral %s from %s: %w", p.raw, p.from.url, err)
		}
	}
	return nil
}

func (rs *readState) follow(ctx context.Context, p pendingReferral) error {
	r := rs.r
	if p.hops > maxReferralHops {
		return fmt.Errorf("more than %d referrals in a row", maxReferralHops)
	}
	u, b, err := r.referralTarget(p.raw, p.from, p.base)
	if err != nil {
		return err
	}
	key := u.String() + "/" + dnKey(b.parsed) + "?" + scopeName(b.scope)
	if rs.followed[key] {
		r.log.Debug("ldap referral already followed", "referral", p.raw)
		return nil
	}
	rs.followed[key] = true
	if ex, ok := excludedBy(b.parsed, r.excludes); ok {
		r.log.Debug("ldap referral excluded", "referral", p.raw, "excludeDN", ex.dn)
		return nil
	}
	s, ok := rs.sessions[u.String()]
	if !ok {
		if s, err = r.openSession(ctx, u); err != nil {
			return err
		}
		rs.sessions[u.String()] = s
	}
	rs.stats.referralsFollowed++
	r.log.Debug("ldap referral followed", "referral", p.raw, "url", u.String(), "base", b.dn, "scope", scopeName(b.scope))
	return rs.searchBase(ctx, s, b, p.hops)
}

// referralTarget checks a continuation reference (an RFC 4516 LDAP URL)
// against the rules for following it, and returns the server to connect
// to and what to search there:
//
//   - only ldap:// and ldaps:// URLs, to a host of URL or ReferralHosts;
//   - never from TLS down to plain LDAP: an ldap:// referral reached over
//     TLS is followed with StartTLS when that is configured, or as
//     ldaps:// to the same host when it names no port (Active Directory
//     writes its referrals as ldap://host/dn), and refused otherwise;
//   - the base is the URL's DN (the original base if it has none), the
//     scope the URL's (else sub, or base when the original search was one
//     level, as RFC 4511 4.5.3 says). A filter in the URL is ignored: the
//     configured filter applies everywhere.
func (r *Reader) referralTarget(raw string, from *session, orig base) (*url.URL, base, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, base{}, fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "ldap" && u.Scheme != "ldaps" {
		return nil, base{}, fmt.Errorf("only ldap:// and ldaps:// referrals are followed")
	}
	if u.Hostname() == "" || u.User != nil {
		return nil, base{}, fmt.Errorf("no host name, or credentials in the URL")
	}
	if !r.configuredHost(u.Hostname()) && !r.referralHostAllowed(u.Hostname()) {
		return nil, base{}, fmt.Errorf("host %s is not one of url's hosts: add it to referralHosts to follow referrals there", u.Hostname())
	}

	target := &url.URL{Scheme: u.Scheme, Host: u.Host}
	switch {
	case u.Scheme == "ldaps", !from.encrypted():
	case r.cfg.StartTLS:
		// dial upgrades ldap:// with StartTLS.
	case u.Port() == "":
		target.Scheme = "ldaps"
	default:
		return nil, base{}, fmt.Errorf("refusing to follow a referral to plain LDAP from a TLS connection")
	}
	if !r.cfg.usesTLS(target) && r.cfg.BindMethod == "simple" && r.cfg.BindPassword != "" && !r.cfg.AllowInsecureBind {
		return nil, base{}, fmt.Errorf("refusing to send the password of %q unencrypted to %s", r.cfg.BindDN, target)
	}

	b := base{dn: strings.TrimPrefix(u.Path, "/"), scope: goldap.ScopeWholeSubtree}
	if orig.scope == goldap.ScopeSingleLevel {
		b.scope = goldap.ScopeBaseObject
	}
	if b.dn == "" {
		b.dn = orig.dn
	}
	if b.parsed, err = goldap.ParseDN(b.dn); err != nil {
		return nil, base{}, fmt.Errorf("DN %q: %w", b.dn, err)
	}
	// RFC 4516: dn?attributes?scope?filter?extensions
	if parts := strings.Split(u.RawQuery, "?"); len(parts) > 1 && parts[1] != "" {
		switch strings.ToLower(parts[1]) {
		case "base", "one", "sub":
			b.scope = scopeOf(strings.ToLower(parts[1]))
		default:
			return nil, base{}, fmt.Errorf("scope %q is not base, one or sub", parts[1])
		}
	}
	return target, b, nil
}

// referralHostAllowed reports whether ReferralHosts lets referrals lead
// to host.
func (r *Reader) referralHostAllowed(host string) bool {
	for _, h := range r.cfg.ReferralHosts {
		if suffix, ok := strings.CutPrefix(h, "*."); ok {
			if len(host) > len(suffix)+1 && strings.EqualFold(host[len(host)-len(suffix)-1:], "."+suffix) {
				return true
			}
			continue
		}
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}
