package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/state"
)

func TestPlanExitCodeOutAndReports(t *testing.T) {
	t.Parallel()
	cfg, sim := emulatorConfig(t)
	dir := t.TempDir()
	out, report := filepath.Join(dir, "plan.json"), filepath.Join(dir, "report.json")

	// Drift check before the first sync: changes pending, exit 2.
	code, stdout, stderr := guestsync(t, nil, "plan", "--config", cfg, "--exit-code", "--out", out, "--report", report)
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stdout, "Plan: 27 to create")
	assert.NotContains(t, stderr, "guestsync:", "pending changes are not an error message")
	var saved plan.Plan
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &saved))
	assert.Equal(t, 27, saved.Count(plan.Create))
	var rep map[string]any
	data, err = os.ReadFile(report)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &rep))
	assert.Equal(t, map[string]any{"create": 27.0, "update": 0.0, "adopt": 0.0, "disable": 0.0, "delete": 0.0,
		"restore": 0.0, "unchanged": 0.0, "skipped": 0.0, "failed": 0.0, "mappingFailed": 0.0}, rep["summary"])
	assert.Equal(t, "succeeded", rep["outcome"])
	assert.Equal(t, false, rep["applied"])
	assert.Equal(t, 0, sim.Stats().Writes)

	// Sync with a report: every action done, with the new object's id.
	code, _, stderr = guestsync(t, nil, "sync", "--config", cfg, "--report", report)
	require.Equal(t, 0, code, stderr)
	data, err = os.ReadFile(report)
	require.NoError(t, err)
	var synced struct {
		Summary map[string]int
		Applied bool
		Actions []struct {
			Action string
			Status string
			ID     string
		}
	}
	require.NoError(t, json.Unmarshal(data, &synced))
	assert.True(t, synced.Applied)
	assert.Equal(t, 27, synced.Summary["create"])
	require.Len(t, synced.Actions, 27)
	for _, a := range synced.Actions {
		assert.Equal(t, "done", a.Status)
		assert.NotEmpty(t, a.ID)
	}

	// After the sync: no drift, exit 0.
	code, _, stderr = guestsync(t, nil, "plan", "--config", cfg, "--exit-code")
	assert.Equal(t, 0, code, stderr)
}

func TestReportOfAFailedRun(t *testing.T) {
	t.Parallel()
	cfg, _ := emulatorConfig(t)
	statePath := filepath.Join(t.TempDir(), "state.json")
	lock, err := state.Acquire(statePath)
	require.NoError(t, err)
	defer lock.Release()
	report := filepath.Join(t.TempDir(), "report.json")
	code, _, _ := guestsync(t, map[string]string{"GUESTSYNC_STATE_FILE": statePath}, "sync", "--config", cfg, "--report", report)
	assert.Equal(t, 1, code)
	data, err := os.ReadFile(report)
	require.NoError(t, err, "a failed run still leaves its report")
	var rep struct{ Error string }
	require.NoError(t, json.Unmarshal(data, &rep))
	assert.Contains(t, rep.Error, "another guestsync run holds the lock")
}

func TestMetricsFile(t *testing.T) {
	t.Parallel()
	cfg, _ := emulatorConfig(t)
	statePath := filepath.Join(t.TempDir(), "state.json")
	env := map[string]string{"GUESTSYNC_STATE_FILE": statePath}
	metrics := filepath.Join(t.TempDir(), "guestsync.prom")

	code, _, stderr := guestsync(t, env, "sync", "--config", cfg, "--metrics-file", metrics)
	require.Equal(t, 0, code, stderr)
	data, err := os.ReadFile(metrics)
	require.NoError(t, err)
	text := string(data)
	for _, want := range []string{
		"# TYPE guestsync_run_success gauge\nguestsync_run_success 1\n",
		"guestsync_run_applied 1\n",
		`guestsync_actions{kind="create",status="done"} 27` + "\n",
		"guestsync_source_entries 28\n",
	} {
		assert.Contains(t, text, want)
	}
	for _, phase := range []string{"list", "read", "map", "plan", "apply"} {
		assert.Regexp(t, `guestsync_phase_duration_seconds\{phase="`+phase+`"\} [0-9.e-]+\n`, text)
	}
	assert.NotContains(t, text, `guestsync_phase_duration_seconds{phase="apply"} 0`+"\n", "27 creates took some time")
	success := regexp.MustCompile(`guestsync_last_success_timestamp_seconds (\d+)`).FindStringSubmatch(text)
	require.NotNil(t, success)
	assert.NotEqual(t, "0", success[1])

	// A refused run reports failure but keeps the last success time.
	lock, err := state.Acquire(statePath)
	require.NoError(t, err)
	defer lock.Release()
	code, _, _ = guestsync(t, env, "sync", "--config", cfg, "--metrics-file", metrics)
	assert.Equal(t, 1, code)
	data, err = os.ReadFile(metrics)
	require.NoError(t, err)
	assert.Contains(t, string(data), "guestsync_run_success 0\n")
	assert.Contains(t, string(data), "guestsync_last_success_timestamp_seconds "+success[1]+"\n")
}
