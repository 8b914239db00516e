package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

func TestParseRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		want valueRange
		ok   bool
		err  string
	}{
		{desc: "member"},
		{desc: "member;binary"},
		{desc: "member;range=0-1499", want: valueRange{attr: "member", low: 0, high: 1499}, ok: true},
		{desc: "member;range=1500-*", want: valueRange{attr: "member", low: 1500, high: -1}, ok: true},
		{desc: "Member;RANGE=3000-3000", want: valueRange{attr: "Member", low: 3000, high: 3000}, ok: true},
		{desc: "userCertificate;binary;range=0-9", want: valueRange{attr: "userCertificate;binary", low: 0, high: 9}, ok: true},
		{desc: "member;range=10-9", err: `range "10-9" does not end with a number at least 10, or *`},
		{desc: "member;range=0", err: `range "0" is not low-high`},
		{desc: "member;range=a-*", err: `range "a-*" does not start with a number`},
		{desc: "member;range=-1-*", err: "does not start with a number"},
		{desc: "member;range=0-1;range=2-*", err: "two range options"},
		{desc: ";range=0-*", err: "no name before the range option"},
	}
	for _, tt := range tests {
		got, ok, err := parseRange(tt.desc)
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err, tt.desc)
			continue
		}
		require.NoError(t, err, tt.desc)
		assert.Equal(t, tt.ok, ok, tt.desc)
		assert.Equal(t, tt.want, got, tt.desc)
		if ok {
			assert.Equal(t, tt.want.high < 0, got.last())
		}
	}
}

// fakeAD answers base reads the way Active Directory does for attributes
// with more values than maxValRange.
type fakeAD struct {
	maxValRange int
	entries     map[string]map[string][]string // dn -> attribute -> values
	requests    []string
	// mangle, when set, changes an answer before it is returned.
	mangle func(req string, e *goldap.Entry)
}

func (f *fakeAD) readEntry(_ context.Context, dn string, attrs []string) (*goldap.Entry, error) {
	f.requests = append(f.requests, strings.Join(attrs, " "))
	stored, ok := f.entries[dn]
	if !ok {
		return nil, goldap.NewError(goldap.LDAPResultNoSuchObject, errors.New("no such object"))
	}
	e := &goldap.Entry{DN: dn}
	for _, a := range attrs {
		name, low := a, 0
		v, ranged, err := parseRange(a)
		if err != nil {
			return nil, goldap.NewError(goldap.LDAPResultProtocolError, err)
		}
		if ranged {
			name, low = v.attr, v.low
		}
		values, ok := stored[name]
		if !ok || low > len(values) {
			continue
		}
		rest := values[low:]
		desc := name
		switch {
		case len(rest) > f.maxValRange:
			rest = rest[:f.maxValRange]
			desc = fmt.Sprintf("%s;range=%d-%d", name, low, low+len(rest)-1)
		case ranged || low > 0:
			desc = fmt.Sprintf("%s;range=%d-*", name, low)
		}
		e.Attributes = append(e.Attributes, goldap.NewEntryAttribute(desc, rest))
		for i, s := range rest {
			e.Attributes[len(e.Attributes)-1].ByteValues[i] = []byte(s)
		}
	}
	if f.mangle != nil {
		f.mangle(strings.Join(attrs, " "), e)
	}
	return e, nil
}

func members(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("CN=Partner %04d,OU=Partners,DC=example,DC=test", i)
	}
	return out
}

const bigGroup = "CN=All Partners,OU=Groups,DC=example,DC=test"

func TestReadRanged(t *testing.T) {
	t.Parallel()
	want := members(3700)
	ad := &fakeAD{maxValRange: 1500, entries: map[string]map[string][]string{
		bigGroup:          {"member": want, "description": {"all of them"}},
		"CN=Small,DC=x":   {"member": members(3)},
		"CN=Exactly,DC=x": {"member": members(1500)},
	}}
	got, err := readRanged(context.Background(), ad, bigGroup, "member")
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Equal(t, []string{"member", "member;range=1500-*", "member;range=3000-*"}, ad.requests)

	for dn, n := range map[string]int{"CN=Small,DC=x": 3, "CN=Exactly,DC=x": 1500} {
		got, err = readRanged(context.Background(), ad, dn, "member")
		require.NoError(t, err)
		assert.Len(t, got, n, dn)
	}

	got, err = readRanged(context.Background(), ad, bigGroup, "uniqueMember")
	require.NoError(t, err)
	assert.Nil(t, got, "an attribute the entry does not have")

	_, err = readRanged(context.Background(), ad, "CN=Nobody,DC=x", "member")
	assert.True(t, goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject), err)
	assert.ErrorContains(t, err, `read member of "CN=Nobody,DC=x"`)
}

func TestReadRangedRefusesInconsistentAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mangle func(req string, e *goldap.Entry)
		want   string
	}{
		{"the values shrank between requests", func(req string, e *goldap.Entry) {
			if req == "member;range=3000-*" {
				e.Attributes = nil
			}
		}, `read member;range=3000-* of "` + bigGroup + `": the server returned no values (did the entry change during the read?)`},
		{"a gap", func(req string, e *goldap.Entry) {
			if req == "member;range=1500-*" {
				e.Attributes[0].Name = "member;range=1600-2999"
			}
		}, "the server returned the values from 1600, not 1500"},
		{"a malformed range", func(req string, e *goldap.Entry) { e.Attributes[0].Name = "member;range=x" }, `range "x" is not low-high`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ad := &fakeAD{maxValRange: 1500, entries: map[string]map[string][]string{bigGroup: {"member": members(3700)}}, mangle: tt.mangle}
			_, err := readRanged(context.Background(), ad, bigGroup, "member")
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestCompleteRanges(t *testing.T) {
	t.Parallel()
	all := members(3200)
	ad := &fakeAD{maxValRange: 1500, entries: map[string]map[string][]string{bigGroup: {"member": all}}}
	e := source.Entry{DN: bigGroup, Attributes: map[string][]string{
		"cn":                  {"All Partners"},
		"member;range=0-1499": all[:1500],
		"memberOf;range=0-*":  {"CN=Top,DC=x"},
	}}
	require.NoError(t, completeRanges(context.Background(), ad, &e, []string{"*"}))
	assert.Equal(t, map[string][]string{"cn": {"All Partners"}, "member": all, "memberOf": {"CN=Top,DC=x"}}, e.Attributes)
	assert.Equal(t, []string{"member;range=1500-*", "member;range=3000-*"}, ad.requests)

	// Asked for part of the values: that part is what comes back.
	ad.requests = nil
	e = source.Entry{DN: bigGroup, Attributes: map[string][]string{"member;range=0-1499": all[:1500]}}
	require.NoError(t, completeRanges(context.Background(), ad, &e, []string{"mail", "Member;range=0-1499"}))
	assert.Len(t, e.Attributes["member;range=0-1499"], 1500)
	assert.Empty(t, ad.requests)

	e = source.Entry{DN: bigGroup, Attributes: map[string][]string{"member;range=1500-2999": all[1500:3000]}}
	assert.ErrorContains(t, completeRanges(context.Background(), ad, &e, nil), "without the values before 1500")
}
