package engine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
)

// An entry the read returned but whose anchor cannot be worked out is
// still in the source: the read cannot say which guest it is, so it cannot
// say that any guest's account is gone. Such a full read removes nothing
// by absence (bob's entryUUID damaged in the directory must not disable
// bob's guest); what it can do, it does.
func TestAnEntryWithoutAnAnchorKeepsEveryGuest(t *testing.T) {
	t.Parallel()
	ann, bob := entries[0], entries[1]
	e := newEngine(t, fakeSource{}, nil)
	var current []account.Account
	for _, en := range []source.Entry{ann, bob} {
		r := e.Mapping.Map(en)
		require.NoError(t, r.Err)
		g := r.Account
		g.ID, g.Owned = "id-"+g.Anchor, true
		current = append(current, g)
	}
	damaged := entry("bob", "not-a-uuid", "Partner")
	carl := entry("carl", "44444444-4444-4444-4444-444444444444", "Partner")
	tgt := &fakeTarget{current: current}
	e = newEngine(t, fakeSource{entries: []source.Entry{ann, damaged, carl}, result: source.Result{Entries: 3, Complete: true}}, tgt)
	run, err := e.Run(context.Background(), true)
	require.NoError(t, err)
	assert.Zero(t, run.Plan.Removals(), "no guest is removed on a read that could not anchor every entry:\n%+v", run.Plan.Actions)
	assert.Equal(t, 1, run.Plan.Count(plan.Create), "carl is still created")
	assert.Equal(t, 1, run.Plan.Count(plan.Skip), "bob's entry is skipped with its reason")
	assert.Equal(t, 1, run.MappingFailed)
}
