package ad

// Integration tests against the Samba Active Directory domain controller
// that .ci/with-testservers starts:
//
//	GUESTSYNC_TESTSERVERS=samba .ci/with-testservers go test ./pkg/target/ad
//
// Without GUESTSYNC_TEST_SAMBA_URL they skip, except under CI=true, where
// they fail: CI must never pass by skipping the real-server tests. Each
// test works in an OU of its own (OU=shadows-<random>), deleted at the
// end.

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/ldapconn"
)

// sambaEnv is what .ci/testservers writes to DIR/env for Samba.
type sambaEnv struct {
	url, ldapsURL, caFile  string
	adminDN, adminPassword string
	baseDN                 string
}

func needSamba(t testing.TB) sambaEnv {
	t.Helper()
	env := sambaEnv{
		url:           os.Getenv("GUESTSYNC_TEST_SAMBA_URL"),
		ldapsURL:      os.Getenv("GUESTSYNC_TEST_SAMBA_LDAPS_URL"),
		caFile:        os.Getenv("GUESTSYNC_TEST_SAMBA_CAFILE"),
		adminDN:       os.Getenv("GUESTSYNC_TEST_SAMBA_ADMINDN"),
		adminPassword: os.Getenv("GUESTSYNC_TEST_SAMBA_ADMINPASSWORD"),
		baseDN:        os.Getenv("GUESTSYNC_TEST_SAMBA_BASEDN"),
	}
	if env.url == "" {
		how := "GUESTSYNC_TEST_SAMBA_URL is not set: run the tests with .ci/with-testservers"
		if os.Getenv("CI") == "true" {
			t.Fatal(how + " (CI=true: the real-server tests may not be skipped)")
		}
		t.Skip(how)
	}
	for name, v := range map[string]string{"LDAPS_URL": env.ldapsURL, "CAFILE": env.caFile,
		"ADMINDN": env.adminDN, "ADMINPASSWORD": env.adminPassword, "BASEDN": env.baseDN} {
		if v == "" {
			t.Fatalf("GUESTSYNC_TEST_SAMBA_%s must be set with GUESTSYNC_TEST_SAMBA_URL (is .ci/testservers outdated?)", name)
		}
	}
	return env
}

// connection is the admin's connection settings over LDAPS.
func (env sambaEnv) connection() ldapconn.Config {
	return ldapconn.Config{URL: env.ldapsURL, CAFile: env.caFile, BindDN: env.adminDN, BindPassword: env.adminPassword,
		Timeout: 30 * time.Second}
}

// admin is an LDAPS connection as the domain's Administrator, for the
// tests' own reads and writes.
func (env sambaEnv) admin(t testing.TB) *goldap.Conn {
	t.Helper()
	pem, err := os.ReadFile(env.caFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	conn, err := goldap.DialURL(env.ldapsURL, goldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.Bind(env.adminDN, env.adminPassword))
	return conn
}

// testOU is an OU of the test's own, with an OU for disabled shadows and a
// group in it, all deleted when the test ends.
type testOU struct {
	dn, disabled, group, suffix string
}

func randomWord(t testing.TB) string {
	b := make([]byte, 4)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func (env sambaEnv) makeOU(t testing.TB, admin *goldap.Conn) testOU {
	t.Helper()
	suffix := randomWord(t)
	ou := testOU{dn: "OU=shadows-" + suffix + "," + env.baseDN, suffix: suffix}
	ou.disabled = "OU=disabled," + ou.dn
	ou.group = "CN=shadows-" + suffix + "," + ou.dn
	for _, dn := range []string{ou.dn, ou.disabled} {
		req := goldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"top", "organizationalUnit"})
		require.NoError(t, admin.Add(req), dn)
	}
	req := goldap.NewAddRequest(ou.group, nil)
	req.Attribute("objectClass", []string{"top", "group"})
	req.Attribute("sAMAccountName", []string{"shadows-" + suffix})
	require.NoError(t, admin.Add(req))
	t.Cleanup(func() { deleteTree(t, admin, ou.dn) })
	return ou
}

// deleteTree deletes dn and everything under it, deepest first.
func deleteTree(t testing.TB, admin *goldap.Conn, dn string) {
	res, err := admin.Search(goldap.NewSearchRequest(dn, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil))
	if err != nil {
		t.Logf("clean up %s: %v", dn, err)
		return
	}
	dns := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		dns = append(dns, e.DN)
	}
	slices.SortFunc(dns, func(a, b string) int { return len(b) - len(a) })
	for _, d := range dns {
		if err := admin.Del(goldap.NewDelRequest(d, nil)); err != nil {
			t.Logf("clean up %s: %v", d, err)
		}
	}
}

// read reads attributes of the object at dn.
func read(t testing.TB, admin *goldap.Conn, dn string, attrs ...string) *goldap.Entry {
	t.Helper()
	res, err := admin.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", attrs, nil))
	require.NoError(t, err, dn)
	require.Len(t, res.Entries, 1, dn)
	return res.Entries[0]
}

func uacOf(t testing.TB, e *goldap.Entry) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(e.GetAttributeValue("userAccountControl"), 10, 32)
	require.NoError(t, err, e.DN)
	return v
}

// bindAs binds over LDAPS as dn with password pw and says how it went.
func (env sambaEnv) bindAs(t testing.TB, dn, pw string) error {
	t.Helper()
	pem, err := os.ReadFile(env.caFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	conn, err := goldap.DialURL(env.ldapsURL, goldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}))
	require.NoError(t, err)
	defer conn.Close()
	return conn.Bind(dn, pw)
}
