package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteReplacesWholeFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, Write(path, []byte("old content that is long"), 0o600))
	require.NoError(t, Write(path, []byte("new"), 0o600))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "new", string(b))
	require.NoError(t, Write(filepath.Join(t.TempDir(), "new", "folder", "f"), []byte("x"), 0o600), "folders are created")
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	assert.Error(t, Write(filepath.Join(blocker, "f"), []byte("x"), 0o600))
}

func TestWriteSetsTheMode(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "report.json")
	require.NoError(t, Write(path, []byte("{}"), 0o644))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
}

// A write that fails leaves the old content and no temporary file.
func TestWriteFuncThatFailsKeepsTheOldFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, Write(path, []byte("old"), 0o600))
	err := WriteFunc(path, 0o600, func(w io.Writer) error {
		w.Write([]byte("half"))
		return errors.New("disk full")
	})
	require.ErrorContains(t, err, "write "+path+": disk full")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left behind")
}

// The temporary file a write makes is one TempOf recognises, with the
// name of the file it replaces: what a killed write leaves behind is
// found by that name.
func TestTempOfKnowsWhatWriteFuncMakes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json.guests-17")
	var temps []string
	require.NoError(t, WriteFunc(path, 0o600, func(w io.Writer) error {
		entries, err := os.ReadDir(dir)
		for _, e := range entries {
			temps = append(temps, e.Name())
		}
		return err
	}))
	require.Len(t, temps, 1)
	target, ok := TempOf(temps[0])
	assert.True(t, ok, temps[0])
	assert.Equal(t, "state.json.guests-17", target)
}

func TestTempOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, target string
		ok           bool
	}{
		{".state.json.tmp-123", "state.json", true},
		{".state.json.guests-9f2c.tmp-456", "state.json.guests-9f2c", true},
		{".a.tmp-1.tmp-2", "a.tmp-1", true},
		{"state.json.tmp-123", "", false},
		{".state.json", "", false},
		{".state.json.tmp-", "", false},
		{"..tmp-1", "", false},
		{"state.json", "", false},
	}
	for _, tt := range tests {
		target, ok := TempOf(tt.name)
		assert.Equal(t, tt.ok, ok, tt.name)
		assert.Equal(t, tt.target, target, tt.name)
	}
}
