package engine

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/state"
)

// TestPreviewApplyWaitsForTheLock: a preview --apply is a write like any
// other, so while a sync holds the state lock it is refused, naming the
// holder, and nothing is written.
func TestPreviewApplyWaitsForTheLock(t *testing.T) {
	t.Parallel()
	e, src, tn := syncedEngine(t)
	src.entries = []source.Entry{renamed(entries[0], "Ann Renamed"), entries[1]}
	applied := tn.applied

	lock, err := state.Acquire(e.StatePath)
	require.NoError(t, err)
	_, err = e.Preview(context.Background(), "ann", true)
	lock.Release()
	require.ErrorIs(t, err, state.ErrLocked)
	assert.Contains(t, err.Error(), fmt.Sprintf("pid %d", os.Getpid()), "the message names the holder")
	assert.Equal(t, applied, tn.applied, "nothing was written")

	// Without --apply a preview writes nothing and takes no lock.
	lock, err = state.Acquire(e.StatePath)
	require.NoError(t, err)
	defer lock.Release()
	p, err := e.Preview(context.Background(), "ann", false)
	require.NoError(t, err)
	assert.Equal(t, 1, p.Plan.Count(plan.Update))
}

// TestPreviewRemovalObeysTheLimits: an account out of scope previews as
// the removal of its guest; applying it obeys the removal limits as any
// run does, starts the guest's grace clock, and leaves the source's
// watermark and the last success where they were.
func TestPreviewRemovalObeysTheLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, src, tn := syncedEngine(t)
	before, err := state.Load(e.StatePath)
	require.NoError(t, err)
	bob := e.Mapping.Map(entries[1]).Account.Anchor
	src.entries = []source.Entry{entries[0], entry("bob", "22222222-2222-2222-2222-222222222222", "Employee")} // bob out of scope
	src.mark = "w2"

	p, err := e.Preview(ctx, "bob", false)
	require.NoError(t, err)
	require.Len(t, p.Plan.Actions, 1)
	assert.Equal(t, plan.Disable, p.Plan.Actions[0].Kind)
	assert.Equal(t, bob, p.Plan.Actions[0].Anchor)
	require.NotNil(t, p.Match)

	// 10 % of 2 owned guests allows no removal at all.
	e.Limits = RemovalLimits{MaxRemovalPercent: 10}
	_, err = e.Preview(ctx, "bob", true)
	var limit *RemovalLimitError
	require.ErrorAs(t, err, &limit)
	assert.Equal(t, 1, limit.Removals)
	assert.Equal(t, "true", tn.guests[bob].Properties["accountEnabled"], "stopped before any change")

	// The default limits (a full read matching none of the owned guests
	// is no reason to stop a preview of one account).
	e.Limits = RemovalLimits{}
	p, err = e.Preview(ctx, "bob", true)
	require.NoError(t, err)
	require.Len(t, p.Results, 1)
	assert.Nil(t, p.Results[0].Failure)
	assert.Equal(t, "false", tn.guests[bob].Properties["accountEnabled"])
	st, err := state.Load(e.StatePath)
	require.NoError(t, err)
	assert.Contains(t, st.Targets["target"].Disabled, bob, "the grace clock starts")
	assert.Equal(t, before.Sources["k"], st.Sources["k"], "a preview's read is not remembered")
	assert.Equal(t, before.LastSuccess, st.LastSuccess)
}

// TestPreviewKeepsTheOtherGraceClocks: a preview --apply of one account
// changes that account's grace clock only.
func TestPreviewKeepsTheOtherGraceClocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, src, tn := syncedEngine(t)
	bob := e.Mapping.Map(entries[1]).Account.Anchor
	src.entries = entries[:1] // bob leaves the source
	e.Full = true
	_, err := e.Run(ctx, true)
	require.NoError(t, err)
	st, err := state.Load(e.StatePath)
	require.NoError(t, err)
	clock := st.Targets["target"].Disabled[bob]
	require.False(t, clock.IsZero())

	src.entries = []source.Entry{renamed(entries[0], "Ann Renamed")}
	_, err = e.Preview(ctx, "ann", true)
	require.NoError(t, err)
	st, err = state.Load(e.StatePath)
	require.NoError(t, err)
	assert.Equal(t, "Ann Renamed", tn.guests[e.Mapping.Map(entries[0]).Account.Anchor].Properties["displayName"])
	assert.True(t, clock.Equal(st.Targets["target"].Disabled[bob]), "bob's clock runs on")
}

// TestPreviewOfAnIncompleteSourceWritesNothing: the preview's read is
// checked like a run's before the gate lets anything through.
func TestPreviewOfAnIncompleteSourceWritesNothing(t *testing.T) {
	t.Parallel()
	e, src, tn := syncedEngine(t)
	src.result = &source.Result{Entries: 2, Complete: false, Incomplete: "the export ends inside a record"}
	applied := tn.applied
	_, err := e.Preview(context.Background(), "ann", true)
	var refused *ReadRefusedError
	require.ErrorAs(t, err, &refused)
	assert.Equal(t, applied, tn.applied)
}

// renamed is a copy of en with another cn (the test mapping's
// displayName).
func renamed(en source.Entry, cn string) source.Entry {
	out := source.Entry{DN: en.DN, Attributes: map[string][]string{}}
	for k, v := range en.Attributes {
		out.Attributes[k] = v
	}
	out.Attributes["cn"] = []string{cn}
	return out
}

// TestPreviewOfAnUnmappableAccountKeepsTheGraceClocks: a preview --apply
// whose account cannot be mapped, or is out of scope without an anchor,
// applies nothing and leaves every grace clock as it was.
func TestPreviewOfAnUnmappableAccountKeepsTheGraceClocks(t *testing.T) {
	t.Parallel()
	for name, odd := range map[string]source.Entry{
		"mapping fails":             entry("odd", "not-a-uuid", "Partner"),
		"out of scope, no anchor":   entry("odd", "not-a-uuid", "Employee"),
		"out of scope, with anchor": entry("odd", "44444444-4444-4444-4444-444444444444", "Employee"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e, src, _ := syncedEngine(t)
			bob := e.Mapping.Map(entries[1]).Account.Anchor
			src.entries = []source.Entry{entries[0]} // bob leaves the source
			e.Full = true
			_, err := e.Run(ctx, true)
			require.NoError(t, err)
			e.Full = false
			st, err := state.Load(e.StatePath)
			require.NoError(t, err)
			clock := st.Targets["target"].Disabled[bob]
			require.False(t, clock.IsZero())

			src.entries = []source.Entry{entries[0], odd}
			_, err = e.Preview(ctx, "odd", true)
			require.NoError(t, err)
			st, err = state.Load(e.StatePath)
			require.NoError(t, err)
			assert.True(t, clock.Equal(st.Targets["target"].Disabled[bob]), "bob's clock runs on: %v", st.Targets["target"].Disabled)
		})
	}
}

// TestApplyReadsTheTenantAsThePlanDid: a plan made with --full read every
// guest of the tenant; applying it reads every guest too, or what the
// remembered guests miss would make it stale.
func TestApplyReadsTheTenantAsThePlanDid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, tenant := deltaEngine(t)
	_, err := e.Run(ctx, true)
	require.NoError(t, err)
	_, err = e.Run(ctx, true)
	require.NoError(t, err)

	e.Full = true
	reviewed, _, err := e.Plan(ctx)
	require.NoError(t, err)
	require.False(t, reviewed.Incremental)
	e.Full, e.Expect = false, reviewed
	tenant.rounds = nil
	_, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, []string{""}, tenant.rounds, "an initial round, as the plan's")
}
