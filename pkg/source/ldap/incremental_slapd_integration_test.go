package ldap

// Integration tests of incremental reads against the slapd of
// .ci/with-testservers (no syncprov overlay there: the watermark is the
// highest entryCSN in scope). Each test writes its own ou=Incr-<random>
// subtree with the admin account and removes it afterwards.

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

// admin returns a connection bound as the slapd admin.
func (env writableSlapd) admin(t *testing.T) *goldap.Conn {
	t.Helper()
	conn, err := goldap.DialURL(env.url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.Bind(env.adminDN, env.adminPassword))
	return conn
}

func replace(t *testing.T, conn *goldap.Conn, dn, attr string, values ...string) {
	t.Helper()
	req := goldap.NewModifyRequest(dn, nil)
	req.Replace(attr, values)
	require.NoError(t, conn.Modify(req), "modify %s", dn)
}

// incrTree writes ou=Incr-<random> with five partners (p1..p5) and a
// contractor, and returns the OU's DN.
func (env writableSlapd) incrTree(t *testing.T) string {
	t.Helper()
	base := "ou=" + randomName("Incr") + "," + env.baseDN
	entries := []testEntry{ou(base)}
	for i := 1; i <= 5; i++ {
		entries = append(entries, person(fmt.Sprintf("uid=p%d,%s", i, base), fmt.Sprintf("p%d", i), "Partner"))
	}
	entries = append(entries, person("uid=c1,"+base, "c1", "Contractor"))
	env.add(t, entries...)
	return base
}

func (env writableSlapd) incrConfig(base string) Config {
	cfg := env.partners()
	cfg.BaseDN = base
	cfg.Incremental = IncrementalAuto
	return cfg
}

// collect returns a callback that records the entries it gets by DN.
func collect(got map[string]source.Entry) func(source.Entry) error {
	return func(e source.Entry) error {
		if _, dup := got[e.DN]; dup {
			return fmt.Errorf("%s delivered twice", e.DN)
		}
		got[e.DN] = e
		return nil
	}
}

func keys(m map[string]source.Entry) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestSlapdIncrementalReadsOnlyTheChanges(t *testing.T) {
	eachDecoder(t, testSlapdIncrementalReadsOnlyTheChanges)
}

func testSlapdIncrementalReadsOnlyTheChanges(t *testing.T, decoder string) {
	env := needWritableSlapd(t)
	env.decoder = decoder
	base := env.incrTree(t)
	var logs bytes.Buffer
	r, err := New(env.incrConfig(base), debugLogger(&logs))
	require.NoError(t, err)

	full := map[string]source.Entry{}
	res, err := r.Read(context.Background(), collect(full))
	require.NoError(t, err)
	assert.Equal(t, 5, res.Entries)
	assert.True(t, res.Complete)
	assert.False(t, res.Incremental)
	require.NotEmpty(t, res.Watermark, "a full read returns a watermark")
	wm, err := decodeWatermark(res.Watermark)
	require.NoError(t, err)
	assert.Equal(t, mechCSN, wm.Mech)
	assert.Equal(t, "entryCSN", wm.Attr, "slapd has entryCSN")
	assert.Equal(t, "probe", wm.From, "no syncprov overlay, so no contextCSN")
	assert.Contains(t, logs.String(), `msg="ldap watermark taken at the start of the read"`)
	assert.NotContains(t, logs.String(), env.password)

	admin := env.admin(t)
	replace(t, admin, "uid=p1,"+base, "title", "Lead")
	replace(t, admin, "uid=p2,"+base, "mail", "p2@example.test")
	replace(t, admin, "uid=c1,"+base, "title", "Not a partner: not read")
	env.add(t, person("uid=p6,"+base, "p6", "Partner"))

	logs.Reset()
	changed := map[string]source.Entry{}
	res2, err := r.ReadChanges(context.Background(), res.Watermark, collect(changed))
	require.NoError(t, err)
	assert.Equal(t, []string{"uid=p1," + base, "uid=p2," + base, "uid=p6," + base}, keys(changed))
	assert.Equal(t, 3, res2.Entries)
	assert.True(t, res2.Complete)
	assert.True(t, res2.Incremental)
	require.NotEmpty(t, res2.Watermark)
	assert.NotEqual(t, res.Watermark, res2.Watermark)
	p1 := changed["uid=p1,"+base]
	assert.Equal(t, []string{"Lead"}, p1.Values("title"))
	for _, a := range []string{"cn", "sn", "uid", "employeeType", "objectClass", "entryUUID"} {
		assert.True(t, p1.Has(a), "a changed entry comes complete: %s", a)
	}
	assert.False(t, p1.Has("entryCSN"), "only the attributes asked for")
	assert.False(t, p1.Deleted)
	assert.Contains(t, logs.String(), `msg="ldap reading changes"`)
	assert.Contains(t, logs.String(), `(!(entryCSN=`, "the search is logged")

	// Nothing changed since: nothing to read, and the watermark holds.
	again := map[string]source.Entry{}
	res3, err := r.ReadChanges(context.Background(), res2.Watermark, collect(again))
	require.NoError(t, err)
	assert.Empty(t, again)
	assert.Equal(t, source.Result{Complete: true, Incremental: true, Watermark: res2.Watermark}, res3)

	// Deletions are not visible to entryCSN: no entry, no error.
	_, err = r.ReadChanges(context.Background(), res2.Watermark, collect(map[string]source.Entry{}))
	require.NoError(t, err)
}

func TestSlapdIncrementalFallsBackToAFullRead(t *testing.T) {
	t.Parallel()
	env := needWritableSlapd(t)
	base := env.incrTree(t)
	usn := watermark{Mech: mechUSN, DSA: "CN=NTDS Settings,CN=DC1", USN: 5}.encode()
	tests := map[string]struct{ mark, why string }{
		"garbage":               {"garbage!", "not base64url"},
		"base64 of garbage":     {"Z2FyYmFnZQ", "not a watermark of this reader"},
		"Active Directory's":    {usn, "the watermark is Active Directory's (usn)"},
		"a future format":       {"eyJ2Ijo5OSwibSI6ImNzbiJ9", "watermark version 99"},
		"a csn with bad values": {"eyJ2IjoxLCJtIjoiY3NuIiwiYXR0ciI6ImVudHJ5Q1NOIiwidmFsIjoiKiJ9", "is not a time stamp"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			r, err := New(env.incrConfig(base), debugLogger(&logs))
			require.NoError(t, err)
			got := map[string]source.Entry{}
			res, err := r.ReadChanges(context.Background(), tt.mark, collect(got))
			require.NoError(t, err, "an unusable watermark is never an error")
			assert.Len(t, got, 5, "everything")
			assert.Equal(t, 5, res.Entries)
			assert.True(t, res.Complete)
			assert.False(t, res.Incremental)
			assert.NotEmpty(t, res.Watermark, "a new watermark")
			assert.Contains(t, logs.String(), `level=INFO msg="ldap: reading everything instead of the changes" reason=`)
			assert.Contains(t, logs.String(), tt.why)
		})
	}
}

func TestSlapdIncrementalGroupChangeMakesAFullRead(t *testing.T) {
	eachDecoder(t, testSlapdIncrementalGroupChangeMakesAFullRead)
}

func testSlapdIncrementalGroupChangeMakesAFullRead(t *testing.T, decoder string) {
	env := needWritableSlapd(t)
	env.decoder = decoder
	base := env.incrTree(t)
	group := "cn=Incr Partners," + base
	env.add(t, entry(group, "objectClass", "groupOfNames", "cn", "Incr Partners",
		"member", "uid=p1,"+base, "member", "uid=p2,"+base))
	cfg := env.incrConfig(base)
	cfg.Groups = []string{group}
	var logs bytes.Buffer
	r, err := New(cfg, debugLogger(&logs))
	require.NoError(t, err)
	res, err := r.Read(context.Background(), collect(map[string]source.Entry{}))
	require.NoError(t, err)
	require.Equal(t, 2, res.Entries)

	// A partner's own change is read incrementally.
	admin := env.admin(t)
	replace(t, admin, "uid=p1,"+base, "title", "Lead")
	got := map[string]source.Entry{}
	res2, err := r.ReadChanges(context.Background(), res.Watermark, collect(got))
	require.NoError(t, err)
	assert.True(t, res2.Incremental)
	assert.Equal(t, []string{"uid=p1," + base}, keys(got))

	// p2 leaves the group: only a full read can tell.
	replace(t, admin, group, "member", "uid=p1,"+base)
	got = map[string]source.Entry{}
	logs.Reset()
	res3, err := r.ReadChanges(context.Background(), res2.Watermark, collect(got))
	require.NoError(t, err)
	assert.False(t, res3.Incremental)
	assert.Equal(t, []string{"uid=p1," + base}, keys(got))
	assert.Contains(t, logs.String(), "changed since the watermark: only a full read sees who left it")
}

func TestSlapdIncrementalOffGivesNoWatermark(t *testing.T) {
	t.Parallel()
	env := needWritableSlapd(t)
	base := env.incrTree(t)
	cfg := env.incrConfig(base)
	cfg.Incremental = ""
	r, err := New(cfg, nil)
	require.NoError(t, err)
	res, err := r.Read(context.Background(), collect(map[string]source.Entry{}))
	require.NoError(t, err)
	assert.Equal(t, source.Result{Entries: 5, Complete: true}, res)
}

func TestSlapdKeyChangesWithTheFilter(t *testing.T) {
	t.Parallel()
	env := needSlapd(t)
	key := func(change func(*Config)) string {
		cfg := env.partners()
		cfg.Incremental = IncrementalAuto
		if change != nil {
			change(&cfg)
		}
		r, err := New(cfg, nil)
		require.NoError(t, err)
		return r.Key()
	}
	k := key(nil)
	assert.True(t, strings.HasPrefix(k, "ldap:127.0.0.1:"), k)
	assert.Equal(t, k, key(nil))
	assert.Equal(t, k, key(func(c *Config) { c.BindPassword = "another" }))
	assert.NotEqual(t, k, key(func(c *Config) { c.Filter = "(employeeType=Contractor)" }))
	assert.NotEqual(t, k, key(func(c *Config) { c.Filter = "(&(employeeType=Partner)(mail=*))" }))
}

// TestSlapdIncrementalTimings reads the 5,000 partners in full and then
// their changes (none), and logs how long each took: go test -v.
func TestSlapdIncrementalTimings(t *testing.T) { eachDecoder(t, testSlapdIncrementalTimings) }

func testSlapdIncrementalTimings(t *testing.T, decoder string) {
	env := needSlapd(t)
	env.decoder = decoder
	cfg := env.partners()
	cfg.Incremental = IncrementalAuto
	r, err := New(cfg, nil)
	require.NoError(t, err)
	count := func(n *int) func(source.Entry) error { return func(source.Entry) error { *n++; return nil } }

	var n int
	start := time.Now()
	res, err := r.Read(context.Background(), count(&n))
	require.NoError(t, err)
	fullTook := time.Since(start)
	require.Equal(t, env.users, n)

	n = 0
	start = time.Now()
	res2, err := r.ReadChanges(context.Background(), res.Watermark, count(&n))
	require.NoError(t, err)
	incrTook := time.Since(start)
	assert.True(t, res2.Incremental)
	assert.Zero(t, n, "the partners are not changed by any test")
	t.Logf("slapd, %d partners: full read with watermark %s, incremental read (no changes) %s", env.users, fullTook, incrTook)
}
