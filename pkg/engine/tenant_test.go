package engine

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/state"
)

// TestDeltaTargetNewTenantBehindTheSameKey: the same Graph URL and owner
// now lead to another tenant (a new app registration elsewhere, an
// emulator started without its state). What the state remembers of the
// old tenant (its link, guests and grace clocks) is not this tenant's:
// the run reads an initial round and creates every guest again, and the
// log names both tenants.
func TestDeltaTargetNewTenantBehindTheSameKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, old := deltaEngine(t)
	var logs bytes.Buffer
	e.Log = slog.New(slog.NewTextHandler(&logs, nil))
	run, err := e.Run(ctx, true)
	require.NoError(t, err)
	require.Equal(t, 2, run.Succeeded(plan.Create))
	_, err = e.Run(ctx, true)
	require.NoError(t, err)
	st, err := state.Load(e.StatePath)
	require.NoError(t, err)
	saved := st.Targets["fake tenant"]
	require.NotEmpty(t, saved.Accounts)
	saved.Disabled = map[string]time.Time{"99999999-9999-9999-9999-999999999999": time.Now().Add(-365 * 24 * time.Hour)}
	st.Targets["fake tenant"] = saved
	require.NoError(t, st.Save(e.StatePath))

	fresh := newDeltaTenant()
	fresh.id = "00000000-0000-4000-8000-00000000000b"
	// The new tenant's log is as long as the old one's: the old link
	// would be read as "nothing changed".
	fresh.log = make([]account.Change, len(old.log))
	e.Target = fresh
	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, []string{""}, fresh.rounds, "an initial round, not the old tenant's link")
	assert.Equal(t, 2, run.Succeeded(plan.Create), "every guest is created in the new tenant")
	assert.Contains(t, logs.String(), "00000000-0000-4000-8000-00000000000a")
	assert.Contains(t, logs.String(), "00000000-0000-4000-8000-00000000000b")
	st, err = state.Load(e.StatePath)
	require.NoError(t, err)
	assert.Equal(t, fresh.id, st.Targets["fake tenant"].Tenant)
	assert.Empty(t, st.Targets["fake tenant"].Disabled, "the old tenant's grace clocks are gone")
}

// TestDeltaTargetStateWithoutTenant: a state written before targets
// named their tenant (format 1, guestsync 879c0ff) loads, and its link is
// not trusted: the run reads an initial round and remembers the tenant.
func TestDeltaTargetStateWithoutTenant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, tenant := deltaEngine(t)
	_, err := e.Run(ctx, true)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(e.StatePath, []byte(`{
  "version": 1,
  "targets": {
    "fake tenant": {
      "deltaLink": "2",
      "disabled": {"99999999-9999-9999-9999-999999999999": "2020-01-01T00:00:00Z"}
    }
  },
  "lastSuccess": "2026-12-01T00:00:00Z"
}
`), 0o600))
	tenant.rounds = nil
	run, err := e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, []string{""}, tenant.rounds, "an initial round: the link's tenant is unknown")
	assert.False(t, run.Plan.HasChanges(), "the guests are there, read in full")
	st, err := state.Load(e.StatePath)
	require.NoError(t, err)
	assert.Equal(t, state.FormatVersion, st.Version)
	assert.Equal(t, tenant.id, st.Targets["fake tenant"].Tenant)
	assert.Empty(t, st.Targets["fake tenant"].Disabled)
}
