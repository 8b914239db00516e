package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/plan"
)

// TestRemovalLimitErrorNamesTheTargetsAccounts: the rail's message counts
// what the plan's target removes, in the target's words.
func TestRemovalLimitErrorNamesTheTargetsAccounts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		noun, want string
		limits     RemovalLimits
	}{
		{"shadow account", "the plan removes 2 shadow accounts, over the removal threshold of 1 (count)", RemovalLimits{MaxRemovals: 1}},
		{"guest", "the plan removes 2 guests, over the removal threshold of 1 (count)", RemovalLimits{MaxRemovals: 1}},
		{"shadow account", "over the removal threshold of 1 (50 % of 3 owned shadow accounts)", RemovalLimits{MaxRemovalPercent: 50}},
		{"", "the plan removes 2 accounts", RemovalLimits{MaxRemovals: 1}},
	} {
		p := &plan.Plan{Target: plan.Target{Noun: tc.noun}, Matched: 1,
			Actions: []plan.Action{{Kind: plan.Disable, Anchor: "a"}, {Kind: plan.Delete, Anchor: "b"}}}
		err := tc.limits.Check(p, 3)
		require.Error(t, err, tc.noun)
		assert.Contains(t, err.Error(), tc.want)
	}
}
