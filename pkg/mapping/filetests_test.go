package mapping

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShippedMappingsPassTheirTests(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "mappings", "*.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 3)
	for _, f := range files {
		m, err := Load(f)
		require.NoError(t, err, f)
		assert.GreaterOrEqual(t, m.Tests(), 2, "%s embeds tests", f)
		assert.Empty(t, m.RunTests(), f)
	}
}

// TestFailingTestsReport breaks every kind of expectation once and checks
// the report (golden file): each failure at its line, with want and got.
func TestFailingTestsReport(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "failing-tests.yaml"))
	require.NoError(t, err)
	m, err := Parse("failing-tests.yaml", data)
	require.NoError(t, err)
	assert.Equal(t, 7, m.Tests())
	ps := m.RunTests()
	golden(t, "failing-tests.problems", ps.Error()+"\n")
	assert.Len(t, ps, 8, "one line per failed expectation; the passing test reports nothing")
}

func TestTestDefinitionsAreChecked(t *testing.T) {
	t.Parallel()
	_, err := Parse("m.yaml", []byte(minimal(`tests:
  - name: bad
    now: yesterday
    expect:
      outOfScope: true
      properties: {displayNme: x}
  - attributes: {a: b}
`)))
	require.Error(t, err)
	for _, want := range []string{
		`m.yaml:4:10: tests[0].now: now must be an RFC 3339 time`,
		`m.yaml:6:7: tests[0].expect: an out-of-scope entry produces no guest`,
		`m.yaml:7:32: tests[0].expect.properties.displayNme: "displayNme" is not a Graph user property a mapping writes; did you mean "displayName"?`,
		`m.yaml:8:5: tests[1]: a test needs a name`,
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestInviteMode(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"mail is required", "version: 1\nmode: invite\nflows:\n  - {target: displayName, type: direct, source: cn}\n",
			"no flow produces mail, which an invitation is sent to"},
		{"Graph assigns the UPN", "version: 1\nmode: invite\nflows:\n  - {target: mail, type: direct, source: mail}\n  - {target: userPrincipalName, type: direct, source: upn}\n",
			"m.yaml:5:14: flows[1].target: in invite mode Graph assigns userPrincipalName to the invited guest"},
		{"unknown mode", strings.Replace(minimal(""), "version: 1\n", "version: 1\nmode: federate\n", 1),
			`m.yaml:2:7: mode: mode must be create or invite, not "federate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("m.yaml", []byte(tt.src))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	m, err := Parse("m.yaml", []byte("version: 1\nmode: invite\nflows:\n  - {target: mail, type: direct, source: mail}\n"))
	require.NoError(t, err)
	assert.Equal(t, ModeInvite, m.Mode)
	assert.Equal(t, 2, m.ModeLine, "the line that makes it invite")
	r := m.Map(partner(set("mail")))
	require.Error(t, r.Err)
	assert.Contains(t, r.Err.Error(), "mail: no value")

	m, err = Parse("m.yaml", []byte(minimal("")))
	require.NoError(t, err)
	assert.Equal(t, ModeCreate, m.Mode)
	assert.Zero(t, m.ModeLine, "no mode: key")
}
