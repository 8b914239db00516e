package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPreviewApplyOfARemovalObeysTheThreshold: an account that left the
// scope previews as the disable of its guest; --apply is held to the
// removal threshold like a sync (exit 3, nothing changed), and
// --allow-removals lets it through once.
func TestPreviewApplyOfARemovalObeysTheThreshold(t *testing.T) {
	t.Parallel()
	cfg, sim := emulatorConfig(t)
	ldif := partnersLDIF(t, 20)
	env := map[string]string{
		"GUESTSYNC_STATE_FILE":                     filepath.Join(t.TempDir(), "state.json"),
		"GUESTSYNC_LDIF_PATH":                      ldif,
		"GUESTSYNC_GRAPH_OWNER":                    "preview-test",
		"GUESTSYNC_POLICY_REMOVALTHRESHOLDPERCENT": "1", // 1 % of 20 guests: no removal at all
	}
	code, _, stderr := guestsync(t, env, "sync", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, 20, sim.Stats().Users)

	data, err := os.ReadFile(ldif)
	require.NoError(t, err)
	moved := strings.Replace(string(data), "sAMAccountName: p00007\nuserPrincipalName: p00007@partners.contoso.com\nemployeeType: Partner",
		"sAMAccountName: p00007\nuserPrincipalName: p00007@partners.contoso.com\nemployeeType: Employee", 1)
	require.NotEqual(t, string(data), moved)
	require.NoError(t, os.WriteFile(ldif, []byte(moved), 0o600))

	code, out, stderr := guestsync(t, env, "preview", "p00007", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "2. Scope: ")
	assert.Contains(t, out, "- disable guest p00007@partners.contoso.com")

	writes := sim.Stats().Writes
	code, _, stderr = guestsync(t, env, "preview", "p00007", "--config", cfg, "--apply")
	assert.Equal(t, 3, code, stderr)
	assert.Contains(t, stderr, "over the removal threshold of 0")
	assert.Equal(t, writes, sim.Stats().Writes, "nothing changed")

	code, out, stderr = guestsync(t, env, "preview", "p00007", "--config", cfg, "--apply", "--allow-removals", "1")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Applied disable: done")
	assert.Equal(t, writes+1, sim.Stats().Writes)
}
