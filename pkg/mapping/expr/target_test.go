package expr

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustHex(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestEncodingAndCollectionFunctions(t *testing.T) {
	t.Parallel()
	env := MapEnv{
		"objectSid":      {mustHex("010500000000000515000000dcf4dc3b833d2b46828ba62800020000")},
		"sIDHistory":     {mustHex("01020000000000052000000020020000"), mustHex("010100000000000100000000")},
		"trailing":       {mustHex("010100000000000512000000ffff")},
		"bigAuthority":   {mustHex("0101010203040506" + "07000000")},
		"proxyAddresses": {"SMTP:a@contoso.com", "smtp:a@contoso.com", "SMTP:a@contoso.com", "", ""},
		"one":            {"x"},
		"givenName":      {"Zoë"},
	}
	tests := []struct {
		name, src string
		want      Value
	}{
		{"StringFromSID domain account", `StringFromSID([objectSid])`, String("S-1-5-21-1004336348-1177238915-682003330-512")},
		{"StringFromSID multi-valued", `StringFromSID([sIDHistory])`, Multi([]string{"S-1-5-32-544", "S-1-1-0"})},
		{"StringFromSID ignores trailing bytes as .NET", `StringFromSID([trailing])`, String("S-1-5-18")},
		{"StringFromSID 48-bit authority in hex as .NET", `StringFromSID([bigAuthority])`, String("S-1-0x010203040506-7")},
		{"StringFromSID Null", `StringFromSID([missing])`, Null()},
		{"ConvertToUTF8Hex non-ASCII", `ConvertToUTF8Hex([givenName])`, String("5A6FC3AB")},
		{"ConvertToUTF8Hex multi-valued", `ConvertToUTF8Hex(Split("a,b", ","))`, Multi([]string{"61", "62"})},
		{"ConvertToUTF8Hex empty", `ConvertToUTF8Hex("")`, String("")},
		{"ConvertToUTF8Hex Null", `ConvertToUTF8Hex([missing])`, Null()},
		{"RemoveDuplicates is case-sensitive and keeps order", `RemoveDuplicates([proxyAddresses])`,
			Multi([]string{"SMTP:a@contoso.com", "smtp:a@contoso.com", ""})},
		{"RemoveDuplicates single", `RemoveDuplicates([one])`, String("x")},
		{"RemoveDuplicates Null", `RemoveDuplicates([missing])`, Null()},
		{"RemoveDuplicates to one value stays multi-valued", `RemoveDuplicates(Split("a,a", ","))`, Multi([]string{"a"})},
		{"Redact nested keeps the value", `Join(",", Redact([one]), "y")`, String("x,y")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := MustCompile(tt.src).Eval(env)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, tt.src)
		})
	}

	errs := map[string]string{
		`StringFromSID("S-1-5-18")`:                                  `StringFromSID: "S-1-5-18" is already a SID string, not the binary form`,
		`StringFromSID("abc")`:                                       `StringFromSID: a binary SID has at least 8 bytes, got 3`,
		`StringFromSID(ConvertFromBase64("AgEAAAAAAAUSAAAA", UTF8))`: `StringFromSID: SID revision 2 is not supported (only 1)`,
		`StringFromSID(ConvertFromBase64("AQIAAAAAAAUSAAAA", UTF8))`: `StringFromSID: a SID with 2 sub-authorities has 16 bytes, got 12`,
		`StringFromSID(ConvertFromBase64("ARAAAAAAAAU=", UTF8))`:     `StringFromSID: a SID has at most 15 sub-authorities, got 16`,
	}
	for src, want := range errs {
		_, err := MustCompile(src).Eval(env)
		var e *Error
		require.ErrorAs(t, err, &e, src)
		assert.Equal(t, want, e.Msg, src)
	}
}

func TestSelectUniqueValue(t *testing.T) {
	t.Parallel()
	env := MapEnv{"mail": {"zoe@contoso.com"}, "empty": {""}, "multi": {"a", "b"}}
	taken := func(vals ...string) func(string) (bool, error) {
		return func(v string) (bool, error) {
			for _, t := range vals {
				if t == v {
					return false, nil
				}
			}
			return true, nil
		}
	}
	tests := []struct {
		name, src string
		unique    func(string) (bool, error)
		want      Value
	}{
		{"nil Unique takes the first value", `SelectUniqueValue([mail], "x")`, nil, String("zoe@contoso.com")},
		{"Null and empty rules are skipped", `SelectUniqueValue([missing], [empty], "", [mail])`, taken(), String("zoe@contoso.com")},
		{"taken values are skipped", `SelectUniqueValue([mail], Join("", "2", [mail]))`, taken("zoe@contoso.com"), String("2zoe@contoso.com")},
		{"no upper bound", `SelectUniqueValue("1", "2", "3", "4", "5", "6", "7")`, taken("1", "2", "3", "4", "5", "6"), String("7")},
		{"an integer rule", `SelectUniqueValue("1", 2)`, taken("1"), Int(2)},
		{"IgnoreFlowIfNullOrEmpty in a rule drops the flow", `SelectUniqueValue(IgnoreFlowIfNullOrEmpty([missing]), [mail])`, taken(), ignored()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := MustCompile(tt.src)
			assert.True(t, e.UsesSelectUniqueValue())
			ev := Evaluator{Unique: tt.unique}
			got, err := ev.Eval(e, env)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

	errTenant := errors.New("graph: 503")
	errTests := []struct {
		name, src string
		unique    func(string) (bool, error)
		want      string
		is        error
	}{
		{"one taken", `SelectUniqueValue([mail], [missing])`, taken("zoe@contoso.com"),
			`SelectUniqueValue: no unique value: "zoe@contoso.com" is already taken`, ErrNoUniqueValue},
		{"no values", `SelectUniqueValue([missing], [empty])`, nil,
			`SelectUniqueValue: no unique value: no rule gave a value`, ErrNoUniqueValue},
		{"the tenant fails", `SelectUniqueValue([mail], "x")`, func(string) (bool, error) { return false, errTenant },
			`SelectUniqueValue: check whether "zoe@contoso.com" is unique: graph: 503`, errTenant},
		{"multi-valued rule", `SelectUniqueValue([multi], "x")`, nil,
			`SelectUniqueValue: uniqueValueRule1: expected a single value, got 2 values`, nil},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := Evaluator{Unique: tt.unique}
			_, err := ev.Eval(MustCompile(tt.src), env)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.want, e.Msg)
			assert.Equal(t, Pos{1, 1}, Pos{e.Line, e.Col})
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
		})
	}

	assert.False(t, MustCompile(`Join("", [mail])`).UsesSelectUniqueValue())
	// A rule after the first unique one is not evaluated.
	v, err := MustCompile(`SelectUniqueValue([mail], Error("not reached"))`).Eval(env)
	require.NoError(t, err)
	assert.Equal(t, String("zoe@contoso.com"), v)
}

func TestRandomString(t *testing.T) {
	t.Parallel()
	classes := []string{randomDigits, randomSpecial, randomUpper, randomLower}
	for seed := range uint64(200) {
		ev := Evaluator{Rand: rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})}
		v, err := ev.Eval(MustCompile(`RandomString(16, 2, 3, 4, 5, "0Oo1lI")`), nil)
		require.NoError(t, err)
		s, _ := v.Text()
		require.Len(t, s, 16)
		for i, min := range []int{2, 3, 4, 5} {
			n := 0
			for _, r := range s {
				if strings.ContainsRune(classes[i], r) {
					n++
				}
			}
			assert.GreaterOrEqual(t, n, min, "%s in %q", classes[i], s)
		}
		assert.False(t, strings.ContainsAny(s, "0Oo1lI"), s)
	}

	// Deterministic for a given Rand.
	a, err := (&Evaluator{Rand: rand.NewChaCha8([32]byte{})}).Eval(MustCompile(`RandomString(12,1,1,1,1)`), nil)
	require.NoError(t, err)
	b, err := (&Evaluator{Rand: rand.NewChaCha8([32]byte{})}).Eval(MustCompile(`RandomString(12,1,1,1,1)`), nil)
	require.NoError(t, err)
	assert.Equal(t, a, b)

	// Every character of every class can come out.
	seen := map[rune]bool{}
	ev := Evaluator{Rand: rand.NewChaCha8([32]byte{7})}
	for range 200 {
		v, err := ev.Eval(MustCompile(`RandomString(256, 0, 0, 0, 0)`), nil)
		require.NoError(t, err)
		s, _ := v.Text()
		for _, r := range s {
			seen[r] = true
		}
	}
	assert.Len(t, seen, len(randomDigits+randomSpecial+randomUpper+randomLower))

	v, err := MustCompile(`RandomString(0, 0, 0, 0, 0)`).Eval(nil)
	require.NoError(t, err)
	assert.Equal(t, String(""), v)

	errs := map[string]string{
		`RandomString(257, 0, 0, 0, 0)`:             `RandomString: Length must be at most 256, got 257`,
		`RandomString(4, 1, 1, 1, 2)`:               `RandomString: Length 4 is less than the sum of the minimums, 5`,
		`RandomString(4, -1, 0, 0, 0)`:              `RandomString: MinimumNumbers must not be negative, got -1`,
		`RandomString([missing], 0, 0, 0, 0)`:       `RandomString: Length must be a whole number, got Null`,
		`RandomString(4, 1, 0, 0, 0, "0123456789")`: `RandomString: CharactersToAvoid leaves no numbers`,
	}
	for src, want := range errs {
		_, err := MustCompile(src).Eval(nil)
		var e *Error
		require.ErrorAs(t, err, &e, src)
		assert.Equal(t, want, e.Msg, src)
	}
	_, err = (&Evaluator{Rand: bytes.NewReader([]byte{1, 2, 3})}).Eval(MustCompile(`RandomString(4, 1, 0, 0, 0)`), nil)
	require.ErrorContains(t, err, "RandomString: read random bytes: ")
}
