package expr

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzCompile checks that Compile never panics, that what compiles
// evaluates without panicking, and that String() is a fixed point.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`Join("@", NormalizeDiacritics(StripSpaces([givenName])), "partners.contoso.com")`,
		`Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", , "${phoneNumber}", , )`,
		`Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber" , , [mobile], )`,
		`Replace([UserID],"<username>", , , , , "<username>@contoso.com")`,
		`Replace([AddressLineData], ,"(?<streetNumber>^\\d*)","streetNumber", "888", , )`,
		`IIF([country]="USA",IIF([state]="CA","True","False"),"False")`,
		`Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane")`,
		`IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr."))`,
		`InStr("repEated","e",3,vbBinaryCompare)`,
		`BitAnd(&HF, &HF7) >= -3`,
		`PCase([lastName]," '-") & Mid([x], 1, 2)`,
		`ConvertFromBase64("SGVsbG8gd29ybGQh", UTF8)`,
		`DNComponent(CRef([dn]),1)`,
		`Word("This,string!has&many separators",3,",!&#")`,
		`Coalesce([mail], Item([proxyAddresses], 2), Error("none"))`,
		`Left(Split([x], ","), -1)`,
		"Jion(\n\t'a', [b c], “x”, 1.5, &HZZ",
		`Guid()`,
		`CBool(Count([proxyAddresses]) > 1)`,
		`FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")`,
		`FormatDateTime([date], "AllowWhiteSpaces", "yyyy-MM-ddzzz", "dddd, MMMM d, yyyy h:mm:ss.FFF tt K '\\'q\\%y")`,
		`FormatDateTime(DateFromNum([pwdLastSet]),"yyyyMMddHHmmss.0Z")`,
		`FormatDateTime(CDate("12/25/2007"), "o")`,
		`DateDiff("ww", Now(), CDate([date])) > 5`,
		`DateAdd("m", -13, CDate("Wed, 15 Jan 2025 08:00:00 GMT"))`,
		`NumFromDate(DateFromNum(129699324000000000))`,
		`SelectUniqueValue([givenName], Join("", [givenName], "2"), Redact([x]))`,
		`Redact(RandomString(10,2,2,2,1,"?,"))`,
		`StringFromSID([sid])`,
		`RemoveDuplicates(ConvertToUTF8Hex([proxyAddresses]))`,
	} {
		f.Add(s)
	}
	env := MapEnv{
		"givenName": {"Zoë"}, "x": {"a,b,ä"}, "proxyAddresses": {"SMTP:a@x", "smtp:b@x"},
		"telephoneNumber": {""}, "mobile": {"+91 8887779999"}, "dn": {`cn=a\,b,ou=x`}, "empty": {""},
		"extensionAttribute1": {"20150123105347.1Z"}, "date": {"2020-03-16-07:00"}, "pwdLastSet": {"130543784930000000"},
		"sid": {"\x01\x02\x00\x00\x00\x00\x00\x05\x20\x00\x00\x00\x20\x02\x00\x00"},
	}
	ev := Evaluator{
		Now:    func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) },
		Rand:   bytes.NewReader(nil), // Guid and RandomString fail cleanly rather than consuming entropy
		Unique: func(v string) (bool, error) { return len(v)%2 == 0, nil },
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Compile(src)
		if err != nil {
			if len(Errors(err)) == 0 {
				t.Fatalf("Compile(%q) returned %T, not *Error", src, err)
			}
			_ = err.Error()
			return
		}
		v, err := ev.Eval(e, env)
		if err == nil {
			_ = v.String()
		} else if len(Errors(err)) != 1 {
			t.Fatalf("Eval(%q) returned %T, not *Error", src, err)
		}
		canon := e.String()
		e2, err := Compile(canon)
		if err != nil {
			t.Fatalf("String() of %q does not compile: %q: %v", src, canon, err)
		}
		if again := e2.String(); again != canon {
			t.Fatalf("String() is not stable for %q: %q then %q", src, canon, again)
		}
	})
}

// FuzzEvalLimits evaluates fuzzed expressions against fuzzed attributes,
// some of them long (a value repeated up to 20,000 times, a list of as
// many values), and checks the limits: a result is no longer than the
// limits or than an attribute it passes through, and a failure is one
// *Error with a bounded message.
func FuzzEvalLimits(f *testing.F) {
	for _, s := range []string{
		`Join(",", [many])`, `Join("", [long], [long])`, `Split([long], "a")`, `Replace([long], "a", , , "aaaa", , )`,
		`Replace([long], , "(?<g>.)", "g", "xy", , )`, `Replace([long], , ".", , "$&$&$_", , )`, `ToUpper([many]) & [long]`,
		`ConvertToBase64([long])`, `ConvertToUTF8Hex(Join("", [long], [long]))`, `Switch([a], Trim([long]), Trim([long]), "x")`,
		`RemoveDuplicates(Split(Join(",", [many]), ","))`, `CBool([long])`, `Error([long])`, `[many] = [many]`, `InStr([long], [a], 1, vbTextCompare)`,
		`FormatDateTime(CDate("2025-01-15"), Join("", [long]))`, `DNComponent(Join("", "cn=", [long]), 1)`, `Word([long], 2, [a])`,
	} {
		f.Add(s, "ab,", uint16(1000))
	}
	ev := Evaluator{
		Now:    func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) },
		Rand:   bytes.NewReader(nil),
		Unique: func(v string) (bool, error) { return len(v)%2 == 0, nil },
	}
	f.Fuzz(func(t *testing.T, src, a string, n uint16) {
		e, err := Compile(src)
		if err != nil {
			return
		}
		if len(a) > 16 {
			a = a[:16]
		}
		reps := int(n) % 20_001
		env := MapEnv{"a": {a}, "long": {strings.Repeat(a, reps)}, "many": values(reps, a)}
		v, err := ev.Eval(e, env)
		if err != nil {
			if len(Errors(err)) != 1 {
				t.Fatalf("Eval(%q) returned %T, not one *Error", src, err)
			}
			if len(err.Error()) > 8<<10 {
				t.Fatalf("Eval(%q): a message of %d bytes: %.300s", src, len(err.Error()), err)
			}
			return
		}
		longest, most := MaxTextBytes, MaxListValues
		for _, vs := range env {
			most = max(most, len(vs))
			for _, s := range vs {
				longest = max(longest, len(s))
			}
		}
		vals := v.Strings()
		if len(vals) > most {
			t.Fatalf("Eval(%q): %d values", src, len(vals))
		}
		for _, s := range vals {
			if len(s) > longest {
				t.Fatalf("Eval(%q): a value of %d bytes", src, len(s))
			}
		}
		_ = v.String()
	})
}
