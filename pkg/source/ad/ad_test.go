package ad

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

func TestGUIDString(t *testing.T) {
	t.Parallel()
	b, _ := base64.StdEncoding.DecodeString("iVfJ8+GsVEmsXWuu0urJAg==")
	s, err := GUIDString(b)
	require.NoError(t, err)
	assert.Equal(t, "f3c95789-ace1-4954-ac5d-6baed2eac902", s)
	_, err = GUIDString(b[:15])
	assert.EqualError(t, err, "a GUID is 16 bytes, not 15")
}

func TestSIDString(t *testing.T) {
	t.Parallel()
	// S-1-5-21-1004336348-1177238915-682003330-512 (Domain Admins), as AD
	// stores it.
	b := []byte{1, 5, 0, 0, 0, 0, 0, 5,
		21, 0, 0, 0,
		0xdc, 0xf4, 0xdc, 0x3b,
		0x83, 0x3d, 0x2b, 0x46,
		0x82, 0x8b, 0xa6, 0x28,
		0x00, 0x02, 0x00, 0x00}
	s, err := SIDString(b)
	require.NoError(t, err)
	assert.Equal(t, "S-1-5-21-1004336348-1177238915-682003330-512", s)
	s, err = SIDString([]byte{1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0})
	require.NoError(t, err)
	assert.Equal(t, "S-1-1-0", s, "Everyone")
	_, err = SIDString(b[:20])
	assert.ErrorContains(t, err, "5 sub-authorities is 28 bytes, not 20")
	_, err = SIDString([]byte{1})
	assert.Error(t, err)
}

func TestUAC(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in       string
		disabled bool
		str      string
	}{
		{"512", false, "512 (NORMAL_ACCOUNT)"},
		{"514", true, "514 (ACCOUNTDISABLE|NORMAL_ACCOUNT)"},
		{"546", true, "546 (ACCOUNTDISABLE|PASSWD_NOTREQD|NORMAL_ACCOUNT)"}, // Samba, user added without a password
		{"66048", false, "66048 (NORMAL_ACCOUNT|DONT_EXPIRE_PASSWORD)"},
		{"528", false, "528 (LOCKOUT|NORMAL_ACCOUNT)"},
		{"-2147483136", false, "2147484160 (NORMAL_ACCOUNT|0x80000000)"},
	} {
		u, err := ParseUAC(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.disabled, u.Disabled(), tt.in)
		assert.Equal(t, tt.str, u.String())
	}
	u, _ := ParseUAC("528")
	assert.True(t, u.Locked())
	_, err := ParseUAC("enabled")
	assert.Error(t, err)
}

func TestFileTime(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in    string
		want  time.Time
		never bool
		err   bool
	}{
		{in: "0", never: true},
		{in: "9223372036854775807", never: true},
		{in: "116444736000000000", want: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)},
		{in: "134085024000000000", want: time.Date(2025, 11, 25, 0, 0, 0, 0, time.UTC)},
		{in: "134085024000000001", want: time.Date(2025, 11, 25, 0, 0, 0, 100, time.UTC)},
		{in: "soon", err: true},
		{in: "-5", err: true},
	} {
		got, never, err := FileTime(tt.in)
		if tt.err {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.never, never, tt.in)
		assert.True(t, tt.want.Equal(got), "%s: %v", tt.in, got)
	}
}

func TestGeneralizedTime(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 24, 1, 39, 51, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"20261124013951.0Z":      base,
		"20261124013951Z":        base,
		"20261124013951.5Z":      base.Add(500 * time.Millisecond),
		"20261124013951.123456Z": base.Add(123456 * time.Microsecond),
		"20261124023951+0100":    base,
		"202611240139Z":          base.Add(-51 * time.Second),
	} {
		got, err := GeneralizedTime(in)
		require.NoError(t, err, in)
		assert.True(t, want.Equal(got), "%s: %v", in, got)
	}
	_, err := GeneralizedTime("2026-11-24")
	assert.ErrorContains(t, err, "is not a GeneralizedTime")
}

func TestIsBinary(t *testing.T) {
	t.Parallel()
	assert.True(t, IsBinary("objectGUID"))
	assert.True(t, IsBinary("OBJECTSID"))
	assert.True(t, IsBinary("ms-DS-ConsistencyGuid"))
	assert.False(t, IsBinary("mail"))
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	guid, _ := base64.StdEncoding.DecodeString("iVfJ8+GsVEmsXWuu0urJAg==")
	e := source.Entry{DN: "CN=Zoë", Attributes: map[string][]string{
		"objectGUID":         {string(guid)},
		"userAccountControl": {"514"},
		"accountExpires":     {"9223372036854775807"},
		"pwdLastSet":         {"134085024000000000"},
		"whenChanged":        {"20261124013951.0Z"},
		"objectSid":          {"short"},
		"title":              {"\xff\xfe"},
		"mail":               {"zoe@fabrikam.com"},
	}}
	assert.Equal(t, []Note{
		{Attribute: "accountExpires", Text: "never"},
		{Attribute: "objectGUID", Text: "{f3c95789-ace1-4954-ac5d-6baed2eac902}"},
		{Attribute: "objectSid", Problem: "a SID is at least 8 bytes, not 5"},
		{Attribute: "pwdLastSet", Text: "2025-11-25T00:00:00Z"},
		{Attribute: "title", Problem: `value is not valid UTF-8 text: "\xff\xfe"`},
		{Attribute: "userAccountControl", Text: "514 (ACCOUNTDISABLE|NORMAL_ACCOUNT)"},
		{Attribute: "whenChanged", Text: "2026-11-24T01:39:51Z"},
	}, Describe(e))
}
