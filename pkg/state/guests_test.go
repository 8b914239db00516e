package state

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
)

func TestGuestsFileRoundTripAndDamage(t *testing.T) {
	t.Parallel()
	guests := []account.Account{
		{ID: "1", Anchor: "QUFB", Source: "CN=Zoë Lefèvre,OU=Partners", Owned: true,
			Properties: map[string]string{"displayName": "Zoë \"Z\" Lefèvre\n", "mail": "", "accountEnabled": "true"},
			CreateOnly: []string{"usageLocation"}, Redacted: []string{"employeeId"}},
		{ID: "2", Deleted: true, Owned: true, Properties: map[string]string{}},
		{ID: "3", Properties: map[string]string{"jobTitle": string([]byte{0xff, 0x00, 'x'})}},
	}
	path := filepath.Join(t.TempDir(), "state.json")
	name, err := writeGuests(path, guests)
	require.NoError(t, err)
	file := filepath.Join(filepath.Dir(path), name)
	back, err := readGuests(file)
	require.NoError(t, err)
	assert.Equal(t, guests, back)

	empty, err := writeGuests(path, nil)
	require.NoError(t, err)
	back, err = readGuests(filepath.Join(filepath.Dir(path), empty))
	require.NoError(t, err)
	assert.Empty(t, back)

	// Every cut of the file, and a wrong first line, is an error, never
	// a panic or a short list taken for the whole.
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	cut := filepath.Join(t.TempDir(), "cut")
	for n := 0; n < len(data); n++ {
		require.NoError(t, os.WriteFile(cut, data[:n], 0o600))
		_, err := readGuests(cut)
		require.Error(t, err, "cut at %d of %d bytes", n, len(data))
	}
	require.NoError(t, os.WriteFile(cut, append([]byte("guestsync guests 9\n"), data[len(guestsMagic):]...), 0o600))
	_, err = readGuests(cut)
	assert.ErrorContains(t, err, "not a guestsync guests file")
}

// TestGuestsFileWithLyingCounts: counts and lengths that promise far more
// than the file holds fail fast, without allocating what they promise.
func TestGuestsFileWithLyingCounts(t *testing.T) {
	t.Parallel()
	uv := func(n uint64) []byte { return binary.AppendUvarint(nil, n) }
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	str := func(s string) []byte { return cat(uv(uint64(len(s))), []byte(s)) }
	tests := map[string][]byte{
		"64M guests":        cat([]byte(guestsMagic), uv(1<<26)),
		"a billion guests":  cat([]byte(guestsMagic), uv(1<<30)),
		"64M properties":    cat([]byte(guestsMagic), uv(1), []byte{1}, str("id"), str(""), str(""), uv(1<<26)),
		"a 1 GB string":     cat([]byte(guestsMagic), uv(1), []byte{1}, uv(1<<30)),
		"a 100 MB string":   cat([]byte(guestsMagic), uv(1), []byte{1}, uv(100<<20)),
		"no trailer":        cat([]byte(guestsMagic), uv(0)),
		"more than counted": cat([]byte(guestsMagic), uv(0), []byte{1}, str("id")),
	}
	dir := t.TempDir()
	for name, data := range tests {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, data, 0o600))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := readGuests(path)
		runtime.ReadMemStats(&after)
		assert.Error(t, err, name)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "%s: allocated %d bytes", name, after.TotalAlloc-before.TotalAlloc)
	}
}

// BenchmarkGuestsFile100k reads and writes the guests of a 100,000-guest
// tenant, as every run with change tracking does.
func BenchmarkGuestsFile100k(b *testing.B) {
	guests := make([]account.Account, 100000)
	for i := range guests {
		guests[i] = account.Account{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Anchor: fmt.Sprintf("QUFBQUFBQUFBQUFB%08d", i), Owned: true,
			Properties: map[string]string{"userPrincipalName": fmt.Sprintf("partner%05d@partners.contoso.com", i), "mailNickname": fmt.Sprintf("partner%05d", i),
				"displayName": fmt.Sprintf("Partner %05d (Fabrikam)", i), "mail": fmt.Sprintf("p%05d@fabrikam.com", i), "accountEnabled": "true"}}
	}
	path := filepath.Join(b.TempDir(), "state.json")
	name, err := writeGuests(path, guests)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			if _, err := readGuests(filepath.Join(filepath.Dir(path), name)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write", func(b *testing.B) {
		for b.Loop() {
			if _, err := writeGuests(path, guests); err != nil {
				b.Fatal(err)
			}
		}
	})
}
