package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/graphsim"
	"github.com/guestsync/guestsync/pkg/mapping"
	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/source/ldap"
)

// BenchmarkNoChangeRun is the reconcile benchmark of `make bench`: every
// partner of the harness's slapd (100,000 there) already has its guest in
// the emulated tenant; a full sync must make zero writes. It reports the
// wall time, its split into list (the tenant), read, map and plan, and
// guestsync's peak memory (the peak RSS, VmHWM, of the guestsync process;
// the emulator runs in this one). Then 100 accounts change and a sync with
// incremental reads on both sides (entryCSN; users/delta) reports its time
// as a share of the full run's. Targets: ≤ 300 MB, ≤ 10 %.
//
//	make bench    (or: GUESTSYNC_BENCH=1 .ci/with-testservers go test -run '^$' -bench NoChangeRun ./cmd/guestsync)
func BenchmarkNoChangeRun(b *testing.B) {
	if os.Getenv("GUESTSYNC_BENCH") == "" {
		b.Skip("set GUESTSYNC_BENCH=1 (make bench)")
	}
	s := slapdEnv(b)
	url, base := s["URL"], s["BASEDN"]
	dir := b.TempDir()
	mappingPath := filepath.Join(dir, "mapping.yaml")
	must(b, os.WriteFile(mappingPath, []byte(slapdMapping), 0o600))
	m, err := mapping.Load(mappingPath)
	must(b, err)
	readerCfg := ldap.Config{URL: url, BindDN: s["BINDDN"], BindPassword: s["PASSWORD"],
		AllowInsecureBind: true, BaseDN: "ou=Partners," + base, Filter: "(employeeType=Partner)", PageSize: 1000, Timeout: time.Minute}

	// The tenant: one guest per partner, as guestsync would have made it.
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}})
	must(b, sim.LoadSnapshot(seedTenant(b, readerCfg, m)))
	srv := httptest.NewServer(sim)
	defer srv.Close()

	cfg := filepath.Join(dir, "guestsync.yaml")
	must(b, os.WriteFile(cfg, []byte(fmt.Sprintf(`version: 1
source: {kind: ldap}
ldap: {url: %q, allowInsecureBind: true, bindDN: %q, baseDN: %q, filter: (employeeType=Partner), pageSize: 1000}
mapping: {file: mapping.yaml}
graph: {url: %q, auth: emulator, writeBudget: 100000}
state: {file: state.json}
`, url, readerCfg.BindDN, readerCfg.BaseDN, srv.URL+"/v1.0")), 0o600))

	for b.Loop() {
		must(b, os.RemoveAll(filepath.Join(dir, "state.json")))
		writes := sim.Stats().Writes
		full := runMeasured(b, cfg, dir, s["PASSWORD"])
		if w := sim.Stats().Writes - writes; w != 0 {
			b.Fatalf("the no-change run made %d writes", w)
		}

		changeAccounts(b, s, 100)
		writes = sim.Stats().Writes
		incr := runMeasured(b, cfg, dir, s["PASSWORD"])
		if w := sim.Stats().Writes - writes; w != 100 {
			b.Fatalf("the incremental run made %d writes, want 100", w)
		}
		b.ReportMetric(full.wall.Seconds(), "full-s")
		for _, ph := range []string{"read", "map", "list", "plan", "state"} {
			b.ReportMetric(full.phases[ph], ph+"-s")
		}
		b.ReportMetric(float64(full.maxRSS)/(1<<20), "peak-RSS-MB")
		b.ReportMetric(incr.wall.Seconds(), "incremental-s")
		for _, ph := range []string{"read", "list", "plan", "apply", "state"} {
			b.ReportMetric(incr.phases[ph], "incremental-"+ph+"-s")
		}
		b.ReportMetric(100*incr.wall.Seconds()/full.wall.Seconds(), "incremental-%")
		b.ReportMetric(float64(incr.maxRSS)/(1<<20), "incremental-RSS-MB")
	}
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

type measured struct {
	wall   time.Duration
	maxRSS int64 // bytes
	phases map[string]float64
}

// runMeasured runs `guestsync sync` as a process of its own (see
// TestMain) and measures it.
func runMeasured(b *testing.B, cfg, dir, bindPassword string) measured {
	b.Helper()
	metrics := filepath.Join(dir, "run.prom")
	cmd := exec.Command(os.Args[0], "sync", "--config", cfg, "--log-level", "warn", "--metrics-file", metrics)
	peakFile := filepath.Join(dir, "peak")
	cmd.Env = childEnv("GUESTSYNC_TEST_PEAK_FILE="+peakFile,
		"GUESTSYNC_LDAP_BINDPASSWORD="+bindPassword)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("sync: %v\n%s", err, out)
	}
	m := measured{wall: wall, phases: map[string]float64{}}
	peak, err := os.ReadFile(peakFile) // "123456 kB"
	must(b, err)
	kb, err := strconv.ParseInt(strings.TrimSuffix(string(peak), " kB"), 10, 64)
	must(b, err)
	m.maxRSS = kb * 1024
	data, err := os.ReadFile(metrics)
	must(b, err)
	re := regexp.MustCompile(`guestsync_phase_duration_seconds\{phase="(\w+)"\} (\S+)`)
	for _, sm := range re.FindAllStringSubmatch(string(data), -1) {
		m.phases[sm[1]], _ = strconv.ParseFloat(sm[2], 64)
	}
	return m
}

// seedTenant maps every partner and returns an emulator snapshot with one
// owned guest per partner, carrying exactly the mapped values.
func seedTenant(b *testing.B, cfg ldap.Config, m *mapping.Mapping) []byte {
	b.Helper()
	r, err := ldap.New(cfg, nil)
	must(b, err)
	type user struct {
		ID         string         `json:"id"`
		Seq        uint64         `json:"seq"`
		Changed    uint64         `json:"changed"`
		Properties map[string]any `json:"properties"`
	}
	var users []user
	_, err = r.Read(context.Background(), func(e source.Entry) error {
		res := m.Map(e)
		if !res.InScope || res.Err != nil {
			return nil
		}
		n := uint64(len(users) + 1)
		props := map[string]any{"userType": "Guest", "onPremisesImmutableId": res.Account.Anchor,
			"onPremisesExtensionAttributes": map[string]any{"extensionAttribute15": "guestsync:default"}}
		for k, v := range res.Account.Properties {
			props[k] = v
			if k == "accountEnabled" {
				props[k] = strings.EqualFold(v, "true")
			}
		}
		users = append(users, user{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), Seq: n, Changed: n, Properties: props})
		return nil
	})
	must(b, err)
	snap, err := json.Marshal(map[string]any{"version": 1, "changeSeq": len(users), "users": users})
	must(b, err)
	return snap
}

// changeAccounts gives n partners a new cn (so a new displayName), as the
// slapd admin.
func changeAccounts(b *testing.B, s map[string]string, n int) {
	b.Helper()
	conn, err := goldap.DialURL(s["URL"])
	must(b, err)
	defer conn.Close()
	must(b, conn.Bind(s["ADMINDN"], s["ADMINPASSWORD"]))
	stamp := time.Now().Format("150405.000000")
	for i := 1; i <= n; i++ {
		req := goldap.NewModifyRequest(fmt.Sprintf("uid=partner%05d,ou=Partners,%s", i*7, s["BASEDN"]), nil)
		req.Replace("cn", []string{fmt.Sprintf("Partner %d (changed %s)", i, stamp)})
		must(b, conn.Modify(req))
	}
}
