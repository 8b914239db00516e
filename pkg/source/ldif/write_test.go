package ldif

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

func TestWriteRoundTrips(t *testing.T) {
	t.Parallel()
	entries := []source.Entry{
		{DN: "CN=Zoë Lefèvre,OU=Partners,DC=corp,DC=contoso,DC=com", Attributes: map[string][]string{
			"objectGUID":  {"\x89W\xc9\xf3\xe1\xacTI\xac]k\xae\xd2\xea\xc9\x02"},
			"givenName":   {"Zoë"},
			"mail":        {"zoe@fabrikam.com"},
			"description": {" leading space", "trailing space ", ":colon", "<angle", ""},
			"info":        {strings.Repeat("long line ", 30)},
			"otherMails":  {"a@x.com", "b@x.com"},
		}},
		{DN: "uid=plain,ou=people,dc=example,dc=test", Attributes: map[string][]string{"uid": {"plain"}}},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, e := range entries {
		require.NoError(t, w.Write(e))
	}
	require.NoError(t, w.Flush())
	out := buf.String()
	assert.True(t, strings.HasPrefix(out, "version: 1\n\ndn:: "), out)
	assert.Contains(t, out, "\nmail: zoe@fabrikam.com\n")
	assert.Contains(t, out, "\nobjectGUID:: iVfJ8+GsVEmsXWuu0urJAg==\n")
	assert.Contains(t, out, "\ngivenName:: Wm/Dqw==\n")
	for _, l := range strings.Split(out, "\n") {
		assert.LessOrEqual(t, len(l), lineWidth+1, "folded: %q", l)
	}

	var back []source.Entry
	res, err := Parse("written.ldif", &buf, func(e source.Entry) error { back = append(back, e); return nil })
	require.NoError(t, err)
	assert.True(t, res.Complete)
	assert.Equal(t, entries, back, "what Write writes, Parse reads back exactly")
}
