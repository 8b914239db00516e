// Package examples ships the demo's sample data inside the binary, so that
// `guestsync demo` runs anywhere with no directory and no tenant.
package examples

import _ "embed"

// PartnersLDIF is an ldifde export of partner accounts: 27 partners from four
// companies (one of them disabled) and one employee the scope leaves out.
//
//go:embed partners.ldif
var PartnersLDIF []byte
