// Package engine runs guestsync's loop: read the source, map each entry to
// a desired guest, read the current guests from the target, compute a plan,
// and apply it. Dry-run is enforced here and only here: Run calls the
// target's Apply, or it does not.
package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/guestsync/guestsync/pkg/guest"
	"github.com/guestsync/guestsync/pkg/mapping"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/state"
)

// Target is where guests live: Microsoft Graph, or a fake in unit tests.
type Target interface {
	// Current returns the guests the plan may match against.
	Current(ctx context.Context) ([]guest.Guest, error)
	// Apply carries out the actions; a failed action is reported in its
	// result and does not stop the others.
	Apply(ctx context.Context, actions []plan.Action) []plan.Result
}

// RecycleBin is a Target that can list its owned deleted guests, so that a
// returning account is restored instead of created anew.
type RecycleBin interface {
	Deleted(ctx context.Context) ([]guest.Guest, error)
}

// Engine wires a source, a mapping and a target.
type Engine struct {
	Source  source.Reader
	Mapping *mapping.Mapping
	Target  Target
	Log     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// StatePath is the state file (watermarks, entry counts) and, with
	// ".lock" appended, the lock that keeps two runs apart. "" keeps no
	// state: every read is full and runs are not locked.
	StatePath string
	// Full forces a full read even when a watermark is stored.
	Full bool
	// FullReadEvery makes a read full when the last complete full read is
	// older than this (0: only when Full is set). Incremental reads do not
	// see every deletion or every account that left the scope (OpenLDAP's
	// entryCSN sees none, DirSync under an ordinary account no
	// deletions); a full read finds them by absence.
	FullReadEvery time.Duration
	// Policy is what the plan may do besides creating and updating owned
	// guests: adoption, the mode, removals and their grace period (Now
	// and the grace clocks are filled in by the engine).
	Policy plan.Policy
	// Rails stop a run that would remove too much.
	Rails Rails
	// Progress, when set, is told how far the long phases have got.
	Progress Progress
	// Expect, when set, is a plan reviewed earlier (guestsync apply): Run
	// applies only if the plan it computes now has exactly its actions,
	// and otherwise stops with a *StalePlanError before any change.
	Expect *plan.Plan
}

// StalePlanError is a reviewed plan refused because the source or the
// tenant changed since it was made.
type StalePlanError struct {
	Differences []string
}

func (e *StalePlanError) Error() string {
	const show = 5
	d := e.Differences
	more := ""
	if len(d) > show {
		d, more = d[:show], fmt.Sprintf("; and %d more", len(e.Differences)-show)
	}
	return fmt.Sprintf("stopped before any change: the source or the tenant changed since the plan was made "+
		"(%d differences: %s%s); make a new plan and review it", len(e.Differences), strings.Join(d, "; "), more)
}

// comparePlans lists how now differs from saved, action by action. Grace
// clocks and counts are not compared: the clock of a new disable is the
// time of the run.
func comparePlans(saved, now *plan.Plan) []string {
	key := func(a plan.Action) string { return string(a.Kind) + " " + a.Anchor + " " + a.DN }
	enc := func(a plan.Action) string {
		b, _ := json.Marshal(a)
		return string(b)
	}
	// Several actions may share a key (the same entry read twice): each
	// key holds the encodings still to be matched.
	want := map[string][]string{}
	for _, a := range saved.Actions {
		want[key(a)] = append(want[key(a)], enc(a))
	}
	var diffs []string
	for _, a := range now.Actions {
		k, e := key(a), enc(a)
		ws := want[k]
		switch i := slices.Index(ws, e); {
		case i >= 0:
			want[k] = slices.Delete(ws, i, i+1)
		case len(ws) > 0:
			want[k] = ws[1:]
			diffs = append(diffs, fmt.Sprintf("%s %s is not the same", a.Kind, describe(a)))
		default:
			diffs = append(diffs, fmt.Sprintf("now also %s %s", a.Kind, describe(a)))
		}
	}
	for _, a := range saved.Actions {
		k := key(a)
		if len(want[k]) > 0 {
			want[k] = want[k][1:]
			diffs = append(diffs, fmt.Sprintf("no longer %s %s", a.Kind, describe(a)))
		}
	}
	return diffs
}

// describe names an action's guest for people.
func describe(a plan.Action) string {
	switch {
	case a.UserPrincipalName != "":
		return a.UserPrincipalName
	case a.DN != "":
		return a.DN
	}
	return "anchor " + a.Anchor
}

// DefaultMaxRemovals is the removal threshold when none is configured:
// Entra Connect's default delete threshold.
const DefaultMaxRemovals = 500

// Rails are the safety limits on removals (disables and deletes).
type Rails struct {
	// MaxRemovals is how many removals a run may make; 0 means
	// DefaultMaxRemovals.
	MaxRemovals int
	// MaxRemovalPercent, when above 0, also limits removals to this share
	// of the owned guests.
	MaxRemovalPercent float64
	// AllowRemovals, when above 0, replaces both limits for this run
	// (sync --allow-removals N).
	AllowRemovals int
}

// RailError is a run stopped by a safety rail before it changed anything.
type RailError struct {
	Removals, Limit int
	Why             string
}

func (e *RailError) Error() string {
	return fmt.Sprintf("stopped before any change: the plan removes %d guests, over the removal threshold of %d (%s); "+
		"review the plan, then run again with --allow-removals %d to proceed", e.Removals, e.Limit, e.Why, e.Removals)
}

// CheckRails returns a *RailError when applying p would break a rail.
// owned is how many guests guestsync owned when p was computed.
func (r Rails) CheckRails(p *plan.Plan, owned int) error {
	n := p.Removals()
	if n == 0 {
		return nil
	}
	if r.AllowRemovals == 0 && !p.Incremental && p.Matched == 0 && owned > 0 {
		// A full read in which not one account matches a guest guestsync
		// owns: a changed anchor attribute, scope, filter or owner id far
		// more often than every partner leaving at once.
		return &RailError{Removals: n, Limit: 0, Why: fmt.Sprintf(
			"no account in the source matches any of the %d guests guestsync owns: a changed anchor, scope or graph.owner?", owned)}
	}
	if r.AllowRemovals > 0 {
		if n > r.AllowRemovals {
			return &RailError{Removals: n, Limit: r.AllowRemovals, Why: "--allow-removals"}
		}
		return nil
	}
	limit, why := r.MaxRemovals, "count"
	if limit <= 0 {
		limit = DefaultMaxRemovals
	}
	if r.MaxRemovalPercent > 0 {
		if pct := int(r.MaxRemovalPercent * float64(owned) / 100); pct < limit {
			limit, why = pct, fmt.Sprintf("%g %% of %d owned guests", r.MaxRemovalPercent, owned)
		}
	}
	if n > limit {
		return &RailError{Removals: n, Limit: limit, Why: why}
	}
	return nil
}

// Run is the record of one run.
type Run struct {
	Read    source.Result `json:"read"`
	Plan    *plan.Plan    `json:"plan"`
	Applied bool          `json:"applied"`
	Results []plan.Result `json:"results,omitempty"`
	Started time.Time     `json:"started"`
	Ended   time.Time     `json:"ended"`
	// LastSuccess is when a sync last succeeded: this run's end if it
	// applied everything, else the time the state file remembers.
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	// Owned counts the guests guestsync owned when the plan was made (the
	// base of policy.removalThresholdPercent).
	Owned int `json:"ownedGuests"`
	// MappingFailed counts the entries skipped because their mapping
	// failed: failed objects, as failed actions are.
	MappingFailed int `json:"mappingFailed"`
	// Timings split the run's time by phase.
	Timings Timings `json:"timings"`
}

// Timings is where a run's time went. The source is read and mapped
// together, entry by entry: Read is the read without the mapping.
type Timings struct {
	List  time.Duration `json:"list"` // reading the tenant
	Read  time.Duration `json:"read"`
	Map   time.Duration `json:"map"`
	Plan  time.Duration `json:"plan"`
	Apply time.Duration `json:"apply"`
	// State is loading and saving the state file (with the tenant's
	// remembered guests).
	State time.Duration `json:"state"`
}

// Failed counts the actions that failed.
func (r *Run) Failed() int {
	n := 0
	for _, res := range r.Results {
		if res.Failure != nil {
			n++
		}
	}
	return n
}

// FailedObjects counts the objects that failed: actions that failed and
// entries whose mapping failed.
func (r *Run) FailedObjects() int {
	return r.Failed() + r.MappingFailed
}

// Attempted counts the results of kind k, failed or not.
func (r *Run) Attempted(k plan.Kind) int {
	n := 0
	for _, res := range r.Results {
		if res.Action.Kind == k {
			n++
		}
	}
	return n
}

// Succeeded counts the actions of kind k that succeeded.
func (r *Run) Succeeded(k plan.Kind) int {
	n := 0
	for _, res := range r.Results {
		if res.Failure == nil && res.Action.Kind == k {
			n++
		}
	}
	return n
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Plan reads the source and the target and computes the plan. It writes
// nothing anywhere, not even the state file.
func (e *Engine) Plan(ctx context.Context) (*plan.Plan, source.Result, error) {
	st, err := e.loadState()
	if err != nil {
		return nil, source.Result{}, err
	}
	var tm Timings
	pl, err := e.plan(ctx, st, &tm)
	return pl.plan, pl.read, err
}

// planned is what plan made and read.
type planned struct {
	plan *plan.Plan
	read source.Result
	// key is the source's key in the state ("" for a reader without).
	key string
	tr  targetRead
	// owned counts the guests guestsync owns in the tenant (not deleted).
	owned int
	// mappingFailed counts the entries skipped because their mapping failed.
	mappingFailed int
}

func (e *Engine) loadState() (*state.State, error) {
	if e.StatePath == "" {
		return &state.State{Sources: map[string]state.Source{}, Targets: map[string]state.Target{}}, nil
	}
	return state.Load(e.StatePath)
}

func (e *Engine) plan(ctx context.Context, st *state.State, tm *Timings) (planned, error) {
	// The tenant is read first: SelectUniqueValue needs its values while
	// entries are mapped.
	start := time.Now()
	e.progress("read target", 0, 0)
	tr, err := e.readTarget(ctx, st)
	tm.List = time.Since(start)
	out := planned{tr: tr}
	if err != nil {
		return out, err
	}
	current := tr.current
	for _, g := range current {
		if g.Owned && !g.Deleted {
			out.owned++
		}
	}
	e.log().Info("read target", "guests", len(current))
	taken := newTakenIndex(e.Mapping.UniqueTargets())
	for _, g := range current {
		taken.add(g)
	}
	opts := mapping.Options{Now: e.Now, Taken: taken.taken}

	var desired []guest.Guest
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
	rp := e.readPolicy() // once: the clock must not decide twice
	key, since, _ := howToRead(e.Source, st, rp)
	entries, expected := 0, st.Sources[key].Entries
	if since != "" {
		expected = 0 // only changes will come: how many is not known
	}
	read, key, err := readSource(ctx, e.Source, st, rp, e.log(), func(entry source.Entry) error {
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
			skips = append(skips, plan.Action{Kind: plan.Skip, DN: entry.DN, Anchor: r.Guest.Anchor,
				Reason: "mapping: " + r.Err.Error()})
			if r.Guest.Anchor != "" {
				absence.Keep = append(absence.Keep, r.Guest.Anchor) // still in the source
			} else {
				unanchored++
			}
		default:
			desired = append(desired, detach(r.Guest))
			taken.add(r.Guest)
		}
		return nil
	})
	e.progress("read source", entries, entries)
	tm.Read = time.Since(readStart) - tm.Map
	out.read, out.key = read, key
	if err != nil {
		return out, fmt.Errorf("read source: %w", err)
	}
	if refused := refuseRead(read, st.Sources[key], out.owned); refused != nil {
		out.read = guardRead(read, st.Sources[key], out.owned)
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
	planStart := time.Now()
	e.progress("plan", 0, 0)
	p := e.compute(desired, current, absence, tr.clocks)
	tm.Plan = time.Since(planStart)
	p.Actions = append(p.Actions, skips...)
	p.OutOfScope = outOfScope
	p.Incremental = read.Incremental
	out.plan, out.mappingFailed = p, len(skips)
	return out, nil
}

// compute plans with the engine's policy; creates of an invite-mode
// mapping are invitations.
func (e *Engine) compute(desired, current []guest.Guest, absence plan.Absence, clocks map[string]time.Time) *plan.Plan {
	policy := e.Policy
	policy.Now, policy.Disabled = e.now(), clocks
	p := plan.Compute(desired, current, absence, policy)
	if e.Mapping.Mode == mapping.ModeInvite {
		for i := range p.Actions {
			if p.Actions[i].Kind == plan.Create {
				p.Actions[i].Invite = true
			}
		}
	}
	return p
}

// Run plans and, when apply is true, applies the plan. This is the only
// place where guestsync decides whether to write to the tenant. An
// applying run holds the state lock, and records the source's new
// watermark only when every action succeeded: a failed or interrupted run
// reads the same changes again next time, so nothing is lost.
func (e *Engine) Run(ctx context.Context, apply bool) (*Run, error) {
	run := &Run{Started: e.now()}
	defer func() { run.Ended = e.now() }()
	if e.StatePath != "" {
		// Known even when the lock is refused below, for metrics.
		run.LastSuccess = state.LastSuccess(e.StatePath)
	}
	if apply && e.StatePath != "" {
		lock, err := state.Acquire(e.StatePath)
		if err != nil {
			return run, err
		}
		defer lock.Release()
	}
	loadStart := time.Now()
	st, err := e.loadState()
	run.Timings.State = time.Since(loadStart)
	if err != nil {
		return run, err
	}
	run.LastSuccess = st.LastSuccess
	pl, err := e.plan(ctx, st, &run.Timings)
	p, read, key, tr := pl.plan, pl.read, pl.key, pl.tr
	run.Read, run.Plan, run.Owned, run.MappingFailed = read, p, pl.owned, pl.mappingFailed
	if err != nil || !apply {
		return run, err
	}
	if e.Expect != nil {
		if e.Expect.Version != plan.FormatVersion {
			return run, fmt.Errorf("the saved plan has format version %d; this build applies version %d", e.Expect.Version, plan.FormatVersion)
		}
		if d := comparePlans(e.Expect, p); len(d) > 0 {
			return run, &StalePlanError{Differences: d}
		}
	}
	if err := e.Rails.CheckRails(p, run.Owned); err != nil {
		return run, err
	}
	if p.HasChanges() {
		applyStart := time.Now()
		run.Results = e.apply(ctx, p.Actions)
		run.Timings.Apply = time.Since(applyStart)
		run.Applied = true
	}
	// The tenant's change-tracking position is kept even when actions
	// failed: it was taken before apply, so the next round reports this
	// run's own writes, whatever became of them.
	ts, known := st.Targets[tr.key]
	if tr.next != nil {
		ts = *tr.next
	}
	ts.Disabled = graceClocks(p, run.Results, tr.clocks)
	if run.Attempted(plan.Restore) > 0 {
		// A restored user may come back in the next round without its
		// userType, which would leave it out of the remembered guests:
		// the next run reads every guest instead. A failed restore
		// counts too: it fails when only the update after it failed,
		// with the user back all the same.
		ts.DeltaLink = ""
	}
	// One config, one tenant: what is kept under another key (an old
	// Graph URL or owner) would only be read, and its guests loaded, on
	// every run.
	for key := range st.Targets {
		if key != tr.key {
			delete(st.Targets, key)
		}
	}
	if known || tr.next != nil || ts.Disabled != nil {
		st.Targets[tr.key] = ts
	}
	if run.FailedObjects() == 0 {
		// An entry whose mapping failed is read again next time, as an
		// action that failed is applied again.
		run.LastSuccess = e.now()
		remember(st, key, read, e.now())
		st.LastSuccess = run.LastSuccess
	}
	if e.StatePath == "" {
		return run, nil
	}
	saveStart := time.Now()
	err = st.Save(e.StatePath)
	run.Timings.State += time.Since(saveStart)
	if err != nil {
		return run, fmt.Errorf("save state: %w", err)
	}
	return run, nil
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

// detach copies the strings of a desired guest that may share memory with
// the source entry: the LDAP reader's values are slices of a whole
// message, so keeping one value would keep the whole entry alive (80 MB
// over 100,000 entries).
func detach(g guest.Guest) guest.Guest {
	g.SourceDN = strings.Clone(g.SourceDN)
	g.Anchor = strings.Clone(g.Anchor)
	for k, v := range g.Properties {
		g.Properties[k] = strings.Clone(v)
	}
	return g
}
