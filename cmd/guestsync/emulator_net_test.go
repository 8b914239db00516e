package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/config"
	"github.com/guestsync/guestsync/pkg/graphsim"
)

// emulatorRun is a graph-emulator command running in-process.
type emulatorRun struct {
	// url is the first line it printed: its base URL, or "" when it exited
	// without serving.
	url    string
	cancel context.CancelFunc
	done   chan int
	stderr bytes.Buffer
	once   sync.Once
	code   int
}

// launchEmulator runs graph-emulator with args and waits until it prints
// its URL or exits. The emulator is stopped when the test ends.
func launchEmulator(t *testing.T, args ...string) *emulatorRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	e := &emulatorRun{cancel: cancel, done: make(chan int, 1)}
	env := config.Environment{Getenv: func(string) string { return "" }, Environ: func() []string { return nil }}
	go func() {
		e.done <- run(ctx, append([]string{"graph-emulator"}, args...), streams{out: pw, err: &e.stderr}, env)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil && err != io.EOF {
		require.NoError(t, err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	e.url = strings.TrimSpace(line)
	t.Cleanup(func() { e.stop() })
	return e
}

// stop interrupts the emulator (if it still runs) and returns its exit
// code and what it wrote to stderr.
func (e *emulatorRun) stop() (int, string) {
	e.once.Do(func() { e.cancel(); e.code = <-e.done })
	return e.code, e.stderr.String()
}

// tlsClient is an HTTP client that trusts only the CA certificates in the
// PEM file caFile, or the system's roots when caFile is "".
func tlsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	roots, err := x509.SystemCertPool()
	require.NoError(t, err)
	if caFile != "" {
		data, err := os.ReadFile(caFile)
		require.NoError(t, err)
		roots = x509.NewCertPool()
		require.True(t, roots.AppendCertsFromPEM(data), "the CA file holds a PEM certificate")
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
}

// get sends an authenticated GET, with a Prefer header if one is given,
// and decodes the JSON answer.
func get(t *testing.T, client *http.Client, link, token string, prefer ...string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, link, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	for _, p := range prefer {
		req.Header.Add("Prefer", p)
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", link, raw)
	var body map[string]any
	require.NoError(t, json.Unmarshal(raw, &body))
	return body
}

// invite creates n guests through POST /invitations.
func invite(t *testing.T, client *http.Client, base, token string, n int) {
	t.Helper()
	for i := range n {
		raw, err := json.Marshal(map[string]any{"invitedUserEmailAddress": fmt.Sprintf("guest%d@fabrikam.example", i),
			"inviteRedirectUrl": "https://myapps.microsoft.com"})
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPost, base+"/invitations", bytes.NewReader(raw))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode, "invitation: %s", body)
	}
}

func TestEmulatorServesBeyondLoopbackOnlyWithToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		served bool
	}{
		{"IPv4 wildcard without token", []string{"--listen", "0.0.0.0:0"}, false},
		{"every interface without token", []string{"--listen", ":0"}, false},
		{"IPv4 wildcard with token", []string{"--listen", "0.0.0.0:0", "--token", "s3cret"}, true},
		{"loopback without token", []string{"--listen", "127.0.0.1:0"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := launchEmulator(t, tt.args...)
			if !tt.served {
				code, stderr := e.stop()
				assert.Empty(t, e.url, "nothing on stdout when the emulator refuses to serve")
				assert.Equal(t, exitUsage, code, "stderr: %s", stderr)
				assert.Contains(t, stderr, "refusing to serve beyond this machine")
				assert.Contains(t, stderr, "without --token")
				return
			}
			require.NotEmpty(t, e.url)
			token := "s3cret"
			get(t, http.DefaultClient, e.url+"/organization", token)
			code, stderr := e.stop()
			assert.Equal(t, 0, code, "stderr: %s", stderr)
		})
	}
}

func TestEmulatorPrintsTheAddressItListensOn(t *testing.T) {
	t.Parallel()
	ipv6 := true
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		ipv6 = false
	} else {
		ln.Close()
	}
	tests := []struct {
		name, listen string
		host         string // the URL's host
		logged       string // the address the log says it listens on, before ":port"
		needsIPv6    bool
	}{
		{"IPv4 loopback", "127.0.0.1:0", "127.0.0.1", `127\.0\.0\.1`, false},
		{"IPv6 loopback", "[::1]:0", "::1", `\[::1\]`, true},
		// Go binds a wildcard host to every address, IPv4 and IPv6.
		{"IPv4 wildcard, reached through loopback", "0.0.0.0:0", "127.0.0.1", `(0\.0\.0\.0|\[::\])`, false},
		{"every interface, reached through loopback", ":0", "127.0.0.1", `(0\.0\.0\.0|\[::\])`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.needsIPv6 && !ipv6 {
				t.Skip("no IPv6 loopback on this machine")
			}
			e := launchEmulator(t, "--listen", tt.listen, "--token", "s3cret")
			u, err := url.Parse(e.url)
			require.NoError(t, err, "stdout: %q", e.url)
			assert.Equal(t, "http", u.Scheme)
			assert.Equal(t, tt.host, u.Hostname())
			assert.Equal(t, "/v1.0", u.Path)
			assert.NotEqual(t, "0", u.Port(), "the port chosen for :0, not 0")

			// A client that starts from the printed URL is sent back to it.
			invite(t, http.DefaultClient, e.url, "s3cret", 2)
			page := get(t, http.DefaultClient, e.url+"/users?$top=1", "s3cret")
			require.Contains(t, page, "@odata.nextLink")
			next := page["@odata.nextLink"].(string)
			assert.True(t, strings.HasPrefix(next, e.url+"/users?"), "nextLink %s starts with the printed URL %s", next, e.url)
			get(t, http.DefaultClient, next, "s3cret")

			code, stderr := e.stop()
			assert.Equal(t, 0, code, stderr)
			assert.Regexp(t, `listen=`+tt.logged+`:`+u.Port()+`\s`, stderr, "the log names the address listened on")
		})
	}
}

func TestEmulatorServesHTTPS(t *testing.T) {
	t.Parallel()
	caFile := filepath.Join(t.TempDir(), "emulator-ca.pem")
	e := launchEmulator(t, "--listen", "127.0.0.1:0", "--https", "--ca-out", caFile)
	require.Regexp(t, `^https://127\.0\.0\.1:\d+/v1\.0$`, e.url)

	// The CA file holds one certificate and no key.
	data, err := os.ReadFile(caFile)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "PRIVATE KEY")
	block, rest := pem.Decode(data)
	require.NotNil(t, block)
	assert.Equal(t, "CERTIFICATE", block.Type)
	assert.Empty(t, bytes.TrimSpace(rest), "one certificate only")
	ca, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	assert.True(t, ca.IsCA)
	key, ok := ca.PublicKey.(*ecdsa.PublicKey)
	require.True(t, ok, "an ECDSA key, not %T", ca.PublicKey)
	assert.Equal(t, elliptic.P256(), key.Curve)
	assert.False(t, ca.NotAfter.After(time.Now().Add(graphsim.TLSLifetime)), "valid for a short time: until %s", ca.NotAfter)

	// Without the CA a client refuses the emulator's certificate.
	_, err = tlsClient(t, "").Get(e.url + "/organization")
	var verify *tls.CertificateVerificationError
	require.ErrorAs(t, err, &verify)

	// With it, the emulator answers as Graph does, and its links are https.
	client := tlsClient(t, caFile)
	resp, err := client.Get(e.url + "/organization")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no token, Graph's 401")
	leaf := resp.TLS.PeerCertificates[0]
	assert.ElementsMatch(t, []string{"127.0.0.1", "::1"}, []string{leaf.IPAddresses[0].String(), leaf.IPAddresses[1].String()})
	assert.Equal(t, []string{"localhost"}, leaf.DNSNames)

	invite(t, client, e.url, "any", 3)
	page := get(t, client, e.url+"/users?$top=2", "any")
	next, _ := page["@odata.nextLink"].(string)
	assert.True(t, strings.HasPrefix(next, e.url+"/users?"), "nextLink %q", next)

	link, pages := e.url+"/users/delta", 0
	for pages = 0; pages < 10; pages++ {
		page = get(t, client, link, "any", "odata.maxpagesize=1")
		if next, ok := page["@odata.nextLink"].(string); ok {
			assert.True(t, strings.HasPrefix(next, e.url+"/users/delta?"), "delta nextLink %q", next)
			link = next
			continue
		}
		delta, _ := page["@odata.deltaLink"].(string)
		assert.True(t, strings.HasPrefix(delta, e.url+"/users/delta?"), "deltaLink %q", delta)
		break
	}
	assert.Greater(t, pages, 0, "delta was paged")
	get(t, client, link, "any")

	code, stderr := e.stop()
	assert.Equal(t, 0, code, stderr)
}

func TestEmulatorHTTPSFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notADir := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(notADir, nil, 0o600))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"https without ca-out", []string{"--https"}, "--https needs --ca-out FILE"},
		{"ca-out without https", []string{"--ca-out", filepath.Join(dir, "ca.pem")}, "--ca-out is for --https"},
		{"unwritable ca-out", []string{"--https", "--ca-out", filepath.Join(notADir, "ca.pem")}, "--ca-out: write " + filepath.Join(notADir, "ca.pem")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, stderr := guestsync(t, nil, append([]string{"graph-emulator", "--listen", "127.0.0.1:0"}, tt.args...)...)
			assert.Equal(t, exitUsage, code, "stderr: %s", stderr)
			assert.Empty(t, out, "nothing on stdout when the emulator does not start")
			assert.Contains(t, stderr, tt.want)
		})
	}
}

// TestSyncTrustsTheHTTPSEmulatorThroughCAFile syncs the shipped example
// through the Graph target into an emulator served over HTTPS.
func TestSyncTrustsTheHTTPSEmulatorThroughCAFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := launchEmulator(t, "--listen", "127.0.0.1:0", "--https", "--ca-out", filepath.Join(dir, "ca.pem"),
		"--verified-domain", "partners.contoso.com")
	require.Regexp(t, `^https://`, e.url)
	ldifPath, err := filepath.Abs(repoPath("examples/partners.ldif"))
	require.NoError(t, err)
	mappingPath, err := filepath.Abs(repoPath("mappings/partner-guest.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "not-pem.txt"), []byte("no certificate here\n"), 0o600))
	writeConfig := func(name, graphExtra string) string {
		cfg := fmt.Sprintf("version: 1\nsource: {kind: ldif}\nldif: {path: %q}\nmapping: {file: %q}\n"+
			"state: {file: %q}\ngraph: {url: %q, auth: emulator%s}\n",
			ldifPath, mappingPath, filepath.Join(dir, name+".state.json"), e.url, graphExtra)
		path := filepath.Join(dir, name+".yaml")
		require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
		return path
	}

	// A relative caFile is found next to the config file.
	trusting := writeConfig("trusting", ", caFile: ca.pem")
	code, out, stderr := guestsync(t, nil, "sync", "--config", trusting)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, "Applied: 27 created, 0 updated, 0 failed")
	code, out, stderr = guestsync(t, nil, "sync", "--config", trusting)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "No changes: 27 guests up to date")

	code, out, stderr = guestsync(t, nil, "sync", "--config", writeConfig("untrusting", ""))
	assert.Equal(t, exitFailed, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, stderr, "x509: certificate signed by unknown authority")
	assert.Contains(t, stderr, "set graph.caFile to a PEM file with the CA that signed it")

	code, _, stderr = guestsync(t, nil, "sync", "--config", writeConfig("wrong-file", ", caFile: not-pem.txt"))
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, "graph.caFile: "+filepath.Join(dir, "not-pem.txt")+": no PEM certificate found")
}
