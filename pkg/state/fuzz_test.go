package state

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
)

// allocBound is what reading input of n bytes may allocate: buffers of a
// fixed size, and a small multiple of the input (a 7-byte guest becomes
// a account.Account and its map).
func allocBound(n int) uint64 { return 2<<20 + 96*uint64(n) }

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func seedGuests(f *testing.F) {
	var b bytes.Buffer
	require.NoError(f, encodeGuests(&b, []account.Account{
		{ID: "1", Anchor: "QUFB", Source: "CN=Zoë", Owned: true, Properties: map[string]string{"displayName": "Zoë", "mail": ""},
			CreateOnly: []string{"usageLocation"}, Redacted: []string{"employeeId"}},
		{ID: "2", Deleted: true, Properties: map[string]string{}},
	}))
	f.Add(b.Bytes())
	b.Reset()
	require.NoError(f, encodeGuests(&b, nil))
	f.Add(b.Bytes())
	f.Add([]byte(guestsMagic + "\xff\xff\xff\xff\x0f"))
}

// FuzzGuestsFile: whatever a guests file holds, reading it does not panic
// or allocate far beyond its size, and what reads writes back the same.
func FuzzGuestsFile(f *testing.F) {
	seedGuests(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var guests []account.Account
		var err error
		n := allocated(func() { guests, err = decodeGuests(bytes.NewReader(data), int64(len(data))) })
		require.LessOrEqual(t, n, allocBound(len(data)), "allocated %d bytes for %d bytes of input", n, len(data))
		if err != nil {
			return
		}
		var again bytes.Buffer
		require.NoError(t, encodeGuests(&again, guests))
		back, err := decodeGuests(bytes.NewReader(again.Bytes()), int64(again.Len()))
		require.NoError(t, err, "what was read is written back readable")
		assert.Equal(t, guests, back)
	})
}

// FuzzLoad: whatever the state file holds, Load does not panic or
// allocate far beyond its size; a state that loads saves, and loads back
// the same. The folder also holds a good guests file, which a state may
// name.
func FuzzLoad(f *testing.F) {
	dir := f.TempDir()
	good, err := writeGuests(filepath.Join(dir, "state.json"), []account.Account{{ID: "1", Anchor: "QUFB", Owned: true,
		Properties: map[string]string{"mail": "zoe@x.example"}}})
	require.NoError(f, err)
	at := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	for _, s := range []State{
		{Version: FormatVersion, Sources: map[string]Source{"ldaps://dc1/OU=P": {Watermark: "AQID", Entries: 5, FullReadAt: at}},
			Targets: map[string]Target{"graph x owner y in z": {Tenant: "t", DeltaLink: "https://g/delta?$deltatoken=a", AccountsFile: good,
				FullReadAt: at, Disabled: map[string]time.Time{"QUFB": at}}}, LastSuccess: at},
		{Version: 1, Targets: map[string]Target{"k": {DeltaLink: "l", AccountsFile: "../" + good}}},
	} {
		data, err := json.Marshal(s)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte(`{"version":2,"targets":{"k":{"guestsFile":"state.json.guests-404"}},"lastSuccess":"2026-11-24T02:00:00+01:00"}`))
	f.Add([]byte(`{"version":1,"sources":{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "state.json")
		require.NoError(t, os.WriteFile(path, data, 0o600))
		var s *State
		n := allocated(func() { s, err = Load(path) })
		require.LessOrEqual(t, n, allocBound(len(data))+allocBound(1<<10)+64*uint64(len(data)),
			"allocated %d bytes for %d bytes of input", n, len(data))
		if err != nil {
			return
		}
		first, err := json.Marshal(s)
		require.NoError(t, err)
		saved := filepath.Join(dir, "saved.json")
		require.NoError(t, s.Save(saved), "a state that loads saves")
		back, err := Load(saved)
		require.NoError(t, err, "and loads again")
		again, err := json.Marshal(back)
		require.NoError(t, err)
		var want State
		require.NoError(t, json.Unmarshal(first, &want))
		want.Version = FormatVersion
		first, err = json.Marshal(want)
		require.NoError(t, err)
		assert.JSONEq(t, string(first), string(again))
		for key, target := range s.Targets {
			assert.Equal(t, target.Accounts, back.Targets[key].Accounts, "the guests of %q", key)
		}
	})
}
