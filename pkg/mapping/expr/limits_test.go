package expr

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// values returns n copies of s.
func values(n int, s string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// limitEnv holds values at and over the limits (64 KiB a value, 10,000
// values a list, 4 MiB an evaluation, 10,000 regexp matches a value).
// Long strings are made once and shared between values.
func limitEnv() MapEnv {
	kib := 1 << 10
	return MapEnv{
		"big":         {strings.Repeat("a", 100*kib)},
		"huge":        {strings.Repeat("a,", 4<<20)},
		"at":          {strings.Repeat("a", 64*kib)},
		"atLess1":     {strings.Repeat("a", 64*kib-1)},
		"half":        {strings.Repeat("a", 32*kib)},
		"halfLess1":   {strings.Repeat("a", 32*kib-1)},
		"halfPlus1":   {strings.Repeat("a", 32*kib+1)},
		"b64at":       {strings.Repeat("a", 24*kib)},
		"b64over":     {strings.Repeat("a", 24*kib+1)},
		"kb1000":      values(1000, strings.Repeat("k", kib)),
		"kib100x1000": values(1000, strings.Repeat("m", 100*kib)),
		"vals10k":     values(10_000, "v"),
		"vals10k1":    values(10_001, "v"),
		"commas9999":  {strings.Repeat(",", 9_999)},
		"commas10000": {strings.Repeat(",", 10_000)},
		"a10000":      {strings.Repeat("a", 10_000)},
		"a10001":      {strings.Repeat("a", 10_001)},
		"k60":         {strings.Repeat("k", 60*kib)},
		"fmtBig":      {strings.Repeat("dddd ", 8_000)},
		"bigdn":       {"cn=" + strings.Repeat("a", 100*kib) + ",dc=x"},
	}
}

// switchOfTrims is Switch("z", "d", Trim([k60]), "1", ...) with n keys,
// each building 60 KiB: together they reach the limit of an evaluation.
func switchOfTrims(n int) string {
	var b strings.Builder
	b.WriteString(`Switch("z", "d"`)
	for i := range n {
		b.WriteString(`, Trim([k60]), "` + strconv.Itoa(i) + `"`)
	}
	b.WriteString(")")
	return b.String()
}

// TestLimits evaluates every function that builds strings or lists, and
// the & operator, at and over the limits. Over a limit, the evaluation
// fails with a message naming the function and the limit, before the
// result is built.
func TestLimits(t *testing.T) {
	t.Parallel()
	const (
		value = "; a value may be at most 64 KiB"
		list  = "; a list may have at most 10,000"
		eval  = "; an evaluation may build at most 4 MiB"
	)
	tests := []struct {
		name, src string
		want      string // a part of the error message; "" for none
		wantLen   int    // the length of the (single) result, when no error
	}{
		{"Join of 1,000 values of 100 KiB", `Join(",", [kib100x1000])`, "Join: the result would be 100 KiB" + value, 0},
		{"Join of 1,000 values of 1 KiB", `Join(",", [kb1000])`, "Join: the result would be 64.1 KiB" + value, 0},
		{"Join at the limit", `Join(",", [halfLess1], [half])`, "", 64 << 10},
		{"Join over the limit", `Join(",", [half], [half])`, "Join: the result would be 65,537 bytes" + value, 0},
		{"Append at the limit", `Append([atLess1], "x")`, "", 64 << 10},
		{"Append over the limit", `Append([at], "x")`, "Append: the result would be 65,537 bytes" + value, 0},
		{"& at the limit", `[atLess1] & "x"`, "", 64 << 10},
		{"& over the limit", `[at] & "x"`, "&: the result would be 65,537 bytes" + value, 0},
		{"& on a list at the limit", `Count([vals10k] & "x")`, "", 5},
		{"& on a list over the limit", `[vals10k1] & "x"`, "&: the result would have 10,001 values" + list, 0},
		{"Split at the limit", `Count(Split([commas9999], ","))`, "", 5},
		{"Split over the limit", `Split([commas10000], ",")`, "Split: the result would have 10,001 values" + list, 0},
		{"Split of a huge value", `Split([huge], ",")`, "Split: the result would have 4,194,305 values" + list, 0},
		{"Split of a huge value into one", `Split([huge], ";")`, "Split: the result would be 8 MiB" + value, 0},
		{"ToLower at the limit", `ToLower([at])`, "", 64 << 10},
		{"ToLower over the limit", `ToLower([big])`, "ToLower: the result would be 100 KiB" + value, 0},
		{"ToUpper over the limit", `ToUpper([big])`, "ToUpper: the result would be 100 KiB" + value, 0},
		{"Trim over the limit", `Trim([big])`, "Trim: the result would be 100 KiB" + value, 0},
		{"StripSpaces over the limit", `StripSpaces([big])`, "StripSpaces: the result would be 100 KiB" + value, 0},
		{"PCase over the limit", `PCase([big])`, "PCase: the result would be 100 KiB" + value, 0},
		{"NormalizeDiacritics over the limit", `NormalizeDiacritics([big])`, "NormalizeDiacritics: the result would be 100 KiB" + value, 0},
		{"CStr over the limit", `CStr([big])`, "CStr: the result would be 100 KiB" + value, 0},
		{"ToLower of a list over the limit", `ToLower([vals10k1])`, "ToLower: the result would have 10,001 values" + list, 0},
		{"ConvertToBase64 at the limit", `ConvertToBase64([b64at])`, "", 64 << 10},
		{"ConvertToBase64 over the limit", `ConvertToBase64([b64over])`, "ConvertToBase64: the result would be 65,540 bytes" + value, 0},
		{"ConvertToUTF8Hex at the limit", `ConvertToUTF8Hex([half])`, "", 64 << 10},
		{"ConvertToUTF8Hex over the limit", `ConvertToUTF8Hex([halfPlus1])`, "ConvertToUTF8Hex: the result would be 65,538 bytes" + value, 0},
		{"ConvertFromBase64 over the limit", `ConvertFromBase64([big])`, "ConvertFromBase64: the result would be 100 KiB" + value, 0},
		{"RemoveDuplicates over the limit", `RemoveDuplicates([vals10k1])`, "RemoveDuplicates: the result would have 10,001 values" + list, 0},
		{"Left of a huge value", `Left([big], 10)`, "", 10},
		{"Mid of a huge value", `Mid([big], 2, 5)`, "", 5},
		{"Left keeping all of a huge value", `Left([big], -1)`, "Left: the result would be 100 KiB" + value, 0},
		{"Word over the limit", `Word([big], 1, " ")`, "Word: the result would be 100 KiB" + value, 0},
		{"Mid of a list over the limit", `Mid([vals10k1], 1, 1)`, "Mid: the result would have 10,001 values" + list, 0},
		{"DNComponent over the limit", `DNComponent([bigdn], 1)`, "DNComponent: the result would be 100 KiB" + value, 0},
		{"FormatDateTime over the limit", `FormatDateTime(CDate("2025-01-15"), [fmtBig])`, "FormatDateTime: the result would be 78.1 KiB" + value, 0},
		{"Replace at the limit", `Replace([half], "a", , , "aa", , )`, "", 64 << 10},
		{"Replace over the limit", `Replace([halfPlus1], "a", , , "aa", , )`, "Replace: the result would be 65,538 bytes" + value, 0},
		{"Replace template over the limit", `Replace([at], "<u>", , , , , "<u><u>")`, "Replace: the result would be 128 KiB" + value, 0},
		{"Replace of a huge value", `Replace([big], "a", , , "", , )`, "Replace: the result would be 100 KiB" + value, 0},
		{"Replace regex at the match limit", `Replace([a10000], , "a", , "b", , )`, "", 10_000},
		{"Replace regex over the match limit", `Replace([a10001], , "a", , "b", , )`, "Replace: regexPattern matches more than 10,000 times in one value; the limit is 10,000", 0},
		{"Replace regex group at the limit", `Replace(Join("", [halfLess1], "b"), , "(?<g>b)", "g", [half], , )`, "", 64<<10 - 1},
		{"Replace regex group over the limit", `Replace(Join("", [halfPlus1], "b"), , "(?<g>b)", "g", [half], , )`, "Replace: the result would be 65,537 bytes" + value, 0},
		{"Replace regex group over the match limit", `Replace([a10001], , "(?<g>a)", "g", "b", , )`, "Replace: regexPattern matches more than 10,000 times", 0},
		{"Replace regex substitution at the limit", `Replace([half], , "a+", , "$&$&", , )`, "", 64 << 10},
		{"Replace regex substitution over the limit", `Replace([halfPlus1], , "a+", , "$&$&", , )`, "Replace: the result would be 65,538 bytes" + value, 0},
		{"Replace nested, doubling", `Replace(Replace(Replace([half], "a", , , "aa", , ), "a", , , "aa", , ), "a", , , "aa", , )`, "Replace: the result would be 128 KiB" + value, 0},
		{"an evaluation at its limit", switchOfTrims(68), "", 1},
		{"an evaluation over its limit", switchOfTrims(70), "Trim: the expression would build 4,239,360 bytes in all" + eval, 0},
		// Reading is not building: attributes of any size pass through.
		{"Count of a long list", `Count([vals10k1])`, "", 5},
		{"Item of a long list", `Item([vals10k1], 10001)`, "", 1},
		{"IIF passes a huge value", `IIF(True, [big], "")`, "", 100 << 10},
		{"Coalesce passes a huge value", `Coalesce([missing], [big])`, "", 100 << 10},
		{"compare huge values", `[big] = [big]`, "", 4},
		{"InStr in a huge value", `InStr([big], "b")`, "", 1},
	}
	env := limitEnv()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := Compile(tt.src)
			require.NoError(t, err)
			v, err := e.Eval(env)
			if tt.want == "" {
				require.NoError(t, err)
				s, _ := v.Text()
				assert.Equal(t, tt.wantLen, len(s))
				return
			}
			require.Error(t, err, "want an error containing %q, got a value of %d bytes", tt.want, len(text(v)))
			assert.Contains(t, err.Error(), tt.want)
			assert.Less(t, len(err.Error()), 2000, "the message is bounded")
		})
	}
}

// TestCompareListsAsPairs checks the comparison of two lists, done in
// time linear in their lengths, against its definition: true when it
// holds for some pair of values.
func TestCompareListsAsPairs(t *testing.T) {
	t.Parallel()
	words := []string{"", "a", "B", "b", "ab", "10", "9", "é"}
	ops := map[string]func(a, b string) bool{
		"=": func(a, b string) bool { return a == b }, "<": func(a, b string) bool { return a < b },
		"<=": func(a, b string) bool { return a <= b }, ">": func(a, b string) bool { return a > b },
		">=": func(a, b string) bool { return a >= b },
	}
	lists := [][]string{{"a", "b"}, {"9", "10", "é"}, {"B", ""}, {"ab", "a", "b", "B", "10", "9", "é", "", "x"}}
	for _, l := range lists {
		for _, r := range append(lists, []string{"b"}, words) {
			for op, holds := range ops {
				want := false
				for _, a := range l {
					for _, b := range r {
						want = want || holds(a, b)
					}
				}
				e := MustCompile("[l] " + op + " [r]")
				v, err := e.Eval(MapEnv{"l": l, "r": r})
				require.NoError(t, err)
				assert.Equal(t, Bool(want), v, "%q %s %q", l, op, r)
				if op == "=" {
					v, _ = MustCompile("[l] <> [r]").Eval(MapEnv{"l": l, "r": r})
					assert.Equal(t, Bool(!want), v, "%q <> %q", l, r)
				}
			}
		}
	}
}

func TestInStrLongValues(t *testing.T) {
	t.Parallel()
	hay := strings.Repeat("a", 64<<10) + "ÉB"
	env := MapEnv{"hay": {hay}, "needle": {strings.Repeat("a", 32<<10) + "é"}}
	tests := []struct {
		src  string
		want int64
	}{
		{`InStr([hay], [needle])`, 0},
		{`InStr([hay], [needle], , vbTextCompare)`, 32<<10 + 1},
		{`InStr([hay], "éb", 1, vbTextCompare)`, 64<<10 + 1},
		{`InStr([hay], "B", 65537)`, 64<<10 + 2},
		{`InStr("ÄbÄb", "äB", 2, vbTextCompare)`, 3},
		{`InStr("Straße", "SS", 1, vbTextCompare)`, 0}, // simple folding, as .NET's ordinal ignore-case
		{`InStr("KELVIN", "k", 1, vbTextCompare)`, 1},  // K folds with the Kelvin sign and k
	}
	for _, tt := range tests {
		v, err := MustCompile(tt.src).Eval(env)
		require.NoError(t, err, tt.src)
		assert.Equal(t, Int(tt.want), v, tt.src)
	}
}
