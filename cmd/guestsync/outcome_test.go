package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeFile writes data to a new file in a test directory.
func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
	return path
}

// readReport decodes a --report file.
func readReport(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var rep map[string]any
	require.NoError(t, json.Unmarshal(data, &rep))
	return rep
}

func lastSuccess(t *testing.T, metrics string) string {
	t.Helper()
	m := regexp.MustCompile(`guestsync_last_success_timestamp_seconds (\d+)\n`).FindStringSubmatch(metrics)
	require.NotNil(t, m, metrics)
	return m[1]
}

// TestEmptyReadIsRefused: a full read that returns no entries while
// guestsync owns guests in the tenant (no state file: the LDIF reader
// keeps none, so nothing remembers the last entry count) or where the
// last full read returned entries (a state file) fails the run with exit
// 4, changes nothing, keeps the last success time and says so in the
// summary, the report and the metrics.
func TestEmptyReadIsRefused(t *testing.T) {
	t.Parallel()
	for name, withState := range map[string]bool{"no state file": false, "state file": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg, sim := emulatorConfig(t)
			dir := t.TempDir()
			env := map[string]string{}
			if withState {
				env["GUESTSYNC_STATE_FILE"] = filepath.Join(dir, "state.json")
			}
			metrics, report := filepath.Join(dir, "guestsync.prom"), filepath.Join(dir, "report.json")
			code, _, stderr := guestsync(t, env, "sync", "--config", cfg, "--metrics-file", metrics)
			require.Equal(t, 0, code, stderr)
			data, err := os.ReadFile(metrics)
			require.NoError(t, err)
			before := lastSuccess(t, string(data))
			writes := sim.Stats().Writes

			env["GUESTSYNC_LDIF_PATH"] = writeFile(t, "empty.ldif", "version: 1\n")
			for _, cmd := range []string{"plan", "sync"} {
				code, out, stderr := guestsync(t, env, cmd, "--config", cfg, "--metrics-file", metrics, "--report", report)
				assert.Equal(t, 4, code, "%s: stdout:\n%s\nstderr:\n%s", cmd, out, stderr)
				assert.NotContains(t, out, "No changes")
				assert.Contains(t, out, "Refused: the source read cannot be trusted; nothing changed.")
				assert.Contains(t, stderr, "the source returned no entries")
				assert.Equal(t, 1, strings.Count(out+stderr, "the source returned no entries"), "said once: %s%s", out, stderr)
				assert.Equal(t, writes, sim.Stats().Writes, "nothing changed")

				rep := readReport(t, report)
				assert.Equal(t, "refused", rep["outcome"])
				assert.Contains(t, rep["error"], "the source returned no entries")
				data, err := os.ReadFile(metrics)
				require.NoError(t, err)
				text := string(data)
				assert.Contains(t, text, "guestsync_run_success 0\n")
				assert.Contains(t, text, `guestsync_run_refused{reason="empty_read"} 1`+"\n")
				assert.Contains(t, text, `guestsync_run_refused{reason="incomplete_read"} 0`+"\n")
				if withState { // without one, no run knows the last success
					assert.Equal(t, before, lastSuccess(t, text), "the last success time stays")
				}
			}
			// preview refuses a read cut short, and says it the same way.
			env["GUESTSYNC_LDIF_PATH"] = writeFile(t, "cut.ldif", "version: 1\n\ndn: uid=ann,ou=Partners\nuid: an")
			code, out, stderr := guestsync(t, env, "preview", "--config", cfg, "ann")
			assert.Equal(t, 4, code, "preview: stdout:\n%s\nstderr:\n%s", out, stderr)
			assert.Equal(t, "Refused: the source read cannot be trusted; nothing changed.\n", out)
			assert.Equal(t, 1, strings.Count(stderr, "the export ends inside the record"), "said once: %s", stderr)
		})
	}
}

// TestMappingFailuresFailTheRun: an entry skipped because its mapping
// failed is a failed object: sync exits 1 and the summary, the report
// and the metrics count it.
func TestMappingFailuresFailTheRun(t *testing.T) {
	t.Parallel()
	cfg, sim := emulatorConfig(t)
	data, err := os.ReadFile(repoPath("examples/partners.ldif"))
	require.NoError(t, err)
	// A partner without an anchor (no objectGUID): its mapping fails.
	broken := string(data) + "\ndn: CN=No Anchor,OU=Partners,DC=corp,DC=contoso,DC=com\nobjectClass: user\ncn: No Anchor\n" +
		"displayName: No Anchor\nmail: noanchor@fabrikam.com\nsAMAccountName: noanchor\n" +
		"userPrincipalName: noanchor@partners.contoso.com\nemployeeType: Partner\nuserAccountControl: 512\n\n" // the empty line ends a whole export
	dir := t.TempDir()
	metrics, report := filepath.Join(dir, "guestsync.prom"), filepath.Join(dir, "report.json")
	env := map[string]string{"GUESTSYNC_LDIF_PATH": writeFile(t, "partners.ldif", broken)}

	code, out, stderr := guestsync(t, env, "sync", "--config", cfg, "--metrics-file", metrics, "--report", report)
	assert.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Equal(t, 27, sim.Stats().Users, "the others are synced")
	assert.Contains(t, out, "Applied: 27 created, 0 updated, 0 failed, 1 mapping failed")
	assert.Contains(t, stderr, "1 object(s) failed: 1 mapping")
	rep := readReport(t, report)
	assert.Equal(t, "objects_failed", rep["outcome"])
	assert.Equal(t, 1.0, rep["summary"].(map[string]any)["mappingFailed"])
	text, err := os.ReadFile(metrics)
	require.NoError(t, err)
	assert.Contains(t, string(text), "guestsync_run_success 0\n")
	assert.Contains(t, string(text), `guestsync_objects_failed{stage="mapping"} 1`+"\n")
	assert.Contains(t, string(text), `guestsync_objects_failed{stage="apply"} 0`+"\n")
}

// TestFailedOutputWriteKeepsTheOutcome: a --metrics-file or --report that
// cannot be written is reported, the run's own result is still printed,
// and the exit code is the worse of the two.
func TestFailedOutputWriteKeepsTheOutcome(t *testing.T) {
	t.Parallel()
	// A directory that cannot be made: its parent is a file.
	missing := filepath.Join(writeFile(t, "a-file", ""), "out")
	cfg, sim := emulatorConfig(t)

	code, out, stderr := guestsync(t, nil, "sync", "--config", cfg, "--metrics-file", missing+".prom", "--report", missing+".json")
	assert.Equal(t, 1, code, "a successful run whose outputs failed exits 1: %s", stderr)
	assert.Contains(t, out, "Applied: 27 created", "the run's result is printed")
	assert.Equal(t, 27, sim.Stats().Users)
	assert.Contains(t, stderr, "metrics: ")
	assert.Contains(t, stderr, "report: ")

	env := map[string]string{"GUESTSYNC_LDIF_PATH": writeFile(t, "empty.ldif", "version: 1\n")}
	code, out, stderr = guestsync(t, env, "sync", "--config", cfg, "--metrics-file", missing+".prom")
	assert.Equal(t, 4, code, "the refused run's own code wins over 1: %s", stderr)
	assert.Contains(t, out, "Refused:")
	assert.Contains(t, stderr, "the source returned no entries")
	assert.Contains(t, stderr, "metrics: ")

	// plan --exit-code's 2 (changes pending) with its report lost is a
	// failure too: 2 would read as "a plan to review", not "no report".
	cfg2, _ := emulatorConfig(t)
	code, out, stderr = guestsync(t, nil, "plan", "--config", cfg2, "--exit-code", "--report", missing+".json")
	assert.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, "Plan: 27 to create")
	assert.Contains(t, stderr, "report: ")
	code, _, stderr = guestsync(t, nil, "plan", "--config", cfg2, "--exit-code")
	assert.Equal(t, 2, code, "changes pending, outputs written: %s", stderr)
	assert.NotContains(t, stderr, "guestsync:", "nothing more to say than the plan")
}

func TestNegativeFlagsAreUsageErrors(t *testing.T) {
	t.Parallel()
	cfg, sim := emulatorConfig(t)
	for _, cmd := range [][]string{{"sync"}, {"apply", "plan.json"}} {
		args := append(append([]string{}, cmd...), "--config", cfg, "--allow-removals", "-1")
		code, _, stderr := guestsync(t, nil, args...)
		assert.Equal(t, 2, code, "%v: %s", cmd, stderr)
		assert.Contains(t, stderr, "--allow-removals must be 0 or more, not -1")
	}
	assert.Equal(t, 0, sim.Stats().Writes)
}
