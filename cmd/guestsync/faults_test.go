package main

// The fault suite (issue #11, point 9): guestsync driven through its CLI
// against an emulated tenant with the emulator's fault injection, LDIF
// exports and directory servers that fail in the ways an admin's worst
// night would, with the same invariants checked after every scenario (see
// world.check). The soak (soak_test.go) reuses the world and its checks.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
	"github.com/guestsync/guestsync/pkg/state"
)

// faultMapping maps the accounts of a world's exports: the anchor is
// entryUUID, a rename changes uid (and so the UPN) and cn, and an account
// marked disabled becomes a disabled guest.
const faultMapping = `version: 1
name: fault-partners
anchor:
  attributes: [entryUUID]
scope:
  - clauses:
      - {attribute: employeeType, operator: EQUALS, value: Partner}
flows:
  - target: userPrincipalName
    type: expression
    expression: Join("@", [uid], "partners.contoso.com")
  - {target: mailNickname, type: direct, source: uid}
  - {target: displayName, type: direct, source: cn}
  - {target: mail, type: direct, source: mail}
  - target: accountEnabled
    type: expression
    expression: IIF([description] = "disabled", "False", "True")
    defaultIfNull: "True"
`

// owner is the graph.owner of every world: guests carry guestsync:faults.
const owner = "faults"

// account is one partner in a world's source.
type account struct {
	uid, cn, mail string
	uuid          [16]byte
	disabled      bool // description: disabled, mapped to accountEnabled false
	former        bool // employeeType no longer Partner: out of the mapping's scope
	conflict      bool // an unowned guest holds its UPN: it is skipped, never written
}

func (a *account) uuidString() string {
	u := a.uuid
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// anchor is the onPremisesImmutableId the mapping gives the account.
func (a *account) anchor() string { return base64.StdEncoding.EncodeToString(a.uuid[:]) }

func (a *account) upn() string { return a.uid + "@partners.contoso.com" }

// ldifRecord is the account as an LDIF record, without the blank line.
func (a *account) ldifRecord() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: uid=%s,ou=Partners,dc=example,dc=test\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s\n",
		a.uid, a.uid, a.cn, a.uid, a.mail)
	kind := "Partner"
	if a.former {
		kind = "Former partner"
	}
	fmt.Fprintf(&b, "employeeType: %s\nentryUUID: %s\n", kind, a.uuidString())
	if a.disabled {
		b.WriteString("description: disabled\n")
	}
	return b.String()
}

// tenant is an emulated tenant behind a loopback address that survives
// the emulator being swapped (to turn faults on and off: graphsim takes
// its faults when it is made, so the tenant moves to a new one through a
// snapshot) and being stopped and started again.
type tenant struct {
	t    *testing.T
	id   string
	addr string

	mu   sync.Mutex
	sim  *graphsim.Server
	hook func(w http.ResponseWriter, r *http.Request, serve func())
	srv  *http.Server
}

func newTenant(t *testing.T) *tenant {
	t.Helper()
	tn := &tenant{t: t, id: "7f6a4d3c-2b1a-4c5d-8e9f-" + fmt.Sprintf("%012x", rand.Uint64()&0xffffffffffff)}
	tn.sim = tn.newSim(faultSpec{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tn.addr = ln.Addr().String()
	tn.serve(ln)
	t.Cleanup(tn.stop)
	return tn
}

// faultSpec is what a scenario turns on in the emulator.
type faultSpec struct {
	faults   graphsim.Faults
	throttle bool // Graph's documented throttling, with budgets small enough to hit
}

func (f faultSpec) String() string {
	s := f.faults.String()
	if f.throttle {
		s += ",throttle"
	}
	return strings.TrimPrefix(s, ",")
}

// timeScale shortens the emulator's Retry-After, lag and throttling
// windows, so that a faulted run retries in milliseconds.
const timeScale = 200

func (tn *tenant) newSim(f faultSpec) *graphsim.Server {
	opts := graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}, TenantID: tn.id,
		TimeScale: timeScale, Faults: f.faults}
	if f.throttle {
		opts.Throttle = graphsim.ThrottleDocumented
		opts.Budgets = graphsim.Budgets{AppWrites: 40, ResourceUnits: 300}
	}
	return graphsim.New(opts)
}

// setFaults moves the tenant to an emulator with faults f.
func (tn *tenant) setFaults(f faultSpec) {
	tn.t.Helper()
	tn.mu.Lock()
	defer tn.mu.Unlock()
	snap, err := tn.sim.Snapshot()
	require.NoError(tn.t, err)
	next := tn.newSim(f)
	require.NoError(tn.t, next.LoadSnapshot(snap))
	tn.sim = next
}

// setHook intercepts every request; serve answers it. nil removes it.
func (tn *tenant) setHook(h func(w http.ResponseWriter, r *http.Request, serve func())) {
	tn.mu.Lock()
	tn.hook = h
	tn.mu.Unlock()
}

func (tn *tenant) current() *graphsim.Server {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	return tn.sim
}

func (tn *tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tn.mu.Lock()
	sim, hook := tn.sim, tn.hook
	tn.mu.Unlock()
	if hook == nil {
		sim.ServeHTTP(w, r)
		return
	}
	hook(w, r, func() { sim.ServeHTTP(w, r) })
}

func (tn *tenant) serve(ln net.Listener) {
	srv := &http.Server{Handler: tn, ReadHeaderTimeout: time.Minute}
	tn.mu.Lock()
	tn.srv = srv
	tn.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// stop closes the listener and every connection, as an emulator (or a
// network path to Graph) going away does; requests already read finish
// in the emulator, as they would in Graph.
func (tn *tenant) stop() {
	tn.mu.Lock()
	srv := tn.srv
	tn.srv = nil
	tn.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// start listens again on the same address.
func (tn *tenant) start() {
	tn.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the old socket may linger for a moment
		if ln, err = net.Listen("tcp", tn.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(tn.t, err, "listen again on %s", tn.addr)
	tn.serve(ln)
}

func (tn *tenant) url() string { return "http://" + tn.addr + "/v1.0" }

// admin sends one Graph request as another application would (an admin
// in the portal), straight to the emulator.
func (tn *tenant) admin(method, path, body string) (int, string) {
	req := httptest.NewRequest(method, "/v1.0"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer admin-portal")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	tn.current().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// user is one user of a tenant snapshot, with its JSON as the snapshot
// holds it, for byte-for-byte comparisons.
type user struct {
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties"`
	raw        string
	deleted    bool
}

func (u user) str(name string) string {
	s, _ := u.Properties[name].(string)
	return s
}

func (u user) enabled() bool {
	b, _ := u.Properties["accountEnabled"].(bool)
	return b
}

func (u user) owned() bool {
	ext, _ := u.Properties["onPremisesExtensionAttributes"].(map[string]any)
	s, _ := ext["extensionAttribute15"].(string)
	return s == "guestsync:"+owner
}

func (u user) anchor() string { return strings.ToLower(u.str("onPremisesImmutableId")) }

// snapshot is the tenant's users, active and deleted, by id.
type snapshot map[string]user

func (tn *tenant) snapshot() snapshot {
	tn.t.Helper()
	data, err := tn.current().Snapshot()
	require.NoError(tn.t, err)
	var raw struct {
		Users, DeletedUsers []json.RawMessage
	}
	require.NoError(tn.t, json.Unmarshal(data, &raw))
	snap := snapshot{}
	add := func(list []json.RawMessage, deleted bool) {
		for _, r := range list {
			var u user
			require.NoError(tn.t, json.Unmarshal(r, &u))
			u.raw, u.deleted = string(r), deleted
			snap[u.ID] = u
		}
	}
	add(raw.Users, false)
	add(raw.DeletedUsers, true)
	return snap
}

// world is one scenario's source, tenant, config and state, and the model
// of what the source holds: what the mapping says the tenant must become.
type world struct {
	t        *testing.T
	rng      *rand.Rand
	seed     uint64
	dir      string
	tn       *tenant
	cfg      string
	ldif     string
	env      map[string]string
	state    string
	accounts []*account
	nextUID  int
	// unowned are the users guestsync must never change (unmarked guests
	// and members, one holding the UPN of an account), as they were made.
	unowned map[string]string
	runs    int
}

// newWorld makes a world of n accounts, written as an LDIF export, and a
// tenant holding only the unowned users. extraConfig is added to the
// config (a policy section, or a source that is not the export).
func newWorld(t *testing.T, seed uint64, n int, extraConfig string) *world {
	t.Helper()
	w := &world{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), dir: t.TempDir(), tn: newTenant(t),
		env: map[string]string{}, unowned: map[string]string{}}
	w.ldif = filepath.Join(w.dir, "partners.ldif")
	w.state = filepath.Join(w.dir, "state", "state.json")
	require.NoError(t, os.WriteFile(filepath.Join(w.dir, "mapping.yaml"), []byte(faultMapping), 0o600))
	for range n {
		w.join()
	}
	w.writeLDIF()
	source := fmt.Sprintf("source: {kind: ldif}\nldif: {path: %q}\n", w.ldif)
	if strings.Contains(extraConfig, "source:") {
		source = ""
	}
	cfg := fmt.Sprintf("version: 1\n%smapping: {file: mapping.yaml}\n"+
		"graph: {url: %q, auth: emulator, owner: %s, writeBudget: 100000}\nstate: {file: %q}\n%s",
		source, w.tn.url(), owner, w.state, extraConfig)
	w.cfg = filepath.Join(w.dir, "guestsync.yaml")
	require.NoError(t, os.WriteFile(w.cfg, []byte(cfg), 0o600))
	w.seedUnowned()
	return w
}

// join adds a new partner account.
func (w *world) join() *account {
	w.nextUID++
	a := &account{uid: fmt.Sprintf("fp%04d", w.nextUID), cn: fmt.Sprintf("Partner %04d", w.nextUID),
		mail: fmt.Sprintf("fp%04d@fabrikam.example", w.nextUID)}
	sum := sha256.Sum256(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, w.seed), uint64(w.nextUID)))
	copy(a.uuid[:], sum[:16])
	w.accounts = append(w.accounts, a)
	return a
}

// seedUnowned creates users guestsync must leave alone: an unmarked guest,
// a member, and an unmarked guest that holds the UPN of one of the
// world's accounts (which the plan must skip, never take over).
func (w *world) seedUnowned() {
	w.t.Helper()
	squat := w.accounts[len(w.accounts)/2]
	squat.conflict = true
	for _, u := range []struct{ upn, kind, mail string }{
		{"vendor.unowned@partners.contoso.com", "Guest", "vendor@elsewhere.example"},
		{"alice.member@partners.contoso.com", "Member", "alice@contoso.example"},
		{squat.upn(), "Guest", "squatter@elsewhere.example"},
	} {
		nick := strings.NewReplacer("@", "_", ".", "_").Replace(strings.Split(u.upn, "@")[0])
		code, body := w.tn.admin(http.MethodPost, "/users", fmt.Sprintf(`{"accountEnabled": true, "displayName": "Unowned %s",
			"mailNickname": %q, "userPrincipalName": %q, "userType": %q, "mail": %q,
			"passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"}}`, nick, nick, u.upn, u.kind, u.mail))
		require.Equal(w.t, http.StatusCreated, code, body)
	}
	for id, u := range w.tn.snapshot() {
		w.unowned[id] = u.raw
	}
}

// writeLDIF writes the source as a complete export.
func (w *world) writeLDIF() {
	w.t.Helper()
	require.NoError(w.t, os.WriteFile(w.ldif, []byte(w.ldifText()), 0o600))
}

func (w *world) ldifText() string {
	var b strings.Builder
	b.WriteString("version: 1\n")
	for _, a := range w.accounts {
		b.WriteString("\n" + a.ldifRecord())
	}
	// A whole export ends its last record with an empty line, as
	// ldapsearch, slapcat and ldifde write it.
	b.WriteString("\n")
	return b.String()
}

// syncRun is one guestsync run and what it left behind.
type syncRun struct {
	args    []string
	code    int
	out     string
	stderr  string
	killed  bool
	metrics map[string]float64 // nil when no metrics file was written
	report  *runReport         // nil when no report was written
	started time.Time
	// lastSuccessBefore is the state file's last success before the run.
	lastSuccessBefore time.Time
}

type runReport struct {
	Summary map[string]int
	Applied bool
	Error   string
	Actions []struct {
		Kind   string
		Status string
	}
}

func (r *syncRun) String() string {
	return fmt.Sprintf("guestsync %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.out, r.stderr)
}

// outputs returns the paths of the n-th run's metrics file and report.
func (w *world) outputs() (string, string) {
	w.runs++
	return filepath.Join(w.dir, fmt.Sprintf("run%03d.prom", w.runs)), filepath.Join(w.dir, fmt.Sprintf("run%03d.report.json", w.runs))
}

// sync runs guestsync sync in-process with a metrics file and a report.
func (w *world) sync(args ...string) *syncRun {
	w.t.Helper()
	metrics, report := w.outputs()
	args = append([]string{"sync", "--config", w.cfg, "--metrics-file", metrics, "--report", report, "--log-level", "warn"}, args...)
	r := &syncRun{args: args, started: time.Now().Truncate(time.Second), lastSuccessBefore: state.LastSuccess(w.state)}
	r.code, r.out, r.stderr = guestsync(w.t, w.env, args...)
	r.readOutputs(w.t, metrics, report)
	if os.Getenv("GUESTSYNC_FAULTS_VERBOSE") == "1" {
		w.t.Logf("run %d: %s", w.runs, r)
	}
	return r
}

var metricLine = regexp.MustCompile(`^([a-z_]+(?:\{[^}]*\})?) (\S+)$`)

func (r *syncRun) readOutputs(t *testing.T, metrics, report string) {
	t.Helper()
	if data, err := os.ReadFile(metrics); err == nil {
		r.metrics = map[string]float64{}
		for _, line := range strings.Split(string(data), "\n") {
			if m := metricLine.FindStringSubmatch(line); m != nil {
				v, err := strconv.ParseFloat(m[2], 64)
				require.NoError(t, err, line)
				r.metrics[m[1]] = v
			}
		}
	}
	if data, err := os.ReadFile(report); err == nil {
		r.report = &runReport{}
		require.NoError(t, json.Unmarshal(data, r.report), "report %s", report)
	}
}

// readKind is what a scenario knows about the read the run was given.
type readKind int

const (
	readGood readKind = iota // complete and non-empty: absence may remove
	readBad                  // incomplete, empty, malformed or failed: nothing may be removed
)

// check asserts the invariants of one run: before is the tenant as the
// run found it. It does not converge; checkScenario does.
func (w *world) check(r *syncRun, before snapshot, read readKind) {
	w.t.Helper()
	after := w.tn.snapshot()
	w.checkNoDuplicates(after)
	w.checkUnowned(after)
	w.checkRemovals(before, after, read)
	w.checkOutputs(r)
}

// checkNoDuplicates: no two users share an anchor or a UPN.
func (w *world) checkNoDuplicates(snap snapshot) {
	w.t.Helper()
	anchors, upns := map[string][]string{}, map[string][]string{}
	for id, u := range snap {
		if u.deleted {
			continue
		}
		if a := u.anchor(); a != "" {
			anchors[a] = append(anchors[a], id)
		}
		upns[strings.ToLower(u.str("userPrincipalName"))] = append(upns[strings.ToLower(u.str("userPrincipalName"))], id)
	}
	for a, ids := range anchors {
		assert.Len(w.t, ids, 1, "seed %d: users %v share the anchor %s", w.seed, ids, a)
	}
	for upn, ids := range upns {
		assert.Len(w.t, ids, 1, "seed %d: users %v share the UPN %s", w.seed, ids, upn)
	}
}

// checkUnowned: every unowned user is as it was made, byte for byte.
func (w *world) checkUnowned(snap snapshot) {
	w.t.Helper()
	for id, raw := range w.unowned {
		u, ok := snap[id]
		if assert.True(w.t, ok, "seed %d: unowned user %s is gone", w.seed, id) {
			assert.Equal(w.t, raw, u.raw, "seed %d: unowned user %s was changed", w.seed, id)
		}
	}
}

// checkRemovals: a guest whose account the source still wants enabled is
// never disabled or deleted; after a bad read, no guest is.
func (w *world) checkRemovals(before, after snapshot, read readKind) {
	w.t.Helper()
	wanted := map[string]*account{}
	for _, a := range w.accounts {
		if !a.former && !a.conflict {
			wanted[strings.ToLower(a.anchor())] = a
		}
	}
	for id, b := range before {
		if b.deleted || !b.owned() || !b.enabled() {
			continue
		}
		a, isWanted := wanted[b.anchor()]
		if (!isWanted || a.disabled) && read == readGood {
			continue // the source no longer wants it enabled: removal is allowed
		}
		if isWanted && a.disabled {
			continue // an update to disabled is the mapping's, not a removal
		}
		u, ok := after[id]
		if assert.True(w.t, ok && !u.deleted, "seed %d: guest %s (%s) was deleted%s", w.seed, id, b.str("userPrincipalName"), readNote(read)) {
			assert.True(w.t, u.enabled(), "seed %d: guest %s (%s) was disabled%s", w.seed, id, b.str("userPrincipalName"), readNote(read))
		}
	}
}

func readNote(read readKind) string {
	if read == readBad {
		return " after a read that was not complete and non-empty"
	}
	return " while its account is still wanted"
}

// checkOutputs: the exit code, the metrics and the report tell the same
// story; the last-success time moves only on success.
func (w *world) checkOutputs(r *syncRun) {
	w.t.Helper()
	if r.killed {
		return // a killed run writes nothing of its own
	}
	require.NotNil(w.t, r.metrics, "seed %d: no metrics file\n%s", w.seed, r)
	require.NotNil(w.t, r.report, "seed %d: no report\n%s", w.seed, r)
	assert.Contains(w.t, []int{exitOK, exitFailed, exitRail, 4}, r.code, "seed %d: %s", w.seed, r)
	success := r.metrics["guestsync_run_success"]
	assert.Equal(w.t, r.code == exitOK, success == 1, "seed %d: exit %d but guestsync_run_success %g\n%s", w.seed, r.code, success, r)
	failed := 0.0
	for k, v := range r.metrics {
		if strings.HasPrefix(k, "guestsync_actions{") && strings.Contains(k, `status="failed"`) {
			failed += v
		}
	}
	assert.Equal(w.t, float64(r.report.Summary["failed"]), failed, "seed %d: the report and the metrics count failed actions alike", w.seed)
	if r.code == exitOK {
		assert.Empty(w.t, r.report.Error, "seed %d: a run that exits 0 reports no error", w.seed)
		assert.Zero(w.t, r.report.Summary["failed"], "seed %d: a run that exits 0 has no failed action\n%s", w.seed, r)
	} else {
		assert.True(w.t, r.report.Error != "" || r.report.Summary["failed"] > 0,
			"seed %d: a run that exits %d says why in its report\n%s", w.seed, r.code, r)
	}
	last := r.metrics["guestsync_last_success_timestamp_seconds"]
	if r.code == exitOK {
		assert.GreaterOrEqual(w.t, last, float64(r.started.Unix()), "seed %d: a successful run moves the last success", w.seed)
		assert.True(w.t, !state.LastSuccess(w.state).Before(r.started), "seed %d: the state file records the success", w.seed)
	} else {
		prev := 0.0
		if !r.lastSuccessBefore.IsZero() {
			prev = float64(r.lastSuccessBefore.Unix())
		}
		assert.Equal(w.t, prev, last, "seed %d: a failed run leaves the last success alone\n%s", w.seed, r)
	}
}

// converge runs sync with faults off and requires exit 0, a tenant that is
// what the mapping says it should be, and a further run with zero writes.
func (w *world) converge() {
	w.t.Helper()
	w.tn.setHook(nil)
	w.tn.setFaults(faultSpec{})
	before := w.tn.snapshot()
	r := w.sync()
	require.Equal(w.t, exitOK, r.code, "seed %d: the run after the faults converges\n%s", w.seed, r)
	w.check(r, before, readGood)
	w.checkTenant()
	writes := w.tn.current().Stats().Writes
	r = w.sync()
	require.Equal(w.t, exitOK, r.code, "seed %d: %s", w.seed, r)
	assert.Contains(w.t, r.out, "No changes", "seed %d: a further run has nothing to do\n%s", w.seed, r)
	assert.Equal(w.t, writes, w.tn.current().Stats().Writes, "seed %d: a further run makes zero writes\n%s", w.seed, r)
}

// checkTenant: every account in scope has exactly one owned guest, as the
// mapping maps it; every other owned guest is disabled or deleted; no
// owned guest of an account in scope waits in the recycle bin beside it.
func (w *world) checkTenant() {
	w.t.Helper()
	snap := w.tn.snapshot()
	byAnchor := map[string][]user{}
	for _, u := range snap {
		if u.owned() {
			byAnchor[u.anchor()] = append(byAnchor[u.anchor()], u)
		}
	}
	wanted := map[string]bool{}
	for _, a := range w.accounts {
		if a.former {
			continue
		}
		key := strings.ToLower(a.anchor())
		wanted[key] = true
		us := byAnchor[key]
		if a.conflict {
			assert.Empty(w.t, us, "seed %d: %s's UPN is an unowned guest's: no guest of its own", w.seed, a.uid)
			continue
		}
		if !assert.Len(w.t, us, 1, "seed %d: account %s has one guest (active or deleted)", w.seed, a.uid) {
			continue
		}
		u := us[0]
		assert.False(w.t, u.deleted, "seed %d: %s's guest is active", w.seed, a.uid)
		assert.Equal(w.t, a.upn(), u.str("userPrincipalName"), "seed %d: %s", w.seed, a.uid)
		assert.Equal(w.t, a.cn, u.str("displayName"), "seed %d: %s", w.seed, a.uid)
		assert.Equal(w.t, a.mail, u.str("mail"), "seed %d: %s", w.seed, a.uid)
		assert.Equal(w.t, a.uid, u.str("mailNickname"), "seed %d: %s", w.seed, a.uid)
		assert.Equal(w.t, "Guest", u.str("userType"), "seed %d: %s", w.seed, a.uid)
		assert.Equal(w.t, !a.disabled, u.enabled(), "seed %d: %s's accountEnabled", w.seed, a.uid)
	}
	for key, us := range byAnchor {
		if wanted[key] {
			continue
		}
		for _, u := range us {
			if !u.deleted {
				assert.False(w.t, u.enabled(), "seed %d: %s has left: its guest is disabled", w.seed, u.str("userPrincipalName"))
			}
		}
	}
}

// shiftClock moves every time the state file remembers by d: a negative d
// is the clock jumping forward by -d, a positive one backward.
func (w *world) shiftClock(d time.Duration) {
	w.t.Helper()
	data, err := os.ReadFile(w.state)
	require.NoError(w.t, err)
	var v any
	require.NoError(w.t, json.Unmarshal(data, &v))
	var shift func(any) any
	shift = func(x any) any {
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = shift(e)
			}
		case []any:
			for i, e := range x {
				x[i] = shift(e)
			}
		case string:
			if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return t.Add(d).Format(time.RFC3339Nano)
			}
		}
		return x
	}
	out, err := json.MarshalIndent(shift(v), "", "  ")
	require.NoError(w.t, err)
	require.NoError(w.t, os.WriteFile(w.state, out, 0o600))
}

// ownedActive returns the owned guests in the tenant, sorted by UPN.
func (w *world) ownedActive() []user {
	var us []user
	for _, u := range w.tn.snapshot() {
		if u.owned() && !u.deleted {
			us = append(us, u)
		}
	}
	sort.Slice(us, func(i, j int) bool { return us[i].str("userPrincipalName") < us[j].str("userPrincipalName") })
	return us
}

// change makes the source's changes of one night: accounts join, leave,
// come back, are renamed, disabled and enabled.
func (w *world) change(joins, leaves, renames, flips int) {
	for range joins {
		w.join()
	}
	pick := func() *account {
		for range 20 {
			if a := w.accounts[w.rng.IntN(len(w.accounts))]; !a.conflict {
				return a
			}
		}
		return nil
	}
	for range leaves {
		a := pick()
		if a == nil {
			continue
		}
		if w.rng.IntN(3) == 0 {
			a.former = !a.former // out of the scope, or back
		} else if len(w.accounts) > 2 {
			w.accounts = slices.DeleteFunc(w.accounts, func(x *account) bool { return x == a })
		}
	}
	for range renames {
		if a := pick(); a != nil {
			w.nextUID++
			a.uid = fmt.Sprintf("fp%04d-r", w.nextUID)
			a.cn = fmt.Sprintf("Renamed Partner %04d", w.nextUID)
		}
	}
	for range flips {
		if a := pick(); a != nil {
			a.disabled = !a.disabled
		}
	}
	w.writeLDIF()
}

// tamper makes an admin's changes in the tenant: guests edited, disabled,
// deleted and restored.
func (w *world) tamper(edits, deletes, restores int) {
	w.t.Helper()
	owned := w.ownedActive()
	for i := 0; i < edits && len(owned) > 0; i++ {
		u := owned[w.rng.IntN(len(owned))]
		body := `{"displayName": "Edited by an admin"}`
		if w.rng.IntN(2) == 0 {
			body = `{"accountEnabled": false, "jobTitle": "Set in the portal"}`
		}
		code, resp := w.tn.admin(http.MethodPatch, "/users/"+u.ID, body)
		require.Equal(w.t, http.StatusNoContent, code, resp)
	}
	for i := 0; i < deletes && len(owned) > 0; i++ {
		j := w.rng.IntN(len(owned))
		code, resp := w.tn.admin(http.MethodDelete, "/users/"+owned[j].ID, "")
		require.Equal(w.t, http.StatusNoContent, code, resp)
		owned = slices.Delete(owned, j, j+1)
	}
	var deleted []user
	for _, u := range w.tn.snapshot() {
		if u.deleted && u.owned() {
			deleted = append(deleted, u)
		}
	}
	sort.Slice(deleted, func(i, j int) bool { return deleted[i].ID < deleted[j].ID })
	for i := 0; i < restores && len(deleted) > 0; i++ {
		j := w.rng.IntN(len(deleted))
		code, resp := w.tn.admin(http.MethodPost, "/directory/deletedItems/"+deleted[j].ID+"/restore", "")
		// A restore can clash with a guest that took its UPN since; the
		// admin's restore then fails, as in the portal.
		require.Contains(w.t, []int{http.StatusOK, http.StatusBadRequest, http.StatusConflict}, code, resp)
		deleted = slices.Delete(deleted, j, j+1)
	}
}

// baseline syncs the world once, faults off, and checks it converged.
func (w *world) baseline() {
	w.t.Helper()
	w.converge()
}

// faultScenarios are the emulator's faults, alone and mixed.
func faultScenarios() []struct {
	name string
	spec faultSpec
} {
	return []struct {
		name string
		spec faultSpec
	}{
		{"500", faultSpec{faults: graphsim.Faults{InternalError: 0.3}}},
		{"503", faultSpec{faults: graphsim.Faults{Unavailable: 0.3}}},
		{"504", faultSpec{faults: graphsim.Faults{GatewayTimeout: 0.3}}},
		{"drop", faultSpec{faults: graphsim.Faults{Drop: 0.15}}},
		{"latency", faultSpec{faults: graphsim.Faults{Latency: 15 * time.Millisecond}}},
		{"lag", faultSpec{faults: graphsim.Faults{Lag: 4 * time.Second}}}, // 20 ms of wall time
		{"throttle", faultSpec{throttle: true}},
		{"mixed", faultSpec{faults: graphsim.Faults{InternalError: 0.1, Unavailable: 0.1, GatewayTimeout: 0.1, Drop: 0.05,
			Latency: 2 * time.Millisecond, Lag: 4 * time.Second}, throttle: true}},
		// Heavier, but not so heavy that the client's backoff (doubling
		// to 30 s) makes the run take minutes.
		{"mixed-heavy", faultSpec{faults: graphsim.Faults{InternalError: 0.15, Unavailable: 0.15, GatewayTimeout: 0.15, Drop: 0.05,
			Lag: 10 * time.Second}}},
	}
}

// seedFor returns the seed of a test: GUESTSYNC_FAULTS_SEED, or a random
// one, logged so that a failure can be replayed.
func seedFor(t *testing.T, env string) uint64 {
	t.Helper()
	if s := os.Getenv(env); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "%s=%s", env, s)
		t.Logf("seed %d (from %s)", seed, env)
		return seed
	}
	seed := rand.Uint64() >> 1
	t.Logf("seed %d (replay with %s=%d)", seed, env, seed)
	return seed
}

// TestFaultsEmulator runs a night of changes on both sides under every
// fault the emulator injects, alone and mixed, and checks the invariants
// after the faulted run and after the run that follows with faults off.
func TestFaultsEmulator(t *testing.T) {
	t.Parallel()
	base := seedFor(t, "GUESTSYNC_FAULTS_SEED")
	for i, sc := range faultScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			seed := base + uint64(i)
			w := newWorld(t, seed, 60, "")
			w.baseline()
			w.change(8, 4, 3, 3)
			w.tamper(3, 2, 0)
			f := sc.spec
			f.faults.Seed = seed | 1
			w.tn.setFaults(f)
			before := w.tn.snapshot()
			r := w.sync()
			t.Logf("faults %s: exit %d, %d faults injected, %d throttled", f, r.code, w.tn.current().Stats().Faults, w.tn.current().Stats().Throttled)
			if r.code != exitOK {
				t.Logf("the faulted run:\n%s", r)
			}
			w.check(r, before, readGood)
			w.converge()
		})
	}
}

// TestFaultsLDIF feeds exports that are cut, empty or malformed: each is a
// read that must not be trusted, so the run fails, removes nothing, and
// says so in its exit code, metrics and report; the next good export
// converges.
func TestFaultsLDIF(t *testing.T) {
	t.Parallel()
	base := seedFor(t, "GUESTSYNC_FAULTS_SEED")
	// damage returns the export made from a good one; the cuts fall in
	// the record after the first third, so that every account after it
	// would count as gone.
	type damage func(good string) string
	cutAt := func(find func(rest string) int) damage {
		return func(good string) string {
			from := len(good) / 3
			i := strings.Index(good[from:], "\ndn: ")
			return good[:from+i+1+find(good[from+i+1:])]
		}
	}
	// A cut or empty export is a read guestsync refuses (4); one that
	// does not parse fails the read (1).
	tests := []struct {
		name string
		want int // the exit code
		bad  damage
	}{
		{"truncated-mid-value", exitRefused, cutAt(func(r string) int { return strings.Index(r, "\ncn: ") + len("\ncn: Par") })},
		{"truncated-mid-name", exitRefused, cutAt(func(r string) int { return strings.Index(r, "\nmail: ") + len("\nma") })},
		{"truncated-after-dn", exitRefused, cutAt(func(r string) int { return strings.Index(r, "\n") + 1 })},
		{"truncated-mid-base64", exitRefused, func(good string) string {
			// A value in base64 (an ldifde export's non-ASCII names), cut
			// inside it.
			from := len(good) / 3
			i := from + strings.Index(good[from:], "\ncn: ")
			value := base64.StdEncoding.EncodeToString([]byte("Zoë Lefèvre-Grünewald of Société Générale"))
			return good[:i] + "\ncn:: " + value[:len(value)/2]
		}},
		{"truncated-in-continuation", exitRefused, func(good string) string {
			// A long value folded over lines (RFC 2849), cut after a
			// folded line.
			from := len(good) / 3
			i := from + strings.Index(good[from:], "\ncn: ")
			return good[:i] + "\ncn: Partner with a very long name that an export folds\n over several lines because it is lo\n"
		}},
		{"empty-file", exitRefused, func(string) string { return "" }},
		{"version-only", exitRefused, func(string) string { return "version: 1\n" }},
		{"malformed-line", exitFailed, func(good string) string {
			i := len(good) / 2
			j := i + strings.Index(good[i:], "\n")
			return good[:j+1] + "this line has no colon\n" + good[j+1:]
		}},
		{"malformed-base64", exitFailed, func(good string) string {
			return strings.Replace(good, "\ncn: Partner 0030\n", "\ncn:: not*base64!\n", 1)
		}},
		{"binary-garbage", exitFailed, func(good string) string {
			return good[:len(good)/2] + "\x00\xff\xfe garbage \x00\n" + good[len(good)/2:]
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seed := base + uint64(i)
			w := newWorld(t, seed, 60, "")
			w.baseline()
			good := w.ldifText()
			require.NoError(t, os.WriteFile(w.ldif, []byte(tt.bad(good)), 0o600))
			before := w.tn.snapshot()
			writes := w.tn.current().Stats().Writes
			r := w.sync()
			assert.Equal(t, tt.want, r.code, "seed %d: a damaged export fails the run\n%s", seed, r)
			w.check(r, before, readBad)
			assert.Equal(t, writes, w.tn.current().Stats().Writes, "seed %d: a damaged export changes nothing\n%s", seed, r)
			w.writeLDIF()
			w.converge()
		})
	}
}

// TestFaultsEmulatorStoppedMidApply stops the emulator (closes its
// listener and every connection) while the second batch of writes is
// being answered: the run fails and says so; with the emulator back, the
// next run converges.
func TestFaultsEmulatorStoppedMidApply(t *testing.T) {
	t.Parallel()
	seed := seedFor(t, "GUESTSYNC_FAULTS_SEED")
	w := newWorld(t, seed, 30, "")
	w.baseline()
	w.change(70, 5, 3, 2)
	w.tamper(2, 2, 0)
	var batches int
	var mu sync.Mutex
	w.tn.setHook(func(rw http.ResponseWriter, r *http.Request, serve func()) {
		mu.Lock()
		if strings.HasSuffix(r.URL.Path, "/$batch") {
			batches++
			if batches == 2 {
				// Stopped while this batch is answered, back a moment
				// later: the run's retries meet a tenant that is gone.
				go func() {
					w.tn.stop()
					time.Sleep(time.Second)
					w.tn.start()
				}()
			}
		}
		mu.Unlock()
		serve()
	})
	before := w.tn.snapshot()
	r := w.sync()
	w.tn.setHook(nil)
	t.Logf("the run whose tenant went away: exit %d", r.code)
	w.check(r, before, readGood)
	w.converge()
}

// TestFaultsClockJump: the clock jumps forward past policy.deleteAfter
// (the disabled guest is deleted, nothing else), then backward (no
// deletion, no failure; a newly gone account is disabled).
func TestFaultsClockJump(t *testing.T) {
	t.Parallel()
	seed := seedFor(t, "GUESTSYNC_FAULTS_SEED")
	w := newWorld(t, seed, 40, "policy: {deleteAfter: 72h}\n")
	w.baseline()
	gone := w.accounts[3]
	w.accounts = slices.Delete(w.accounts, 3, 4)
	w.writeLDIF()
	w.converge() // gone's guest is disabled, its clock starts
	disabled := w.ownedActive()
	assert.Len(t, disabled, len(w.accounts)-1+1, "every account's guest, and gone's disabled one")

	// Forward past deleteAfter: gone's guest is deleted.
	w.shiftClock(-73 * time.Hour)
	before := w.tn.snapshot()
	r := w.sync()
	require.Equal(t, exitOK, r.code, "seed %d: %s", seed, r)
	assert.Contains(t, r.out, "- delete guest "+gone.upn(), "seed %d", seed)
	w.check(r, before, readGood)
	w.converge()

	// Backward by two days: the remembered times are in the future. A
	// newly gone account is disabled, and nothing is deleted.
	w.shiftClock(48 * time.Hour)
	gone2 := w.accounts[5]
	w.accounts = slices.Delete(w.accounts, 5, 6)
	w.writeLDIF()
	before = w.tn.snapshot()
	r = w.sync()
	require.Equal(t, exitOK, r.code, "seed %d: %s", seed, r)
	assert.Contains(t, r.out, "- disable guest "+gone2.upn(), "seed %d", seed)
	assert.NotContains(t, r.out, "- delete guest", "seed %d: a clock that went back deletes nothing", seed)
	w.check(r, before, readGood)
	w.converge()
	// And forward again by less than deleteAfter since gone2 left: not
	// deleted yet.
	w.shiftClock(-71 * time.Hour)
	r = w.sync()
	require.Equal(t, exitOK, r.code, "seed %d: %s", seed, r)
	assert.NotContains(t, r.out, "- delete guest "+gone2.upn(), "seed %d: the grace period is not over", seed)
}

// TestFaultsDiskFullStateWrite fills the state file's file system (a small
// tmpfs) before a run that has changes to apply: the run applies them,
// cannot save its state, fails with a message that says so, and leaves the
// old state file whole; with space again, the next run converges.
func TestFaultsDiskFullStateWrite(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("mounting a tmpfs needs root, and CI may not skip the disk-full scenario")
		}
		t.Skip("mounting a tmpfs needs root")
	}
	seed := seedFor(t, "GUESTSYNC_FAULTS_SEED")
	mnt := t.TempDir()
	if out, err := command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount tmpfs: %v: %s", err, out)
		}
		t.Skipf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := command("umount", mnt); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	w := newWorld(t, seed, 40, "")
	// The state lives on the tmpfs.
	cfg, err := os.ReadFile(w.cfg)
	require.NoError(t, err)
	newState := filepath.Join(mnt, "state.json")
	require.NoError(t, os.WriteFile(w.cfg, bytes.Replace(cfg, []byte(w.state), []byte(newState), 1), 0o600))
	w.state = newState
	w.baseline()
	old, err := os.ReadFile(w.state)
	require.NoError(t, err)

	w.change(10, 3, 2, 1)
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	require.NoError(t, err)
	page := bytes.Repeat([]byte{'x'}, 4096)
	for {
		if _, err := f.Write(page); err != nil {
			break
		}
	}
	require.NoError(t, f.Sync())
	// One page free: room for the lock, not for the state.
	st, err := f.Stat()
	require.NoError(t, err)
	require.NoError(t, f.Truncate(st.Size()-4096))
	require.NoError(t, f.Close())

	before := w.tn.snapshot()
	r := w.sync()
	assert.Equal(t, exitFailed, r.code, "seed %d: a state that cannot be saved fails the run\n%s", seed, r)
	assert.Contains(t, r.stderr, "save state", "seed %d", seed)
	w.check(r, before, readGood)
	now, err := os.ReadFile(w.state)
	require.NoError(t, err, "the old state file is still there")
	assert.Equal(t, string(old), string(now), "seed %d: the old state file is left whole", seed)
	require.NoError(t, os.Remove(filler))
	w.converge()
}

// command runs a command and returns its combined output.
func command(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
