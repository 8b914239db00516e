package ldapconn

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, errs := Config{URL: "ldaps://dc1 http://dc2", StartTLS: true, BindDN: "cn=svc", Timeout: -1}.Check()
	var msgs []string
	for _, err := range errs {
		msgs = append(msgs, err.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, w := range []string{"must start with ldap://", "startTLS is for ldap:// URLs", "timeout must be positive", "bindPassword is required"} {
		assert.Contains(t, all, w)
	}
	assert.Len(t, errs, 4, all)
}

func TestInsecureBindRefused(t *testing.T) {
	t.Parallel()
	cfg := Config{URL: "ldap://dc1", BindDN: "cn=svc,dc=x", BindPassword: "s3cret"}
	_, errs := cfg.Check()
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), `refusing to send the password of "cn=svc,dc=x" unencrypted to ldap://dc1`)
	assert.NotContains(t, errs[0].Error(), "s3cret")

	cfg.AllowInsecureBind = true
	d, errs := cfg.Check()
	require.Empty(t, errs)
	assert.False(t, d.Encrypted(), "allowed, still not encrypted")

	d, errs = Config{URL: "ldap://dc1 ldaps://dc2", StartTLS: false, AllowInsecureBind: true}.Check()
	require.Empty(t, errs)
	assert.False(t, d.Encrypted(), "one plain URL is enough to be unencrypted")
	d, errs = Config{URL: "ldap://dc1 ldap://dc2", StartTLS: true}.Check()
	require.Empty(t, errs)
	assert.True(t, d.Encrypted())
	assert.Equal(t, DefaultTimeout, d.Config().Timeout)
}

func TestTLSForKeepsServerNameForConfiguredHosts(t *testing.T) {
	t.Parallel()
	d, errs := Config{URL: "ldaps://127.0.0.1:3636", ServerName: "dc1.example.test"}.Check()
	require.Empty(t, errs)
	assert.Equal(t, "dc1.example.test", d.TLSFor(d.URLs()[0]).ServerName)
	ref, _ := ParseURLs("ldaps://dc2.example.test")
	assert.Equal(t, "dc2.example.test", d.TLSFor(ref[0]).ServerName)
}
