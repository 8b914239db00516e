package ldap

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// Key identifies what the reader reads, for the engine's state file: a
// watermark is only used again under the same key. It is
// "ldap:<first host>:<16 hex digits>", the digits from a SHA-256 of the
// canonical form of everything that decides which entries are read and
// what they hold:
//
//   - the URLs, in order (the first is the server usually read), with
//     scheme and host in lower case and the port always written;
//   - the bases with their scopes, the excluded subtrees and the groups,
//     compared as DNs (letter case, spacing and escaping do not count;
//     the order of the excluded subtrees and of the groups does not
//     either);
//   - the filter, as go-ldap writes it back after parsing;
//   - the directory kind as configured, the attributes requested, and
//     whether referrals are followed and where to.
//
// The bind account and password, TLS settings, page size, timeout and the
// Incremental setting are not part of it: they change how the same
// entries are read. (A watermark made by another mechanism than the one
// Incremental now asks for is refused by ReadChanges, which then reads
// everything.)
func (r *Reader) Key() string {
	type keyBase struct {
		DN    string `json:"dn"`
		Scope string `json:"scope"`
	}
	canon := struct {
		URLs            []string  `json:"urls"`
		Bases           []keyBase `json:"bases"`
		Filter          string    `json:"filter"`
		Excludes        []string  `json:"exclude,omitempty"`
		Groups          []string  `json:"groups,omitempty"`
		Directory       string    `json:"directory,omitempty"`
		Attributes      []string  `json:"attributes"`
		FollowReferrals bool      `json:"followReferrals,omitempty"`
		ReferralHosts   []string  `json:"referralHosts,omitempty"`
	}{
		Filter:          canonicalFilter(r.cfg.Filter),
		Directory:       r.cfg.Directory,
		FollowReferrals: r.cfg.FollowReferrals,
	}
	for _, u := range r.urls {
		canon.URLs = append(canon.URLs, canonicalURL(u.Scheme, u.Hostname(), u.Port()))
	}
	for _, b := range r.bases {
		canon.Bases = append(canon.Bases, keyBase{DN: dnKey(b.parsed), Scope: scopeName(b.scope)})
	}
	for _, x := range r.excludes {
		canon.Excludes = append(canon.Excludes, dnKey(x.parsed))
	}
	slices.Sort(canon.Excludes)
	for _, g := range r.groups {
		if dn, err := goldap.ParseDN(g); err == nil {
			canon.Groups = append(canon.Groups, dnKey(dn))
		}
	}
	slices.Sort(canon.Groups)
	for _, a := range r.cfg.requestedAttributes() {
		canon.Attributes = append(canon.Attributes, strings.ToLower(a))
	}
	slices.Sort(canon.Attributes)
	for _, h := range r.cfg.ReferralHosts {
		canon.ReferralHosts = append(canon.ReferralHosts, strings.ToLower(h))
	}
	slices.Sort(canon.ReferralHosts)

	b, err := json.Marshal(canon)
	if err != nil {
		panic(err) // strings and booleans always marshal
	}
	sum := sha256.Sum256(b)
	host := ""
	if len(r.urls) > 0 {
		host = strings.ToLower(r.urls[0].Hostname())
	}
	return "ldap:" + host + ":" + hex.EncodeToString(sum[:8])
}

// canonicalURL writes an LDAP URL with its default port made explicit.
func canonicalURL(scheme, host, port string) string {
	scheme = strings.ToLower(scheme)
	if port == "" {
		port = goldap.DefaultLdapPort
		if scheme == "ldaps" {
			port = goldap.DefaultLdapsPort
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(host), port)
}
