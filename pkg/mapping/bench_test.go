package mapping

import (
	"path/filepath"
	"testing"
)

// BenchmarkMapShipped maps one entry through the shipped partner-guest
// mapping: 10 flows, mostly direct, one expression (the target in the
// issue: under 5 µs per entry).
func BenchmarkMapShipped(b *testing.B) {
	m, err := Load(filepath.Join("..", "..", "mappings", "partner-guest.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	e := partner()
	b.ReportAllocs()
	for b.Loop() {
		if r := m.Map(e); r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}

// BenchmarkMapExpressions10 maps one entry through 10 expression flows of
// the kinds admins write.
func BenchmarkMapExpressions10(b *testing.B) {
	m, err := Parse("bench.yaml", []byte(`version: 1
flows:
  - {target: userPrincipalName, type: expression, expression: 'Join("@", NormalizeDiacritics(StripSpaces(ToLower([givenName]))), "partners.contoso.com")'}
  - {target: mailNickname, type: expression, expression: 'ToLower([sAMAccountName])'}
  - {target: displayName, type: expression, expression: 'Join(" ", [givenName], [sn])'}
  - {target: givenName, type: expression, expression: 'Trim([givenName])'}
  - {target: surname, type: expression, expression: 'PCase([sn])'}
  - {target: mail, type: expression, expression: 'Coalesce([mail], [userPrincipalName])'}
  - {target: companyName, type: expression, expression: 'IIF(IsPresent([company]), [company], "Unknown partner")'}
  - {target: jobTitle, type: expression, expression: 'Left([title], 128)'}
  - {target: usageLocation, type: expression, expression: 'ToUpper([c])'}
  - {target: accountEnabled, type: expression, expression: 'IIF(BitAnd([userAccountControl], 2) = 2, "False", "True")'}
`))
	if err != nil {
		b.Fatal(err)
	}
	e := partner()
	b.ReportAllocs()
	for b.Loop() {
		if r := m.Map(e); r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}
