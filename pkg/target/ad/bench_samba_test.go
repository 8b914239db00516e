package ad

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/plan"
)

// BenchmarkSambaCreate creates b.N shadows in one Apply (each one an add,
// a password, a group and userAccountControl, then a read of its
// objectGUID), then checks with Current that they are all there.
func BenchmarkSambaCreate(b *testing.B) {
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("concurrency=%d", n), func(b *testing.B) { benchmarkSambaCreate(b, n) })
	}
}

func benchmarkSambaCreate(b *testing.B, concurrency int) {
	env := needSamba(b)
	admin := env.admin(b)
	ou := env.makeOU(b, admin)
	target, err := New(Options{Connection: env.connection(), BaseDN: env.baseDN, OU: ou.dn, Owner: "bench-" + ou.suffix,
		Groups: []string{ou.group}, Concurrency: concurrency})
	require.NoError(b, err)
	actions := make([]plan.Action, b.N)
	for i := range actions {
		s := shadowOf(fmt.Sprintf("%s-%d", ou.suffix, i), fmt.Sprintf("%s-%08d", ou.suffix, i))
		actions[i] = plan.Action{Kind: plan.Create, Anchor: s.Anchor, Account: &s}
	}
	b.ResetTimer()
	for _, r := range target.Apply(context.Background(), actions) {
		require.Nil(b, r.Failure)
	}
	b.StopTimer()
	current, err := target.Current(context.Background())
	require.NoError(b, err)
	require.Len(b, ownedOf(current), b.N)
}
