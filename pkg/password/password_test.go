package password

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		pw, err := New(16)
		require.NoError(t, err)
		assert.Len(t, pw, 16)
		for _, class := range []string{lower, upper, digits, symbols} {
			assert.True(t, strings.ContainsAny(pw, class), "%q has a character of %q", pw, class)
		}
		assert.False(t, seen[pw], "no two alike")
		seen[pw] = true
	}
	_, err := New(3)
	assert.Error(t, err)
}
