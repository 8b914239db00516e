package config

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

// testCA returns a self-signed CA certificate as PEM.
func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// A CA file that is missing or holds no certificate is a problem at its
// key's line, found when the config loads rather than when a run first
// connects.
func TestCAFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "ca.pem", string(testCA(t)))
	write(t, dir, "bundle.pem", "# a comment\n"+string(testCA(t))+string(testCA(t)))
	write(t, dir, "not-pem.txt", "no certificate here\n")
	write(t, dir, "key.pem", "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "huge.pem"), make([]byte, maxCAFile+1), 0o600))
	tests := []struct {
		name, ldapCA, graphCA string
		want                  []string
	}{
		{"none", "", "", nil},
		{"certificates", "ca.pem", "bundle.pem", nil},
		{"missing", "nowhere.pem", "", []string{"c.yaml:10:11: ldap.caFile: open " + filepath.Join(dir, "nowhere.pem") + ": no such file or directory"}},
		{"not PEM", "", "not-pem.txt", []string{"c.yaml:17:11: graph.caFile: " + filepath.Join(dir, "not-pem.txt") + ": no PEM certificate found"}},
		{"a key, no certificate", "key.pem", "key.pem", []string{
			"c.yaml:10:11: ldap.caFile: " + filepath.Join(dir, "key.pem") + ": no PEM certificate found",
			"c.yaml:17:11: graph.caFile: " + filepath.Join(dir, "key.pem") + ": no PEM certificate found"}},
		{"too large", "", "huge.pem", []string{"graph.caFile: " + filepath.Join(dir, "huge.pem") + " is larger than 4 MiB: not a CA file"}},
		{"a folder", dir, "", []string{"c.yaml:10:11: ldap.caFile: read " + dir + ": is a directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			abs := func(name string) string {
				if name == "" || filepath.IsAbs(name) {
					return name
				}
				return filepath.Join(dir, name)
			}
			cfg := strings.Replace(ldapConfig, "  timeout: 45s\n", "  timeout: 45s\n  caFile: "+abs(tt.ldapCA)+"\n", 1) +
				"  caFile: " + abs(tt.graphCA) + "\n"
			path := write(t, dir, tt.name+"/c.yaml", cfg)
			write(t, dir, tt.name+"/ldap.secret", "pw")
			_, err := Load(path, fakeEnv(t, map[string]string{"GUESTSYNC_GRAPH_CLIENTSECRET": "s"}))
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.want {
				assert.Contains(t, err.Error(), strings.Replace(want, "c.yaml", path, 1))
			}
		})
	}
}

// The CA file of a source that is not read is not checked: a config
// switched to an LDIF export keeps working with its old LDAP settings.
func TestLDAPCAFileOfAnLDIFSource(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := "version: 1\nsource: {kind: ldif}\nldif: {path: x.ldif}\nldap: {caFile: gone.pem}\ngraph: {auth: default}\n"
	_, err := Load(write(t, dir, "c.yaml", cfg), fakeEnv(t, nil))
	assert.NoError(t, err)
}
