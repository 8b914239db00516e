package state

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
)

func TestLoadMissingIsEmpty(t *testing.T) {
	t.Parallel()
	s, err := Load(filepath.Join(t.TempDir(), "state.json"))
	require.NoError(t, err)
	assert.Equal(t, FormatVersion, s.Version)
	assert.Empty(t, s.Sources)
}

func TestSaveLoadRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	s := &State{Sources: map[string]Source{
		"ldaps://dc1/OU=Partners": {Watermark: "AQIDBA==", Entries: 5000, FullReadAt: time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)},
	}, Targets: map[string]Target{
		"graph https://graph.microsoft.com/v1.0 owner guestsync:prod in extensionAttribute15": {
			DeltaLink:  "https://graph.microsoft.com/v1.0/users/delta()?$deltatoken=abc",
			Accounts:   []account.Account{{ID: "1", Anchor: "QUFB", Owned: true, Properties: map[string]string{"mail": "zoe@x.example"}}},
			FullReadAt: time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC),
		},
	}}
	require.NoError(t, s.Save(path))
	back, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, s, back)
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".state.json.tmp-*"))
	assert.Empty(t, left, "no temporary file is left behind")
}

func TestDamagedStateIsAnErrorNotAnEmptyState(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"version":1,"sources":{`), 0o600))
	_, err := Load(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is damaged")
	require.NoError(t, os.WriteFile(path, []byte(`{"version":9}`), 0o600))
	_, err = Load(path)
	assert.ErrorContains(t, err, "has version 9")
}

func TestLockIsExclusive(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	l, err := Acquire(path)
	require.NoError(t, err)
	_, err = Acquire(path)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrLocked))
	assert.Contains(t, err.Error(), "pid "+strconv.Itoa(os.Getpid()))
	require.NoError(t, l.Release())
	l2, err := Acquire(path)
	require.NoError(t, err, "free again after release")
	require.NoError(t, l2.Release())
	require.NoError(t, l2.Release(), "releasing twice is harmless")
}

// TestLockDiesWithItsProcess holds the lock in a child process, kills it,
// and takes the lock: a killed run leaves no stale lock.
func TestLockDiesWithItsProcess(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock(1) not installed")
	}
	path := filepath.Join(t.TempDir(), "state.json")
	// --close: the lock is held by flock itself, not inherited by sleep,
	// so killing flock is killing the lock holder.
	cmd := exec.Command("flock", "--exclusive", "--close", path+".lock", "sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(30 * time.Second) // for a loaded machine: costs nothing when flock is prompt
	for {
		l, err := Acquire(path)
		if errors.Is(err, ErrLocked) {
			break // the child holds it
		}
		require.NoError(t, err)
		require.NoError(t, l.Release()) // the child has not started yet
		require.True(t, time.Now().Before(deadline), "child never took the lock")
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)) // flock and its sleep
	cmd.Wait()
	// Wait returns when flock has exited; a child it had just forked can
	// still hold the inherited descriptor for a moment while it dies.
	deadline = time.Now().Add(5 * time.Second)
	for {
		l, err := Acquire(path)
		if err == nil {
			require.NoError(t, l.Release())
			return
		}
		require.ErrorIs(t, err, ErrLocked)
		require.True(t, time.Now().Before(deadline), "the lock outlived its holder")
		time.Sleep(10 * time.Millisecond)
	}
}

func TestGuestsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	guests := []account.Account{{ID: "1", Anchor: "QUFB", Owned: true, Properties: map[string]string{"mail": "zoe@x.example"}},
		{ID: "2", Properties: map[string]string{"displayName": "Line\nbreak"}}}
	s := &State{Targets: map[string]Target{"t": {DeltaLink: "link-1", Accounts: guests, AccountsChanged: true}}}
	require.NoError(t, s.Save(path))
	first := s.Targets["t"].AccountsFile
	require.NotEmpty(t, first)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "zoe@x.example", "the guests are not in the state file")

	back, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, guests, back.Targets["t"].Accounts)

	// Unchanged guests are not written again; changed ones go to a new
	// file and the old one is removed.
	back.Targets["t"] = Target{DeltaLink: "link-2", Accounts: guests, AccountsFile: first}
	require.NoError(t, back.Save(path))
	assert.Equal(t, first, back.Targets["t"].AccountsFile)
	clocks := map[string]time.Time{"QUFB": time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	back.Targets["t"] = Target{DeltaLink: "link-3", Accounts: guests[:1], AccountsChanged: true, Disabled: clocks}
	require.NoError(t, back.Save(path))
	files, _ := filepath.Glob(path + ".guests-*")
	require.Len(t, files, 1)
	assert.NotEqual(t, first, filepath.Base(files[0]))

	// A damaged guests file costs a full round, never the grace clocks.
	require.NoError(t, os.WriteFile(files[0], []byte("{not json\n"), 0o600))
	st, err := Load(path)
	require.NoError(t, err)
	assert.Empty(t, st.Targets["t"].DeltaLink)
	assert.Empty(t, st.Targets["t"].Accounts)
	assert.Equal(t, clocks, st.Targets["t"].Disabled)
}

// TestLoadFormat1 reads a state written before targets named their tenant
// (guestsync 879c0ff): it loads, its targets' Tenant is empty (which the
// engine does not trust), and Save writes the current format.
func TestLoadFormat1(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	outside := filepath.Join(t.TempDir(), "state.json")
	name, err := writeGuests(outside, []account.Account{{ID: "1", Properties: map[string]string{}}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(`{
  "version": 1,
  "sources": {"ldif:/x": {"entries": 3}},
  "targets": {
    "graph http://127.0.0.1:1/v1.0 owner guestsync:default in extensionAttribute15": {"deltaLink": "http://127.0.0.1:1/v1.0/users/delta()?$deltatoken=x"},
    "elsewhere": {"deltaLink": "l", "guestsFile": "../`+filepath.Base(filepath.Dir(outside))+`/`+name+`"}
  }
}`), 0o600))
	s, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, 1, s.Version)
	for key, target := range s.Targets {
		assert.Empty(t, target.Tenant, key)
	}
	assert.Empty(t, s.Targets["elsewhere"].DeltaLink, "a guests file is read only next to the state file")
	require.NoError(t, s.Save(path))
	s, err = Load(path)
	require.NoError(t, err)
	assert.Equal(t, FormatVersion, s.Version)

	require.NoError(t, os.WriteFile(path, []byte(`{"version":3}`), 0o600))
	_, err = Load(path)
	assert.EqualError(t, err, "state file "+path+" has version 3; this build reads versions 1 to 2")
}
