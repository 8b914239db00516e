package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/state"
)

// deltaTenant is a fake tenant with change tracking: every write appends to
// a log, and a link is the log position. Rounds report partial updates
// (only the properties written) as Graph may.
type deltaTenant struct {
	users   map[string]account.Account
	log     []account.Change
	expired bool // every link given so far is refused
	rounds  []string
	fail    bool // Apply fails every action
	nextID  int
	id      string // the tenant's identity (Tenant)
}

func newDeltaTenant() *deltaTenant {
	return &deltaTenant{users: map[string]account.Account{}, id: "00000000-0000-4000-8000-00000000000a"}
}

func (d *deltaTenant) DeltaKey() string { return "fake tenant" }

func (d *deltaTenant) Tenant(context.Context) (string, error) { return d.id, nil }

func (d *deltaTenant) Current(context.Context) ([]account.Account, error) {
	return nil, fmt.Errorf("a delta target is not listed in full")
}

func (d *deltaTenant) Changes(_ context.Context, link string) ([]account.Change, string, error) {
	d.rounds = append(d.rounds, link)
	if link == "" {
		var out []account.Change
		for id, g := range d.users {
			out = append(out, full(id, g))
		}
		return out, strconv.Itoa(len(d.log)), nil
	}
	if d.expired {
		return nil, "", fmt.Errorf("410 Gone: %w", account.ErrResync)
	}
	pos, err := strconv.Atoi(link)
	if err != nil {
		return nil, "", err
	}
	return d.log[pos:], strconv.Itoa(len(d.log)), nil
}

func full(id string, g account.Account) account.Change {
	ch := account.Change{ID: id, Account: g, InScope: true, AnchorPresent: true, OwnerPresent: true}
	for p := range g.Properties {
		ch.Present = append(ch.Present, p)
	}
	ch.Account.ID = id
	return ch
}

// set changes one property out of band, as an admin would.
func (d *deltaTenant) set(id, prop, value string) {
	g := d.users[id]
	g.Properties[prop] = value
	d.users[id] = g
	d.log = append(d.log, account.Change{ID: id, Present: []string{prop},
		Account: account.Account{Properties: map[string]string{prop: value}}})
}

func (d *deltaTenant) Apply(_ context.Context, actions []plan.Action) []plan.Result {
	var out []plan.Result
	for _, a := range actions {
		if a.Kind == plan.Skip {
			continue
		}
		if d.fail {
			out = append(out, plan.Result{Action: a, Failure: &plan.Failure{Message: "no"}})
			continue
		}
		switch a.Kind {
		case plan.Create:
			d.nextID++
			id := "u" + strconv.Itoa(d.nextID)
			g := account.Account{ID: id, Anchor: a.Anchor, Owned: true, Properties: map[string]string{}}
			for k, v := range a.Account.Properties {
				g.Properties[k] = v
			}
			d.users[id] = g
			d.log = append(d.log, full(id, g))
			out = append(out, plan.Result{Action: a, ID: id})
		case plan.Update:
			for _, c := range a.Changes {
				d.set(a.ID, c.Property, c.New)
			}
			out = append(out, plan.Result{Action: a, ID: a.ID})
		}
	}
	return out
}

// deltaEngine is an engine with a state file over the shared entries and
// a tenant read through change tracking.
func deltaEngine(t *testing.T) (*Engine, *deltaTenant) {
	t.Helper()
	tenant := newDeltaTenant()
	src := fakeSource{entries: entries, result: source.Result{Entries: len(entries), Complete: true}}
	e := newEngine(t, src, &fakeTarget{})
	e.Target = tenant
	e.StatePath = filepath.Join(t.TempDir(), "state.json")
	return e, tenant
}

func TestDeltaTargetRunsReadOnlyChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, tenant := deltaEngine(t)

	run, err := e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, 2, run.Succeeded(plan.Create))
	assert.Equal(t, []string{""}, tenant.rounds, "the first run starts with an initial round")
	st, err := state.Load(e.StatePath)
	require.NoError(t, err)
	saved := st.Targets["fake tenant"]
	assert.Equal(t, "0", saved.DeltaLink, "the link taken before apply: the next round replays our writes")
	assert.Empty(t, saved.Accounts)

	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.False(t, run.Plan.HasChanges(), "our own creates came back through the round: %s", fmt.Sprintf("%+v", run.Plan.Actions))
	assert.Equal(t, []string{"", "0"}, tenant.rounds)
	st, err = state.Load(e.StatePath)
	require.NoError(t, err)
	assert.Len(t, st.Targets["fake tenant"].Accounts, 2)
	assert.Equal(t, "2", st.Targets["fake tenant"].DeltaLink)

	// An admin renames ann in the portal: only that property comes back,
	// and the plan puts it right.
	tenant.set("u1", "displayName", "Ann (edited)")
	p, _, err := e.Plan(ctx)
	require.NoError(t, err)
	require.Len(t, p.Actions, 2, "one update and the skip of the unmappable entry")
	assert.Equal(t, plan.Update, p.Actions[0].Kind)
	assert.Equal(t, []plan.Change{{Property: "displayName", Old: "Ann (edited)", New: "ann"}}, p.Actions[0].Changes)
	st, err = state.Load(e.StatePath)
	require.NoError(t, err)
	assert.Equal(t, "2", st.Targets["fake tenant"].DeltaLink, "a plan remembers nothing")

	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, 1, run.Succeeded(plan.Update))
	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.False(t, run.Plan.HasChanges())
	assert.Equal(t, "ann", tenant.users["u1"].Properties["displayName"])
}

func TestDeltaTargetResyncFullAndFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, tenant := deltaEngine(t)
	_, err := e.Run(ctx, true)
	require.NoError(t, err)

	tenant.expired = true
	run, err := e.Run(ctx, true)
	require.NoError(t, err, "an expired link falls back to an initial round")
	assert.False(t, run.Plan.HasChanges())
	assert.Equal(t, []string{"", "0", ""}, tenant.rounds)
	tenant.expired = false

	e.Full = true
	_, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, "", tenant.rounds[len(tenant.rounds)-1], "--full reads every guest")
	e.Full = false

	// A target kept under another key (an old URL or owner) is dropped.
	st, err := state.Load(e.StatePath)
	require.NoError(t, err)
	st.Targets["graph https://old.example owner x"] = state.Target{DeltaLink: "old"}
	require.NoError(t, st.Save(e.StatePath))
	_, err = e.Run(ctx, true)
	require.NoError(t, err)
	st, err = state.Load(e.StatePath)
	require.NoError(t, err)
	assert.Len(t, st.Targets, 1)

	// Failed actions: the source's watermark and last success stay, the
	// tenant's position moves on.
	tenant.set("u2", "displayName", "Bob (edited)")
	tenant.fail = true
	before, err := state.Load(e.StatePath)
	require.NoError(t, err)
	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, 1, run.Failed())
	after, err := state.Load(e.StatePath)
	require.NoError(t, err)
	assert.Equal(t, before.LastSuccess, after.LastSuccess)
	assert.NotEqual(t, before.Targets["fake tenant"].DeltaLink, after.Targets["fake tenant"].DeltaLink)
	tenant.fail = false
	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, 1, run.Succeeded(plan.Update), "the failed update is planned again from the cached guest")
}

func TestMergeChanges(t *testing.T) {
	t.Parallel()
	known := []account.Account{
		{ID: "b", Owned: true, Properties: map[string]string{"mail": "b@x", "displayName": "B"}},
		{ID: "a", Properties: map[string]string{"mail": "a@x"}},
	}
	got, changed := mergeChanges(known, []account.Change{
		{ID: "A", Removed: true}, // ids compare without case
		{ID: "b", Present: []string{"displayName"}},
		{ID: "c", InScope: true, AnchorPresent: true, Account: account.Account{Anchor: "QUFB"}},
		{ID: "member", Present: []string{"jobTitle"}, Account: account.Account{Properties: map[string]string{"jobTitle": "x"}}},
	})
	assert.True(t, changed)
	ids := make([]string, len(got))
	for i, g := range got {
		ids[i] = g.ID
	}
	assert.Equal(t, []string{"b", "c"}, ids, "removed and unknown partial users are left out, in id order")
	assert.Equal(t, map[string]string{"mail": "b@x"}, got[0].Properties, "displayName was cleared")
	assert.True(t, got[0].Owned)
	assert.Equal(t, "QUFB", got[1].Anchor)
	assert.Equal(t, "b", strings.ToLower(got[0].ID))
}

// TestMergeChangesOfNoGuest: a round whose changes leave every guest as it
// was (members changed, members left, a guest's unchanged values sent
// again) changes nothing, so the state does not write the guests again.
func TestMergeChangesOfNoGuest(t *testing.T) {
	t.Parallel()
	known := []account.Account{
		{ID: "a", Anchor: "QUFB", Owned: true, Properties: map[string]string{"mail": "a@x", "displayName": "A"}},
		{ID: "b", Properties: map[string]string{"mail": "b@x"}},
	}
	got, changed := mergeChanges(known, []account.Change{
		{ID: "member-1", Removed: true}, // turned member, or was one
		{ID: "member-2", Present: []string{"jobTitle"}, Account: account.Account{Properties: map[string]string{"jobTitle": "x"}}},
		{ID: "a", InScope: true, Present: []string{"displayName", "mail"}, AnchorPresent: true, OwnerPresent: true,
			Account: account.Account{Anchor: "QUFB", Owned: true, Properties: map[string]string{"mail": "a@x", "displayName": "A"}}},
	})
	assert.False(t, changed)
	assert.Equal(t, known, got)

	_, changed = mergeChanges(known, []account.Change{{ID: "b", Present: []string{"mail"}, Account: account.Account{Properties: map[string]string{"mail": "b2@x"}}}})
	assert.True(t, changed, "a value changed")
	_, changed = mergeChanges(known, []account.Change{{ID: "b", OwnerPresent: true, Account: account.Account{Owned: true, Properties: map[string]string{}}}})
	assert.True(t, changed, "the mark came")
	_, changed = mergeChanges(known, []account.Change{{ID: "B", Removed: true}})
	assert.True(t, changed, "a guest left")
}

// TestMemberChangesKeepTheGuestsFile: a round that changes no guest (only
// members changed) moves the link on and leaves the guests file alone.
func TestMemberChangesKeepTheGuestsFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, tenant := deltaEngine(t)
	for range 2 { // creates, then the round that brings them back
		_, err := e.Run(ctx, true)
		require.NoError(t, err)
	}
	before, err := state.Load(e.StatePath)
	require.NoError(t, err)
	file := before.Targets["fake tenant"].AccountsFile
	require.NotEmpty(t, file)
	info, err := os.Stat(filepath.Join(filepath.Dir(e.StatePath), file))
	require.NoError(t, err)

	tenant.log = append(tenant.log, account.Change{ID: "member-1", Removed: true},
		account.Change{ID: "member-2", Present: []string{"jobTitle"}, Account: account.Account{Properties: map[string]string{"jobTitle": "x"}}})
	run, err := e.Run(ctx, true)
	require.NoError(t, err)
	assert.False(t, run.Plan.HasChanges())
	after, err := state.Load(e.StatePath)
	require.NoError(t, err)
	assert.NotEqual(t, before.Targets["fake tenant"].DeltaLink, after.Targets["fake tenant"].DeltaLink, "the link moved on")
	assert.Equal(t, file, after.Targets["fake tenant"].AccountsFile, "the same guests file")
	again, err := os.Stat(filepath.Join(filepath.Dir(e.StatePath), file))
	require.NoError(t, err)
	assert.Equal(t, info.ModTime(), again.ModTime(), "not written again")
	assert.Len(t, after.Targets["fake tenant"].Accounts, 2)
}
