package expr

import (
	"bytes"
	"math/rand/v2"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEval(t *testing.T) {
	t.Parallel()
	env := MapEnv{
		"givenName":      {"Zoë"},
		"sn":             {"van der Berg"},
		"empty":          {""},
		"proxyAddresses": {"SMTP:a@contoso.com", "smtp:b@contoso.com", "smtp:c@fabrikam.com"},
		"uac":            {"514"},
		"employeeID":     {"42"},
		"flag":           {"true"},
		"dn":             {`CN=Doe\, John,OU=Sales\2C Europe,DC=contoso,DC=com`},
		"b64":            {"SGVsbG8gd29ybGQh"},
		"padded":         {"  x  "},
	}
	tests := []struct {
		name string
		src  string
		want Value
	}{
		// Null is not "".
		{"absent attribute", `[missing]`, Null()},
		{"empty attribute", `[empty]`, String("")},
		{"IsNull empty", `IsNull([empty])`, Bool(false)},
		{"Coalesce keeps empty", `Coalesce([missing], [empty], "d")`, String("")},
		{"Coalesce default", `Coalesce([missing], [missing2], "d")`, String("d")},
		{"Coalesce all null", `Coalesce([missing], [missing2])`, Null()},
		{"string function keeps Null", `ToLower([missing])`, Null()},
		{"Left of Null is empty (documented)", `Left([missing], 2)`, String("")},
		{"Append Null source", `Append([missing], "x")`, String("x")},
		{"Append both Null", `Append([missing], [missing])`, Null()},
		{"Join skips Null and empty", `Join("-", [missing], [empty], "a", "", "b")`, String("a-b")},
		{"Join of nothing", `Join("-", [missing])`, String("")},
		{"Switch omitted default", `Switch([givenName], , "x", "y")`, Null()},
		{"Switch Null source matches empty key", `Switch([missing], "d", "", "empty")`, String("empty")},
		// Multi-valued attributes.
		{"multi attribute", `[proxyAddresses]`, Multi([]string{"SMTP:a@contoso.com", "smtp:b@contoso.com", "smtp:c@fabrikam.com"})},
		{"Count multi", `Count([proxyAddresses])`, Int(3)},
		{"Count single", `Count([givenName])`, Int(1)},
		{"Count Null", `Count([missing])`, Int(0)},
		{"Item 2", `Item([proxyAddresses], 2)`, String("smtp:b@contoso.com")},
		{"Item Null", `Item([missing], 1)`, Null()},
		{"ToLower multi", `ToLower([proxyAddresses])`, Multi([]string{"smtp:a@contoso.com", "smtp:b@contoso.com", "smtp:c@fabrikam.com"})},
		{"Join multi", `Join(";", [proxyAddresses], "x")`, String("SMTP:a@contoso.com;smtp:b@contoso.com;smtp:c@fabrikam.com;x")},
		{"Replace multi", `Replace([proxyAddresses], "smtp:", , , "", , )`, Multi([]string{"SMTP:a@contoso.com", "b@contoso.com", "c@fabrikam.com"})},
		{"compare multi any", `[proxyAddresses] = "smtp:b@contoso.com"`, Bool(true)},
		{"compare multi ne", `[proxyAddresses] <> "smtp:b@contoso.com"`, Bool(false)},
		{"Split multi", `Split(Join(",", "a,b", "c"), ",")`, Multi([]string{"a", "b", "c"})},
		{"Split keeps empty values", `Split("a,,b", ",")`, Multi([]string{"a", "", "b"})},
		// Comparisons.
		{"numeric both ints", `10 > 9`, Bool(true)},
		{"numeric int and numeric string", `[employeeID] > 9`, Bool(true)},
		{"string compare both strings", `"10" > "9"`, Bool(false)},
		{"string compare case-sensitive", `"a" = "A"`, Bool(false)},
		{"compare Null is false", `[missing] = ""`, Bool(false)},
		{"compare Null ne is false", `[missing] <> "x"`, Bool(false)},
		{"IIF Null condition is false", `IIF([missing] = "x", "t", "f")`, String("f")},
		{"le ge", `IIF(3 <= 3, IIF(4 >= 5, "a", "b"), "c")`, String("b")},
		{"lt", `"a" < "b"`, Bool(true)},
		{"hex", `&hff = 255`, Bool(true)},
		{"negative", `-3 < 0`, Bool(true)},
		{"Bool literal", `IIF(True, "t", "f")`, String("t")},
		{"Null literal", `IsNull(NULL)`, Bool(true)},
		{"Bool compare", `IsNull([missing]) = True`, Bool(true)},
		// Conversions.
		{"CBool string", `CBool([flag])`, Bool(true)},
		{"CBool number", `CBool(BitAnd([uac], 2))`, Bool(true)},
		{"CBool zero", `CBool(BitAnd([uac], 1))`, Bool(false)},
		{"CBool Null", `CBool([missing])`, Bool(false)},
		{"CStr int", `CStr(BitAnd([uac], 2))`, String("2")},
		{"CStr bool", `CStr(IsNull([missing]))`, String("True")},
		{"CStr Null", `CStr([missing])`, Null()},
		{"BitAnd Null", `BitAnd([missing], 2)`, Null()},
		{"BitAnd string", `BitAnd([uac], &H2)`, Int(2)},
		{"IsString", `IsString([givenName])`, Bool(true)},
		{"IsString Null", `IsString([missing])`, Bool(false)},
		{"IsPresent empty", `IsPresent([empty])`, Bool(false)},
		{"Not True string", `Not("True")`, Bool(false)},
		{"Not true", `Not("true")`, Bool(false)},
		{"Not bool", `Not(IsNull([missing]))`, Bool(false)},
		{"Not other", `Not("yes")`, Bool(true)},
		{"Not Null", `Not([missing])`, Bool(true)},
		{"Not number", `Not(1)`, Bool(true)},
		{"Not False", `Not(False)`, Bool(true)},
		// Strings.
		{"Left negative gives input (documented)", `Left("John", -1)`, String("John")},
		{"Left zero", `Left("John", 0)`, String("")},
		{"Left longer", `Left("John", 10)`, String("John")},
		{"Left runes", `Left([givenName], 3)`, String("Zoë")},
		{"Mid zero length", `Mid("John", 2, 0)`, String("")},
		{"Mid negative length", `Mid("John", 2, -1)`, String("John")},
		{"Mid start zero", `Mid("John", 0, 2)`, String("John")},
		{"Mid start past end", `Mid("John", 5, 2)`, String("John")},
		{"Mid no length", `Mid("John Doe", 6)`, String("Doe")},
		{"Mid Null", `Mid([missing], 1, 2)`, String("")},
		{"Word zero", `Word("a b", 0, " ")`, String("")},
		{"Word too few", `Word("a b", 3, " ")`, String("")},
		{"Word consecutive delimiters", `Word("a,,b", 2, ",")`, String("b")},
		{"Word Null", `Word([missing], 1, " ")`, String("")},
		{"InStr text compare", `InStr("repEated", "e", 3, vbTextCompare)`, Int(4)},
		{"InStr numeric compare", `InStr("repEated", "e", 3, 1)`, Int(4)},
		{"InStr not found", `InStr("abc", "x")`, Int(0)},
		{"InStr empty needle", `InStr("abc", "", 2)`, Int(2)},
		{"InStr start past end", `InStr("abc", "c", 4)`, Int(0)},
		{"InStr Null", `InStr([missing], "c")`, Null()},
		{"InStr runes", `InStr([givenName], "ë")`, Int(3)},
		{"Trim", `Trim([padded])`, String("x")},
		{"StripSpaces", `StripSpaces([sn])`, String("vanderBerg")},
		{"StripSpaces only spaces", "StripSpaces(\"a\\tb c\")", String("a\tbc")},
		{"ToUpper", `ToUpper([givenName])`, String("ZOË")},
		{"ToLower Turkish", `ToLower("DİYARBAKIR", "tr-TR")`, String("diyarbakır")},
		{"ToUpper Turkish", `ToUpper("istanbul", "tr-TR")`, String("İSTANBUL")},
		{"ToUpper other culture", `ToUpper("istanbul", "en-US")`, String("ISTANBUL")},
		{"PCase sn", `PCase([sn])`, String("Van Der Berg")},
		{"PCase apostrophe is part of a word", `PCase("O'NEIL")`, String("O'neil")},
		{"PCase digits", `PCase("3RD FLOOR")`, String("3Rd Floor")},
		{"PCase hyphen", `PCase("JEAN-PAUL")`, String("Jean-Paul")},
		{"PCase non-ASCII", `PCase("ÉLODIE D'ARC-3RD ÅSA_ÖRN")`, String("Élodie D'arc-3Rd Åsa_Örn")},
		{"PCase custom separators non-ASCII", `PCase("ÉLODIE-ÅSA", "-")`, String("Élodie-Åsa")},
		{"NormalizeDiacritics name", `NormalizeDiacritics("Łukasz Żółć Ørsted Æbelø Straße")`, String("Lukasz Zolc OErsted AEbeloe Strasse")},
		{"NormalizeDiacritics keeps others", `NormalizeDiacritics("Đorđe 한국 नमस्ते")`, String("Đorđe 한국 नमस्ते")},
		{"concat", `"a" & 1 & True`, String("a1True")},
		{"concat binds tighter than =", `"ab" = "a" & "b"`, Bool(true)},
		// Replace beyond the documented examples.
		{"Replace regex numbered", `Replace("John Doe", , "(\\w+) (\\w+)", , "$2, $1", , )`, String("Doe, John")},
		{"Replace regex specials", `Replace("abc", , "b", , "[$&|$$|$` + "`" + `|$'|$_]", , )`, String("a[b|$|a|c|abc]c")},
		{"Replace regex unknown group literal", `Replace("abc", , "b", , "${nope}$9", , )`, String("a${nope}$9c")},
		{"Replace single-quoted group", `Replace("abc", , "(?'x'b)", , "<${x}>", , )`, String("a<b>c")},
		{"Replace computed pattern", `Replace("a1b2", , Join("", "[", "0-9", "]"), , "#", , )`, String("a#b#")},
		{"Replace computed group", `Replace("a1", , "(?<d>[0-9])", Join("", "d"), "#", , )`, String("a#")},
		{"Replace escape monikers", `Replace("a\r\nb", "\r\n", , , ", ", , )`, String("a, b")},
		{"Replace empty oldValue", `Replace("ab", "", , , "x", , )`, String("ab")},
		{"Replace template Null source", `Replace([missing], "<u>", , , , , "<u>@x")`, Null()},
		{"Replace from attribute no match", `Replace("", , "(?<d>[0-9]+)", "d", , [givenName], )`, Null()},
		// Encodings and names.
		{"ConvertFromBase64 attribute UTF8", `ConvertFromBase64([b64], UTF8)`, String("Hello world!")},
		{"ConvertFromBase64 ASCII string", `ConvertFromBase64("SGVsbG8=", "ASCII")`, String("Hello")},
		{"ConvertToBase64 round trip", `ConvertFromBase64(ConvertToBase64([givenName]))`, String("Zoë")},
		{"DNComponent escaped", `DNComponent([dn], 1)`, String("Doe, John")},
		{"DNComponent hex escape", `DNComponent([dn], 2)`, String("Sales, Europe")},
		{"DNComponent last", `DNComponent([dn], 4)`, String("com")},
		{"DNComponent out of range", `DNComponent([dn], 5)`, Null()},
		{"DNComponent multi-valued RDN", `DNComponent("cn=a+uid=b, ou=x", 2)`, String("x")},
		// Laziness and flow.
		{"IIF does not evaluate the other branch", `IIF(True, "a", Error("boom"))`, String("a")},
		{"Coalesce stops at the first value", `Coalesce("a", Error("boom"))`, String("a")},
		{"Switch evaluates only the match", `Switch("k", Error("boom"), "k", "v", "z", Error("boom"))`, String("v")},
		{"IgnoreFlow nested drops the flow", `Join(",", "a", IgnoreFlowIfNullOrEmpty([missing]))`, ignored()},
		// Syntax freedoms.
		{"case-insensitive names", `toupper(JOIN("", [GIVENNAME]))`, String("ZOË")},
		{"newlines and tabs", "Join(\n\t\"-\" ,\n\t[givenName] ,\"x\"\n)", String("Zoë-x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := Compile(tt.src)
			require.NoError(t, err)
			got, err := e.Eval(env)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, tt.src)
		})
	}
}

func TestEvalErrors(t *testing.T) {
	t.Parallel()
	env := MapEnv{"proxyAddresses": {"a", "b"}, "x": {"abc"}, "n": {"x"}}
	tests := []struct {
		src, want string
		line, col int
	}{
		{`Join(",", Item([proxyAddresses], 3))`, "Item: index 3 is out of bounds (1 to 2)", 1, 11},
		{`Left([x], [n])`, `Left: NumChars must be a whole number, got "x"`, 1, 1},
		{`CBool([x])`, `CBool: cannot convert "abc" to a Boolean`, 1, 1},
		{`IIF([proxyAddresses], "a", "b")`, `IIF: expected a single value, got 2 values`, 1, 1},
		{`InStr("a", "b", 0)`, `InStr: start must be 1 or more, got 0`, 1, 1},
		{"Trim(\n  Error(\"custom\"))", `custom`, 2, 3},
		{`ConvertFromBase64("%%%")`, `ConvertFromBase64: invalid base64 "%%%": illegal base64 data at input byte 0`, 1, 1},
		{`Replace([x], , Join("", "("), , "", , )`, "Replace: regexPattern: error parsing regexp: missing closing ): `(`", 1, 1},
		{`Replace(Replace(Replace(Replace(Replace(Replace(Replace([x], "a", , , "aaaaaaaaaaaaaaaa", , ), "a", , , "aaaaaaaaaaaaaaaa", , ), "a", , , "aaaaaaaaaaaaaaaa", , ), "a", , , "aaaaaaaaaaaaaaaa", , ), "a", , , "aaaaaaaaaaaaaaaa", , ), "a", , , "aaaaaaaaaaaaaaaa", , ), "a", , , "aaaaaaaaaaaaaaaa", , )`,
			"Replace: the result would be 65,538 bytes; a value may be at most 64 KiB", 1, 25},
		{`Replace([x], , "(?<g>a)", Join("", "h"), "", , )`, `Replace: regexGroupName "h" is not a named group of regexPattern`, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			_, err := MustCompile(tt.src).Eval(env)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.want, e.Msg)
			assert.Equal(t, Pos{tt.line, tt.col}, Pos{e.Line, e.Col})
			assert.Contains(t, e.Error(), "^")
		})
	}
}

func TestGuidUsesEvaluatorRand(t *testing.T) {
	t.Parallel()
	e := MustCompile(`Guid()`)
	ev := Evaluator{Rand: bytes.NewReader(bytes.Repeat([]byte{0xab}, 16))}
	v, err := ev.Eval(e, nil)
	require.NoError(t, err)
	assert.Equal(t, String("abababab-abab-4bab-abab-abababababab"), v)

	v, err = e.Eval(nil)
	require.NoError(t, err)
	s, _ := v.Text()
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`), s)

	ev = Evaluator{Rand: bytes.NewReader(nil)}
	_, err = ev.Eval(e, nil)
	require.Error(t, err)
}

func TestStringIsCanonical(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		`join( "@" ,[givenName],"x")`:                       `Join("@", [givenName], "x")`,
		`Replace([x],,"a\\d",,"",,)`:                        `Replace([x], , "a\\d", , "", , )`,
		`iif([c]="FR",&hf7,-3)`:                             `IIF([c] = "FR", &HF7, -3)`,
		`InStr("a","b",1,VBTEXTCOMPARE)`:                    `InStr("a", "b", 1, vbTextCompare)`,
		"Append(\"tab\\t\\\"q\\\"\\n\", \"t\"&[a])":         `Append("tab\t\"q\"\n", "t" & [a])`,
		`IIF(true,null,FALSE)`:                              `IIF(True, Null, False)`,
		`Switch([a],,"k",IsNull([b]))`:                      `Switch([a], , "k", IsNull([b]))`,
		`Guid()`:                                            `Guid()`,
		`formatdatetime([x],,"yyyyMMdd","yyyy")`:            `FormatDateTime([x], , "yyyyMMdd", "yyyy")`,
		`[extension_0123abcd_employeeId] <> [userCert;bin]`: `[extension_0123abcd_employeeId] <> [userCert;bin]`,
	}
	for src, want := range tests {
		e, err := Compile(src)
		require.NoError(t, err, src)
		assert.Equal(t, want, e.String(), src)
		again, err := Compile(e.String())
		require.NoError(t, err)
		assert.Equal(t, want, again.String())
		assert.Equal(t, src, e.Source())
	}
}

func TestAttributes(t *testing.T) {
	t.Parallel()
	e := MustCompile(`Join("@", [givenName], IIF([Country]="FR", [GIVENNAME], [sn]), [country], Replace([x], , "(?<d>\\d)", "d", , [mobile], ))`)
	got := e.Attributes()
	assert.Equal(t, []string{"givenName", "Country", "sn", "x", "mobile"}, got)
	got[0] = "changed"
	assert.Equal(t, "givenName", e.Attributes()[0], "Attributes returns a copy")
	assert.Empty(t, MustCompile(`Guid()`).Attributes())
}

func TestValue(t *testing.T) {
	t.Parallel()
	assert.True(t, Null().IsNull())
	assert.False(t, String("").IsNull())
	s, ok := Null().Text()
	assert.Equal(t, "", s)
	assert.False(t, ok)
	s, ok = String("").Text()
	assert.Equal(t, "", s)
	assert.True(t, ok)
	assert.Nil(t, Null().Strings())
	assert.Equal(t, []string{""}, String("").Strings())
	assert.Equal(t, []string{"a", "b"}, Multi([]string{"a", "b"}).Strings())
	assert.True(t, Multi(nil).IsNull())
	assert.True(t, Multi([]string{"a"}).IsMulti())
	assert.Equal(t, []string{"7"}, Int(7).Strings())
	n, ok := Int(7).Int()
	assert.Equal(t, int64(7), n)
	assert.True(t, ok)
	b, ok := Bool(true).Bool()
	assert.True(t, b && ok)
	assert.True(t, ignored().Ignored())
	assert.Nil(t, ignored().Strings())
	assert.Equal(t, `["a", "b"]`, Multi([]string{"a", "b"}).String())
	assert.Equal(t, `"a"`, String("a").String())
	assert.Equal(t, "Null", Null().String())
	assert.Equal(t, KindMulti, Multi([]string{"a"}).Kind())
	assert.Equal(t, "Multi", KindMulti.String())

	when := time.Date(2021, 7, 2, 15, 33, 38, 123456700, time.FixedZone("x", 3600))
	d := DateTime(when)
	got, ok := d.Time()
	assert.True(t, ok)
	assert.True(t, got.Equal(when), "%v", got)
	assert.Equal(t, time.UTC, got.Location())
	txt, _ := d.Text()
	assert.Equal(t, "7/2/2021 2:33:38 PM", txt)
	// Ticks as in .NET: AD's file time 129699324000000000 (documented for
	// DateFromNum as 2012-01-01 23:00) plus the ticks from 0001 to 1601.
	assert.Equal(t, int64(129699324000000000+504911232000000000), DateTime(time.Date(2012, 1, 1, 23, 0, 0, 0, time.UTC)).n)
	old, _ := DateTime(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)).Time()
	assert.Equal(t, 1, old.Year())
}

func TestEnv(t *testing.T) {
	t.Parallel()
	m := MapEnv{"GivenName": {"a"}}
	v, ok := m.Attribute("givenname")
	assert.True(t, ok)
	assert.Equal(t, []string{"a"}, v)
	_, ok = m.Attribute("sn")
	assert.False(t, ok)
	f := EnvFunc(func(name string) ([]string, bool) { return []string{name}, true })
	got, err := MustCompile(`[x]`).Eval(f)
	require.NoError(t, err)
	assert.Equal(t, String("x"), got)
	got, err = MustCompile(`[x]`).Eval(nil)
	require.NoError(t, err)
	assert.True(t, got.IsNull())
	got, err = MustCompile(`[x]`).Eval(MapEnv{"x": {}})
	require.NoError(t, err)
	assert.True(t, got.IsNull(), "an attribute without values is Null")
}

// TestConcurrentEval evaluates shared compiled expressions from many
// goroutines; run with -race.
func TestConcurrentEval(t *testing.T) {
	t.Parallel()
	exprs := []*Expr{
		MustCompile(`Replace([x], , "(?<d>[0-9])", "d", "#", , )`),
		MustCompile(`Replace([x], , "[0-9]", , "$&$&", , )`),
		MustCompile(`NormalizeDiacritics(PCase([x]))`),
		MustCompile(`FormatDateTime(Join("", "2025010", Mid([x], 2, 1)), , "yyyyMMdd", "dddd d MMMM yyyy")`),
		MustCompile(`DateDiff("ww", "2025-01-01", DateAdd("d", Mid([x], 2, 1), "2025-01-01"))`),
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 1))
			for range 200 {
				e := exprs[r.IntN(len(exprs))]
				_, err := e.Eval(MapEnv{"x": {"ä1b2"}})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
}
