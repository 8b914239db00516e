package yamlfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadFileLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	at := filepath.Join(dir, "at-limit.yaml")
	over := filepath.Join(dir, "over.yaml")
	require.NoError(t, os.WriteFile(at, []byte(strings.Repeat("#", MaxFileSize)), 0o600))
	require.NoError(t, os.WriteFile(over, []byte(strings.Repeat("#", 3*MaxFileSize/2)), 0o600))

	data, err := ReadFile(at)
	require.NoError(t, err)
	assert.Len(t, data, MaxFileSize)

	_, err = ReadFile(over)
	assert.EqualError(t, err, over+": the file is 1572864 bytes (1536 KiB); config and mapping files are limited to 1 MiB (1048576 bytes)")
	assert.Equal(t, Problems{{File: over, Msg: "the file is 1572864 bytes (1536 KiB); config and mapping files are limited to 1 MiB (1048576 bytes)"}}, AsProblems(over, err))

	_, err = ReadFile(filepath.Join(dir, "missing.yaml"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// A file whose size is not known before it is read (here an endless one)
// is read only up to the limit.
func TestReadFileLimitWithoutSize(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	_, err := readLimited("/dev/zero", 4096)
	assert.EqualError(t, err, "/dev/zero: the file is larger than 4 KiB (4096 bytes), the limit for config and mapping files")
}
