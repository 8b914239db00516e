package expr

import "testing"

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
