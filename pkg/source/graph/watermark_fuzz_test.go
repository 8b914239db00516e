package graph

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDecodeWatermark: whatever a state file holds as this reader's
// watermark, decoding it does not panic, and a watermark it accepts
// encodes and decodes again to the same.
func FuzzDecodeWatermark(f *testing.F) {
	f.Add(watermark{Users: "https://graph.microsoft.com/v1.0/users/delta()?$deltatoken=x", Members: []string{"a", "b"}}.encode())
	f.Add(watermark{Users: "u", Groups: []groupRound{{Link: "g", IDs: []string{"1"}}}, Assigned: []string{"x"}}.encode())
	f.Add("")
	f.Add("H4sIAAAAAAAA_w")
	f.Fuzz(func(t *testing.T, s string) {
		w, err := decodeWatermark(s)
		if err != nil {
			return
		}
		again, err := decodeWatermark(w.encode())
		require.NoError(t, err)
		require.Equal(t, w.Users, again.Users)
		require.Equal(t, len(w.Members), len(again.Members))
		require.Equal(t, len(w.Groups), len(again.Groups))
	})
}
