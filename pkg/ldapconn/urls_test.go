package ldapconn

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A password in an LDAP URL is never echoed in the errors about the URL.
func TestParseURLsNeverEchoAPassword(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"ldaps://svc:Passw0rd@dc1":       `url "ldaps://svc:xxxxx@dc1": put the base DN, filter and bind DN in their own settings, not in the URL`,
		"https://svc:Passw0rd@dc1":       `url "https://svc:xxxxx@dc1": must start with ldap:// or ldaps://`,
		"ldaps://svc:Passw0rd@:636":      `url "ldaps://svc:xxxxx@:636": no host name`,
		"ldaps://svc:Passw0rd@dc1:ldaps": `url number 1 (not shown: it holds user info): invalid port ":ldaps" after host`,
		"ldaps://dc1:ldaps":              `url "ldaps://dc1:ldaps": invalid port ":ldaps" after host`,
	} {
		_, errs := ParseURLs(in)
		if assert.Len(t, errs, 1, in) {
			assert.EqualError(t, errs[0], want, in)
			assert.NotContains(t, errs[0].Error(), "Passw0rd")
		}
	}
}
