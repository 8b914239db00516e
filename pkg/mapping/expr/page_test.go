package expr

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pagePath is the reference page for mapping authors.
var pagePath = filepath.Join("..", "..", "..", "mappings", "EXPRESSIONS.md")

var (
	// | `[givenName]` | `"Zoë"` | and | taken in the tenant | `"a"`, `"b"` |
	pageRowRE   = regexp.MustCompile("^\\| (?:`\\[([^\\]]+)\\]`|(taken in the tenant)) \\| (.*) \\|$")
	pageValueRE = regexp.MustCompile("`(\"(?:[^\"\\\\]|\\\\.)*\")`")
	// - `expression` → `result`  or  - `expression` → error `message`
	pageExampleRE = regexp.MustCompile("^\\s*- `(.+?)` → (?:`(.*)`|error `(.+)`)$")
)

type pageExample struct {
	line            int
	expr, want, err string
}

// readPage returns the sample entry, the values taken in the tenant and
// the examples of mappings/EXPRESSIONS.md.
func readPage(t *testing.T) (MapEnv, map[string]bool, []pageExample) {
	t.Helper()
	b, err := os.ReadFile(pagePath)
	require.NoError(t, err)
	env, taken := MapEnv{}, map[string]bool{}
	var examples []pageExample
	for i, line := range strings.Split(string(b), "\n") {
		if m := pageRowRE.FindStringSubmatch(line); m != nil {
			var vals []string
			for _, q := range pageValueRE.FindAllStringSubmatch(m[3], -1) {
				v, err := strconv.Unquote(q[1])
				require.NoError(t, err, "line %d: %s", i+1, q[1])
				vals = append(vals, v)
			}
			require.NotEmpty(t, vals, "line %d: no values", i+1)
			if m[1] != "" {
				env[m[1]] = vals
			} else {
				for _, v := range vals {
					taken[v] = true
				}
			}
			continue
		}
		if !strings.HasPrefix(strings.TrimSpace(line), "- `") || !strings.Contains(line, " → ") {
			continue
		}
		m := pageExampleRE.FindStringSubmatch(line)
		require.NotNil(t, m, "line %d is not of the form - `expression` → `result` (or → error `message`): %s", i+1, line)
		examples = append(examples, pageExample{line: i + 1, expr: m[1], want: m[2], err: m[3]})
	}
	return env, taken, examples
}

// TestExpressionsPage evaluates every example of mappings/EXPRESSIONS.md,
// so that the page cannot drift from the code.
func TestExpressionsPage(t *testing.T) {
	t.Parallel()
	env, taken, examples := readPage(t)
	require.Greater(t, len(examples), 100)
	require.NotEmpty(t, taken)
	for _, ex := range examples {
		t.Run(fmt.Sprintf("line %d", ex.line), func(t *testing.T) {
			t.Parallel()
			ev := Evaluator{
				Now:    func() time.Time { return jan15 },
				Rand:   rand.NewChaCha8([32]byte{}),
				Unique: func(v string) (bool, error) { return !taken[v], nil },
			}
			e, err := Compile(ex.expr)
			var got Value
			if err == nil {
				got, err = ev.Eval(e, env)
			}
			if ex.err != "" {
				errs := Errors(err)
				require.NotEmpty(t, errs, "%s: want error %q, got %s", ex.expr, ex.err, got)
				assert.Equal(t, ex.err, errs[0].Msg, ex.expr)
				return
			}
			require.NoError(t, err, ex.expr)
			assert.Equal(t, ex.want, got.String(), ex.expr)
		})
	}
}

// TestExpressionsPageCoversEveryFunction: each function has a heading
// and at least one example, and each bare word is mentioned.
func TestExpressionsPageCoversEveryFunction(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(pagePath)
	require.NoError(t, err)
	page := string(b)
	_, _, examples := readPage(t)
	for _, name := range builtins.names {
		assert.Contains(t, page, "\n### "+name+"\n", "no heading for %s", name)
		call := regexp.MustCompile(`(?i)\b` + name + `\(`)
		found := false
		for _, ex := range examples {
			found = found || call.MatchString(ex.expr)
		}
		assert.True(t, found, "no example calls %s", name)
	}
	for _, w := range builtins.enumNames {
		assert.Contains(t, page, "`"+w+"`", "bare word %s is not mentioned", w)
	}
	for _, d := range strings.Fields(documentedFunctions) {
		if builtins.lookup(d) == nil {
			assert.Contains(t, page, "`"+d+"`", "unsupported function %s is not mentioned", d)
		}
	}
}
