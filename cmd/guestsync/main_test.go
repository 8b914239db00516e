package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/config"
	"github.com/guestsync/guestsync/pkg/graphsim"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/state"
	"github.com/guestsync/guestsync/pkg/target/graph"
)

// guestsync runs the CLI in-process and returns its exit code and output.
func guestsync(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	dir := t.TempDir()
	e := config.Environment{
		Getenv: func(k string) string { return env[k] },
		Environ: func() []string {
			var kv []string
			for k, v := range env {
				kv = append(kv, k+"="+v)
			}
			return kv
		},
		WorkDir: dir, HomeDir: dir,
	}
	code := run(context.Background(), args, streams{out: &out, err: &errb}, e)
	return code, out.String(), errb.String()
}

func repoPath(p string) string { return filepath.Join("..", "..", p) }

func TestDemo(t *testing.T) {
	t.Parallel()
	code, out, stderr := guestsync(t, nil, "demo")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, "Plan: 27 to create, 0 to update, 0 unchanged, 0 skipped, 1 out of scope.")
	assert.Contains(t, out, "Applied: 27 created, 0 updated, 0 failed")
	assert.Contains(t, out, "No changes: 27 guests up to date, 0 skipped, 1 out of scope.")
	assert.Contains(t, out, "Emulator: 27 users, 27 writes in run 1, 0 writes in run 2.")
	assert.Contains(t, out, `accountEnabled         "false"`, "the disabled partner is created disabled")
	assert.Contains(t, out, `displayName            "Zoë Lefèvre (Fabrikam)"`)
	assert.NotContains(t, out, "Jędrzejczyk", "the employee is out of scope")
	assert.NotContains(t, out+stderr, "password", "no password is ever printed")
}

// emulatorConfig writes a config for the shipped example data against an
// in-process emulator and returns its path and the emulator.
func emulatorConfig(t *testing.T) (string, *graphsim.Server) {
	t.Helper()
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	ldifPath, err := filepath.Abs(repoPath("examples/partners.ldif"))
	require.NoError(t, err)
	mappingPath, err := filepath.Abs(repoPath("mappings/partner-guest.yaml"))
	require.NoError(t, err)
	cfg := fmt.Sprintf("version: 1\nsource: {kind: ldif}\nldif: {path: %q}\nmapping: {file: %q}\ngraph: {url: %q, auth: emulator}\n",
		ldifPath, mappingPath, srv.URL+"/v1.0")
	path := filepath.Join(t.TempDir(), "guestsync.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	return path, sim
}

func TestPlanWritesNothingAndSyncConverges(t *testing.T) {
	t.Parallel()
	cfg, sim := emulatorConfig(t)

	code, out, stderr := guestsync(t, nil, "plan", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Plan: 27 to create")
	assert.Equal(t, 0, sim.Stats().Users, "plan wrote nothing")
	assert.Equal(t, 0, sim.Stats().Writes)

	code, out, stderr = guestsync(t, nil, "sync", "--config", cfg, "--log-format", "json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Applied: 27 created")
	assert.Equal(t, 27, sim.Stats().Users)
	assert.Contains(t, stderr, `"upn":"zoe.lefevre@partners.contoso.com"`, "json logs on stderr name each guest")
	assert.Contains(t, stderr, `graph.owner: \"default\" is the default: if another guestsync`)
	code, _, stderr = guestsync(t, map[string]string{"GUESTSYNC_GRAPH_OWNER": "fabrikam-ad"}, "plan", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "graph.owner:")

	writes := sim.Stats().Writes
	code, out, _ = guestsync(t, nil, "sync", "--config", cfg)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "No changes: 27 guests up to date")
	assert.Equal(t, writes, sim.Stats().Writes, "second sync makes zero writes")
}

func TestSyncUpdatesChangedEntry(t *testing.T) {
	t.Parallel()
	cfg, sim := emulatorConfig(t)
	code, _, stderr := guestsync(t, nil, "sync", "--config", cfg)
	require.Equal(t, 0, code, stderr)

	// Rewrite the source with one partner renamed and re-point the config.
	data, err := os.ReadFile(repoPath("examples/partners.ldif"))
	require.NoError(t, err)
	changed := strings.Replace(string(data), "title: Account Manager", "title: Key Account Manager", 1)
	require.NotEqual(t, string(data), changed)
	ldif := filepath.Join(t.TempDir(), "partners.ldif")
	require.NoError(t, os.WriteFile(ldif, []byte(changed), 0o600))
	env := map[string]string{"GUESTSYNC_LDIF_PATH": ldif}

	code, out, stderr := guestsync(t, env, "sync", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `jobTitle               "Account Manager" → "Key Account Manager"`)
	assert.Contains(t, out, "Applied: 0 created, 1 updated, 0 failed")
	assert.Equal(t, 27, sim.Stats().Users)
}

func TestValidate(t *testing.T) {
	t.Parallel()
	code, out, _ := guestsync(t, nil, "validate", repoPath("mappings/partner-guest.yaml"))
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "1 mapping file(s) valid")

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("version: 1\nflowz: []\n"), 0o600))
	code, out, _ = guestsync(t, nil, "validate", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, bad+`:2:1: flowz: unknown key "flowz"; did you mean "flows"?`)

	code, out, _ = guestsync(t, nil, "validate", "--format", "json", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, `"valid": false`)
	assert.Contains(t, out, `"line": 2`)
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"unknown flag", []string{"plan", "--frob"}, 2, "unknown flag"},
		{"bad log level", []string{"version", "--log-level", "loud"}, 2, "--log-level must be"},
		{"missing config", []string{"plan", "--config", "/nonexistent/guestsync.yaml"}, 2, "config file does not exist"},
		{"version", []string{"version"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := guestsync(t, nil, tt.args...)
			assert.Equal(t, tt.code, code, stderr)
			assert.Contains(t, stderr, tt.err)
		})
	}
}

func TestEveryCommandHasAnExample(t *testing.T) {
	t.Parallel()
	a := &app{}
	for _, c := range a.rootCommand().Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		assert.NotEmpty(t, c.Example, "command %s has no example", c.Name())
	}
}

func TestEmulatorPrintsBaseURLFirst(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"graph-emulator", "--listen", "127.0.0.1:0"}, streams{out: pw, err: &bytes.Buffer{}}, config.Environment{Getenv: func(string) string { return "" }, Environ: func() []string { return nil }})
		pw.Close()
	}()
	buf := make([]byte, 100)
	n, err := pr.Read(buf)
	require.NoError(t, err)
	line := strings.TrimSpace(string(buf[:n]))
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+/v1\.0$`, line)
	cancel()
	assert.Equal(t, 0, <-done, "stops cleanly on interrupt")
}

func TestSyncTakesTheLockAndKeepsState(t *testing.T) {
	t.Parallel()
	cfg, sim := emulatorConfig(t)
	statePath := filepath.Join(t.TempDir(), "state", "guestsync.json")
	env := map[string]string{"GUESTSYNC_STATE_FILE": statePath}

	lock, err := state.Acquire(statePath)
	require.NoError(t, err)
	code, _, stderr := guestsync(t, env, "sync", "--config", cfg)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "another guestsync run holds the lock")
	assert.Equal(t, 0, sim.Stats().Writes, "a refused run writes nothing")
	require.NoError(t, lock.Release())

	code, _, stderr = guestsync(t, env, "sync", "--config", cfg, "--full")
	require.Equal(t, 0, code, stderr)
	_, err = os.Stat(statePath)
	assert.NoError(t, err, "the state file is written after a successful sync")

	code, _, stderr = guestsync(t, env, "plan", "--config", cfg)
	assert.Equal(t, 0, code, stderr)
}

func TestDemoInviteMode(t *testing.T) {
	t.Parallel()
	code, out, stderr := guestsync(t, nil, "demo", "--mode", "invite")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, "+ invite guest zoe.lefevre@fabrikam.com")
	assert.Contains(t, out, "Applied: 27 created, 0 updated, 0 failed")
	assert.Contains(t, out, "No changes: 27 guests up to date")
	assert.Contains(t, out, "Emulator: 27 users, 54 writes in run 1, 0 writes in run 2.", "an invitation and a PATCH each")

	code, _, stderr = guestsync(t, nil, "demo", "--mode", "federate")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--mode must be create or invite")
}

// TestDeletedGuestIsRestored deletes an owned guest in the tenant (it lands
// in deletedItems) and syncs: the same object comes back.
func TestDeletedGuestIsRestored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, sim := emulatorConfig(t)
	code, _, stderr := guestsync(t, nil, "sync", "--config", cfg)
	require.Equal(t, 0, code, stderr)

	// Find the srv URL through the config the helper wrote.
	data, err := os.ReadFile(cfg)
	require.NoError(t, err)
	url := regexp.MustCompile(`url: "([^"]+)"`).FindStringSubmatch(string(data))[1]
	client, err := graph.New(graph.Options{URL: url, Credential: graph.StaticToken(emulatorToken)})
	require.NoError(t, err)
	current, err := client.Current(ctx)
	require.NoError(t, err)
	var zoe string
	for _, g := range current {
		if g.Properties["mailNickname"] == "zlefevre" {
			zoe = g.ID
		}
	}
	require.NotEmpty(t, zoe)
	res := client.Apply(ctx, []plan.Action{{Kind: plan.Delete, ID: zoe}})
	require.Len(t, res, 1)
	require.Nil(t, res[0].Failure)
	assert.Equal(t, 26, sim.Stats().Users)

	code, out, stderr := guestsync(t, nil, "sync", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "↺ restore guest zoe.lefevre@partners.contoso.com (id "+zoe+")")
	assert.Contains(t, out, "Applied: 0 created, 0 updated, 1 restored, 0 failed")
	assert.Equal(t, 27, sim.Stats().Users, "the same object is back, no duplicate")

	code, out, _ = guestsync(t, nil, "sync", "--config", cfg)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "No changes: 27 guests up to date")
}

// TestSyncReadsTenantChanges: with a state file, the second run reads the
// tenant through change tracking and still sees (and undoes) an edit made
// in the tenant by someone else.
func TestSyncReadsTenantChanges(t *testing.T) {
	t.Parallel()
	cfg, sim := emulatorConfig(t)
	stateFile := filepath.Join(t.TempDir(), "state.json")
	env := map[string]string{"GUESTSYNC_STATE_FILE": stateFile}
	code, _, stderr := guestsync(t, env, "sync", "--config", cfg, "--log-format", "json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, `"msg":"read target changes","incremental":false`)
	data, err := os.ReadFile(stateFile)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"deltaLink": "http`)
	assert.Contains(t, string(data), `"guestsFile": "state.json.guests-`)

	// An admin edits a guest in the portal.
	req := httptest.NewRequest(http.MethodPatch, "/v1.0/users/zoe.lefevre@partners.contoso.com",
		strings.NewReader(`{"jobTitle": null, "displayName": "Zoe (edited)"}`))
	req.Header.Set("Authorization", "Bearer any")
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())

	code, out, stderr := guestsync(t, env, "sync", "--config", cfg, "--log-format", "json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, `"msg":"read target changes","incremental":true,"changes":27`, "the first sync's own creates")
	assert.Contains(t, out, `displayName            "Zoe (edited)" → "Zoë Lefèvre (Fabrikam)"`)
	assert.Contains(t, out, `jobTitle               "" → "Account Manager"`, "a property cleared in the tenant comes back as null")
	assert.Contains(t, out, "Applied: 0 created, 1 updated, 0 failed")

	code, out, stderr = guestsync(t, env, "sync", "--config", cfg, "--log-format", "json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "No changes: 27 guests up to date")
	assert.Contains(t, stderr, `"msg":"read target changes","incremental":true,"changes":1`, "only the guest that changed")

	code, _, stderr = guestsync(t, env, "plan", "--config", cfg, "--full", "--log-format", "json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, `"msg":"read target changes","incremental":false,"changes":27`)

	// Graph lets a delta link expire (seven days for users): the run
	// starts change tracking again and carries on.
	sim.ExpireDeltaTokens()
	code, out, stderr = guestsync(t, env, "sync", "--config", cfg, "--log-format", "json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, `"msg":"the tenant's change-tracking link expired; reading every guest"`)
	assert.Contains(t, stderr, `"msg":"read target changes","incremental":false,"changes":27`)
	assert.Contains(t, out, "No changes: 27 guests up to date")
}

func TestInviteModeNeedsARedirectURL(t *testing.T) {
	t.Parallel()
	cfg, sim := emulatorConfig(t)
	invite, err := filepath.Abs(repoPath("mappings/partner-invite.yaml"))
	require.NoError(t, err)
	env := map[string]string{"GUESTSYNC_MAPPING_FILE": invite}
	code, _, stderr := guestsync(t, env, "plan", "--config", cfg)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, cfg+":5:1: graph.invitation.redirectURL: required: mapping "+invite+":10 invites guests (mode: invite)")
	assert.Contains(t, stderr, "graph.tenantID to default to the tenant's My Apps")

	env["GUESTSYNC_GRAPH_INVITATION_REDIRECTURL"] = "https://myapplications.microsoft.com/?tenantid=contoso.onmicrosoft.com"
	code, out, stderr := guestsync(t, env, "sync", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Applied: 27 created")
	assert.Equal(t, 27, sim.Stats().Users)
}

// partnersLDIF writes an LDIF export of n partners, numbered from 1.
func partnersLDIF(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("version: 1\n")
	for i := 1; i <= n; i++ {
		// Random-looking GUIDs, as AD's are: Entra compares anchors without
		// case, so mostly-zero ones would collide.
		sum := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
		guid := sum[:16]
		fmt.Fprintf(&b, "\ndn: CN=Partner %05d,OU=Partners,DC=corp,DC=contoso,DC=com\nobjectClass: user\ncn: Partner %05d\n"+
			"givenName: Partner\nsn: %05d\ndisplayName: Partner %05d\ncompany: Fabrikam\nmail: p%05d@fabrikam.com\n"+
			"sAMAccountName: p%05d\nuserPrincipalName: p%05d@partners.contoso.com\nemployeeType: Partner\n"+
			"userAccountControl: 512\nobjectGUID:: %s\n",
			i, i, i, i, i, i, i, base64.StdEncoding.EncodeToString(guid))
	}
	b.WriteString("\n") // the empty line that ends the last record
	path := filepath.Join(t.TempDir(), "partners.ldif")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
}

// TestRemovalThresholdStopsSync is the acceptance: removing 600
// accounts makes sync exit 3 and change nothing; --allow-removals 600
// lets it disable them.
func TestRemovalThresholdStopsSync(t *testing.T) {
	t.Parallel()
	cfg, sim := emulatorConfig(t)
	env := map[string]string{
		"GUESTSYNC_STATE_FILE": filepath.Join(t.TempDir(), "state.json"),
		"GUESTSYNC_LDIF_PATH":  partnersLDIF(t, 700),
	}
	code, out, stderr := guestsync(t, env, "sync", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Applied: 700 created")

	env["GUESTSYNC_LDIF_PATH"] = partnersLDIF(t, 100)
	writes := sim.Stats().Writes
	code, out, stderr = guestsync(t, env, "plan", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Plan: 0 to create, 0 to update, 600 to disable, 100 unchanged")
	assert.Contains(t, out, "Warning: sync would stop on this plan: 600 removals, over the removal threshold of 500 (count).")

	code, out, stderr = guestsync(t, env, "sync", "--config", cfg)
	assert.Equal(t, 3, code, stderr)
	assert.Contains(t, stderr, "stopped before any change: the plan removes 600 guests, over the removal threshold of 500")
	assert.Contains(t, stderr, "--allow-removals 600")
	assert.Contains(t, out, "- disable guest p00700@partners.contoso.com")
	assert.Equal(t, writes, sim.Stats().Writes, "nothing changed")

	code, _, stderr = guestsync(t, env, "sync", "--config", cfg, "--allow-removals", "599")
	assert.Equal(t, 3, code, stderr)

	code, out, stderr = guestsync(t, env, "sync", "--config", cfg, "--allow-removals", "600")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Applied: 0 created, 0 updated, 600 disabled, 0 failed")

	code, out, stderr = guestsync(t, env, "sync", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "No changes: 100 guests up to date, 0 skipped, 0 out of scope. 600 disabled guest(s) waiting out the grace period before deletion.")
}

// TestApplyReviewedPlan: apply applies a saved plan that still holds and
// refuses (exit 3, no change) one that the source or the tenant overtook.
func TestApplyReviewedPlan(t *testing.T) {
	t.Parallel()
	cfg, sim := emulatorConfig(t)
	dir := t.TempDir()
	env := map[string]string{"GUESTSYNC_STATE_FILE": filepath.Join(dir, "state.json")}
	planFile := filepath.Join(dir, "plan.json")
	code, _, stderr := guestsync(t, env, "plan", "--config", cfg, "--out", planFile)
	require.Equal(t, 0, code, stderr)

	// The tenant changes underneath: someone creates a guest that takes
	// one of the planned UPNs.
	req := httptest.NewRequest(http.MethodPost, "/v1.0/users", strings.NewReader(`{"accountEnabled": true,
		"displayName": "Squatter", "mailNickname": "squatter", "userPrincipalName": "zoe.lefevre@partners.contoso.com",
		"userType": "Guest", "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"}}`))
	req.Header.Set("Authorization", "Bearer any")
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	writes := sim.Stats().Writes

	code, _, stderr = guestsync(t, env, "apply", planFile, "--config", cfg)
	assert.Equal(t, 3, code, stderr)
	assert.Contains(t, stderr, "the source or the tenant changed since the plan was made (2 differences: ")
	assert.Contains(t, stderr, "no longer create zoe.lefevre@partners.contoso.com")
	assert.Contains(t, stderr, "now also skip zoe.lefevre@partners.contoso.com")
	assert.Equal(t, writes, sim.Stats().Writes, "nothing applied")

	code, _, stderr = guestsync(t, env, "plan", "--config", cfg, "--out", planFile)
	require.Equal(t, 0, code, stderr)
	code, out, stderr := guestsync(t, env, "apply", planFile, "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Applied: 26 created")

	code, _, stderr = guestsync(t, env, "apply", filepath.Join(dir, "missing.json"), "--config", cfg)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "read plan:")
}

func TestTuneGC(t *testing.T) {
	// Not parallel: it sets the process's GC target.
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tuneGC(func(string) string { return "" })
	assert.Equal(t, gcPercent, debug.SetGCPercent(100), "no GOGC: guestsync's target")
	tuneGC(func(k string) string { return map[string]string{"GOGC": "200"}[k] })
	assert.Equal(t, 100, debug.SetGCPercent(100), "GOGC set: left to Go")
}

// TestDemoShowsBothDirections: after partners to guests, the demo turns
// the emulated tenant's guests into shadow accounts in an LDIF change
// file: every enabled guest once (the disabled partner's guest is an
// absence), no password in the file.
func TestDemoShowsBothDirections(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "shadows.ldif")
	code, out, stderr := guestsync(t, nil, "demo", "--shadows-ldif", file)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, "== Guests to shadow accounts")
	assert.Contains(t, out, "+ create shadow account zoe.lefevre@partners.contoso.com")
	assert.Contains(t, out, "Plan: 26 to create, 0 to update, 0 unchanged, 0 skipped, 0 out of scope.")
	assert.Contains(t, out, "Applied: 26 created, 0 updated, 0 failed")
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	ldif := string(data)
	assert.Equal(t, 26, strings.Count(ldif, "changetype: add"))
	assert.Contains(t, ldif, "userPrincipalName: zoe.lefevre@partners.contoso.com")
	assert.Contains(t, ldif, "userAccountControl: 262656", "enabled as NORMAL_ACCOUNT | SMARTCARD_REQUIRED")
	assert.NotContains(t, ldif, "unicodePwd:", "no password is ever written")
	assert.NotContains(t, ldif, "renee.oconnor", "a disabled guest gets no shadow")
}
