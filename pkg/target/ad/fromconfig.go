package ad

import (
	"github.com/guestsync/guestsync/pkg/config"
	"github.com/guestsync/guestsync/pkg/ldapconn"
)

// OptionsFrom returns the target's settings that the ad section of
// guestsync's configuration describes. The bind password is revealed here,
// where the target is built, and not before. The log is the caller's.
func OptionsFrom(a config.AD) Options {
	return Options{
		Connection: ldapconn.Config{
			URL:          a.URL,
			BindDN:       a.BindDN,
			BindPassword: a.BindPassword.Reveal(),
			BindMethod:   a.BindMethod,
			NTLMDomain:   a.NTLMDomain,
			Timeout:      a.Timeout,
			StartTLS:     a.StartTLS,
			CAFile:       a.CAFile,
			ServerName:   a.ServerName,
		},
		BaseDN:        a.BaseDN,
		OU:            a.OU,
		DisabledOU:    a.DisabledOU,
		MarkAttribute: a.MarkAttribute,
		Owner:         a.Owner,
		Groups:        a.Groups,
		Concurrency:   a.Concurrency,
		PageSize:      a.PageSize,
	}
}

// LayoutFrom is where shadows go and how they are marked, as the ad
// section says: for the ldif target, which writes what the ad target
// would.
func LayoutFrom(a config.AD) Layout {
	return Layout{OU: a.OU, DisabledOU: a.DisabledOU, MarkAttribute: a.MarkAttribute, Owner: a.Owner, Groups: a.Groups}
}
