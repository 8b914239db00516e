package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/mapping"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/state"
)

// changeSource is a fake directory that can read changes: full reads give
// every entry, ReadChanges gives the entries changed since a watermark.
type changeSource struct {
	key     string
	entries []source.Entry
	changes []source.Entry // what ReadChanges returns
	mark    string         // the watermark every read returns
	calls   []string       // "full" or "changes:<watermark>"
	// result, when set, is what full reads return.
	result *source.Result
}

func (c *changeSource) Key() string { return c.key }

func (c *changeSource) Read(_ context.Context, fn func(source.Entry) error) (source.Result, error) {
	c.calls = append(c.calls, "full")
	for _, e := range c.entries {
		if err := fn(e); err != nil {
			return source.Result{}, err
		}
	}
	if c.result != nil {
		return *c.result, nil
	}
	return source.Result{Entries: len(c.entries), Complete: true, Watermark: c.mark}, nil
}

func (c *changeSource) ReadChanges(_ context.Context, since string, fn func(source.Entry) error) (source.Result, error) {
	c.calls = append(c.calls, "changes:"+since)
	for _, e := range c.changes {
		if err := fn(e); err != nil {
			return source.Result{}, err
		}
	}
	return source.Result{Entries: len(c.changes), Complete: true, Incremental: true, Watermark: c.mark}, nil
}

// tenant is a fake target that applies creates and updates to its guests.
type tenant struct {
	guests  map[string]account.Account // by anchor
	fail    bool
	applied int
}

func (tn *tenant) Current(context.Context) ([]account.Account, error) {
	var out []account.Account
	for _, g := range tn.guests {
		out = append(out, g)
	}
	return out, nil
}

func (tn *tenant) Apply(_ context.Context, actions []plan.Action) []plan.Result {
	var out []plan.Result
	for _, a := range actions {
		if a.Kind == plan.Skip {
			continue
		}
		tn.applied++
		if tn.fail {
			out = append(out, plan.Result{Action: a, Failure: &plan.Failure{Code: "ServiceUnavailable", Message: "try later"}})
			continue
		}
		switch a.Kind {
		case plan.Create:
			g := *a.Account
			g.ID = "id-" + g.Anchor
			g.Owned = true
			tn.guests[g.Anchor] = g
		case plan.Update:
			g := tn.guests[a.Anchor]
			for _, ch := range a.Changes {
				g.Properties[ch.Property] = ch.New
			}
			tn.guests[a.Anchor] = g
		case plan.Disable:
			g := tn.guests[a.Anchor]
			g.Properties["accountEnabled"] = "false"
			tn.guests[a.Anchor] = g
		case plan.Delete:
			delete(tn.guests, a.Anchor)
		}
		out = append(out, plan.Result{Action: a})
	}
	return out
}

func incrementalEngine(t *testing.T, src *changeSource, tn *tenant) *Engine {
	t.Helper()
	m, err := mapping.Parse("test.yaml", []byte(testMapping))
	require.NoError(t, err)
	return &Engine{Source: src, Mapping: m, Target: tn, StatePath: filepath.Join(t.TempDir(), "state.json")}
}

// syncedEngine is an engine over a change-reading source with ann and
// bob, after a first sync into an empty tenant.
func syncedEngine(t *testing.T) (*Engine, *changeSource, *tenant) {
	t.Helper()
	src := &changeSource{key: "k", entries: entries[:2], mark: "w1"}
	tn := &tenant{guests: map[string]account.Account{}}
	e := incrementalEngine(t, src, tn)
	_, err := e.Run(context.Background(), true)
	require.NoError(t, err)
	return e, src, tn
}

func TestIncrementalRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := &changeSource{key: "ldap://dc1/ou=Partners", entries: entries[:3], mark: "w1"}
	tn := &tenant{guests: map[string]account.Account{}}
	e := incrementalEngine(t, src, tn)

	// Run 1: nothing stored, so a full read; the watermark is kept.
	run, err := e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, 2, run.Succeeded(plan.Create))
	st, err := state.Load(e.StatePath)
	require.NoError(t, err)
	assert.Equal(t, state.Source{Watermark: "w1", Entries: 3, FullReadAt: st.Sources[src.key].FullReadAt}, st.Sources[src.key])

	// Run 2: only the changes since w1 are read; one partner renamed.
	renamed := entry("ann", "11111111-1111-1111-1111-111111111111", "Partner")
	renamed.Attributes["cn"] = []string{"Ann Renamed"}
	src.changes, src.mark = []source.Entry{renamed}, "w2"
	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.True(t, run.Read.Incremental)
	assert.Equal(t, 1, run.Succeeded(plan.Update))
	assert.Equal(t, []string{"full", "changes:w1"}, src.calls)
	st, _ = state.Load(e.StatePath)
	assert.Equal(t, "w2", st.Sources[src.key].Watermark)
	assert.Equal(t, 3, st.Sources[src.key].Entries, "an incremental read does not replace the full count")

	// Run 3: --full reads everything again.
	e.Full = true
	_, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, "full", src.calls[len(src.calls)-1])
}

func TestFailedActionsKeepTheOldWatermark(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, src, tn := syncedEngine(t)

	changed := entry("bob", "22222222-2222-2222-2222-222222222222", "Partner")
	changed.Attributes["cn"] = []string{"Bob Changed"}
	src.changes, src.mark, tn.fail = []source.Entry{changed}, "w2", true
	run, err := e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, 1, run.Failed())
	st, _ := state.Load(e.StatePath)
	assert.Equal(t, "w1", st.Sources["k"].Watermark, "the failed change is read again next run")

	tn.fail = false
	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, "changes:w1", src.calls[len(src.calls)-1])
	assert.Equal(t, 1, run.Succeeded(plan.Update), "no lost update")
	st, _ = state.Load(e.StatePath)
	assert.Equal(t, "w2", st.Sources["k"].Watermark)
}

func TestEmptySourceAfterEntriesIsIncomplete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, src, tn := syncedEngine(t)

	src.entries, e.Full = nil, true
	applied := tn.applied
	run, err := e.Run(ctx, true)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the source returned no entries, where the last full read returned 2")
	assert.False(t, run.Read.Complete)
	assert.Equal(t, applied, tn.applied, "nothing applied")
	st, _ := state.Load(e.StatePath)
	assert.Equal(t, 2, st.Sources["k"].Entries, "the guard does not forget the last good count")
}

func TestPlanNeverWritesState(t *testing.T) {
	t.Parallel()
	src := &changeSource{key: "k", entries: entries[:2], mark: "w1"}
	e := incrementalEngine(t, src, &tenant{guests: map[string]account.Account{}})
	_, err := e.Run(context.Background(), false)
	require.NoError(t, err)
	_, err = os.Stat(e.StatePath)
	assert.True(t, errors.Is(err, os.ErrNotExist), "a plan leaves no state behind")
}

func TestConcurrentRunIsRefused(t *testing.T) {
	t.Parallel()
	src := &changeSource{key: "k", entries: entries[:2], mark: "w1"}
	tn := &tenant{guests: map[string]account.Account{}}
	e := incrementalEngine(t, src, tn)
	lock, err := state.Acquire(e.StatePath)
	require.NoError(t, err)
	defer lock.Release()
	_, err = e.Run(context.Background(), true)
	require.ErrorIs(t, err, state.ErrLocked)
	assert.Empty(t, src.calls, "refused before reading anything")
	assert.Zero(t, tn.applied)
}

func TestDeletedEntryDisablesItsGuestAndItsReturnReEnablesIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, src, tn := syncedEngine(t)
	bob := entry("bob", "22222222-2222-2222-2222-222222222222", "Partner")
	gone := bob
	gone.Deleted = true
	src.changes = []source.Entry{gone}
	run, err := e.Run(ctx, true)
	require.NoError(t, err)
	require.Equal(t, 1, run.Plan.Count(plan.Disable), "%+v", run.Plan.Actions)
	assert.Contains(t, run.Plan.Actions[0].Reason, "deleted in the directory")
	assert.Equal(t, "uid=bob,ou=Partners", run.Plan.Actions[0].Source)
	anchor := run.Plan.Actions[0].Anchor
	assert.Equal(t, "false", tn.guests[anchor].Properties["accountEnabled"])
	st, err := state.Load(e.StatePath)
	require.NoError(t, err)
	assert.Contains(t, st.Targets["target"].Disabled, anchor, "its grace clock runs")
	clock := st.Targets["target"].Disabled[anchor]

	// An incremental run with nothing new keeps the clock.
	src.changes = nil
	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.False(t, run.Plan.HasChanges())
	assert.Equal(t, 1, run.Plan.Waiting)
	st, err = state.Load(e.StatePath)
	require.NoError(t, err)
	assert.Equal(t, clock, st.Targets["target"].Disabled[anchor])

	// bob comes back (the mapping sets accountEnabled, so the update
	// re-enables it); the clock stops.
	src.changes = []source.Entry{bob}
	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	require.Equal(t, 1, run.Plan.Count(plan.Update), "%+v", run.Plan.Actions)
	assert.Equal(t, "true", tn.guests[anchor].Properties["accountEnabled"])
	st, err = state.Load(e.StatePath)
	require.NoError(t, err)
	assert.NotContains(t, st.Targets["target"].Disabled, anchor)
}

func TestRemovalRails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	all := []source.Entry{
		entry("ann", "11111111-1111-1111-1111-111111111111", "Partner"),
		entry("bob", "22222222-2222-2222-2222-222222222222", "Partner"),
		entry("cat", "44444444-4444-4444-4444-444444444444", "Partner"),
	}
	src := &changeSource{key: "k", entries: all, mark: "w1"}
	tn := &tenant{guests: map[string]account.Account{}}
	e := incrementalEngine(t, src, tn)
	_, err := e.Run(ctx, true)
	require.NoError(t, err)
	require.Len(t, tn.guests, 3)

	// Two leave; the threshold is one.
	src.entries = all[:1]
	e.Full = true
	e.Limits = RemovalLimits{MaxRemovals: 1}
	applied := tn.applied
	run, err := e.Run(ctx, true)
	var rail *RemovalLimitError
	require.ErrorAs(t, err, &rail)
	assert.Equal(t, 2, rail.Removals)
	assert.Equal(t, 1, rail.Limit)
	assert.Contains(t, err.Error(), "--allow-removals 2")
	assert.Equal(t, applied, tn.applied, "nothing applied")
	assert.False(t, run.Applied)

	// A percentage is stricter here: 50 % of 3 owned guests is 1.
	e.Limits = RemovalLimits{MaxRemovals: 500, MaxRemovalPercent: 50}
	_, err = e.Run(ctx, true)
	require.ErrorAs(t, err, &rail)
	assert.Equal(t, 1, rail.Limit)

	// --allow-removals 2 lets this run through.
	e.Limits = RemovalLimits{MaxRemovals: 1, AllowRemovals: 2}
	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, 2, run.Succeeded(plan.Disable))
}

// TestEmptyReadsAreRefused: a full read that returns no entries where the
// last full read returned some, or while guestsync owns guests (a fresh
// state, or a reader that keeps none), is refused like an incomplete one:
// nothing is applied and the last success stays. An empty read with
// nothing expected (a first run into an empty tenant) is a plain run.
func TestEmptyReadsAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name        string
		freshState  bool // the state file was lost
		emptyTenant bool // guestsync owns nothing
		result      *source.Result
		reason      string
		why         string
	}{
		{name: "last full read found entries", reason: RefusedEmpty,
			why: "the source returned no entries, where the last full read returned 2"},
		{name: "fresh state, owned guests", freshState: true, reason: RefusedEmpty,
			why: "the source returned no entries, while guestsync owns 2 guests in the tenant"},
		{name: "incomplete", result: &source.Result{Entries: 1, Incomplete: "the file ends inside a record"},
			reason: RefusedIncomplete, why: "the file ends inside a record"},
		{name: "nothing expected", freshState: true, emptyTenant: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, src, tn := syncedEngine(t)
			before, err := state.Load(e.StatePath)
			require.NoError(t, err)
			if tt.freshState {
				e.StatePath = filepath.Join(t.TempDir(), "state.json")
			}
			if tt.emptyTenant {
				tn.guests = map[string]account.Account{}
			}
			src.entries, src.result = nil, tt.result
			applied := tn.applied
			e.Full = true // the incomplete read is a full one too
			run, runErr := e.Run(ctx, true)
			if tt.reason == "" {
				require.NoError(t, runErr)
				assert.Equal(t, OutcomeSucceeded, Outcome(run, runErr))
				return
			}
			var refused *ReadRefusedError
			require.ErrorAs(t, runErr, &refused)
			assert.Equal(t, tt.reason, refused.Reason)
			assert.Contains(t, refused.Why, tt.why)
			assert.Equal(t, OutcomeRefused, Outcome(run, runErr))
			assert.Nil(t, run.Plan)
			assert.False(t, run.Read.Complete, "a refused read is not reported as complete")
			assert.Equal(t, applied, tn.applied, "nothing applied")
			assert.Len(t, tn.guests, 2)
			after, err := state.Load(e.StatePath)
			require.NoError(t, err)
			if !tt.freshState {
				assert.Equal(t, before.LastSuccess, after.LastSuccess, "the last success stays")
				assert.Equal(t, before.LastSuccess, run.LastSuccess)
				assert.Equal(t, before.Sources, after.Sources, "the read is not remembered")
			}
			metrics := string(Metrics(run, runErr))
			assert.Contains(t, metrics, "guestsync_run_success 0\n")
			assert.Contains(t, metrics, `guestsync_run_refused{reason="`+tt.reason+`"} 1`+"\n")
			assert.Equal(t, runErr.Error(), NewReport(run, runErr).Error)
			assert.Equal(t, OutcomeRefused, NewReport(run, runErr).Outcome)
		})
	}
}

func TestChangedSourceKeyStartsWithAFullRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := &changeSource{key: "filter-a", entries: entries[:2], mark: "w1"}
	e := incrementalEngine(t, src, &tenant{guests: map[string]account.Account{}})
	_, err := e.Run(ctx, true)
	require.NoError(t, err)
	src.key = "filter-b"
	_, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, []string{"full", "full"}, src.calls)
}

// TestFullReadEvery: a run reads the whole source once the last full read
// is older than FullReadEvery, although a watermark is stored, and the
// deletion only a full read can see is then found; applying a reviewed
// incremental plan reads as the plan did, whatever the clock says.
func TestFullReadEvery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	e, src, tn := syncedEngine(t)
	e.Now = func() time.Time { return clock }
	e.FullReadEvery = 7 * 24 * time.Hour
	st, err := state.Load(e.StatePath)
	require.NoError(t, err)
	first := st.Sources[src.key].FullReadAt
	require.False(t, first.IsZero())

	// A day after the first sync: changes only.
	clock = first.Add(24 * time.Hour)
	run, err := e.Run(ctx, true)
	require.NoError(t, err)
	assert.True(t, run.Read.Incremental)
	assert.Equal(t, "changes:w1", src.calls[len(src.calls)-1])

	// bob leaves; incremental reads of this source do not see it. A week
	// after the last full read the run reads everything, and bob's guest
	// is disabled.
	src.entries = entries[:1]
	clock = first.Add(7*24*time.Hour + time.Minute)
	plan1, _, err := e.Plan(ctx)
	require.NoError(t, err)
	assert.False(t, plan1.Incremental, "plan reads as the next run would")
	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.False(t, run.Read.Incremental)
	assert.Equal(t, "full", src.calls[len(src.calls)-1])
	require.Equal(t, 1, run.Plan.Count(plan.Disable), "%+v", run.Plan.Actions)
	assert.Equal(t, "uid=bob,ou=Partners", run.Plan.Actions[0].Source)
	assert.Equal(t, "not in the source's complete read", run.Plan.Actions[0].Reason)
	assert.Equal(t, "false", tn.guests[run.Plan.Actions[0].Anchor].Properties["accountEnabled"])
	st, err = state.Load(e.StatePath)
	require.NoError(t, err)
	assert.Equal(t, clock, st.Sources[src.key].FullReadAt, "the clock starts again")

	// The next day: changes only again.
	clock = clock.Add(24 * time.Hour)
	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.True(t, run.Read.Incremental)

	// A plan reviewed before the week is out is applied after it on an
	// incremental read, as it was made.
	reviewed, _, err := e.Plan(ctx)
	require.NoError(t, err)
	require.True(t, reviewed.Incremental)
	clock = clock.Add(8 * 24 * time.Hour)
	e.Expect = reviewed
	_, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, "changes:w1", src.calls[len(src.calls)-1])
	e.Expect = nil

	// 0 leaves it to Full.
	e.FullReadEvery = 0
	clock = clock.Add(365 * 24 * time.Hour)
	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.True(t, run.Read.Incremental)
}

func TestChooseRead(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	src := &changeSource{key: "k"}
	cases := map[string]struct {
		stored     state.Source
		rp         ReadPolicy
		since, why string
	}{
		"nothing stored":         {rp: ReadPolicy{Every: week, Now: now}},
		"recent full read":       {stored: state.Source{Watermark: "w", FullReadAt: now.Add(-time.Hour)}, rp: ReadPolicy{Every: week, Now: now}, since: "w"},
		"full read a week ago":   {stored: state.Source{Watermark: "w", FullReadAt: now.Add(-week)}, rp: ReadPolicy{Every: week, Now: now}, why: "the last full read was 168h0m0s ago, source.fullReadEvery is 168h0m0s"},
		"no full read on record": {stored: state.Source{Watermark: "w"}, rp: ReadPolicy{Every: week, Now: now}, why: "no full read on record (source.fullReadEvery)"},
		"never by the clock":     {stored: state.Source{Watermark: "w"}, rp: ReadPolicy{Now: now}, since: "w"},
		"--full":                 {stored: state.Source{Watermark: "w", FullReadAt: now}, rp: ReadPolicy{Full: true, Every: week, Now: now}, why: "full read requested"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			st := &state.State{Sources: map[string]state.Source{}}
			if tc.stored.Watermark != "" {
				st.Sources["k"] = tc.stored
			}
			m := chooseRead(src, st, tc.rp)
			assert.Equal(t, "k", m.Key)
			assert.Equal(t, tc.since, m.Since)
			assert.Equal(t, tc.why, m.Why)
		})
	}
	m := chooseRead(fakeSource{}, &state.State{}, ReadPolicy{Full: true})
	assert.Equal(t, readMode{}, m, "a reader without watermarks is always read whole")
}
