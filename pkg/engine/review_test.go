package engine

// Tests for the cases a review of the removal and change-tracking code
// found: interrupted applies, preview --apply, duplicate users in an
// initial round, a full read matching none of guestsync's guests, and
// saved plans with repeated actions.

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/state"
)

// cancellingTenant cancels the run's context once it has applied a chunk.
type cancellingTenant struct {
	tenant
	cancel context.CancelFunc
}

func (c *cancellingTenant) Apply(ctx context.Context, actions []plan.Action) []plan.Result {
	defer c.cancel()
	return c.tenant.Apply(ctx, actions)
}

func TestInterruptedApplyIsNotASuccess(t *testing.T) {
	t.Parallel()
	var many []source.Entry
	for i := 0; i < 900; i++ {
		many = append(many, entry(fmt.Sprintf("p%03d", i), fmt.Sprintf("00000000-0000-4000-8000-%012d", i), "Partner"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	tn := &cancellingTenant{tenant: tenant{guests: map[string]account.Account{}}, cancel: cancel}
	src := &changeSource{key: "k", entries: many, mark: "w1"}
	e := incrementalEngine(t, src, &tn.tenant)
	e.Target = tn
	run, err := e.Run(ctx, true)
	require.NoError(t, err)
	assert.Len(t, tn.guests, applyChunk, "one chunk went through")
	assert.Equal(t, 900-applyChunk, run.Failed())
	assert.Contains(t, run.Results[len(run.Results)-1].Failure.Message, "not attempted: the run was interrupted")
	st, err := state.Load(e.StatePath)
	require.NoError(t, err)
	assert.Empty(t, st.Sources["k"].Watermark, "the next run reads everything again")
	assert.True(t, st.LastSuccess.IsZero())
}

func TestPreviewApplyActsOnOneAccountOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, src, tn := syncedEngine(t)
	e.Policy.DeleteAfter = time.Hour
	// bob was removed long ago and is still disabled, with a clock past
	// its grace period.
	bob := e.Mapping.Map(entries[1]).Account.Anchor
	g := tn.guests[bob]
	g.Properties["accountEnabled"] = "false"
	tn.guests[bob] = g
	st, err := state.Load(e.StatePath)
	require.NoError(t, err)
	st.Targets["target"] = state.Target{Disabled: map[string]time.Time{bob: time.Now().Add(-48 * time.Hour)}}
	require.NoError(t, st.Save(e.StatePath))
	src.entries = entries[:1]

	p, err := e.Preview(ctx, "ann", true)
	require.NoError(t, err)
	for _, a := range p.Plan.Actions {
		assert.Equal(t, p.Mapping.Account.Anchor, a.Anchor, "only ann's actions: %+v", a)
	}
	assert.Contains(t, tn.guests, bob, "bob is not deleted by a preview of ann")
}

func TestInitialGuestsKeepsTheLastCopy(t *testing.T) {
	t.Parallel()
	got := initialAccounts([]account.Change{
		{ID: "B", InScope: true, Account: account.Account{Properties: map[string]string{"displayName": "old"}}},
		{ID: "a", InScope: true, Account: account.Account{Properties: map[string]string{"displayName": "A"}}},
		{ID: "b", InScope: true, Account: account.Account{Owned: true, Properties: map[string]string{"displayName": "new"}}},
		{ID: "c", InScope: true, Account: account.Account{}},
		{ID: "C", Removed: true},
	})
	require.Len(t, got, 2)
	assert.Equal(t, "A", got[0].Properties["displayName"])
	assert.Equal(t, "b", got[1].ID)
	assert.Equal(t, "new", got[1].Properties["displayName"], "the later copy wins")
	assert.True(t, got[1].Owned)
}

func TestRailWhenNoAccountMatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, src, tn := syncedEngine(t)
	// The anchor attribute changed: every account looks new, every guest
	// gone.
	src.entries = []source.Entry{
		entry("ann", "aaaaaaaa-1111-1111-1111-111111111111", "Partner"),
		entry("bob", "bbbbbbbb-2222-2222-2222-222222222222", "Partner"),
	}
	e.Full = true
	_, err := e.Run(ctx, true)
	var rail *RemovalLimitError
	require.ErrorAs(t, err, &rail)
	assert.Contains(t, err.Error(), "no account in the source matches any of the 2 guests guestsync owns")
	assert.Len(t, tn.guests, 2, "nothing applied")
}

func TestComparePlansWithRepeatedActions(t *testing.T) {
	t.Parallel()
	skip := plan.Action{Kind: plan.Skip, Source: "uid=x", Reason: "mapping: no uid"}
	saved := &plan.Plan{Actions: []plan.Action{skip, skip}}
	assert.Empty(t, comparePlans(saved, &plan.Plan{Actions: []plan.Action{skip, skip}}))
	assert.Equal(t, []string{"no longer skip uid=x"}, comparePlans(saved, &plan.Plan{Actions: []plan.Action{skip}}))
	other := skip
	other.Reason = "mapping: other"
	assert.Equal(t, []string{"skip uid=x is not the same"}, comparePlans(saved, &plan.Plan{Actions: []plan.Action{skip, other}}))
}

// TestComparePlansOfASavedRestore: a plan saved by a build whose restores
// carried no changes still matches a restore that has none; one whose
// restore now also updates the guest is stale, as it would be applied
// differently from what was reviewed.
func TestComparePlansOfASavedRestore(t *testing.T) {
	t.Parallel()
	var saved plan.Plan
	require.NoError(t, json.Unmarshal([]byte(`{"version":2,"actions":[{"action":"restore","anchor":"QQ==","source":"uid=a",
		"id":"id-a","name":"a@partners.contoso.com","reason":"the account is back in the source"}],"unchanged":0,"outOfScope":0,"matched":0}`), &saved))
	bare := plan.Action{Kind: plan.Restore, Anchor: "QQ==", Source: "uid=a", ID: "id-a",
		Name: "a@partners.contoso.com", Reason: "the account is back in the source"}
	assert.Empty(t, comparePlans(&saved, &plan.Plan{Actions: []plan.Action{bare}}))
	changed := bare
	changed.Changes = []plan.Change{{Property: "accountEnabled", Old: "true", New: "false"}}
	assert.Equal(t, []string{"restore a@partners.contoso.com is not the same"}, comparePlans(&saved, &plan.Plan{Actions: []plan.Action{changed}}))
}

// TestComparePlansOfAnotherTarget: a plan reviewed for invitations is
// stale where the run would create internal guests, whatever its actions.
func TestComparePlansOfAnotherTarget(t *testing.T) {
	t.Parallel()
	invited := guestTarget
	invited.Name, invited.Create = "mail", "invite"
	saved := &plan.Plan{Target: invited, Actions: []plan.Action{}}
	assert.Empty(t, comparePlans(saved, &plan.Plan{Target: invited, Actions: []plan.Action{}}))
	assert.Equal(t, []string{"the plan was made to invite guests in graph, this run would create guests in graph"},
		comparePlans(saved, &plan.Plan{Target: guestTarget, Actions: []plan.Action{}}))
}
