package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/mapping"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/state"
)

// planned is what a plan step made and read: everything the steps after
// it (check, apply, commit) need.
type planned struct {
	plan *plan.Plan
	read source.Result
	// key is the source's key in the state ("" for a reader without, and
	// for a plan whose read is not to be remembered).
	key string
	tr  targetRead
	// owned counts the guests guestsync owns in the tenant (not deleted).
	owned int
	// mappingFailed counts the entries skipped because their mapping failed.
	mappingFailed int
	// partial: the plan covers some of the source's accounts only (a
	// preview). Its success says nothing of the rest: the read is not
	// remembered and the last success does not move.
	partial bool
}

// plan is Run's plan step: it reads the tenant, then the source (fully,
// or its changes since the last run), maps each entry, and computes the
// plan, with what the source says is gone.
func (e *Engine) plan(ctx context.Context, st *state.State, tm *Timings) (planned, error) {
	// The tenant is read first: SelectUniqueValue needs its values while
	// entries are mapped.
	start := time.Now()
	e.progress("read target", 0, 0)
	if err := e.checkSource(ctx); err != nil {
		return planned{}, err
	}
	rp := e.readPolicy() // once, for both reads: the clock must not decide twice
	tr, err := e.readTarget(ctx, st, rp.Full)
	tm.List = time.Since(start)
	out := planned{tr: tr}
	if err != nil {
		return out, err
	}
	current := tr.current
	e.log().Info("read target", "guests", len(current))
	var taken takenIndex
	out.owned, taken = e.survey(current)
	opts := mapping.Options{Now: e.Now, Taken: taken.taken}

	var desired []account.Account
	var skips []plan.Action
	var absence plan.Absence
	// unanchored counts in-scope entries whose anchor could not be worked
	// out: still in the source, but as nobody the plan can tell.
	outOfScope, unanchored := 0, 0
	gone := func(entry source.Entry, reason string) {
		if anchor, err := e.Mapping.AnchorOf(entry); err == nil {
			absence.Gone = append(absence.Gone, plan.Gone{Anchor: anchor, DN: entry.DN, Reason: reason})
		}
	}
	readStart := time.Now()
	mode := chooseRead(e.Source, st, rp)
	entries, expected := 0, st.Sources[mode.Key].Entries
	if mode.Since != "" {
		expected = 0 // only changes will come: how many is not known
	}
	read, err := readSource(ctx, e.Source, mode, e.log(), func(entry source.Entry) error {
		entries++
		if entries%100 == 0 {
			e.progress("read source", entries, expected)
		}
		if entry.Deleted {
			gone(entry, "deleted in the directory (or moved out of the read's scope)")
			return nil
		}
		mapStart := time.Now()
		r := e.Mapping.MapWith(entry, opts)
		tm.Map += time.Since(mapStart)
		switch {
		case !r.InScope:
			outOfScope++
			gone(entry, "out of the mapping's scope: "+r.Reason)
		case r.Err != nil:
			skips = append(skips, plan.Action{Kind: plan.Skip, Source: entry.DN, Anchor: r.Account.Anchor,
				Reason: "mapping: " + r.Err.Error()})
			if r.Account.Anchor != "" {
				absence.Keep = append(absence.Keep, r.Account.Anchor) // still in the source
			} else {
				unanchored++
			}
		default:
			desired = append(desired, cloneStrings(r.Account))
			taken.add(r.Account)
		}
		return nil
	})
	e.progress("read source", entries, entries)
	tm.Read = time.Since(readStart) - tm.Map
	out.read, out.key = read, mode.Key
	if err != nil {
		return out, fmt.Errorf("read source: %w", err)
	}
	if refused := refuseRead(read, st.Sources[mode.Key], out.owned); refused != nil {
		out.read = guardRead(read, st.Sources[mode.Key], out.owned)
		return out, refused
	}
	e.log().Info("read source", "entries", read.Entries, "incremental", read.Incremental,
		"inScope", len(desired)+len(skips), "outOfScope", outOfScope, "skipped", len(skips))
	// Absence means removal only after a complete full read that found
	// something (refuseRead stopped an empty one that was expected to find
	// entries; an empty one that was not has nothing to remove) and that
	// could anchor every entry in scope: an entry without an anchor could
	// be any guest's account, so such a read cannot show that one is gone.
	switch {
	case read.Incremental || read.Entries == 0:
	case unanchored > 0:
		e.log().Warn("entries in scope have no usable anchor: no guest is removed by absence on this run",
			"entries", unanchored)
	default:
		absence.Full = true
	}
	warnings, err := e.checkTarget(ctx, desired)
	if err != nil {
		return out, err
	}
	planStart := time.Now()
	e.progress("plan", 0, 0)
	p := e.compute(desired, current, absence, tr.clocks)
	p.Warnings = warnings
	tm.Plan = time.Since(planStart)
	p.Actions = append(p.Actions, skips...)
	p.OutOfScope = outOfScope
	p.Incremental = read.Incremental
	out.plan, out.mappingFailed = p, len(skips)
	return out, nil
}

// survey counts the current accounts guestsync owns (not deleted), and
// indexes the values that SelectUniqueValue must not hand out again.
func (e *Engine) survey(current []account.Account) (owned int, taken takenIndex) {
	taken = newTakenIndex(e.Mapping.UniqueTargets())
	for _, a := range current {
		if a.Owned && !a.Deleted {
			owned++
		}
		taken.add(a)
	}
	return owned, taken
}

// compute plans with the engine's policy and clock, for the engine's
// target.
func (e *Engine) compute(desired, current []account.Account, absence plan.Absence, clocks map[string]time.Time) *plan.Plan {
	policy := e.Policy
	policy.Now, policy.Disabled = e.now(), clocks
	return plan.Compute(e.Target.Describe(), desired, current, absence, policy)
}

// cloneStrings copies the strings of a desired guest that may share memory with
// the source entry: the LDAP reader's values are slices of a whole
// message, so keeping one value would keep the whole entry alive (80 MB
// over 100,000 entries).
func cloneStrings(g account.Account) account.Account {
	g.Source = strings.Clone(g.Source)
	g.Anchor = strings.Clone(g.Anchor)
	for k, v := range g.Properties {
		g.Properties[k] = strings.Clone(v)
	}
	return g
}
