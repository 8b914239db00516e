package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

// syncBuffer is a bytes.Buffer that a child process and a test's HTTP
// handler can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestInterruptedSyncFinishesTheWritesInFlight: SIGINT while the first
// batches of a sync are in flight. guestsync sends no new batch, lets
// those in flight finish and records them as done (Graph carried them
// out), reports the rest as not attempted, exits 1, and does not move the
// source's watermark; the next sync creates exactly the rest.
func TestInterruptedSyncFinishesTheWritesInFlight(t *testing.T) {
	t.Parallel()
	const n = 200
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}})
	var stderr syncBuffer
	var once sync.Once
	var child *exec.Cmd
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/$batch") {
			once.Do(func() {
				// The interrupt arrives while this batch is in flight;
				// it is answered once guestsync has taken the signal.
				if err := child.Process.Signal(os.Interrupt); err != nil {
					t.Error(err) // not FailNow: this is the server's goroutine
					return
				}
				for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
					if strings.Contains(stderr.String(), "starting no new writes") {
						break
					}
				}
			})
		}
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	mappingPath, err := filepath.Abs(repoPath("mappings/partner-guest.yaml"))
	require.NoError(t, err)
	cfg := filepath.Join(dir, "guestsync.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(
		"version: 1\nsource: {kind: ldif}\nldif: {path: %q}\nmapping: {file: %q}\ngraph: {url: %q, auth: emulator, owner: interrupt-test, writeBudget: 100000}\nstate: {file: %q}\n",
		partnersLDIF(t, n), mappingPath, srv.URL+"/v1.0", filepath.Join(dir, "state.json"))), 0o600))

	var stdout syncBuffer
	child = exec.Command(os.Args[0], "sync", "--config", cfg, "--log-level", "warn")
	child.Env = childEnv()
	child.Stdout, child.Stderr = &stdout, &stderr
	require.NoError(t, child.Start())
	err = child.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Equal(t, 1, exit.ExitCode(), "some objects were not attempted: a failed run")

	applied := regexp.MustCompile(`Applied: (\d+) created, 0 updated, (\d+) failed`).FindStringSubmatch(stdout.String())
	require.NotNil(t, applied, stdout.String())
	created, failed := atoi(t, applied[1]), atoi(t, applied[2])
	assert.Positive(t, created, "the batches in flight were carried out and counted")
	assert.Equal(t, n, created+failed)
	assert.Equal(t, created, sim.Stats().Users, "what is counted done is in the tenant, and nothing else")
	assert.Equal(t, failed, strings.Count(stdout.String(), "not attempted"), "the rest was never sent")

	code, out, errOut := guestsync(t, nil, "sync", "--config", cfg, "--log-level", "warn")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, fmt.Sprintf("Applied: %d created, 0 updated, 0 failed", n-created))
	assert.Equal(t, n, sim.Stats().Users)
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}
