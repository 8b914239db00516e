package ldap

// Integration tests against the Samba Active Directory domain controller
// that .ci/with-testservers starts (its data set is described in
// .ci/testservers, write_samba_data):
//
//	.ci/with-testservers go test ./pkg/source/...
//	GUESTSYNC_TESTSERVERS=samba .ci/with-testservers go test -run Samba ./pkg/source/ldap
//
// Without GUESTSYNC_TEST_SAMBA_URL they skip, except under CI=true, where
// they fail: CI must never pass by skipping the real-server tests.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/source/ad"
)

// sambaPartnerFilter selects partner accounts the way an AD mapping
// should: objectCategory=person leaves out computers (which are users
// too), objectClass=user leaves out contacts.
const sambaPartnerFilter = "(&(objectCategory=person)(objectClass=user)(employeeType=Partner))"

// The users .ci/testservers disables (userAccountControl 514): every
// 500th of the 3,000 partners in the company OUs.
var sambaDisabled = []string{"partner00500", "partner01000", "partner01500", "partner02000", "partner02500", "partner03000"}

// sambaEnv is what .ci/testservers writes to DIR/env for Samba.
type sambaEnv struct {
	url, ldapsURL, caFile  string
	bindDN, password       string
	adminDN, adminPassword string
	baseDN, realm          string
	partners               int
	// decoder is the Config.Decoder of config and partnersConfig.
	decoder string
}

func needSamba(t testing.TB) sambaEnv {
	t.Helper()
	env := sambaEnv{
		url:           os.Getenv("GUESTSYNC_TEST_SAMBA_URL"),
		ldapsURL:      os.Getenv("GUESTSYNC_TEST_SAMBA_LDAPS_URL"),
		caFile:        os.Getenv("GUESTSYNC_TEST_SAMBA_CAFILE"),
		bindDN:        os.Getenv("GUESTSYNC_TEST_SAMBA_BINDDN"),
		password:      os.Getenv("GUESTSYNC_TEST_SAMBA_PASSWORD"),
		adminDN:       os.Getenv("GUESTSYNC_TEST_SAMBA_ADMINDN"),
		adminPassword: os.Getenv("GUESTSYNC_TEST_SAMBA_ADMINPASSWORD"),
		baseDN:        os.Getenv("GUESTSYNC_TEST_SAMBA_BASEDN"),
		realm:         os.Getenv("GUESTSYNC_TEST_SAMBA_REALM"),
	}
	needServer(t, "GUESTSYNC_TEST_SAMBA_URL")
	for name, v := range map[string]string{
		"LDAPS_URL": env.ldapsURL, "CAFILE": env.caFile, "BINDDN": env.bindDN, "PASSWORD": env.password,
		"ADMINDN": env.adminDN, "ADMINPASSWORD": env.adminPassword, "BASEDN": env.baseDN, "REALM": env.realm,
	} {
		if v == "" {
			t.Fatalf("GUESTSYNC_TEST_SAMBA_%s must be set with GUESTSYNC_TEST_SAMBA_URL (is .ci/testservers outdated?)", name)
		}
	}
	partners, err := strconv.Atoi(os.Getenv("GUESTSYNC_TEST_SAMBA_PARTNERS"))
	require.NoError(t, err, "GUESTSYNC_TEST_SAMBA_PARTNERS")
	env.partners = partners
	return env
}

// config reads the partners under OU=Partners over LDAPS as the read-only
// service account, then applies change.
func (env sambaEnv) config(change func(*Config)) Config {
	cfg := Config{
		URL:          env.ldapsURL,
		CAFile:       env.caFile,
		BindDN:       env.bindDN,
		BindPassword: env.password,
		BaseDN:       "OU=Partners," + env.baseDN,
		Filter:       sambaPartnerFilter,
		PageSize:     500,
		Timeout:      30 * time.Second, // parallel tests' writes (OU deletes) can hold Samba's readers for seconds
		Decoder:      env.decoder,
	}
	if change != nil {
		change(&cfg)
	}
	return cfg
}

// sambaRead reads everything cfg selects and returns the entries by
// sAMAccountName (or DN, for entries without one).
func sambaRead(t *testing.T, cfg Config, logs *bytes.Buffer) (map[string]source.Entry, source.Result) {
	t.Helper()
	r, err := New(cfg, debugLogger(logs))
	require.NoError(t, err)
	byName := map[string]source.Entry{}
	res, err := r.Read(context.Background(), func(e source.Entry) error {
		key, ok := e.First("sAMAccountName")
		if !ok {
			key = e.DN
		}
		if _, seen := byName[key]; seen {
			return fmt.Errorf("%s delivered twice", key)
		}
		byName[key] = e
		return nil
	})
	require.NoError(t, err)
	return byName, res
}

func TestSambaPagedReadOfAllPartners(t *testing.T) { eachDecoder(t, testSambaPagedReadOfAllPartners) }

func testSambaPagedReadOfAllPartners(t *testing.T, decoder string) {
	env := needSamba(t)
	env.decoder = decoder
	tests := map[string]func(*Config){
		"ldaps with the CA file":    nil,
		"StartTLS with the CA file": func(c *Config) { c.URL, c.StartTLS = env.url, true },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			start := time.Now()
			partners, res := sambaRead(t, env.config(change), &logs)
			t.Logf("read %d entries in %s", res.Entries, time.Since(start))
			assert.Equal(t, source.Result{Entries: env.partners, Complete: true}, res)
			assert.Len(t, partners, env.partners)
			assert.NotContains(t, logs.String(), "level=WARN")
			assert.NotContains(t, logs.String(), env.password)

			guids := make(map[string]string, len(partners))
			var disabled []string
			for name, e := range partners {
				typ, _ := e.First("employeeType")
				assert.Equal(t, "Partner", typ, name)

				guid, ok := e.First("objectGUID")
				if assert.True(t, ok, "%s has no objectGUID", name) && assert.Len(t, guid, 16, "%s: objectGUID is 16 raw bytes", name) {
					if other, dup := guids[guid]; dup {
						t.Errorf("%s and %s have the same objectGUID %x", name, other, guid)
					}
					guids[guid] = name
				}

				uac, err := ad.ParseUAC(sambaFirst(e, "userAccountControl"))
				require.NoError(t, err, name)
				if uac.Disabled() {
					disabled = append(disabled, name)
				}
			}
			slices.Sort(disabled)
			assert.Equal(t, sambaDisabled, disabled, "users with the ACCOUNTDISABLE bit")
			assert.Equal(t, "514", sambaFirst(partners["partner00500"], "userAccountControl"), "ACCOUNTDISABLE|NORMAL_ACCOUNT")

			zoe := partners["partner00001"]
			assert.Equal(t, "CN=Zoë Müller,OU=Société Générale de Test,OU=Partners,"+env.baseDN, zoe.DN)
			for attr, want := range map[string]string{
				"givenName":          "Zoë",
				"sn":                 "Müller",
				"displayName":        "Zoë Müller (Société Générale de Test)",
				"company":            "Société Générale de Test",
				"mail":               "zoe.mueller@sgt.example",
				"userPrincipalName":  "zoe.mueller@partners.example.test",
				"title":              "Project Manager",
				"userAccountControl": "512",
				"accountExpires":     "9223372036854775807", // never
				"thumbnailPhoto":     "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9",
			} {
				assert.Equal(t, want, sambaFirst(zoe, attr), attr)
			}
			assert.Contains(t, zoe.Values("memberOf"), "CN=Partner Access,OU=Groups,"+env.baseDN)
			sid, err := ad.SIDString([]byte(sambaFirst(zoe, "objectSid")))
			require.NoError(t, err)
			assert.Regexp(t, `^S-1-5-21-\d+-\d+-\d+-\d+$`, sid, "a domain account's SID")
			_, err = ad.GUIDString([]byte(sambaFirst(zoe, "objectGUID")))
			require.NoError(t, err)

			for name, want := range map[string]string{"partner00002": "2025-01-01", "partner00003": "2030-01-01"} {
				expires, never, err := ad.FileTime(sambaFirst(partners[name], "accountExpires"))
				require.NoError(t, err, name)
				assert.False(t, never, name)
				assert.Equal(t, want, expires.Format(time.DateOnly), "%s: accountExpires", name)
			}

			// A comma in an RDN value comes escaped in the DN.
			anna := partners["partner00002"]
			assert.Equal(t, `CN=Anna Müller,OU=Fabrikam\, Inc.,OU=Partners,`+env.baseDN, anna.DN)
			dn, err := goldap.ParseDN(anna.DN)
			require.NoError(t, err)
			assert.Equal(t, "Fabrikam, Inc.", dn.RDNs[1].Attributes[0].Value)
		})
	}
}

// sambaFirst is the first value of attr, or "".
func sambaFirst(e source.Entry, attr string) string {
	v, _ := e.First(attr)
	return v
}

// TestSambaReadWithoutPaging: real AD (MaxPageSize 1,000) ends a search
// without the paged-results control with sizeLimitExceeded after 1,000
// entries, which the reader reports as an incomplete read (the slapd tests
// check that with a limit of 500). Samba has no such limit: the read is
// complete.
func TestSambaReadWithoutPaging(t *testing.T) { eachDecoder(t, testSambaReadWithoutPaging) }

func testSambaReadWithoutPaging(t *testing.T, decoder string) {
	env := needSamba(t)
	env.decoder = decoder
	r, err := New(env.config(func(c *Config) {
		c.NoPaging = true
		c.Attributes = []string{"objectGUID"}
	}), nil)
	require.NoError(t, err)
	res, err := r.Read(context.Background(), func(source.Entry) error { return nil })
	require.NoError(t, err)
	assert.Equal(t, source.Result{Entries: env.partners, Complete: true}, res)
}

func TestSambaInsecureBind(t *testing.T) { eachDecoder(t, testSambaInsecureBind) }

func testSambaInsecureBind(t *testing.T, decoder string) {
	env := needSamba(t)
	env.decoder = decoder
	plain := func(c *Config) { c.URL, c.CAFile, c.Attributes = env.url, "", []string{"1.1"} }

	r, err := New(env.config(plain), nil)
	require.Error(t, err)
	assert.Nil(t, r)
	assert.Contains(t, err.Error(), `refusing to send the password of "`+env.bindDN+`" unencrypted to `+env.url)
	assert.NotContains(t, err.Error(), env.password)

	// The test DC takes simple binds without TLS ("ldap server require
	// strong auth = no"); a default Samba or AD would refuse them.
	r, err = New(env.config(func(c *Config) { plain(c); c.AllowInsecureBind = true }), nil)
	require.NoError(t, err)
	res, err := r.Read(context.Background(), func(source.Entry) error { return nil })
	require.NoError(t, err)
	assert.Equal(t, source.Result{Entries: env.partners, Complete: true}, res)
}

// TestSambaReadFromTheDomainRootDespiteReferrals: a subtree search from
// the domain root gets a continuation reference to the Configuration
// partition, which the reader must not mistake for a failure.
func TestSambaReadFromTheDomainRootDespiteReferrals(t *testing.T) {
	eachDecoder(t, testSambaReadFromTheDomainRootDespiteReferrals)
}

func testSambaReadFromTheDomainRootDespiteReferrals(t *testing.T, decoder string) {
	env := needSamba(t)
	env.decoder = decoder

	// That Samba does send one, or this test would prove nothing.
	conn := sambaDial(t, env)
	req := goldap.NewSearchRequest(env.baseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		sambaPartnerFilter, []string{"1.1"}, nil)
	raw, err := conn.SearchWithPaging(req, 1000)
	require.NoError(t, err)
	assert.Len(t, raw.Entries, env.partners)
	assert.Contains(t, raw.Referrals, "ldaps://"+strings.ToLower(env.realm)+"/CN=Configuration,"+env.baseDN)

	var logs bytes.Buffer
	partners, res := sambaRead(t, env.config(func(c *Config) {
		c.BaseDN = env.baseDN
		c.Attributes = []string{"sAMAccountName"}
	}), &logs)
	assert.Equal(t, source.Result{Entries: env.partners, Complete: true}, res)
	assert.Len(t, partners, env.partners)
}

// sambaDial returns a go-ldap connection bound as the service account, for
// looking at what the server itself sends.
func sambaDial(t *testing.T, env sambaEnv) *goldap.Conn {
	t.Helper()
	pem, err := os.ReadFile(env.caFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem), env.caFile)
	conn, err := goldap.DialURL(env.ldapsURL, goldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.Bind(env.bindDN, env.password))
	return conn
}
