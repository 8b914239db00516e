// Package engine runs guestsync's loop. Run reads top to bottom:
//
//  1. plan (plan.go): read the target's current objects and the source's
//     entries, map each entry to a desired object, and compute the plan;
//  2. check (check.go): a reviewed plan must still hold, and the removal
//     limits must allow the plan;
//  3. apply (apply.go): hand the actions to the target, in chunks, until
//     an interrupt stops new writes;
//  4. commit (commit.go): work out what to remember (grace clocks, the
//     change-tracking positions, the source's watermark, the last
//     success) and save it.
//
// Every write to a target, from sync, apply and preview --apply alike,
// passes through one function, gate (gate.go), which holds the state lock
// around those steps. Dry runs are decided there and only there: the gate
// calls the target's Apply, or it does not.
package engine

import (
	"context"
	"log/slog"
	"time"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/mapping"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
)

// Target is where the accounts live: Microsoft Graph's guests, or a fake
// in unit tests.
type Target interface {
	// Describe says what the target's accounts are, in its own words: the
	// plan compares and removes them, and people read plans, by it.
	Describe() plan.Target
	// Current returns the accounts the plan may match against.
	Current(ctx context.Context) ([]account.Account, error)
	// Apply carries out the actions; a failed action is reported in its
	// result and does not stop the others. Once ctx is cancelled (an
	// interrupt), Apply starts no new write, lets the writes already sent
	// finish, and reports the actions it did not start as failed.
	Apply(ctx context.Context, actions []plan.Action) []plan.Result
}

// RecycleBin is a Target that can list its owned deleted accounts, so
// that a returning entry's account is restored instead of created anew.
type RecycleBin interface {
	Deleted(ctx context.Context) ([]account.Account, error)
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
	// Limits stop a run that would remove too much.
	Limits RemovalLimits
	// Progress, when set, is told how far the long phases have got.
	Progress Progress
	// Expect, when set, is a plan reviewed earlier (guestsync apply): Run
	// reads the source as that plan's run did, and applies only if the
	// plan it computes now has exactly its actions; otherwise it stops
	// with a *StalePlanError before any change.
	Expect *plan.Plan
}

// Run plans and, when apply is true, applies the plan: plan, check,
// apply, commit, each step in the file named for it, through the gate.
// An applying run records the source's new watermark only when every
// action succeeded: a failed or interrupted run reads the same changes
// again next time, so nothing is lost.
func (e *Engine) Run(ctx context.Context, apply bool) (*Run, error) {
	return e.gate(ctx, apply, e.plan)
}

// Plan reads the source and the target and computes the plan. It writes
// nothing anywhere, not even the state file.
func (e *Engine) Plan(ctx context.Context) (*plan.Plan, source.Result, error) {
	run, err := e.gate(ctx, false, e.plan)
	return run.Plan, run.Read, err
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
