package ldap

import (
	"strings"

	"github.com/guestsync/guestsync/pkg/config"
)

// ConfigFrom returns the reader settings that the ldap section of
// guestsync's configuration describes. The bind password is revealed here,
// where the reader is built, and not before. Empty settings stay empty:
// New gives them its defaults.
func ConfigFrom(l config.LDAP) Config {
	var bases []Base
	for _, b := range l.Bases {
		bases = append(bases, Base{DN: b.DN, Scope: b.Scope})
	}
	return Config{
		URL:               strings.TrimSpace(l.URL),
		BindDN:            l.BindDN,
		BindPassword:      l.BindPassword.Reveal(),
		BindMethod:        l.BindMethod,
		NTLMDomain:        l.NTLMDomain,
		BaseDN:            l.BaseDN,
		Filter:            l.Filter,
		Scope:             l.Scope,
		Bases:             bases,
		ExcludeDNs:        l.ExcludeDNs,
		Groups:            l.Groups,
		Directory:         l.Directory,
		MaxGroupDepth:     l.MaxGroupDepth,
		FollowReferrals:   l.FollowReferrals,
		ReferralHosts:     l.ReferralHosts,
		Incremental:       l.Incremental,
		PageSize:          l.PageSize,
		Timeout:           l.Timeout,
		StartTLS:          l.StartTLS,
		CAFile:            l.CAFile,
		ServerName:        l.ServerName,
		AllowInsecureBind: l.AllowInsecureBind,
		Decoder:           l.Decoder,
	}
}
