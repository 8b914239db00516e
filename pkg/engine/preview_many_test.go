package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

// A preview whose name matches many entries (a shared mail) says how many
// and names a few: the message does not grow with the directory.
func TestPreviewOfANameManyEntriesShare(t *testing.T) {
	t.Parallel()
	var many []source.Entry
	for i := range 1000 {
		en := entry(fmt.Sprintf("p%04d", i), fmt.Sprintf("%08d-1111-1111-1111-111111111111", i), "Partner")
		en.Attributes["mail"] = []string{"shared@partners.contoso.com"}
		many = append(many, en)
	}
	e := newEngine(t, fakeSource{entries: many, result: source.Result{Entries: len(many), Complete: true}}, &fakeTarget{})
	_, err := e.Preview(context.Background(), "shared@partners.contoso.com", false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"shared@partners.contoso.com" names 1000 entries (uid=p0000,ou=Partners; uid=p0001,ou=Partners; uid=p0002,ou=Partners and 997 more): give the DN`)
	assert.Less(t, len(err.Error()), 300)
	assert.Equal(t, 0, strings.Count(err.Error(), "p0003"))
}
