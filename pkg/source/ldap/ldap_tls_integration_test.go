package ldap

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

// tlsEnv adds the test server's ldaps:// URL and CA file.
type tlsEnv struct {
	slapdEnv
	ldapsURL, caFile string
}

func needSlapdTLS(t *testing.T) tlsEnv {
	t.Helper()
	env := tlsEnv{slapdEnv: needSlapd(t), ldapsURL: os.Getenv("GUESTSYNC_TEST_SLAPD_LDAPS_URL"), caFile: os.Getenv("GUESTSYNC_TEST_SLAPD_CAFILE")}
	if env.ldapsURL == "" || env.caFile == "" {
		t.Fatal("GUESTSYNC_TEST_SLAPD_LDAPS_URL and GUESTSYNC_TEST_SLAPD_CAFILE must be set with GUESTSYNC_TEST_SLAPD_URL (is .ci/testservers outdated?)")
	}
	return env
}

// secure is env.partners() without the insecure-bind allowance: the
// settings under test must make the connection encrypted on their own.
func (env tlsEnv) secure(change func(*Config)) Config {
	cfg := env.partners()
	cfg.AllowInsecureBind = false
	cfg.Attributes = []string{"1.1"} // DNs only: these tests are about the connection
	cfg.Timeout = 5 * time.Second
	change(&cfg)
	return cfg
}

func TestSlapdTLSReads(t *testing.T) { eachDecoder(t, testSlapdTLSReads) }

func testSlapdTLSReads(t *testing.T, decoder string) {
	env := needSlapdTLS(t)
	env.decoder = decoder
	tests := map[string]func(*Config){
		"ldaps with the CA file": func(c *Config) { c.URL, c.CAFile = env.ldapsURL, env.caFile },
		"StartTLS with the CA file": func(c *Config) {
			c.StartTLS, c.CAFile = true, env.caFile
		},
		"ldaps with the name in the certificate": func(c *Config) {
			c.URL, c.CAFile, c.ServerName = env.ldapsURL, env.caFile, "localhost"
		},
		"ldaps, any certificate": func(c *Config) { c.URL, c.InsecureSkipVerify = env.ldapsURL, true },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			r, err := New(env.secure(change), debugLogger(&logs))
			require.NoError(t, err)
			res, err := r.Read(context.Background(), func(source.Entry) error { return nil })
			require.NoError(t, err)
			assert.Equal(t, source.Result{Entries: env.users, Complete: true}, res)
			assert.NotContains(t, logs.String(), "level=WARN")
		})
	}
}

func TestSlapdTLSRefusesUntrustedServers(t *testing.T) {
	eachDecoder(t, testSlapdTLSRefusesUntrustedServers)
}

func testSlapdTLSRefusesUntrustedServers(t *testing.T, decoder string) {
	env := needSlapdTLS(t)
	env.decoder = decoder
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"ldaps without the CA", func(c *Config) { c.URL = env.ldapsURL }, "certificate signed by unknown authority"},
		{"StartTLS without the CA", func(c *Config) { c.StartTLS = true }, "StartTLS: LDAP Result Code 200 \"Network Error\": TLS handshake failed"},
		{"ldaps, another name", func(c *Config) {
			c.URL, c.CAFile, c.ServerName = env.ldapsURL, env.caFile, "dc1.example.test"
		}, "certificate is valid for localhost, not dc1.example.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := New(env.secure(tt.change), nil)
			require.NoError(t, err)
			called := false
			res, err := r.Read(context.Background(), func(source.Entry) error { called = true; return nil })
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			t.Log(err)
			assert.NotContains(t, err.Error(), env.password)
			assert.Equal(t, source.Result{}, res)
			assert.False(t, called)
		})
	}
}
