package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What the config loader finds worth telling but not refusing (a secret
// file others can read) reaches the admin on every command that loads the
// config, and the secret itself never does.
func TestConfigWarningsAreLogged(t *testing.T) {
	t.Parallel()
	cfg, _ := emulatorConfig(t)
	secret := filepath.Join(t.TempDir(), "ldap.secret")
	require.NoError(t, os.WriteFile(secret, []byte("Zq8-not-for-logs\n"), 0o644))
	require.NoError(t, os.Chmod(secret, 0o644)) // whatever the umask
	data, err := os.ReadFile(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg, append(data, []byte("ldap: {bindPasswordFile: "+secret+"}\n")...), 0o600))

	code, out, stderr := guestsync(t, nil, "plan", "--config", cfg)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, stderr, secret+" is readable by group and others (mode 0644)")
	assert.NotContains(t, stderr+out, "Zq8-not-for-logs")
}
