package expr

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMessagesQuoteBoundedValues: an error that quotes an attribute value
// quotes its first 100 characters and its length, never all of it.
func TestMessagesQuoteBoundedValues(t *testing.T) {
	t.Parallel()
	prefix := `"` + strings.Repeat("a", 100) + `"… (102,400 bytes)`
	env := limitEnv()
	tests := []struct{ src, want string }{
		{`CBool([big])`, "CBool: cannot convert " + prefix + " to a Boolean"},
		{`Left("x", [big])`, "Left: NumChars must be a whole number, got " + prefix},
		{`BitAnd([vals10k1], 1)`, `BitAnd: value1 must be a whole number, got ["v", "v", "v", "v", "v", "v", "v", "v", "v", "v", "v", "v", "v", "v", "v", "v", "v", "v", "v", "v", and 9,981 more]`},
		{`CDate([big])`, "CDate: cannot convert " + prefix + " to a date/time"},
		{`ConvertFromBase64(Left([big], 999))`, `ConvertFromBase64: invalid base64 "` + strings.Repeat("a", 100) + `"… (999 bytes)`},
		{`Error([big])`, strings.Repeat("a", 1000) + "… (102,400 bytes)"},
		{`SelectUniqueValue("a", "b", "c", "d", "e")`, `SelectUniqueValue: no unique value: "a", "b", "c" and 2 more are all taken`},
	}
	ev := Evaluator{Unique: func(string) (bool, error) { return false, nil }}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			_, err := ev.Eval(MustCompile(tt.src), env)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.True(t, strings.HasPrefix(e.Msg, tt.want), "%q\ndoes not start with\n%q", e.Msg, tt.want)
			assert.Less(t, len(e.Error()), 1500)
		})
	}
}

func TestLimitErrorIsErrLimit(t *testing.T) {
	t.Parallel()
	_, err := MustCompile(`Join(",", [kib100x1000])`).Eval(limitEnv())
	assert.ErrorIs(t, err, ErrLimit)
	_, err = MustCompile(`CBool([big])`).Eval(limitEnv())
	assert.False(t, errors.Is(err, ErrLimit))
}

func TestQuoteValue(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", `""`},
		{"abc", `"abc"`},
		{strings.Repeat("x", 100), `"` + strings.Repeat("x", 100) + `"`},
		{strings.Repeat("x", 101), `"` + strings.Repeat("x", 100) + `"… (101 bytes)`},
		{strings.Repeat("é", 100), `"` + strings.Repeat("é", 100) + `"`},
		{strings.Repeat("é", 101), `"` + strings.Repeat("é", 100) + `"… (202 bytes)`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, QuoteValue(tt.in))
	}
	assert.Equal(t, `"a", "b"`, ListValues([]string{"a", "b"}))
	assert.Equal(t, `"a", "a", "a" and 1,997 more`, ListValues(values(2000, "a")))
}

// TestErrorExcerptIsBounded: the source line under a message is cut to
// 120 characters around the caret.
func TestErrorExcerptIsBounded(t *testing.T) {
	t.Parallel()
	src := `Join("` + strings.Repeat("x", 500) + `", Jion([a]))`
	_, err := Compile(src)
	var e *Error
	require.ErrorAs(t, err, &e)
	lines := strings.Split(e.Error(), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, "    …"+strings.Repeat("x", 107)+`", Jion([a]))`, lines[1])
	assert.Equal(t, strings.Repeat(" ", 4+1+107+3)+"^", lines[2])
	_, err = Compile(`Jion(` + strings.Repeat(`"x", `, 100) + `)`)
	require.ErrorAs(t, err, &e)
	lines = strings.Split(e.Error(), "\n")
	assert.Equal(t, "    Jion("+strings.Repeat(`"x", `, 23)+"…", lines[1])
	assert.Equal(t, "    ^", lines[2])
}
