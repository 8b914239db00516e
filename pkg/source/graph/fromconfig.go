package graph

import "github.com/guestsync/guestsync/pkg/config"

// OptionsFrom returns the reader's scope as the guests section of
// guestsync's configuration says; properties are those the mapping reads
// besides DefaultProperties.
func OptionsFrom(g config.Guests, properties []string) Options {
	return Options{Scope: g.Scope, Groups: g.Groups, ServicePrincipal: g.ServicePrincipal, Properties: properties}
}
