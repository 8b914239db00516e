package graph

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/config"
)

// TestCredentials builds each kind of credential offline (azidentity asks
// for tokens only when one is needed). The test certificates are
// self-signed throwaways made with openssl for this test.
func TestCredentials(t *testing.T) {
	t.Parallel()
	base := CredentialOptions{Cloud: "global", TenantID: "00000000-0000-0000-0000-000000000001", ClientID: "00000000-0000-0000-0000-000000000002"}
	with := func(f func(*CredentialOptions)) CredentialOptions { o := base; f(&o); return o }
	tests := []struct {
		name string
		opts CredentialOptions
		err  string
	}{
		{"client secret", with(func(o *CredentialOptions) { o.Method, o.ClientSecret = "clientSecret", "x" }), ""},
		{"PEM certificate", with(func(o *CredentialOptions) {
			o.Method, o.CertificateFile = "certificate", filepath.Join("testdata", "app.pem")
		}), ""},
		{"PFX certificate", with(func(o *CredentialOptions) {
			o.Method, o.CertificateFile, o.CertificatePassword = "certificate", filepath.Join("testdata", "app.pfx"), "s3cret"
		}), ""},
		{"PFX with the wrong password", with(func(o *CredentialOptions) {
			o.Method, o.CertificateFile, o.CertificatePassword = "certificate", filepath.Join("testdata", "app.pfx"), "nope"
		}), "testdata/app.pfx"},
		{"PFX with OpenSSL 3's default algorithms", with(func(o *CredentialOptions) {
			o.Method, o.CertificateFile, o.CertificatePassword = "certificate", filepath.Join("testdata", "app-aes.pfx"), "s3cret"
		}), "convert it to PEM with `openssl pkcs12 -in app.pfx -out app.pem -nodes`"},
		{"missing certificate", with(func(o *CredentialOptions) { o.Method, o.CertificateFile = "certificate", "testdata/none.pem" }), "read certificate"},
		{"default chain", with(func(o *CredentialOptions) { o.Method = "default" }), ""},
		{"US Government", with(func(o *CredentialOptions) { o.Method, o.Cloud, o.ClientSecret = "clientSecret", "usgov", "x" }), ""},
		{"China", with(func(o *CredentialOptions) { o.Method, o.Cloud, o.ClientSecret = "clientSecret", "china", "x" }), ""},
		{"unknown cloud", with(func(o *CredentialOptions) { o.Method, o.Cloud = "clientSecret", "mars" }), `unknown cloud "mars"`},
		{"unknown method", with(func(o *CredentialOptions) { o.Method = "kerberos" }), `unknown auth method "kerberos"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cred, err := NewCredential(tt.opts)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.NotContains(t, err.Error(), "s3cret")
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, cred)
		})
	}
}

func TestEveryConfigCloudHasAnAuthority(t *testing.T) {
	t.Parallel()
	for _, name := range config.CloudNames() {
		_, ok := authorities[name]
		assert.True(t, ok, name)
	}
	assert.Len(t, authorities, len(config.CloudNames()))
}
