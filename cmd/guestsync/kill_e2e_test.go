package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/config"
	"github.com/guestsync/guestsync/pkg/graphsim"
)

// TestMain lets the test binary stand in for the guestsync binary, so that
// a test can run guestsync as a process of its own (and kill it).
func TestMain(m *testing.M) {
	if os.Getenv("GUESTSYNC_TEST_RUN_MAIN") == "1" {
		code := run(context.Background(), os.Args[1:], streams{out: os.Stdout, err: os.Stderr}, config.ProcessEnvironment())
		if f := os.Getenv("GUESTSYNC_TEST_PEAK_FILE"); f != "" {
			// The process's own peak RSS (VmHWM). rusage's maxrss is no
			// use here: Go starts a child with vfork, so the child's
			// maxrss counts the parent's memory it briefly shared.
			status, err := os.ReadFile("/proc/self/status")
			if err == nil {
				for _, line := range strings.Split(string(status), "\n") {
					if strings.HasPrefix(line, "VmHWM:") {
						_ = os.WriteFile(f, []byte(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))), 0o600)
					}
				}
			}
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestKilledSyncConverges is the acceptance: a first sync of 2,000
// accounts killed with SIGKILL halfway, then sync again: exactly 2,000
// guests, none twice, nothing failed, and a third sync has nothing to do.
func TestKilledSyncConverges(t *testing.T) {
	t.Parallel()
	const n = 2000
	// Some latency, so that the kill lands in the middle of the creates;
	// graphsim refuses a second user with the same anchor, as Entra does,
	// so a duplicate would show as a failed create.
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"},
		Faults: graphsim.Faults{Latency: 20 * time.Millisecond}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	mappingPath, err := filepath.Abs(repoPath("mappings/partner-guest.yaml"))
	require.NoError(t, err)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "guestsync.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(
		"version: 1\nsource: {kind: ldif}\nldif: {path: %q}\nmapping: {file: %q}\ngraph: {url: %q, auth: emulator, writeBudget: 100000}\nstate: {file: %q}\n",
		partnersLDIF(t, n), mappingPath, srv.URL+"/v1.0", filepath.Join(dir, "state.json"))), 0o600))

	cmd := exec.Command(os.Args[0], "sync", "--config", cfg, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "GUESTSYNC_TEST_RUN_MAIN=1")
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(2 * time.Minute)
	for sim.Stats().Users < n/3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	// Requests the process sent before it died still finish in the
	// emulator (as they would in Graph): count once they have.
	before := sim.Stats().Users
	for settled := false; !settled; {
		time.Sleep(100 * time.Millisecond)
		now := sim.Stats().Users
		settled, before = now == before, now
	}
	t.Logf("killed after %d of %d creates", before, n)
	require.Less(t, before, n, "the kill came before the end")
	require.Greater(t, before, 0)

	code, out, stderr := guestsync(t, nil, "sync", "--config", cfg, "--log-level", "warn")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Equal(t, n, sim.Stats().Users, "exactly every account once")
	assert.Contains(t, out, fmt.Sprintf("Applied: %d created, 0 updated, 0 failed", n-before))

	code, out, stderr = guestsync(t, nil, "sync", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, fmt.Sprintf("No changes: %d guests up to date", n))
}
