package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/guestsync/guestsync/pkg/state"
)

// planner is a plan step: what a run reads and plans, given the state.
// Run's plans the whole source; Preview's one account.
type planner func(ctx context.Context, st *state.State, tm *Timings) (planned, error)

// gate is the one way to the target's Apply. It takes the state lock
// (when writing), loads the state, plans with makePlan, and then, when
// apply is true, checks the plan (a reviewed plan must still hold, the
// removal limits must allow it), applies it (an interrupt stops new
// writes; those in flight finish) and commits what the run leaves to
// remember. sync, apply PLAN.json and preview --apply all come through
// here, so none of them can write without the lock and the limits.
func (e *Engine) gate(ctx context.Context, apply bool, makePlan planner) (*Run, error) {
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

	pl, err := makePlan(ctx, st, &run.Timings)
	run.Read, run.Plan, run.Owned, run.MappingFailed = pl.read, pl.plan, pl.owned, pl.mappingFailed
	if err != nil || !apply {
		return run, err
	}
	if err := e.check(pl); err != nil {
		return run, err
	}
	if pl.plan.HasChanges() {
		applyStart := time.Now()
		run.Results = e.apply(ctx, pl.plan.Actions)
		run.Timings.Apply = time.Since(applyStart)
		run.Applied = true
	}
	next := commit(st, pl, run.Results, e.now())
	run.LastSuccess = next.LastSuccess
	if e.StatePath == "" {
		return run, nil
	}
	saveStart := time.Now()
	err = next.Save(e.StatePath)
	run.Timings.State += time.Since(saveStart)
	if err != nil {
		return run, fmt.Errorf("save state: %w", err)
	}
	return run, nil
}

// loadState reads the state file, or starts an empty state when the
// engine keeps none.
func (e *Engine) loadState() (*state.State, error) {
	if e.StatePath == "" {
		return &state.State{Sources: map[string]state.Source{}, Targets: map[string]state.Target{}}, nil
	}
	return state.Load(e.StatePath)
}
