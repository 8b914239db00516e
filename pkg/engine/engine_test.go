package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/mapping"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/state"
)

type fakeSource struct {
	entries []source.Entry
	result  source.Result
	err     error
}

func (f fakeSource) Read(_ context.Context, fn func(source.Entry) error) (source.Result, error) {
	for _, e := range f.entries {
		if err := fn(e); err != nil {
			return source.Result{}, err
		}
	}
	return f.result, f.err
}

type fakeTarget struct {
	current []account.Account
	applied [][]plan.Action
}

func (f *fakeTarget) Current(context.Context) ([]account.Account, error) { return f.current, nil }

func (f *fakeTarget) Apply(_ context.Context, actions []plan.Action) []plan.Result {
	f.applied = append(f.applied, actions)
	out := make([]plan.Result, 0, len(actions))
	for _, a := range actions {
		if a.Kind != plan.Skip {
			out = append(out, plan.Result{Action: a, ID: "new-" + a.Anchor})
		}
	}
	return out
}

// guestTarget is how the fake targets describe their accounts: as the
// Graph client describes its guests.
var guestTarget = plan.Target{Kind: "graph", Noun: "guest", Anchor: "onPremisesImmutableId", Name: "userPrincipalName",
	Create: "create", Unique: []string{"userPrincipalName", "mailNickname"}, Enabled: "accountEnabled"}

func (f *fakeTarget) Describe() plan.Target { return guestTarget }

func (tn *tenant) Describe() plan.Target { return guestTarget }

func (d *deltaTenant) Describe() plan.Target { return guestTarget }

const testMapping = `version: 1
anchor: {attributes: [entryUUID]}
scope:
  - clauses: [{attribute: employeeType, operator: EQUALS, value: Partner}]
flows:
  - {target: userPrincipalName, type: direct, source: mail}
  - {target: mailNickname, type: direct, source: uid}
  - {target: displayName, type: direct, source: cn}
  - {target: accountEnabled, type: constant, value: "true"}
`

func entry(uid, uuid, kind string) source.Entry {
	return source.Entry{DN: "uid=" + uid + ",ou=Partners", Attributes: map[string][]string{
		"uid": {uid}, "cn": {uid}, "mail": {uid + "@partners.contoso.com"}, "employeeType": {kind}, "entryUUID": {uuid},
	}}
}

func newEngine(t *testing.T, src fakeSource, tgt *fakeTarget) *Engine {
	t.Helper()
	m, err := mapping.Parse("test.yaml", []byte(testMapping))
	require.NoError(t, err)
	return &Engine{Source: src, Mapping: m, Target: tgt}
}

var entries = []source.Entry{
	entry("ann", "11111111-1111-1111-1111-111111111111", "Partner"),
	entry("bob", "22222222-2222-2222-2222-222222222222", "Partner"),
	entry("eve", "33333333-3333-3333-3333-333333333333", "Employee"),
	entry("bad", "not-a-uuid", "Partner"),
}

func TestRunWithoutApplyNeverWrites(t *testing.T) {
	t.Parallel()
	tgt := &fakeTarget{}
	e := newEngine(t, fakeSource{entries: entries, result: source.Result{Entries: 4, Complete: true}}, tgt)
	run, err := e.Run(context.Background(), false)
	require.NoError(t, err)
	assert.Empty(t, tgt.applied, "dry run: Apply is never called")
	assert.False(t, run.Applied)
	assert.Equal(t, 2, run.Plan.Count(plan.Create))
	assert.Equal(t, 1, run.Plan.OutOfScope)
	require.Equal(t, 1, run.Plan.Count(plan.Skip))
	for _, a := range run.Plan.Actions {
		if a.Kind == plan.Skip {
			assert.Equal(t, "uid=bad,ou=Partners", a.Source)
			assert.Contains(t, a.Reason, "mapping: anchor entryUUID")
		}
	}
}

func TestRunApplies(t *testing.T) {
	t.Parallel()
	tgt := &fakeTarget{}
	e := newEngine(t, fakeSource{entries: entries, result: source.Result{Entries: 4, Complete: true}}, tgt)
	run, err := e.Run(context.Background(), true)
	require.NoError(t, err)
	require.Len(t, tgt.applied, 1)
	assert.True(t, run.Applied)
	assert.Equal(t, 2, run.Succeeded(plan.Create))
	assert.Equal(t, 0, run.Failed())
}

func TestRunNothingToApply(t *testing.T) {
	t.Parallel()
	m, err := mapping.Parse("test.yaml", []byte(testMapping))
	require.NoError(t, err)
	var current []account.Account
	for _, en := range entries[:2] {
		r := m.Map(en)
		require.NoError(t, r.Err)
		g := r.Account
		g.ID = "id-" + g.Anchor
		g.Owned = true
		current = append(current, g)
	}
	tgt := &fakeTarget{current: current}
	e := &Engine{Source: fakeSource{entries: entries[:3], result: source.Result{Entries: 3, Complete: true}}, Mapping: m, Target: tgt}
	run, err := e.Run(context.Background(), true)
	require.NoError(t, err)
	assert.Empty(t, tgt.applied, "no changes: nothing sent")
	assert.Equal(t, 2, run.Plan.Unchanged)
}

func TestRunRefusesFailedOrIncompleteReads(t *testing.T) {
	t.Parallel()
	for name, src := range map[string]fakeSource{
		"read error": {entries: entries[:1], result: source.Result{Entries: 1}, err: errors.New("connection reset")},
		"incomplete": {entries: entries[:1], result: source.Result{Entries: 1, Complete: false}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tgt := &fakeTarget{}
			run, err := newEngine(t, src, tgt).Run(context.Background(), true)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "read source")
			assert.Empty(t, tgt.applied, "nothing is applied after a failed read")
			assert.Nil(t, run.Plan)
		})
	}
}

func TestReportCountsOutcomes(t *testing.T) {
	t.Parallel()
	a1 := plan.Action{Kind: plan.Create, Anchor: "A"}
	a2 := plan.Action{Kind: plan.Update, Anchor: "B", ID: "id-b"}
	skip := plan.Action{Kind: plan.Skip, Source: "CN=x", Reason: "conflict"}
	run := &Run{Applied: true, Plan: &plan.Plan{Actions: []plan.Action{a1, skip, a2}, Unchanged: 4},
		Results: []plan.Result{{Action: a1, ID: "id-a"}, {Action: a2, Failure: &plan.Failure{Code: "Request_BadRequest", Message: "bad", RequestID: "r-1"}}}}
	r := NewReport(run, nil)
	assert.Equal(t, Summary{Create: 1, Unchanged: 4, Skipped: 1, Failed: 1}, r.Summary)
	require.Len(t, r.Actions, 3)
	assert.Equal(t, "done", r.Actions[0].Status)
	assert.Equal(t, "id-a", r.Actions[0].ID)
	assert.Equal(t, "skipped", r.Actions[1].Status)
	assert.Equal(t, "failed", r.Actions[2].Status)
	assert.Equal(t, "r-1", r.Actions[2].Failure.RequestID)

	planned := NewReport(&Run{Plan: &plan.Plan{Actions: []plan.Action{a1, a2}}}, nil)
	assert.Equal(t, Summary{Create: 1, Update: 1}, planned.Summary)
	assert.Equal(t, "planned", planned.Actions[0].Status)
	failedRun := NewReport(&Run{}, errors.New("read source: boom"))
	assert.Equal(t, "read source: boom", failedRun.Error)
	assert.Empty(t, failedRun.Actions)
}

// TestMappingFailuresAreFailedObjects: an entry skipped because its
// mapping failed fails the run's outcome as a failed action does, the
// report and the metrics count it, and the state keeps neither the read
// nor a new last success, so the entry is read again next time.
func TestMappingFailuresAreFailedObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := &changeSource{key: "k", entries: entries, mark: "w1"} // "bad" has no valid anchor
	e := incrementalEngine(t, src, &tenant{guests: map[string]account.Account{}})
	run, err := e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, 2, run.Succeeded(plan.Create), "the others are applied")
	assert.Equal(t, 0, run.Failed())
	assert.Equal(t, 1, run.MappingFailed)
	assert.Equal(t, 1, run.FailedObjects())
	assert.Equal(t, OutcomeObjectsFailed, Outcome(run, nil))
	assert.True(t, run.LastSuccess.IsZero(), "not a success")
	st, err := state.Load(e.StatePath)
	require.NoError(t, err)
	assert.Empty(t, st.Sources["k"].Watermark, "the read is not remembered")
	assert.True(t, st.LastSuccess.IsZero())

	r := NewReport(run, nil)
	assert.Equal(t, OutcomeObjectsFailed, r.Outcome)
	assert.Equal(t, Summary{Create: 2, Skipped: 1, MappingFailed: 1}, r.Summary)
	metrics := string(Metrics(run, nil))
	assert.Contains(t, metrics, "guestsync_run_success 0\n")
	assert.Contains(t, metrics, `guestsync_run_outcome{outcome="objects_failed"} 1`+"\n")
	assert.Contains(t, metrics, `guestsync_objects_failed{stage="mapping"} 1`+"\n")

	src.entries = entries[:3] // the entry is fixed (here: gone)
	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, OutcomeSucceeded, Outcome(run, nil))
	assert.False(t, run.LastSuccess.IsZero())
}

func TestPreviewRefusesAnIncompleteRead(t *testing.T) {
	t.Parallel()
	src := fakeSource{entries: entries[:1], result: source.Result{Entries: 1, Incomplete: "the file ends inside a record"}}
	_, err := newEngine(t, src, &fakeTarget{}).Preview(context.Background(), "ann", false)
	var refused *ReadRefusedError
	require.ErrorAs(t, err, &refused)
	assert.Equal(t, RefusedIncomplete, refused.Reason)
	assert.Equal(t, "read source: incomplete read, refusing to plan on it: the file ends inside a record", err.Error())
}
