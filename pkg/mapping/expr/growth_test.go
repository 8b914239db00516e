package expr

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A function applied to each value of a list may make every value grow
// (Replace of a short match by a long text): the evaluation's budget holds
// while the values are built, not only once the whole list is done, so a
// list of small values never builds hundreds of megabytes first.
func TestGrowingEveryValueStopsAtTheBudget(t *testing.T) {
	kib16 := strings.Repeat("r", 16<<10)
	env := MapEnv{"mv": values(10_000, "aaaa"), "with": {kib16}}
	for _, src := range []string{
		`Replace([mv], "a", , , [with], , )`,
		`Replace([mv], , "a", , [with], , )`,
	} {
		t.Run(src, func(t *testing.T) {
			e, err := Compile(src)
			require.NoError(t, err)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err = e.Eval(env)
			runtime.ReadMemStats(&after)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrLimit), "%v", err)
			// 10,000 results of 64 KiB would be 625 MiB.
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "bytes allocated before the limit stopped the evaluation")
		})
	}
}
