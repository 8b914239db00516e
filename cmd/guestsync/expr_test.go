package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExprEvalContract pins the `guestsync expr eval` contract that other
// tools script against.
func TestExprEvalContract(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"acceptance: diacritics", []string{"--attr", "givenName=Zoë", "NormalizeDiacritics([givenName])"}, 0, "Zoe\n", ""},
		{"acceptance: Left", []string{`Left("John Doe", 3)`}, 0, "Joh\n", ""},
		{"acceptance: syntax error", []string{`Left("John Doe"`}, 2, "", "1:16: missing ')'"},
		{"multi-valued result: one value per line", []string{"--attr", "a=x", "--attr", "a=y", "[a]"}, 0, "x\ny\n", ""},
		{"null prints nothing", []string{"[notGiven]"}, 0, "", ""},
		{"present but empty", []string{"--attr", "e=", "[e]"}, 0, "\n", ""},
		{"value with =", []string{"--attr", "f=a=b", "[f]"}, 0, "a=b\n", ""},
		{"json string", []string{"--format", "json", `Join("@", "a", "b")`}, 0, "\"a@b\"\n", ""},
		{"json array", []string{"--format", "json", "--attr", "a=x", "--attr", "a=y", "[a]"}, 0, "[\"x\",\"y\"]\n", ""},
		{"json null", []string{"--format", "json", "[nothing]"}, 0, "null\n", ""},
		{"evaluation error", []string{`Error("no manager")`}, 2, "", "no manager"},
		{"unknown function", []string{`Jion("@", "a")`}, 2, "", `did you mean "Join"?`},
		{"bad --attr", []string{"--attr", "novalue", "[a]"}, 2, "", "want NAME=VALUE"},
		{"bad format", []string{"--format", "xml", "[a]"}, 2, "", "--format must be text or json"},
		{"no expression", []string{}, 2, "", "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, stderr := guestsync(t, nil, append([]string{"expr", "eval"}, tt.args...)...)
			assert.Equal(t, tt.code, code, stderr)
			assert.Equal(t, tt.stdout, out)
			assert.Contains(t, stderr, tt.stderr)
		})
	}
}

func TestValidateRunsEmbeddedTests(t *testing.T) {
	t.Parallel()
	shipped, err := filepath.Glob(repoPath("mappings/*.yaml"))
	require.NoError(t, err)
	code, out, _ := guestsync(t, nil, append([]string{"validate"}, shipped...)...)
	assert.Equal(t, 0, code, out)
	assert.Regexp(t, fmt.Sprintf(`^%d mapping file\(s\) valid, \d+ embedded test\(s\) passed\n$`, len(shipped)), out)

	// Breaking one embedded test makes validate exit 1 with the diff.
	data, err := os.ReadFile(repoPath("mappings/partner-guest.yaml"))
	require.NoError(t, err)
	broken := strings.Replace(string(data), "        mailNickname: zlefevre", "        mailNickname: zoe", 1)
	require.NotEqual(t, string(data), broken)
	path := filepath.Join(t.TempDir(), "partner-guest.yaml")
	require.NoError(t, os.WriteFile(path, []byte(broken), 0o600))
	code, out, _ = guestsync(t, nil, "validate", path)
	assert.Equal(t, 1, code)
	assert.Regexp(t, `partner-guest.yaml:\d+:9: tests\[0\]\.expect\.properties\.mailNickname: test "a Fabrikam partner becomes an enabled guest": mailNickname: want "zoe", got "zlefevre"`, out)
}
