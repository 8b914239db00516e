package ldif

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// collect parses input and returns every entry fn saw.
func collect(t *testing.T, name string, r io.Reader) ([]source.Entry, source.Result, error) {
	t.Helper()
	var got []source.Entry
	res, err := Parse(name, r, func(e source.Entry) error {
		got = append(got, e)
		return nil
	})
	return got, res, err
}

// render prints entries in a stable, lossless text form for golden files:
// values are Go-quoted, so binary bytes show as \xNN escapes.
func render(entries []source.Entry) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "dn: %q\n", e.DN)
		for _, name := range e.Names() {
			for _, v := range e.Attributes[name] {
				fmt.Fprintf(&b, "%s: %q\n", name, v)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestParseGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.ld[fi]*")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 3, "testdata files")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(file)
			require.NoError(t, err)
			defer f.Close()
			entries, res, err := collect(t, file, f)
			require.NoError(t, err)
			assert.True(t, res.Complete)
			assert.Equal(t, len(entries), res.Entries)

			golden := strings.TrimSuffix(file, filepath.Ext(file)) + ".golden"
			got := render(entries)
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -update to create it")
			assert.Equal(t, string(want), got)
		})
	}
}

func TestParseLdifdeExport(t *testing.T) {
	t.Parallel()
	entries, err := readAll(FileReader("testdata/ldifde_export.ldf"))
	require.NoError(t, err)
	require.Len(t, entries, 2)

	anna := entries[0]
	assert.Equal(t, "CN=Anna Schmidt,OU=Partners,DC=example,DC=test", anna.DN)
	assert.False(t, anna.Has("changetype"), "changetype: add is not an attribute")
	guid, _ := anna.First("objectGUID")
	assert.Equal(t, "\xd2\x8a\x5e\x4f\x00\xff\x80\x41\x9c\x11\xe6\x7a\x3b\xc0\xde\x01", guid, "binary kept byte for byte")
	assert.Equal(t, []string{
		"CN=Partner Portal Users,OU=Groups,DC=example,DC=test",
		"CN=Extranet-Fabrikam-Project-Coordination-and-Steering-Committee,OU=Groups,DC=example,DC=test",
	}, anna.Values("memberof"), "folded value joined, values in order")
	desc, _ := anna.First("description")
	assert.Equal(t, "External project coordinator for the Fabrikam extranet rollout; access reviewed quarterly by the partner management office", desc)

	zoe := entries[1]
	assert.Equal(t, "CN=Zoë Müller,OU=Partners,DC=example,DC=test", zoe.DN, "dn:: decoded")
	dn, _ := zoe.First("distinguishedName")
	assert.Equal(t, zoe.DN, dn, "base64 folded across lines")
	company, _ := zoe.First("company")
	assert.Equal(t, "Société Générale de Test", company)
}

func TestParseFeatures(t *testing.T) {
	t.Parallel()
	entries, err := readAll(FileReader("testdata/features.ldif"))
	require.NoError(t, err)
	require.Len(t, entries, 3)

	g := entries[0]
	assert.Equal(t, []string{"uid=a,ou=Partners,dc=example,dc=test", "uid=b,ou=Partners,dc=example,dc=test"}, g.Attributes["member;range=0-1499"])
	assert.Equal(t, []string{"uid=c,ou=Partners,dc=example,dc=test"}, g.Attributes["member;range=1500-*"])
	assert.Equal(t, []string{"leading spaces after the colon are not part of the value"}, g.Values("description"))
	assert.Equal(t, []string{"https://partners.example/portal?x=1:2"}, g.Values("labeledURI"))
	assert.Equal(t, []string{""}, g.Values("seeAlso"))
	assert.Equal(t, []string{"Hauptstraße 1\nBerlin"}, g.Values("postalAddress"))
	assert.Equal(t, []string{"first@example.test", "second@example.test", "third@example.test"}, g.Values("mail"),
		"names differing in case are one attribute, values in file order")

	assert.Equal(t, "uid=bare,ou=Partners,dc=example,dc=test", entries[1].DN)
	assert.Empty(t, entries[1].Attributes)
	assert.NotNil(t, entries[1].Attributes)

	f := entries[2]
	assert.Equal(t, []string{"A display name that is long enough that it had to be folded onto a continuation line by the tool that wrote it"}, f.Values("displayName"))
	assert.Equal(t, []string{"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x80\xc0\xfe"}, f.Values("jpegPhoto"))
	assert.Equal(t, []string{"\x00\x01\x02\x03"}, f.Attributes["userCertificate;binary"])
	assert.Equal(t, []string{"folded"}, f.Values("cn"))
}

func TestParseLDAPSearch(t *testing.T) {
	t.Parallel()
	entries, err := readAll(FileReader("testdata/ldapsearch_lll.ldif"))
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	var zoe *source.Entry
	for i := range entries {
		if sn, _ := entries[i].First("sn"); sn == "Müller" {
			zoe = &entries[i]
			break
		}
	}
	require.NotNil(t, zoe, "an entry with sn Müller")
	cn, _ := zoe.First("cn")
	assert.Equal(t, "Zoë Müller", cn)
	photo, _ := zoe.First("jpegPhoto")
	assert.Equal(t, "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9", photo)
	desc, _ := zoe.First("description")
	assert.Equal(t, "Coordinates the joint rollout with Société Générale de Test; access approved until 2027-12-31", desc,
		"base64 folded by ldapsearch at 76 columns")
	uuid, _ := zoe.First("entryUUID")
	assert.Len(t, uuid, 36)
}

func readAll(r *Reader) ([]source.Entry, error) {
	var got []source.Entry
	res, err := r.Read(context.Background(), func(e source.Entry) error {
		got = append(got, e)
		return nil
	})
	if err == nil && (!res.Complete || res.Entries != len(got)) {
		err = fmt.Errorf("result %+v after %d entries", res, len(got))
	}
	return got, err
}

func TestParseEmpty(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "\n\n", "version: 1\n", "\ufeff# only a comment\r\n", "version: 1\n\n# end\n"} {
		entries, res, err := collect(t, "empty.ldif", strings.NewReader(in))
		require.NoError(t, err, "%q", in)
		assert.Empty(t, entries)
		assert.Equal(t, source.Result{Complete: true}, res, "%q", in)
	}
}

func TestParseVersionThenRecordWithoutBlankLine(t *testing.T) {
	t.Parallel()
	entries, res, err := collect(t, "v.ldif", strings.NewReader("version: 1\ndn: uid=a\ncn: a\n\n"))
	require.NoError(t, err)
	assert.True(t, res.Complete)
	require.Len(t, entries, 1)
	assert.Equal(t, "uid=a", entries[0].DN)
}

func TestReaderOpensAfreshEachRead(t *testing.T) {
	t.Parallel()
	opens := 0
	r := NewReader("mem.ldif", func() (io.ReadCloser, error) {
		opens++
		return io.NopCloser(strings.NewReader("dn: uid=a\ncn: a\n\ndn: uid=b\ncn: b\n\n")), nil
	})
	for range 2 {
		entries, err := readAll(r)
		require.NoError(t, err)
		assert.Len(t, entries, 2)
	}
	assert.Equal(t, 2, opens)
}

func TestFSReader(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{"sample.ldif": {Data: []byte("dn: uid=a\ncn: a\n\n")}}
	entries, err := readAll(FSReader(fsys, "sample.ldif"))
	require.NoError(t, err)
	assert.Len(t, entries, 1)
}

func TestReaderOpenError(t *testing.T) {
	t.Parallel()
	res, err := FileReader("testdata/does-not-exist.ldif").Read(context.Background(), func(source.Entry) error { return nil })
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "open testdata/does-not-exist.ldif")
	assert.False(t, res.Complete)
}

func TestReaderHonoursCancellation(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	r := FileReader("testdata/features.ldif")
	res, err := r.Read(ctx, func(source.Entry) error {
		cancel()
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, source.Result{Entries: 1}, res)

	res, err = r.Read(ctx, func(source.Entry) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, res.Complete)
}

func TestParseStopsOnCallbackError(t *testing.T) {
	t.Parallel()
	stop := errors.New("mapping failed")
	in := "dn: uid=a\ncn: a\n\ndn: uid=b\ncn: b\n\ndn: uid=c\n"
	calls := 0
	res, err := Parse("cb.ldif", strings.NewReader(in), func(e source.Entry) error {
		calls++
		if e.DN == "uid=b" {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	assert.Equal(t, `cb.ldif:4: entry "uid=b": mapping failed`, err.Error())
	assert.Equal(t, source.Result{Entries: 1}, res)
	assert.Equal(t, 2, calls)
}

func TestParseReadError(t *testing.T) {
	t.Parallel()
	disk := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader("dn: uid=a\ncn: a\n"), iotest.ErrReader(disk))
	entries, res, err := collect(t, "io.ldif", r)
	require.ErrorIs(t, err, disk)
	assert.Equal(t, "io.ldif:3: read: disk on fire", err.Error())
	assert.Empty(t, entries, "an entry whose end was not seen is not delivered")
	assert.False(t, res.Complete)
}

func TestParseLongLine(t *testing.T) {
	t.Parallel()
	// Longer than bufio's buffer, as a base64 jpegPhoto on one line can be.
	big := bytes.Repeat([]byte{0xAB}, 300_000)
	in := "dn: uid=a\njpegPhoto:: " + b64(big) + "\n\n"
	entries, _, err := collect(t, "big.ldif", strings.NewReader(in))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, string(big), entries[0].Values("jpegPhoto")[0])
}
