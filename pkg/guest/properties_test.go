package guest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckAcceptsWhatGraphAccepts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ property, value string }{
		{"displayName", strings.Repeat("é", 256)},
		{"userPrincipalName", "o'brien.x-y_z!#^~@partners.contoso.com"},
		{"userPrincipalName", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 44) + ".com"},
		{"mailNickname", strings.Repeat("z", 64)},
		{"usageLocation", "de"},
		{"accountEnabled", "True"},
		{"employeeType", strings.Repeat("x", 100000)}, // no documented maximum
		{"usageLocation", ""},                         // clearing is Graph's to judge
	} {
		p, ok := LookupProperty(tc.property)
		assert.True(t, ok, tc.property)
		assert.NoError(t, p.Check(tc.value), "%s %.40q", tc.property, tc.value)
	}
}

func TestCheckClipsTheValueItQuotes(t *testing.T) {
	t.Parallel()
	p, _ := LookupProperty("usageLocation")
	err := p.Check(strings.Repeat("x", 1<<20))
	assert.EqualError(t, err, "usageLocation is 1048576 characters; Graph allows at most 2")
	p, _ = LookupProperty("accountEnabled")
	err = p.Check(strings.Repeat("y", 1<<20))
	assert.EqualError(t, err, `accountEnabled must be true or false, not "`+strings.Repeat("y", 40)+`…"`)
}
