package ldap

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guestsync/guestsync/pkg/source"
)

// BenchmarkReadVsLdapsearch reads every partner from the harness's slapd
// with guestsync's reader and with `ldapsearch -E pr=1000/noprompt` on the
// same server, filter and page size, and reports both throughputs, their
// ratio (the target is guestsync ≥ 0.9 × ldapsearch) and the reader's peak
// heap. `make bench` runs it against 100,000 entries.
func BenchmarkReadVsLdapsearch(b *testing.B) {
	env := needSlapd(b)
	if _, err := exec.LookPath("ldapsearch"); err != nil {
		b.Skip("ldapsearch is not installed")
	}
	cfg := env.partners()
	cfg.PageSize = 1000
	r, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	pwFile := filepath.Join(b.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(env.password), 0o600); err != nil {
		b.Fatal(err)
	}

	// ldapsearch: best of three full runs, output discarded, as a user
	// would run it (-LLL, the same filter, every user attribute).
	var lsBest time.Duration
	var lsEntries int
	for i := 0; i < 3; i++ {
		cmd := exec.Command("ldapsearch", "-x", "-H", env.url, "-D", env.bindDN, "-y", pwFile,
			"-b", cfg.BaseDN, "-s", "sub", "-E", "pr=1000/noprompt", "-LLL", cfg.Filter, "*", "entryUUID")
		start := time.Now()
		out, err := cmd.Output()
		d := time.Since(start)
		if err != nil {
			b.Fatalf("ldapsearch: %v", err)
		}
		lsEntries = strings.Count("\n"+string(out), "\ndn:") // "dn: " and base64 "dn:: "
		if lsBest == 0 || d < lsBest {
			lsBest = d
		}
	}

	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // sample the heap while the reader runs
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	var best time.Duration
	entries := 0
	for b.Loop() {
		start := time.Now()
		res, err := r.Read(context.Background(), func(source.Entry) error { return nil })
		d := time.Since(start)
		if err != nil || !res.Complete {
			b.Fatalf("%+v, %v", res, err)
		}
		entries = res.Entries
		if best == 0 || d < best {
			best = d
		}
	}
	close(stop)
	<-done
	if entries != lsEntries {
		b.Fatalf("guestsync read %d entries, ldapsearch %d", entries, lsEntries)
	}
	gs := float64(entries) / best.Seconds()
	ls := float64(lsEntries) / lsBest.Seconds()
	b.ReportMetric(float64(entries), "entries")
	b.ReportMetric(gs, "guestsync-entries/s")
	b.ReportMetric(ls, "ldapsearch-entries/s")
	b.ReportMetric(gs/ls, "ratio")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}
