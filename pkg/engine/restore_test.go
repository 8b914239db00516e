package engine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/state"
)

// binnedTenant is a delta tenant with a recycle bin whose restores come
// back as Graph's client reports a restore whose update failed: the guest
// is back, the action a failure.
type binnedTenant struct {
	*deltaTenant
	bin []account.Account
}

func (b *binnedTenant) Deleted(context.Context) ([]account.Account, error) { return b.bin, nil }

func (b *binnedTenant) Apply(ctx context.Context, actions []plan.Action) []plan.Result {
	var rest []plan.Action
	var out []plan.Result
	for _, a := range actions {
		if a.Kind != plan.Restore {
			rest = append(rest, a)
			continue
		}
		for i, g := range b.bin {
			if g.ID == a.ID {
				g.Deleted = false
				b.users[g.ID] = g
				b.bin = append(b.bin[:i], b.bin[i+1:]...)
				// The round reports the restored user without its
				// userType, as Graph's may.
				b.log = append(b.log, account.Change{ID: g.ID, Present: []string{"displayName"},
					Account: account.Account{Properties: map[string]string{"displayName": g.Properties["displayName"]}}})
				break
			}
		}
		out = append(out, plan.Result{Action: a, ID: a.ID,
			Failure: &plan.Failure{Message: "restored guest " + a.ID + ", but bringing it up to date failed"}})
	}
	return append(out, b.deltaTenant.Apply(ctx, rest)...)
}

// TestRestoreWhoseUpdateFailedReadsEveryGuestNext: a restore that failed
// only in its update has brought the user back all the same, so the next
// run reads every guest (a restored user may come back in a change round
// without its userType) and sees it to update it.
func TestRestoreWhoseUpdateFailedReadsEveryGuestNext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, dt := deltaEngine(t)
	tenant := &binnedTenant{deltaTenant: dt}
	e.Target = tenant
	_, err := e.Run(ctx, true)
	require.NoError(t, err)
	_, err = e.Run(ctx, true)
	require.NoError(t, err)
	st, err := state.Load(e.StatePath)
	require.NoError(t, err)
	require.NotEmpty(t, st.Targets["fake tenant"].DeltaLink)

	// An admin deletes ann's guest; meanwhile ann is renamed in the source.
	ann := dt.users["u1"]
	delete(dt.users, "u1")
	dt.log = append(dt.log, account.Change{ID: "u1", Removed: true})
	ann.Deleted, ann.Properties["displayName"] = true, "Ann (as deleted)"
	tenant.bin = []account.Account{ann}

	run, err := e.Run(ctx, true)
	require.NoError(t, err)
	require.Equal(t, 1, run.Plan.Count(plan.Restore), "%+v", run.Plan.Actions)
	st, err = state.Load(e.StatePath)
	require.NoError(t, err)
	assert.Empty(t, st.Targets["fake tenant"].DeltaLink, "the next run reads every guest")

	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	require.Equal(t, 1, run.Plan.Count(plan.Update), "the restored guest is updated, not created again: %+v", run.Plan.Actions)
	assert.Equal(t, "u1", run.Plan.Actions[0].ID)
	assert.Equal(t, "ann", dt.users["u1"].Properties["displayName"])
}
