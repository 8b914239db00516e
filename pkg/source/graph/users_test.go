package graph

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUserEntry(t *testing.T) {
	t.Parallel()
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(`{
		"id": "0C0C1F4B-8C55-4A1E-9A3C-1D2E3F405162",
		"@odata.type": "#microsoft.graph.user",
		"displayName": "Zoë \"Z\" Lefèvre",
		"accountEnabled": false,
		"userType": "Guest",
		"surname": null,
		"otherMails": ["z@fabrikam.com", "zoe@fabrikam.com"],
		"businessPhones": [],
		"onPremisesExtensionAttributes": {"extensionAttribute1": "a", "extensionAttribute2": null},
		"employeeOrgData": null,
		"ageGroup": 3
	}`), &fields))
	u, err := newUser(fields)
	require.NoError(t, err)
	e := u.entry()
	id := "0c0c1f4b-8c55-4a1e-9a3c-1d2e3f405162"
	assert.Equal(t, id, e.DN, "ids are compared in lower case")
	assert.Equal(t, map[string][]string{
		"id":             {id},
		"displayName":    {`Zoë "Z" Lefèvre`},
		"accountEnabled": {"false"},
		"userType":       {"Guest"},
		"otherMails":     {"z@fabrikam.com", "zoe@fabrikam.com"},
		"onPremisesExtensionAttributes.extensionAttribute1": {"a"},
		"ageGroup": {"3"},
	}, e.Attributes)
	assert.True(t, u.guest())
	assert.False(t, u.enabled())
	assert.False(t, e.Deleted)

	g := gone(id, &u)
	assert.True(t, g.Deleted)
	assert.Equal(t, []string{"false"}, g.Values("accountEnabled"))
	g = gone(id, nil)
	assert.Equal(t, map[string][]string{"id": {id}}, g.Attributes)

	_, err = newUser(map[string]json.RawMessage{"displayName": json.RawMessage(`"x"`)})
	assert.ErrorContains(t, err, "a user without an id")
}

func TestWatermark(t *testing.T) {
	t.Parallel()
	w := watermark{Users: "https://graph.microsoft.com/v1.0/users/delta()?$deltatoken=abc",
		Groups:   []groupRound{{IDs: []string{"g1"}, Link: "https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=def"}},
		Assigned: []string{"group:g1"}, Members: []string{"a", "b"}}
	got, err := decodeWatermark(w.encode())
	require.NoError(t, err)
	w.V = watermarkVersion
	assert.Equal(t, w, got)
	assert.NotContains(t, w.encode(), "=", "base64url without padding: safe in any state file")

	for name, mark := range map[string]string{
		"empty":          "",
		"not base64":     "%%%",
		"not gzip":       "eyJ2IjoxfQ",
		"not JSON":       gzipped(t, `{"v":`),
		"other version":  gzipped(t, `{"v":2,"users":"x","members":[]}`),
		"no users link":  watermark{}.encode(),
		"an empty round": watermark{Users: "x", Groups: []groupRound{{IDs: []string{"g"}}}}.encode(),
	} {
		_, err := decodeWatermark(mark)
		assert.Error(t, err, name)
	}
	_, err = decodeWatermark(gzipped(t, `{"v":1,"users":"x","members":["a"]}`))
	assert.NoError(t, err)

	// Large scopes: 100,000 object ids take about 2 MB.
	big := watermark{Users: "x"}
	for i := range 100000 {
		h := fmt.Sprintf("%032x", uint64(i)*0x9e3779b97f4a7c15)
		big.Members = append(big.Members, h[:8]+"-"+h[8:12]+"-"+h[12:16]+"-"+h[16:20]+"-"+h[20:])
	}
	assert.Less(t, len(big.encode()), 3<<20)
}

// gzipped encodes JSON text as a watermark is encoded.
func gzipped(t *testing.T, text string) string {
	t.Helper()
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	_, err := z.Write([]byte(text))
	require.NoError(t, err)
	require.NoError(t, z.Close())
	return base64.RawURLEncoding.EncodeToString(buf.Bytes())
}
