package graphsim

import (
	"testing"

	"github.com/stretchr/testify/assert"

	gsschema "github.com/guestsync/guestsync/pkg/schema"
)

// TestLimitsMatchGuestsyncsTable: the emulator enforces the documented
// length limits of every property guestsync writes, the same ones the
// mapping compiler and the Graph client check (pkg/schema), so that a test
// against the emulator sees what Graph would refuse.
func TestLimitsMatchGuestsyncsTable(t *testing.T) {
	t.Parallel()
	sc := userSchema()
	// Limits the emulator applies by another rule, or where it is stricter
	// than the table.
	byRule := map[string]string{
		"usageLocation": "two-letter code (isTwoLetterCode)",
		"mail":          "256, an SMTP address's limit; the user page gives none",
	}
	for _, p := range gsschema.Graph().Properties() {
		def := sc.byName[p.Name]
		if !assert.NotNil(t, def, "%s is written by guestsync but unknown to the emulator", p.Name) {
			continue
		}
		if _, ok := byRule[p.Name]; ok {
			continue
		}
		assert.Equal(t, p.MaxLength, def.maxLen, "maximum length of %s", p.Name)
	}
}
