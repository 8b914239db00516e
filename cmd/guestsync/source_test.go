package main

import (
	"encoding/json"
	"os"
	"path/filepath"
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

	// An export cut short is dumped as far as it goes, and exits 4 like
	// any run that cannot trust its read.
	env := map[string]string{"GUESTSYNC_LDIF_PATH": writeFile(t, "cut.ldif", "version: 1\n\ndn: uid=ann,ou=Partners\nuid: ann\n\ndn: uid=bob,ou=Partners\nuid: b")}
	code, out, stderr = guestsync(t, env, "source", "dump", "--config", cfg, "--format", "count")
	assert.Equal(t, 4, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, stderr, "incomplete read, refusing to plan on it: ")
	assert.Contains(t, stderr, "the export ends inside the record for \"uid=bob,ou=Partners\"")
}

// TestSourceDumpNeedsNoMappingOrGraph: the admin's first debugging tool
// works before the mapping and the app registration exist, and still
// refuses a broken source setting or an unknown key.
func TestSourceDumpNeedsNoMappingOrGraph(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ldif, err := filepath.Abs("../../examples/partners.ldif")
	require.NoError(t, err)
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	only := write("only-source.yaml", "version: 1\nsource:\n  kind: ldif\nldif:\n  path: "+ldif+"\n")
	code, out, stderr := guestsync(t, nil, "source", "dump", "--config", only, "--format", "count")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "28\n", out)

	code, _, stderr = guestsync(t, nil, "plan", "--config", only)
	assert.Equal(t, 2, code, "plan still needs the mapping and Graph")
	assert.Contains(t, stderr, "graph.clientID: required")

	broken := write("broken.yaml", "version: 1\nsource:\n  kind: ldap\nldap:\n  url: http://dc1\n  baseDN: dc=x\ngraph:\n  tenantId: typo\n")
	code, _, stderr = guestsync(t, nil, "source", "dump", "--config", broken)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `ldap.url: "http://dc1" is not an ldap:// or ldaps:// URL`)
	assert.Contains(t, stderr, "tenantId", "unknown keys are errors in every section")
	assert.NotContains(t, stderr, "graph.clientID")
}
