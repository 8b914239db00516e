package main

import (
	"os"
	"os/exec"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// BenchmarkShadowSync is the guests-to-shadows benchmark of `make bench`:
// a first sync of 10,000 guests of the emulated tenant into an empty OU of
// the harness's Samba AD DC, then a full sync that finds nothing to do.
// It reports each run's wall time and its shadows per second. guestsync
// runs as a process of its own (see TestMain); the emulator runs in this
// one.
//
//	make bench    (or: GUESTSYNC_BENCH=1 .ci/with-testservers go test -run '^$' -bench ShadowSync ./cmd/guestsync)
func BenchmarkShadowSync(b *testing.B) {
	if os.Getenv("GUESTSYNC_BENCH") == "" {
		b.Skip("set GUESTSYNC_BENCH=1 (make bench)")
	}
	const n = 10000
	for b.Loop() {
		w := newShadowWorld(b)
		b.Cleanup(w.deleteShadows) // before the OUs go
		w.plainGuests(n)

		first := w.timedSync(b)
		if got := len(w.search(w.ou, goldap.ScopeSingleLevel, "(objectClass=user)", "1.1")); got != n {
			b.Fatalf("the first sync made %d shadows, want %d", got, n)
		}
		usn := w.highestUSN()
		again := w.timedSync(b, "--full")
		if changed := w.changedSince(usn); len(changed) > 0 {
			b.Fatalf("the no-change run wrote %d objects, such as %s", len(changed), changed[0])
		}
		b.Logf("%d shadows: first sync %.1f s, no-change run %.1f s", n, first.Seconds(), again.Seconds())
		b.ReportMetric(first.Seconds(), "first-s")
		b.ReportMetric(n/first.Seconds(), "first-shadows/s")
		b.ReportMetric(again.Seconds(), "nochange-s")
		b.ReportMetric(n/again.Seconds(), "nochange-shadows/s")
	}
}

// timedSync runs `guestsync sync` as a process of its own and returns its
// wall time.
func (w *shadowWorld) timedSync(b *testing.B, args ...string) time.Duration {
	b.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"sync", "--config", w.cfg, "--log-level", "warn"}, args...)...)
	cmd.Env = childEnv("GUESTSYNC_AD_BINDPASSWORD=" + w.samba["ADMINPASSWORD"])
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("sync %v: %v\n%s", args, err, out)
	}
	return wall
}
