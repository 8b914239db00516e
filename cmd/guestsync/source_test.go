package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

func TestSourceDump(t *testing.T) {
	t.Parallel()
	cfg, sim := emulatorConfig(t)

	code, out, stderr := guestsync(t, nil, "source", "dump", "--config", cfg, "--format", "count")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "28\n", out, "every entry, before the mapping's scope")

	code, out, stderr = guestsync(t, nil, "source", "dump", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(out, "version: 1\n\ndn:: "))
	assert.Equal(t, 28, strings.Count(out, "\ndn"))
	assert.Contains(t, out, "\nobjectGUID:: iVfJ8+GsVEmsXWuu0urJAg==\n")
	assert.Contains(t, out, "\n# objectGUID: {f3c95789-ace1-4954-ac5d-6baed2eac902}\n")
	assert.Contains(t, out, "\n# userAccountControl: 514 (ACCOUNTDISABLE|NORMAL_ACCOUNT)\n", "the disabled partner")

	code, out, stderr = guestsync(t, nil, "source", "dump", "--config", cfg, "--format", "json")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 28)
	var first source.Entry
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	guid, _ := first.First("objectGUID")
	assert.Len(t, guid, 16, "binary values survive JSON")
	assert.Contains(t, first.DN, "Zoë Lefèvre")
	assert.Contains(t, lines[0], `"decoded":[{"attribute":"objectGUID","text":"{f3c95789-ace1-4954-ac5d-6baed2eac902}"},{"attribute":"userAccountControl","text":"512 (NORMAL_ACCOUNT)"}]`)

	assert.Equal(t, 0, sim.Stats().Reads+sim.Stats().Writes, "dump never talks to the tenant")

	code, _, stderr = guestsync(t, nil, "source", "dump", "--config", cfg, "--format", "csv")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--format must be ldif, json or count")
}
