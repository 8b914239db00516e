package expr

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestCompileErrorsGolden compiles each broken expression and compares
// the rendered errors (positions, messages and caret excerpts) with
// testdata/compile_errors.golden. Run with -update to rewrite it.
func TestCompileErrorsGolden(t *testing.T) {
	t.Parallel()
	cases := []string{
		`Join("@", [givenName]`,
		`Join("@" [givenName])`,
		`Jion("@", [givenName])`,
		`Jion("@", Lfet([givenName], 1))`,
		`Left([givenName], 1, 2)`,
		`Guid(1)`,
		`Switch([a], "d", "k")`,
		`Join("@")`,
		`InStr("a", "b", 1, 2, 3)`,
		`Left([givenName]`,
		"IIF([country]=\"FR\",\n\t\"France\",\n\tBogus([x]))",
		`[given name]`,
		`[givenName`,
		`"unterminated`,
		`"bad \d escape"`,
		`'single'`,
		`“smart”`,
		`Left([a], 1.5)`,
		`Left([a], 99999999999999999999)`,
		`[a] != "x"`,
		`[a] = "x" = "y"`,
		`InStr("a", "b", 1, vbTextCompar)`,
		`Join(",", vbTextCompare)`,
		`vbTextCompare`,
		`Join(",", givenName)`,
		`Join(",", Guid)`,
		`Left(, 3)`,
		`Replace([x], "a", "b", , "c", , )`,
		`Replace([x], , "(", , "", , )`,
		`Replace([x], , "(?<=a)b", , "", , )`,
		`Replace([x], , "(?<g>a)", "h", "", , )`,
		`Replace([x])`,
		`DateAdd("x", 7, CDate([hireDate]))`,
		`DateDiff(, Now(), Now())`,
		`SingleAppRoleAssignment([appRoleAssignments])`,
		`SelectUniqueValue([mail])`,
		`Join(",", SelectUniqueValue([a], [b]))`,
		`IgnoreFlowIfNullOrEmpty(SelectUniqueValue([a], [b]))`,
		`FormatDateTime([d])`,
		`FormatDateTime([d], , "yyyy-MM-dd'", "q")`,
		`FormatDateTime([d], "AllowWhiteSpace", "ffffffffyyyy", "yyyy")`,
		`FormatDateTime([d], "RoundtripKind, AssumeUniversal", "yyyy", "yyyy\\")`,
		`RandomString(8, 1, 1, 1)`,
		``,
		`Join(",", [a]) Join`,
		`ToLower(Join("@", [a], Lfet([b])), ToUpper())`,
	}
	var b strings.Builder
	for _, src := range cases {
		_, err := Compile(src)
		require.Error(t, err, "%q compiled", src)
		b.WriteString("== " + strings.ReplaceAll(src, "\n", `\n`) + "\n")
		b.WriteString(err.Error() + "\n\n")
	}
	golden(t, "compile_errors.golden", b.String())
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	assert.Equal(t, string(want), got)
}

func TestErrorPositionAndCaret(t *testing.T) {
	t.Parallel()
	_, err := Compile("IIF([c]=\"FR\",\n\t\"x\", Jion([a]))")
	errs := Errors(err)
	require.Len(t, errs, 1)
	e := errs[0]
	assert.Equal(t, 2, e.Line)
	assert.Equal(t, 7, e.Col)
	assert.Equal(t, `unknown function "Jion"; did you mean "Join"?`, e.Msg)
	assert.Equal(t, "2:7: unknown function \"Jion\"; did you mean \"Join\"?\n    \t\"x\", Jion([a]))\n    \t     ^", e.Error())
}

func TestEveryErrorReported(t *testing.T) {
	t.Parallel()
	_, err := Compile(`Join(Jion("@"), Lfet([a], 1), Left([a]), "x" [b])`)
	var got []string
	for _, e := range Errors(err) {
		got = append(got, Pos{e.Line, e.Col}.String()+" "+e.Msg)
	}
	assert.Equal(t, []string{
		`1:6 unknown function "Jion"; did you mean "Join"?`,
		`1:17 unknown function "Lfet"; did you mean "Left"?`,
		`1:31 Left takes 2 arguments, got 1`,
		`1:46 expected ',' or ')' after an argument, found attribute [b]`,
	}, got)
}

func TestArityMessages(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		`Left("a", 1, 2)`:        "Left takes 2 arguments, got 3",
		`Trim()`:                 "Trim takes 1 argument, got 0",
		`Guid("x")`:              "Guid takes no arguments, got 1",
		`Mid("a")`:               "Mid takes 2 to 3 arguments, got 1",
		`InStr("a")`:             "InStr takes 2 to 4 arguments, got 1",
		`Join(",")`:              "Join takes at least 2 arguments, got 1",
		`Coalesce()`:             "Coalesce takes at least 1 argument, got 0",
		`Switch([a], "", "k")`:   "Switch takes an even number of arguments, at least 4, got 3",
		`Switch([a], "", 1,2,3)`: "Switch takes an even number of arguments, at least 4, got 5",
		`Replace("a",,,,,,,)`:    "Replace takes 1 to 7 arguments, got 8",
	}
	for src, want := range tests {
		_, err := Compile(src)
		errs := Errors(err)
		require.Len(t, errs, 1, src)
		assert.Equal(t, want, errs[0].Msg, src)
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	names := builtins.names
	assert.Equal(t, "Join", suggest("Jion", names))
	assert.Equal(t, "Join", suggest("join", names))
	assert.Equal(t, "NormalizeDiacritics", suggest("NormaliseDiacritic", names))
	assert.Equal(t, "IgnoreFlowIfNullOrEmpty", suggest("IgnoreFlowIfNullorEmty", names))
	assert.Equal(t, "", suggest("Frobnicate", names))
	assert.Equal(t, "", suggest("Q", names))
}
