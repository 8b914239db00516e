package mapping

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/guestsync/guestsync/mappings"
	"github.com/guestsync/guestsync/pkg/mapping/expr"
	"github.com/guestsync/guestsync/pkg/yamlfile"
)

// FuzzParse compiles a whole mapping file from bytes: Parse never panics,
// refuses with yamlfile.Problems, and a mapping that compiles maps an
// entry and runs its embedded tests without panicking, every value it
// produces within the limit of a mapped value.
func FuzzParse(f *testing.F) {
	entries, err := mappings.Files.ReadDir(".")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, err := mappings.Files.ReadFile(e.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, name := range []string{"broken.yaml", "failing-tests.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(boundsMapping("  - {target: department, type: expression, expression: 'Join(\",\", [proxyAddresses], Replace([sn], \"e\", , , \"ee\", , ))'}\n")))
	f.Add([]byte("version: 1\nflows: &a [*a]\n"))
	opts := Options{
		Now:   func() time.Time { return time.Date(2025, 1, 15, 8, 0, 0, 0, time.UTC) },
		Rand:  bytes.NewReader(nil), // Guid and RandomString fail cleanly
		Taken: func(_, _, v string) (bool, error) { return len(v)%2 == 0, nil },
	}
	entry := partner(set("proxyAddresses", "SMTP:a@x", "smtp:b@x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz.yaml", data)
		if err != nil {
			if _, ok := err.(yamlfile.Problems); !ok {
				t.Fatalf("Parse returned %T, not yamlfile.Problems: %v", err, err)
			}
			if err.Error() == "" {
				t.Fatal("Parse failed with an empty message")
			}
			return
		}
		r := m.MapWith(entry, opts)
		if r.Err == nil {
			for name, v := range r.Account.Properties {
				if len(v) > expr.MaxTextBytes || !utf8.ValidString(v) {
					t.Fatalf("%s: a value of %d bytes (valid UTF-8: %v)", name, len(v), utf8.ValidString(v))
				}
			}
		}
		_ = m.RunTests()
	})
}
