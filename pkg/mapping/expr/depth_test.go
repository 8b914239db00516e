package expr

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeepInput compiles input nested or chained 100,000 deep: it must
// neither overflow the stack nor give a message as long as the input.
func TestDeepInput(t *testing.T) {
	t.Parallel()
	const n = 100_000
	tests := []struct{ name, src, want string }{
		{"parentheses", strings.Repeat("(", n) + "[a]" + strings.Repeat(")", n), "1:1: expected an attribute, a string, a number or a function call, found '('"},
		{"calls", strings.Repeat("Trim(", n) + "[a]" + strings.Repeat(")", n), "1:501: functions nested more than 100 deep"},
		{"unclosed calls", strings.Repeat("Trim(", n), "1:501: functions nested more than 100 deep"},
		{"comparisons in calls", strings.Repeat("IIF([a] = ", n), "1:1001: functions nested more than 100 deep"},
		{"brackets", strings.Repeat("[", n), ""},
		{"quotes", strings.Repeat(`"`, n+1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Compile(tt.src)
			require.Error(t, err)
			if tt.want != "" {
				assert.True(t, strings.HasPrefix(err.Error(), tt.want), "%.300s", err.Error())
			}
			assert.Less(t, len(err.Error()), 5000)
		})
	}
}

// TestLongChains evaluates chains of & and of arguments 100,000 long:
// they are evaluated without recursion, and stop at the limits.
func TestLongChains(t *testing.T) {
	t.Parallel()
	env := MapEnv{"a": {"x"}}
	for _, tt := range []struct{ name, src, want string }{
		{"&", "[a]" + strings.Repeat(" & [a]", 100_000), "&: the expression would build"},
		{"Join arguments", `Join(""` + strings.Repeat(", [a]", 100_000) + ")", "Join: the result would be 65,537 bytes; a value may be at most 64 KiB"},
		{"Coalesce arguments", "Coalesce(" + strings.Repeat("[b], ", 100_000) + "[a])", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := Compile(tt.src)
			require.NoError(t, err)
			v, err := e.Eval(env)
			if tt.want == "" {
				require.NoError(t, err)
				assert.Equal(t, String("x"), v)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.want)
			}
			canon := e.String()
			_, err = Compile(canon)
			assert.NoError(t, err)
		})
	}
}
