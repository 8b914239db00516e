package ldif

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

// TestParseCutShort is the data loss: an export cut anywhere
// (a copy that ran out of space, an ldifde that was killed) must never be
// a complete read of fewer entries, or the entries after the cut count as
// gone and their guests are removed.
//
// Every export is cut at every byte. A cut read that says it is complete
// must hold exactly the first entries of the whole, and the cut must lie
// between two records, where nothing in the file can tell it from a
// whole one (a file of no entries is among those: the engine refuses to
// remove on an empty read when the last one found entries). In exports
// with ldapsearch's marks (its header and trailer, or its paging cookies)
// no cut after the first mark passes for complete with entries: with -LLL
// the first mark is the cookie after the first page, so cuts between the
// records of that page are not caught.
func TestParseCutShort(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.ld[fi]*")
	require.NoError(t, err)
	exports := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		exports[filepath.Base(f)] = data
	}
	var written bytes.Buffer
	w := NewWriter(&written)
	for _, e := range []source.Entry{
		{DN: "uid=a,ou=Partners,dc=example,dc=test", Attributes: map[string][]string{"cn": {"Zoë"}, "info": {strings.Repeat("long ", 40)}}},
		{DN: "uid=b,ou=Partners,dc=example,dc=test", Attributes: map[string][]string{"objectGUID": {"\x89W\xc9\xf3\xe1\xacTI"}}},
		{DN: "uid=c,ou=Partners,dc=example,dc=test", Attributes: map[string][]string{"mail": {"c@example.test"}}},
	} {
		require.NoError(t, w.Write(e))
	}
	require.NoError(t, w.Flush())
	exports["written by Writer"] = written.Bytes()

	for name, data := range exports {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			whole, res, err := collect(t, name, bytes.NewReader(data))
			require.NoError(t, err)
			require.True(t, res.Complete, res.Incomplete)
			require.GreaterOrEqual(t, len(whole), 2, "an export of several entries")
			marked := firstLdapsearchMark(data)
			undetectable := 0
			for cut := range len(data) {
				got, res, err := collect(t, name, bytes.NewReader(data[:cut]))
				if err != nil || !res.Complete {
					assert.False(t, res.Complete, "cut at %d", cut)
					continue
				}
				if len(got) == 0 {
					continue // an empty read: see above
				}
				require.LessOrEqual(t, len(got), len(whole), "cut at %d", cut)
				require.Equal(t, whole[:len(got)], got, "cut at %d: a complete read delivers whole entries only", cut)
				require.Truef(t, betweenRecords(data, cut), "cut at %d (%q|%q) reads as complete, with %d of %d entries",
					cut, tail(data[:cut]), head(data[cut:]), len(got), len(whole))
				require.False(t, marked >= 0 && cut > marked, "cut at %d: ldapsearch's marks (from %d) must catch a cut after an entry", cut, marked)
				if len(got) < len(whole) {
					undetectable++
				}
			}
			t.Logf("%d bytes, %d entries: %d cuts between records read as complete", len(data), len(whole), undetectable)
		})
	}
}

// firstLdapsearchMark is the offset of ldapsearch's first header or paging
// cookie in data, or -1.
func firstLdapsearchMark(data []byte) int {
	first := -1
	for _, mark := range []string{"\n# LDAPv3", "pagedresults: cookie="} {
		if i := bytes.Index(data, []byte(mark)); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	return first
}

// betweenRecords reports whether data cut at cut ends with a whole line,
// and only empty lines and comments lie between the cut and the next
// record (or the end).
func betweenRecords(data []byte, cut int) bool {
	if cut > 0 && data[cut-1] != '\n' {
		return false
	}
	comment := false
	for rest := string(data[cut:]); rest != ""; {
		line, after, _ := strings.Cut(rest, "\n")
		line = strings.TrimPrefix(strings.TrimSuffix(line, "\r"), "\ufeff")
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") || comment && strings.HasPrefix(line, " "):
			comment = strings.HasPrefix(line, "#") || comment && strings.HasPrefix(line, " ")
			rest = after
		default:
			lower := strings.ToLower(line)
			return strings.HasPrefix(lower, "dn:") || strings.HasPrefix(lower, "version:")
		}
	}
	return true
}

func tail(b []byte) string { return string(b[max(0, len(b)-20):]) }
func head(b []byte) string { return string(b[:min(len(b), 20)]) }

// TestParseIncomplete shows what an admin reads about each way an export
// can end before its end, and that the entry cut short is not delivered.
func TestParseIncomplete(t *testing.T) {
	t.Parallel()
	const (
		recA = "dn: uid=a,dc=test\ncn: a\n\n"
		cut  = ": it looks cut short (a copy that ran out of space, an export that was stopped): export it again"
	)
	header := "# extended LDIF\n#\n# LDAPv3\n# base <dc=test> with scope subtree\n#\n\n"
	// insideB is what every cut inside the second record says.
	insideB := `x.ldif:4: the export ends inside the record for "uid=b,dc=test", with no empty line after it` + cut + "; if the file is whole, end it with an empty line"
	tests := []struct {
		name    string
		in      string
		want    string
		entries int
	}{
		{
			name:    "no empty line after the last record",
			in:      recA + "dn: uid=b,dc=test\ncn: b\n",
			want:    insideB,
			entries: 1,
		},
		{
			name:    "no newline after the last line",
			in:      recA + "dn: uid=b,dc=test\ncn: b",
			want:    insideB,
			entries: 1,
		},
		{
			name:    "a dn and no attributes",
			in:      recA + "dn: uid=b,dc=test\n",
			want:    insideB,
			entries: 1,
		},
		{
			name:    "inside a base64 value",
			in:      recA + "dn: uid=b,dc=test\nobjectGUID:: iVfJ8+Gs",
			want:    insideB,
			entries: 1,
		},
		{
			name:    "inside a UTF-8 sequence",
			in:      recA + "dn: uid=b,dc=test\nsn: M\xc3",
			want:    insideB,
			entries: 1,
		},
		{
			name:    "after a folded line, before its continuation",
			in:      recA + "dn: uid=b,dc=test\ndescription: a long\n",
			want:    insideB,
			entries: 1,
		},
		{
			name:    "inside the dn line",
			in:      recA + "dn: uid=b,d",
			want:    `x.ldif:4: the export ends inside this line, with no newline after it` + cut + "; if the file is whole, end it with a newline",
			entries: 1,
		},
		{
			name:    "inside a base64 dn",
			in:      recA + "dn:: dWlk",
			want:    `x.ldif:4: the export ends inside this line, with no newline after it` + cut + "; if the file is whole, end it with a newline",
			entries: 1,
		},
		{
			name:    "inside a comment after the last record",
			in:      recA + "# partner",
			want:    `x.ldif:4: the export ends inside this line, with no newline after it` + cut + "; if the file is whole, end it with a newline",
			entries: 1,
		},
		{
			name:    "inside the CRLF of the empty line",
			in:      "dn: uid=a,dc=test\r\ncn: a\r\n\r",
			want:    `x.ldif:3: the export ends inside this line, with no newline after it` + cut + "; if the file is whole, end it with a newline",
			entries: 1,
		},
		{
			name:    "ldapsearch's header, no trailer",
			in:      header + recA,
			want:    `x.ldif:3: the export is ldapsearch's (its header starts here) but ends before ldapsearch's closing "# numResponses" comment: truncated, or ldapsearch failed; export it again`,
			entries: 1,
		},
		{
			name:    "ldapsearch's trailer counts more entries",
			in:      header + recA + "# search result\nsearch: 2\nresult: 0 Success\n\n# numResponses: 3\n# numEntries: 2\n",
			want:    `x.ldif:14: ldapsearch counted 2 entries ("# numEntries"), the file holds 1: it was cut short or edited; export it again`,
			entries: 1,
		},
		{
			name:    "ldapsearch's trailer counts no entries",
			in:      header + recA + "# search result\nsearch: 2\nresult: 0 Success\n\n# numResponses: 1\n",
			want:    `x.ldif:14: ldapsearch counted 0 entries ("# numEntries"), the file holds 1: it was cut short or edited; export it again`,
			entries: 1,
		},
		{
			name:    "ldapsearch stopped by a size limit",
			in:      header + recA + "# search result\nsearch: 2\nresult: 4 Size limit exceeded\n\n# numResponses: 2\n# numEntries: 1\n",
			want:    `x.ldif:12: ldapsearch's search ended with "result: 4 Size limit exceeded": the export holds only part of what was searched; remove the cause (a size or time limit, a base held elsewhere) and export again`,
			entries: 1,
		},
		{
			name:    "inside ldapsearch's search result",
			in:      header + recA + "# search result\nsearch: 2\nresult: 0 Success\n",
			want:    `x.ldif:11: the export ends inside ldapsearch's search result, with no empty line after it` + cut + "; if the file is whole, end it with an empty line",
			entries: 1,
		},
		{
			name:    "ldapsearch -LLL paged search stopped after a page",
			in:      recA + "# pagedresults: cookie=BwAAAAAAAAA=\n",
			want:    `x.ldif:4: ldapsearch's paged search was not finished: the page that ends here has a cookie for another page, which the file does not hold; export it again with -E pr=N/noprompt`,
			entries: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			entries, res, err := collect(t, "x.ldif", strings.NewReader(tt.in))
			require.NoError(t, err, "a cut export is an incomplete read, not a broken one")
			assert.Equal(t, source.Result{Entries: tt.entries, Incomplete: tt.want}, res)
			assert.Len(t, entries, tt.entries)
		})
	}
}

// TestParseLdapsearchMarksOfAWholeExport: what ldapsearch writes around
// the entries of a whole search is read as such.
func TestParseLdapsearchMarksOfAWholeExport(t *testing.T) {
	t.Parallel()
	header := "# extended LDIF\n#\n# LDAPv3\n# base <dc=test> with scope subtree\n#\n\n"
	recA := "# a, test\ndn: uid=a,dc=test\ncn: a\n\n"
	for name, in := range map[string]string{
		"no entries":    "# extended LDIF\n#\n# LDAPv3\n#\n\n# search result\nsearch: 2\nresult: 0 Success\n\n# numResponses: 1\n",
		"one entry":     header + recA + "# search result\nsearch: 2\nresult: 0 Success\n\n# numResponses: 2\n# numEntries: 1\n",
		"-L, one entry": "version: 1\n\n#\n# LDAPv3\n#\n\n" + recA + "# search result\n\n# numResponses: 2\n# numEntries: 1\n",
		"two exports, one after the other": header + recA + "# search result\nsearch: 2\nresult: 0 Success\n\n# numResponses: 2\n# numEntries: 1\n" +
			header + recA + "# search result\nsearch: 2\nresult: 0 Success\n\n# numResponses: 2\n# numEntries: 1\n",
	} {
		entries, res, err := collect(t, "x.ldif", strings.NewReader(in))
		require.NoError(t, err, name)
		assert.Equal(t, source.Result{Entries: len(entries), Complete: true}, res, name)
	}
}
