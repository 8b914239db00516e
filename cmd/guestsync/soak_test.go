package main

// The soak (issue #11, point 10): simulated nights of random changes on
// both sides, with the emulator's faults on, and the fault suite's
// invariants checked after every night.

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

// TestSoakNights: GUESTSYNC_SOAK_NIGHTS nights (30 by default) over an
// export of 120 accounts. Each night accounts join, leave, come back, are
// renamed, disabled and enabled; an admin edits, disables, deletes and
// restores guests; the clock moves a day (policy.deleteAfter is three
// days, so guests are deleted too); the night's sync runs under random
// faults; then the invariants, and a run with faults off that must make
// the tenant what the mapping says and leave nothing for a further run.
// GUESTSYNC_SOAK_SEED replays a failed soak.
func TestSoakNights(t *testing.T) {
	t.Parallel()
	nights := 30
	if s := os.Getenv("GUESTSYNC_SOAK_NIGHTS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "GUESTSYNC_SOAK_NIGHTS=%s", s)
		nights = n
	}
	seed := seedFor(t, "GUESTSYNC_SOAK_SEED")
	w := newWorld(t, seed, 120, "policy: {deleteAfter: 72h}\n")
	w.baseline()
	rng := w.rng
	p := func(max float64) float64 { return rng.Float64() * max }
	for night := 1; night <= nights; night++ {
		w.change(rng.IntN(6), rng.IntN(4), rng.IntN(3), rng.IntN(3))
		w.tamper(rng.IntN(3), rng.IntN(3), rng.IntN(2))
		w.shiftClock(-24 * time.Hour)
		f := faultSpec{faults: graphsim.Faults{InternalError: p(0.1), Unavailable: p(0.1), GatewayTimeout: p(0.1),
			Drop: p(0.04), Lag: time.Duration(rng.IntN(5)) * time.Second, Seed: rng.Uint64() | 1}, throttle: rng.IntN(4) == 0}
		w.tn.setFaults(f)
		before := w.tn.snapshot()
		r := w.sync()
		t.Logf("night %d: %d accounts, faults %s: exit %d", night, len(w.accounts), f, r.code)
		w.check(r, before, readGood)
		w.converge()
		if t.Failed() {
			t.Fatalf("night %d failed; replay with GUESTSYNC_SOAK_SEED=%d", night, seed)
		}
	}
}
