package source

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEntryLookupIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	var e Entry
	e.Add("objectGUID", "\x00\xff")
	e.Add("OBJECTGUID", "second")
	e.Add("mail")
	assert.Equal(t, []string{"\x00\xff", "second"}, e.Values("objectguid"), "one attribute, whatever the case")
	assert.Len(t, e.Attributes, 2)
	v, ok := e.First("ObjectGuid")
	assert.True(t, ok)
	assert.Equal(t, "\x00\xff", v, "binary bytes kept exactly")
	assert.True(t, e.Has("MAIL"), "present with no value")
	_, ok = e.First("mail")
	assert.False(t, ok)
	assert.False(t, e.Has("sn"))
	assert.Nil(t, e.Values("sn"))
	assert.Equal(t, []string{"mail", "objectGUID"}, e.Names())
}

func TestEntryJSONIsLossless(t *testing.T) {
	t.Parallel()
	e := Entry{DN: "CN=Zoë,OU=Partners", Deleted: true, Attributes: map[string][]string{
		"objectGUID": {"\x89W\xc9\xf3\xe1\xacTI\xac]k\xae\xd2\xea\xc9\x02"},
		"givenName":  {"Zoë"},
		"otherMails": {"a@x", "b@y"},
	}}
	b, err := json.Marshal(e)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"objectGUID":[{"base64":"iVfJ8+GsVEmsXWuu0urJAg=="}]`)
	assert.Contains(t, string(b), `"givenName":["Zoë"]`)
	var back Entry
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, e, back)

	assert.ErrorContains(t, json.Unmarshal([]byte(`{"dn":"x","attributes":{"a":[7]}}`), &back), `attribute a: value 1 is neither a string nor {"base64": ...}`)
}
