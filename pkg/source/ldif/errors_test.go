package ldif

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string // the whole message, file:line included
		entries int    // delivered before the error
	}{
		{
			name: "no dn first",
			in:   "cn: a\n",
			want: `bad.ldif:1: record must start with "dn:", found "cn:"`,
		},
		{
			name:    "no dn in second record",
			in:      "dn: uid=a\ncn: a\n\n# comment\ncn: b\n",
			want:    `bad.ldif:5: record must start with "dn:", found "cn:"`,
			entries: 1,
		},
		{
			name: "version other than 1",
			in:   "version: 2\n\ndn: uid=a\n",
			want: `bad.ldif:1: unsupported LDIF version "2": only version 1 exists`,
		},
		{
			name:    "version other than 1 after the first record",
			in:      "dn: uid=a\n\nversion: 2\n\n",
			want:    `bad.ldif:3: unsupported LDIF version "2": only version 1 exists`,
			entries: 1,
		},
		{
			name: "changetype modify",
			in:   "dn: uid=a\nchangetype: modify\nreplace: cn\ncn: b\n-\n",
			want: `bad.ldif:2: changetype: modify records are not supported: guestsync reads entries (content records or changetype: add), not changes`,
		},
		{
			name: "changetype delete after a comment",
			in:   "dn: uid=a\n# gone\nchangetype: delete\n",
			want: `bad.ldif:3: changetype: delete records are not supported: guestsync reads entries (content records or changetype: add), not changes`,
		},
		{
			name:    "changetype modrdn in CRLF file",
			in:      "dn: uid=a\r\ncn: a\r\n\r\ndn: uid=b\r\nchangetype: modrdn\r\nnewrdn: uid=c\r\ndeleteoldrdn: 1\r\n",
			want:    `bad.ldif:5: changetype: modrdn records are not supported: guestsync reads entries (content records or changetype: add), not changes`,
			entries: 1,
		},
		{
			name: "unknown changetype",
			in:   "dn: uid=a\nchangetype: frobnicate\n",
			want: `bad.ldif:2: unknown changetype "frobnicate"`,
		},
		{
			name: "control line",
			in:   "dn: uid=a\ncontrol: 1.2.840.113556.1.4.805 true\nchangetype: delete\n",
			want: `bad.ldif:2: control: lines are not supported (they belong to change records)`,
		},
		{
			name: "second dn in one record",
			in:   "dn: uid=a\ncn: a\ndn: uid=b\n",
			want: `bad.ldif:3: second dn: in one record (is the blank line before it missing?)`,
		},
		{
			name: "line without colon",
			in:   "dn: uid=a\ncn a\n",
			want: `bad.ldif:2: expected "attribute: value", found "cn a"`,
		},
		{
			name: "long line without colon is shortened",
			in:   "dn: uid=a\n" + strings.Repeat("x", 100) + "\n",
			want: `bad.ldif:2: expected "attribute: value", found "` + strings.Repeat("x", 60) + `..."`,
		},
		{
			name: "space in attribute name",
			in:   "dn: uid=a\ngiven name: a\n",
			want: `bad.ldif:2: invalid attribute name "given name"`,
		},
		{
			name: "option without a name",
			in:   "dn: uid=a\n;binary: a\n",
			want: `bad.ldif:2: invalid attribute name ";binary"`,
		},
		{
			name: "empty attribute name",
			in:   "dn: uid=a\n: a\n",
			want: `bad.ldif:2: invalid attribute name ""`,
		},
		{
			name: "invalid base64",
			in:   "dn: uid=a\njpegPhoto:: !!!!\n",
			want: `bad.ldif:2: jpegPhoto: invalid base64 value: illegal base64 data at input byte 0`,
		},
		{
			name: "invalid base64 on a continuation line names the line it starts on",
			in:   "dn: uid=a\ncn: a\nobjectGUID:: AAAA\n AA=A\ncn: b\n",
			want: `bad.ldif:3: objectGUID: invalid base64 value: illegal base64 data at input byte 6`,
		},
		{
			name: "URL value",
			in:   "dn: uid=a\njpegPhoto:< file:///tmp/photo.jpg\n",
			want: `bad.ldif:2: jpegPhoto: values given by URL ("jpegPhoto:<") are not supported: put the value in the file, base64-encoded with "jpegPhoto::" if it is binary`,
		},
		{
			name: "value not UTF-8",
			in:   "dn: uid=a\ncn: a\nsn: M\xfcller\n",
			want: `bad.ldif:3: sn: value is not valid UTF-8: binary values must be base64-encoded ("sn:: ...")`,
		},
		{
			name: "dn not UTF-8",
			in:   "dn: uid=m\xfcller\n",
			want: `bad.ldif:1: dn: value is not valid UTF-8: binary values must be base64-encoded ("dn:: ...")`,
		},
		{
			name: "base64 dn not UTF-8",
			in:   "# x\ndn:: " + b64([]byte("uid=m\xfcller")) + "\ncn: a\n",
			want: `bad.ldif:2: dn is not valid UTF-8 after base64 decoding`,
		},
		{
			name:    "continuation after a blank line",
			in:      "dn: uid=a\ncn: a\n\n continued\n",
			want:    `bad.ldif:4: continuation line (starting with a space) follows a blank line: there is nothing to continue`,
			entries: 1,
		},
		{
			name: "continuation at the start of the file",
			in:   " dn: uid=a\n",
			want: `bad.ldif:1: continuation line (starting with a space) follows a blank line: there is nothing to continue`,
		},
		{
			name:    "line numbers count physical lines, BOM and CRLF included",
			in:      "\ufeffversion: 1\r\n# a comment\r\n folded\r\ndn: uid=a\r\ndescription: lo\r\n ng\r\n\r\ndn: uid=b\r\ncn b\r\n",
			want:    `bad.ldif:9: expected "attribute: value", found "cn b"`,
			entries: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			entries, res, err := collect(t, "bad.ldif", strings.NewReader(tt.in))
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			assert.False(t, res.Complete, "an unreliable file is never complete")
			assert.Equal(t, tt.entries, res.Entries)
			assert.Len(t, entries, tt.entries)
		})
	}
}
