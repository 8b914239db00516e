// Package engine runs guestsync's loop: read the source, map each entry to
// a desired guest, read the current guests from the target, compute a plan,
// and apply it. Dry-run is enforced here and only here: Run calls the
// target's Apply, or it does not.
package engine

import (
	"context"
	"fmt"
	"log/slog"
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
	// Policy is what the plan may do besides creating and updating owned
	// guests (adoption by soft match).
	Policy plan.Policy
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
	p, read, _, _, err := e.plan(ctx, st)
	return p, read, err
}

func (e *Engine) loadState() (*state.State, error) {
	if e.StatePath == "" {
		return &state.State{Sources: map[string]state.Source{}, Targets: map[string]state.Target{}}, nil
	}
	return state.Load(e.StatePath)
}

func (e *Engine) plan(ctx context.Context, st *state.State) (*plan.Plan, source.Result, string, targetRead, error) {
	// The tenant is read first: SelectUniqueValue needs its values while
	// entries are mapped.
	tr, err := e.readTarget(ctx, st)
	if err != nil {
		return nil, source.Result{}, "", tr, err
	}
	current := tr.current
	e.log().Info("read target", "guests", len(current))
	taken := newTakenIndex(e.Mapping.UniqueTargets())
	for _, g := range current {
		taken.add(g)
	}
	opts := mapping.Options{Now: e.Now, Taken: taken.taken}

	var desired []guest.Guest
	var skips []plan.Action
	outOfScope := 0
	read, key, err := e.readSource(ctx, st, func(entry source.Entry) error {
		r := e.Mapping.MapWith(entry, opts)
		switch {
		case entry.Deleted:
			// Removal policies are not applied yet: record the deletion
			// so that it is visible in the plan.
			skips = append(skips, plan.Action{Kind: plan.Skip, DN: entry.DN, Anchor: r.Guest.Anchor,
				Reason: "deleted in the directory; this version applies no removals"})
		case !r.InScope:
			outOfScope++
		case r.Err != nil:
			skips = append(skips, plan.Action{Kind: plan.Skip, DN: entry.DN, Anchor: r.Guest.Anchor,
				Reason: "mapping: " + r.Err.Error()})
		default:
			desired = append(desired, r.Guest)
			taken.add(r.Guest)
		}
		return nil
	})
	if err != nil {
		return nil, read, key, tr, fmt.Errorf("read source: %w", err)
	}
	read = guardRead(read, st.Sources[key])
	if !read.Complete {
		why := read.Incomplete
		if why == "" {
			why = fmt.Sprintf("the read stopped after %d entries", read.Entries)
		}
		return nil, read, key, tr, fmt.Errorf("read source: incomplete read, refusing to plan on it: %s", why)
	}
	e.log().Info("read source", "entries", read.Entries, "incremental", read.Incremental,
		"inScope", len(desired)+len(skips), "outOfScope", outOfScope, "skipped", len(skips))
	p := e.compute(desired, current)
	p.Actions = append(p.Actions, skips...)
	p.OutOfScope = outOfScope
	p.Incremental = read.Incremental
	return p, read, key, tr, nil
}

// compute plans with the engine's policy; creates of an invite-mode
// mapping are invitations.
func (e *Engine) compute(desired, current []guest.Guest) *plan.Plan {
	p := plan.Compute(desired, current, e.Policy)
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
		if st, err := state.Load(e.StatePath); err == nil {
			run.LastSuccess = st.LastSuccess
		}
	}
	if apply && e.StatePath != "" {
		lock, err := state.Acquire(e.StatePath)
		if err != nil {
			return run, err
		}
		defer lock.Release()
	}
	st, err := e.loadState()
	if err != nil {
		return run, err
	}
	run.LastSuccess = st.LastSuccess
	p, read, key, tr, err := e.plan(ctx, st)
	run.Read, run.Plan = read, p
	if err != nil || !apply {
		return run, err
	}
	if p.HasChanges() {
		run.Results = e.Target.Apply(ctx, p.Actions)
		run.Applied = true
	}
	// The tenant's change-tracking position is kept even when actions
	// failed: it was taken before apply, so the next round reports this
	// run's own writes, whatever became of them.
	if tr.next != nil {
		st.Targets[tr.key] = *tr.next
	}
	if run.Failed() == 0 {
		run.LastSuccess = e.now()
		remember(st, key, read, e.now())
		st.LastSuccess = run.LastSuccess
	}
	if e.StatePath == "" {
		return run, nil
	}
	if err := st.Save(e.StatePath); err != nil {
		return run, fmt.Errorf("save state: %w", err)
	}
	return run, nil
}
