package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/config"
)

func TestEmulatorRejectsBadFlags(t *testing.T) {
	t.Parallel()
	corrupt := filepath.Join(t.TempDir(), "corrupt.json")
	require.NoError(t, os.WriteFile(corrupt, []byte("{"), 0o600))
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"throttle", []string{"--throttle", "on"}, []string{`--throttle: throttle mode must be documented or off, not "on"`}},
		{"zero time scale", []string{"--time-scale", "0"}, []string{"--time-scale must be a positive number, not 0"}},
		{"negative time scale", []string{"--time-scale", "-2"}, []string{"--time-scale must be a positive number, not -2"}},
		{"faults", []string{"--faults", "500=2"}, []string{"--faults: fault 500=2: want a probability between 0 and 1"}},
		{"domain", []string{"--verified-domain", "not a domain"}, []string{`--verified-domain "not a domain" is not a domain name`}},
		{"all at once", []string{"--throttle", "x", "--faults", "nope=1"},
			[]string{"--throttle: throttle mode", `--faults: unknown fault "nope"`}},
		{"listen", []string{"--listen", "256.0.0.1:1"}, []string{"listen on 256.0.0.1:1"}},
		{"state", []string{"--state", corrupt}, []string{"--state: " + corrupt + ": graphsim: read snapshot"}},
		{"unknown flag", []string{"--nope"}, []string{"unknown flag: --nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, stderr := guestsync(t, nil, append([]string{"graph-emulator", "--listen", "127.0.0.1:0"}, tt.args...)...)
			assert.Equal(t, exitUsage, code, "stderr: %s", stderr)
			assert.Empty(t, out, "nothing on stdout when the emulator does not start")
			for _, w := range tt.want {
				assert.Contains(t, stderr, w)
			}
		})
	}
}

// startEmulator runs graph-emulator in-process and returns its base URL
// and a function that interrupts it and returns its exit code.
func startEmulator(t *testing.T, args ...string) (string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	done := make(chan int, 1)
	env := config.Environment{Getenv: func(string) string { return "" }, Environ: func() []string { return nil }}
	go func() {
		done <- run(ctx, append([]string{"graph-emulator", "--listen", "127.0.0.1:0"}, args...), streams{out: pw, err: &bytes.Buffer{}}, env)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	url := strings.TrimSpace(line)
	require.Regexp(t, `^http://127\.0\.0\.1:\d+/v1\.0$`, url)
	return url, func() int { cancel(); return <-done }
}

func call(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var rdr io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		rdr = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rdr)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, raw
}

func TestEmulatorKeepsStateAcrossRestarts(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "tenant.json")
	args := []string{"--state", state, "--token", "s3cret", "--verified-domain", "partners.contoso.com",
		"--throttle", "documented", "--time-scale", "10", "--faults", "seed=1"}

	url, stop := startEmulator(t, args...)
	status, body := call(t, http.MethodPost, url+"/invitations", "s3cret",
		map[string]any{"invitedUserEmailAddress": "kim@fabrikam.example", "inviteRedirectUrl": "https://myapps.microsoft.com"})
	require.Equal(t, http.StatusCreated, status, "body: %s", body)
	status, _ = call(t, http.MethodGet, url+"/users", "wrong", nil)
	assert.Equal(t, http.StatusUnauthorized, status, "--token is enforced")
	require.Equal(t, 0, stop(), "stops cleanly on interrupt")

	raw, err := os.ReadFile(state)
	require.NoError(t, err, "the state is saved on shutdown")
	assert.Contains(t, string(raw), "kim_fabrikam.example#EXT#@graphsim.onmicrosoft.com")

	url, stop = startEmulator(t, args...)
	defer stop()
	status, body = call(t, http.MethodGet, url+"/users?$select=mail", "s3cret", nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(body), `"mail":"kim@fabrikam.example"`, "the restarted emulator has the tenant")
	status, body = call(t, http.MethodGet, strings.TrimSuffix(url, "/v1.0")+"/_graphsim/state", "s3cret", nil)
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, string(raw), string(body))
}
