package source

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
