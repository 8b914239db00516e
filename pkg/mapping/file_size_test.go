package mapping

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/yamlfile"
)

// A mapping file over the size limit is refused before it is parsed, with
// its name and size.
func TestLoadRefusesAnOversizedFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "huge.yaml")
	big := "version: 1\ndescription: " + strings.Repeat("x", 2*yamlfile.MaxFileSize) + "\n"
	require.NoError(t, os.WriteFile(path, []byte(big), 0o600))
	_, err := Load(path)
	require.Error(t, err)
	assert.Equal(t, yamlfile.Problems{{File: path, Msg: "the file is 2097177 bytes (2.0 MiB); config and mapping files are limited to 1 MiB (1048576 bytes)"}}, yamlfile.AsProblems(path, err))
}
