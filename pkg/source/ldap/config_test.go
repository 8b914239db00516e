package ldap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validConfig is a minimal config New accepts.
func validConfig() Config {
	return Config{
		URL:          "ldaps://dc1.example.test",
		BindDN:       "cn=guestsync,ou=Services,dc=example,dc=test",
		BindPassword: "s3cret-do-not-print",
		BaseDN:       "ou=Partners,dc=example,dc=test",
	}
}

func TestNewAppliesDefaults(t *testing.T) {
	t.Parallel()
	r, err := New(validConfig(), nil)
	require.NoError(t, err)
	assert.Equal(t, "(objectClass=*)", r.cfg.Filter)
	assert.Equal(t, "sub", r.cfg.Scope)
	assert.Equal(t, uint32(500), r.cfg.PageSize)
	assert.Equal(t, 30*time.Second, r.cfg.Timeout)
	assert.Equal(t, DecoderTap, r.cfg.Decoder)
	assert.Equal(t, []string{"*", "entryUUID"}, r.cfg.requestedAttributes())
	assert.Equal(t, "dc1.example.test", r.tlsFor(r.urls[0]).ServerName, "server name from the URL")
}

func TestNewAcceptsVariants(t *testing.T) {
	t.Parallel()
	caFile := writeCA(t)
	tests := map[string]func(*Config){
		"anonymous":                 func(c *Config) { c.BindDN, c.BindPassword = "", "" },
		"starttls":                  func(c *Config) { c.URL, c.StartTLS = "ldap://dc1.example.test", true },
		"insecure bind allowed":     func(c *Config) { c.URL, c.AllowInsecureBind = "ldap://127.0.0.1:3389", true },
		"anonymous over plain ldap": func(c *Config) { c.URL, c.BindDN, c.BindPassword = "ldap://dc1", "", "" },
		"several urls":              func(c *Config) { c.URL = "ldaps://dc1.example.test ldaps://dc2.example.test:3269/" },
		"AD user principal name":    func(c *Config) { c.BindDN = "svc-guestsync@example.test" },
		"AD down-level logon name":  func(c *Config) { c.BindDN = `EXAMPLE\svc-guestsync` },
		"one level, own attributes": func(c *Config) { c.Scope, c.Attributes = "one", []string{"mail", "objectGUID", "member;range=0-1499"} },
		"tls options":               func(c *Config) { c.CAFile, c.ServerName = caFile, "dc.example.test" },
		"no paging":                 func(c *Config) { c.NoPaging = true },
		"go-ldap decodes":           func(c *Config) { c.Decoder = DecoderGoLDAP },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			change(&cfg)
			_, err := New(cfg, nil)
			assert.NoError(t, err)
		})
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Config)
		want   []string // each must appear in the error
	}{
		{"no url", func(c *Config) { c.URL = " " }, []string{"url is required"}},
		{"http url", func(c *Config) { c.URL = "https://dc1" }, []string{`url "https://dc1": must start with ldap:// or ldaps://`}},
		{"no host", func(c *Config) { c.URL = "ldaps://" }, []string{`url "ldaps://": no host name`}},
		{"rfc 4516 url", func(c *Config) { c.URL = "ldaps://dc1/dc=example,dc=test?cn?sub" }, []string{"not in the URL"}},
		{"starttls on ldaps", func(c *Config) { c.StartTLS = true }, []string{"startTLS is for ldap:// URLs"}},
		{"no base", func(c *Config) { c.BaseDN = "" }, []string{"baseDN is required"}},
		{"bad base", func(c *Config) { c.BaseDN = "ou=Partners,dc" }, []string{`baseDN "ou=Partners,dc"`}},
		{"bad filter", func(c *Config) { c.Filter = "employeeType=Partner" }, []string{`filter "employeeType=Partner"`}},
		{"bad scope", func(c *Config) { c.Scope = "subtree" }, []string{`scope must be sub or one, not "subtree"`}},
		{"bad attribute", func(c *Config) { c.Attributes = []string{"mail", "given name", ""} }, []string{`"given name" is not an attribute name`, `"" is not an attribute name`}},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, []string{"timeout must be positive"}},
		{"unknown decoder", func(c *Config) { c.Decoder = "goldap" }, []string{`decoder must be tap or go-ldap, not "goldap"`}},
		{"dn without password", func(c *Config) { c.BindPassword = "" }, []string{"bindPassword is required with bindDN"}},
		{"password without dn", func(c *Config) { c.BindDN = "" }, []string{"bindDN is required with bindPassword"}},
		{"bad bind dn", func(c *Config) { c.BindDN = "guestsync" }, []string{`bindDN "guestsync"`}},
		{"insecure bind", func(c *Config) { c.URL = "ldap://dc1.example.test" }, []string{`refusing to send the password of "cn=guestsync,ou=Services,dc=example,dc=test" unencrypted to ldap://dc1.example.test`}},
		{"insecure bind on the second url", func(c *Config) { c.URL = "ldaps://dc1 ldap://dc2" }, []string{"unencrypted to ldap://dc2:"}},
		{"tls options without tls", func(c *Config) {
			c.URL, c.AllowInsecureBind, c.InsecureSkipVerify = "ldap://dc1", true, true
		}, []string{"only apply to ldaps:// URLs or with startTLS"}},
		{"missing ca file", func(c *Config) { c.CAFile = "/nonexistent/ca.pem" }, []string{"caFile: open /nonexistent/ca.pem"}},
		{"ca file without certificates", func(c *Config) {
			c.CAFile = filepath.Join(t.TempDir(), "empty.pem")
			require.NoError(t, os.WriteFile(c.CAFile, []byte("not a certificate\n"), 0o600))
		}, []string{"no PEM certificate found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			tt.change(&cfg)
			r, err := New(cfg, nil)
			require.Error(t, err)
			assert.Nil(t, r)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.True(t, strings.HasPrefix(err.Error(), "ldap config: "), err.Error())
			assert.NotContains(t, err.Error(), "s3cret", "never print the password")
		})
	}
}

func TestNewReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := New(Config{
		URL:          "http://dc1",
		BindPassword: "s3cret",
		Filter:       "(mail=*",
		Scope:        "base",
	}, nil)
	require.Error(t, err)
	msg := err.Error()
	for _, w := range []string{"must start with ldap://", "baseDN is required", `filter "(mail=*"`, "scope must be sub or one", "bindDN is required"} {
		assert.Contains(t, msg, w)
	}
	assert.Equal(t, 5, strings.Count(msg, "\n")+1, msg)
}

// writeCA writes a self-signed CA certificate in PEM and returns its path.
func writeCA(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(path, selfSignedPEM(t), 0o600))
	return path
}

func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "guestsync test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
