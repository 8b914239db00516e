package state

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
)

// A run killed while it writes the state (kill -9, a power cut) leaves its
// temporary files behind: the next Save, which runs under the lock, clears
// them, so that nightly kills do not fill the state folder with copies of
// the tenant's guests. Files that are not the state's are left alone.
func TestSaveRemovesWhatAKilledSaveLeft(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	left := []string{".state.json.tmp-123", ".state.json.guests-9f2c.tmp-456"}
	kept := []string{"other.json", ".other.json.tmp-1", "state.json.bak", ".state.jsonx.tmp-1"}
	for _, n := range append(append([]string{}, left...), kept...) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600))
	}
	s := &State{Targets: map[string]Target{"t": {DeltaLink: "l", Accounts: []account.Account{{ID: "1"}}, AccountsChanged: true}}}
	require.NoError(t, s.Save(path))
	for _, n := range left {
		assert.NoFileExists(t, filepath.Join(dir, n), "a killed save's leftover")
	}
	for _, n := range kept {
		assert.FileExists(t, filepath.Join(dir, n))
	}
	back, err := Load(path)
	require.NoError(t, err)
	assert.Len(t, back.Targets["t"].Accounts, 1, "the guests file this save wrote is kept")
}
