package engine

import (
	"maps"
	"time"

	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/state"
)

// commit is the commit step's decision: the state to keep after applying
// pl's plan with these results, at now. It changes nothing it is given
// (st is the state the run loaded; the gate saves what commit returns), so
// each rule can be tested on its own:
//
//   - The tenant's change-tracking position and guests are kept even when
//     actions failed: they were read before apply, so the next round
//     reports this run's own writes, whatever became of them.
//   - The grace clocks are the plan's, except where an action failed (see
//     graceClocks).
//   - A restore (attempted, failed or not) drops the change-tracking
//     position: the next run reads every guest (see below).
//   - Only the current target is kept: one config, one tenant.
//   - The source's watermark, entry count and full-read time, and the last
//     success, move only when every object succeeded (actions and
//     mappings alike: a failed one is tried again on the next run) and
//     the plan covered the whole source.
func commit(st *state.State, pl planned, results []plan.Result, now time.Time) *state.State {
	next := *st
	next.Sources = maps.Clone(st.Sources)
	if next.Sources == nil {
		next.Sources = map[string]state.Source{}
	}
	next.Targets = map[string]state.Target{}

	tr := pl.tr
	ts, known := st.Targets[tr.key]
	if tr.next != nil {
		ts = *tr.next
	}
	ts.Disabled = graceClocks(pl.plan, results, tr.clocks)
	if attempted(results, plan.Restore) {
		// A restored user may come back in the next round without its
		// userType, which would leave it out of the remembered guests:
		// the next run reads every guest instead. A failed restore
		// counts too: it fails when only the update after it failed,
		// with the user back all the same.
		ts.DeltaLink = ""
	}
	// What is kept under another key (an old Graph URL or owner) would
	// only be read, and its guests loaded, on every run.
	if known || tr.next != nil || ts.Disabled != nil {
		next.Targets[tr.key] = ts
	}

	failed := pl.mappingFailed
	for _, r := range results {
		if r.Failure != nil {
			failed++
		}
	}
	if failed == 0 && !pl.partial {
		next.LastSuccess = now
		remember(next.Sources, pl.key, pl.read, now)
	}
	return &next
}

// attempted reports whether an action of kind k was carried out or tried.
func attempted(results []plan.Result, k plan.Kind) bool {
	for _, r := range results {
		if r.Action.Kind == k {
			return true
		}
	}
	return false
}

// graceClocks are the clocks to keep after applying p: the plan's, except
// for a disable that failed (the guest is not disabled yet) and a delete
// that failed (its old clock runs on).
func graceClocks(p *plan.Plan, results []plan.Result, old map[string]time.Time) map[string]time.Time {
	clocks := make(map[string]time.Time, len(p.GraceClocks))
	for a, t := range p.GraceClocks {
		clocks[a] = t
	}
	for _, r := range results {
		if r.Failure == nil {
			continue
		}
		// What failed did not happen: the clock is as it was (none for a
		// guest that a failed disable left enabled).
		if t, ok := old[r.Action.Anchor]; ok {
			clocks[r.Action.Anchor] = t
		} else if r.Action.Kind == plan.Disable {
			delete(clocks, r.Action.Anchor)
		}
	}
	if len(clocks) == 0 {
		return nil
	}
	return clocks
}

// remember records, in sources, a read whose run succeeded, so that the
// next run can read only what changed since.
func remember(sources map[string]state.Source, key string, res source.Result, now time.Time) {
	if key == "" {
		return
	}
	s := sources[key]
	if res.Watermark != "" {
		s.Watermark = res.Watermark
	}
	if !res.Incremental {
		s.Entries = res.Entries
		s.FullReadAt = now
	}
	sources[key] = s
}
