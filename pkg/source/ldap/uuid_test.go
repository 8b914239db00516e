package ldap

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEntryUUIDBytes(t *testing.T) {
	t.Parallel()
	got, err := EntryUUIDBytes("e808097c-7bf9-1041-99b3-1532daeb033d")
	require.NoError(t, err)
	assert.Equal(t, []byte{0xe8, 0x08, 0x09, 0x7c, 0x7b, 0xf9, 0x10, 0x41, 0x99, 0xb3, 0x15, 0x32, 0xda, 0xeb, 0x03, 0x3d}, got)

	upper, err := EntryUUIDBytes("E808097C-7BF9-1041-99B3-1532DAEB033D")
	require.NoError(t, err)
	assert.Equal(t, got, upper)

	for _, bad := range []string{
		"",
		"e808097c7bf9104199b31532daeb033d",
		"e808097c-7bf9-1041-99b3-1532daeb033",
		"e808097c-7bf9-1041-99b3-1532daeb033dd",
		"e808097c_7bf9-1041-99b3-1532daeb033d",
		"g808097c-7bf9-1041-99b3-1532daeb033d",
		"{e808097c-7bf9-1041-99b3-1532daeb03}",
	} {
		_, err := EntryUUIDBytes(bad)
		assert.Error(t, err, "%q", bad)
	}
}
