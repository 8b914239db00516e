package expr

import (
	"testing"
	"time"
)

// BenchmarkEval10 evaluates ten typical compiled mappings against one entry.
func BenchmarkEval10(b *testing.B) {
	srcs := []string{
		`Join("@", NormalizeDiacritics(StripSpaces([givenName])), "partners.contoso.com")`,
		`ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [givenName], [sn]))), "contoso.com"))`,
		`Coalesce([mail], [userPrincipalName])`,
		`IIF([c]="FR", "France", IIF([c]="DE", "Germany", "Other"))`,
		`Switch([department], "Other", "10", "Sales", "20", "Marketing", "30", "Engineering")`,
		`Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", , "${phoneNumber}", , )`,
		`Replace([mail], "@contoso.com", , , "", , )`,
		`PCase(Join(" ", [givenName], [sn]))`,
		`IgnoreFlowIfNullOrEmpty(Trim([title]))`,
		`CBool(BitAnd([userAccountControl], 2))`,
	}
	exprs := make([]*Expr, len(srcs))
	for i, s := range srcs {
		exprs[i] = MustCompile(s)
	}
	env := MapEnv{
		"givenName":          {"Zoë Anne"},
		"sn":                 {"Müller"},
		"userPrincipalName":  {"zoe.mueller@contoso.com"},
		"c":                  {"DE"},
		"department":         {"20"},
		"telephoneNumber":    {"+49 1234567890"},
		"mail":               {"zoe.mueller@contoso.com"},
		"title":              {" Engineer "},
		"userAccountControl": {"514"},
		"objectClass":        {"top", "person", "organizationalPerson", "user"},
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range exprs {
			if _, err := e.Eval(env); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	src := `ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [givenName], [sn]))), "contoso.com"))`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvalDates evaluates typical date mappings: reading an HR date,
// writing AD's accountExpires and formatting generalized time.
func BenchmarkEvalDates(b *testing.B) {
	srcs := []string{
		`NumFromDate(Join("", FormatDateTime([ContractEndDate], , "yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))`,
		`IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", "True")`,
		`FormatDateTime([whenCreated], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")`,
		`DateAdd("m", 3, CDate([StatusHireDate]))`,
	}
	exprs := make([]*Expr, len(srcs))
	for i, s := range srcs {
		exprs[i] = MustCompile(s)
	}
	env := MapEnv{
		"ContractEndDate": {"2020-12-31-08:00"},
		"StatusHireDate":  {"2025-01-20-08:00"},
		"whenCreated":     {"20240105093000.0Z"},
	}
	ev := Evaluator{Now: func() time.Time { return time.Date(2025, 1, 15, 8, 0, 0, 0, time.UTC) }}
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range exprs {
			if _, err := ev.Eval(e, env); err != nil {
				b.Fatal(err)
			}
		}
	}
}
