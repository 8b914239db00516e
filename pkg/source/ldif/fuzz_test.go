package ldif

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

// FuzzParse reads any bytes as an export, and any cut of them:
//   - nothing panics, and a read that fails or is incomplete is never
//     complete;
//   - a complete read delivers Result.Entries entries, which Writer
//     writes and Parse reads back the same, complete;
//   - a cut of a complete input read as complete with entries holds
//     exactly the first entries of the whole, never a damaged one.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.ld[fi]*")
	require.NoError(f, err)
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(data, uint16(len(data)/2))
	}
	f.Add([]byte("dn: uid=a\ncn: a\n\ndn: uid=b\ncn:: Wm/Dqw==\n\n"), uint16(20))
	f.Add([]byte("# LDAPv3\n\ndn: uid=a\ncn: a\n\n# search result\nsearch: 2\nresult: 0 Success\n\n# numResponses: 2\n# numEntries: 1\n"), uint16(30))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		whole, res, err := collect(t, "fuzz.ldif", bytes.NewReader(data))
		if err != nil || !res.Complete {
			require.False(t, res.Complete)
			return
		}
		require.Equal(t, len(whole), res.Entries)

		var buf bytes.Buffer
		w := NewWriter(&buf)
		for _, e := range whole {
			require.NoError(t, w.Write(e))
		}
		require.NoError(t, w.Flush())
		back, res, err := collect(t, "written.ldif", &buf)
		require.NoError(t, err, "%q", buf.String())
		require.True(t, res.Complete, res.Incomplete)
		require.Equal(t, normal(whole), normal(back), "written and read back")

		n := int(cut) % (len(data) + 1)
		part, res, err := collect(t, "cut.ldif", bytes.NewReader(data[:n]))
		if err == nil && res.Complete && len(part) > 0 {
			require.LessOrEqual(t, len(part), len(whole))
			require.Equal(t, normal(whole[:len(part)]), normal(part), "cut at %d", n)
		}
	})
}

// normal drops what Writer cannot keep apart: the letter cases in which
// the names of one attribute were spelt (Entry.Add joins them under the
// first).
func normal(entries []source.Entry) []source.Entry {
	out := make([]source.Entry, len(entries))
	for i, e := range entries {
		n := source.Entry{DN: e.DN, Attributes: map[string][]string{}}
		for _, name := range e.Names() {
			n.Add(name, e.Attributes[name]...)
		}
		out[i] = n
	}
	return out
}
