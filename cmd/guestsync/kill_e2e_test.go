package main

import (
	"bytes"
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
		tuneGC(os.Getenv) // as main does
		code := run(interruptible(os.Stderr), os.Args[1:], streams{out: os.Stdout, err: os.Stderr}, config.ProcessEnvironment())
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

// childEnv is the environment for guestsync run as a process of its own:
// this one's, without the GUESTSYNC_ variables of the test harness
// (GUESTSYNC_BENCH, GUESTSYNC_TESTSERVERS...), which guestsync would
// refuse as naming no config key, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GUESTSYNC_") || strings.HasPrefix(kv, "GUESTSYNC_TEST_") {
			env = append(env, kv)
		}
	}
	return append(append(env, "GUESTSYNC_TEST_RUN_MAIN=1"), extra...)
}

// TestKilledSyncConverges is the acceptance: a first sync of 2,000
// accounts from the test slapd, killed with SIGKILL halfway, then sync
// again: exactly 2,000 guests, none twice, nothing failed, and a third
// sync has nothing to do.
func TestKilledSyncConverges(t *testing.T) {
	t.Parallel()
	s := slapdEnv(t)
	const n = 2000
	// Some latency, so that the kill lands in the middle of the creates;
	// graphsim refuses a second user with the same anchor, as Entra does,
	// so a duplicate would show as a failed create.
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"},
		Faults: graphsim.Faults{Latency: 20 * time.Millisecond}})
	// The process to be killed reaches the emulator through a server of
	// its own; the syncs after it use a second one.
	killed := httptest.NewServer(sim)
	defer killed.Close()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mapping.yaml"), []byte(slapdMapping), 0o600))
	// partner00001 to partner02000 of the 5,000 the harness loads.
	filter := "(&(employeeType=Partner)(|(uid=partner00*)(uid=partner01*)(uid=partner02000)))"
	cfg := filepath.Join(dir, "guestsync.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`version: 1
source: {kind: ldap}
ldap: {url: %q, caFile: %q, bindDN: %q, baseDN: "ou=Partners,%s", filter: %q}
mapping: {file: mapping.yaml}
graph: {url: %q, auth: emulator, writeBudget: 100000}
state: {file: state.json}
`, s["LDAPS_URL"], s["CAFILE"], s["BINDDN"], s["BASEDN"], filter, killed.URL+"/v1.0")), 0o600))
	env := map[string]string{"GUESTSYNC_LDAP_BINDPASSWORD": s["PASSWORD"], "GUESTSYNC_GRAPH_URL": srv.URL + "/v1.0"}

	cmd := exec.Command(os.Args[0], "sync", "--config", cfg, "--log-level", "warn")
	cmd.Env = childEnv("GUESTSYNC_LDAP_BINDPASSWORD=" + s["PASSWORD"])
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
wait:
	for sim.Stats().Users < n/3 {
		select {
		case err := <-exited:
			t.Fatalf("guestsync ended before it was killed (%v):\n%s", err, output.String())
		case <-deadline:
			break wait
		case <-time.After(5 * time.Millisecond):
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	<-exited
	// Requests the process sent before it died still finish in the
	// emulator (as they would in Graph): count once they have. Close
	// stops the listener and waits for every request under way (those not
	// yet read are dropped, as a dead client's would be). Waiting instead
	// for the count of users to stand still for 100 ms was not enough on a
	// loaded CI machine: a create landed after the next sync had read the
	// tenant.
	killed.Close()
	before := sim.Stats().Users
	t.Logf("killed after %d of %d creates", before, n)
	require.Less(t, before, n, "the kill came before the end")
	require.Greater(t, before, 0)

	code, out, stderr := guestsync(t, env, "sync", "--config", cfg, "--log-level", "warn")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Equal(t, n, sim.Stats().Users, "exactly every account once")
	assert.Contains(t, out, fmt.Sprintf("Applied: %d created, 0 updated, 0 failed", n-before))

	code, out, stderr = guestsync(t, env, "sync", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "No changes: 0 guests up to date", "an incremental read: nothing changed")
	assert.Equal(t, n, sim.Stats().Users)
}
