package ldap

// Integration tests of incremental reads against the Samba AD DC of
// .ci/with-testservers: DirSync as the ordinary service account, the USN
// fallback, group scoping. Each test writes its own OU=Incr-<random> with
// the Administrator account, with users whose employeeType is its own
// (the other tests count the partners of the whole domain), and removes
// it afterwards.

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

// incrAD is one test's subtree in the Samba domain.
type incrAD struct {
	env   sambaEnv
	admin *goldap.Conn
	ou    string // OU=Incr-<random>,<domain>: the base
	kind  string // the employeeType of this test's partners
}

func newIncrAD(t *testing.T) incrAD {
	t.Helper()
	env := needSamba(t)
	conn, err := goldap.DialURL(env.url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.Bind(env.adminDN, env.adminPassword))
	name := randomName("Incr")
	a := incrAD{env: env, admin: conn, ou: "OU=" + name + "," + env.baseDN, kind: "P-" + name}
	a.add(t, a.ou, "organizationalUnit")
	t.Cleanup(func() {
		// The whole subtree at once (LDAP_SERVER_TREE_DELETE_OID).
		if err := conn.Del(goldap.NewDelRequest(a.ou, []goldap.Control{goldap.NewControlSubtreeDelete()})); err != nil {
			t.Errorf("remove %s: %v", a.ou, err)
		}
	})
	a.add(t, "OU=Excluded,"+a.ou, "organizationalUnit")
	return a
}

func (a incrAD) add(t *testing.T, dn, class string, attrs ...string) {
	t.Helper()
	req := goldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{class})
	for i := 0; i+1 < len(attrs); i += 2 {
		req.Attribute(attrs[i], []string{attrs[i+1]})
	}
	require.NoError(t, a.admin.Add(req), "add %s", dn)
}

// user adds the partner CN=<cn> under the test's OU and returns its DN.
func (a incrAD) user(t *testing.T, cn string) string {
	t.Helper()
	dn := "CN=" + cn + "," + a.ou
	a.add(t, dn, "user", "sAMAccountName", fmt.Sprintf("i%08x%s", time.Now().UnixNano()&0xffffffff, cn),
		"employeeType", a.kind, "mail", cn+"@incr.example", "title", "Partner")
	return dn
}

func (a incrAD) modify(t *testing.T, dn string, change func(*goldap.ModifyRequest)) {
	t.Helper()
	req := goldap.NewModifyRequest(dn, nil)
	change(req)
	require.NoError(t, a.admin.Modify(req), "modify %s", dn)
}

// config reads the test's partners under its OU, minus OU=Excluded.
func (a incrAD) config(change func(*Config)) Config {
	return a.env.config(func(c *Config) {
		c.BaseDN = a.ou
		c.Filter = "(&(objectCategory=person)(objectClass=user)(employeeType=" + a.kind + "))"
		c.ExcludeDNs = []string{"OU=Excluded," + a.ou}
		c.Incremental = IncrementalAuto
		if change != nil {
			change(c)
		}
	})
}

// byCN collects entries by their cn (their DN for entries without one).
func byCN(got map[string]source.Entry) func(source.Entry) error {
	return func(e source.Entry) error {
		key, ok := e.First("cn")
		if !ok {
			key = e.DN
		}
		if _, dup := got[key]; dup {
			return fmt.Errorf("%s delivered twice", key)
		}
		got[key] = e
		return nil
	}
}

// changesScenario: after a full read, u1 is modified, u6 added, u2
// deleted, u3 moved into the excluded OU, u4 no longer a partner, and u5
// left alone.
func changesScenario(t *testing.T, a incrAD, r *Reader) (full map[string]source.Entry, mark string) {
	t.Helper()
	for i := 1; i <= 5; i++ {
		a.user(t, fmt.Sprintf("u%d", i))
	}
	full = map[string]source.Entry{}
	start := time.Now()
	res, err := r.Read(context.Background(), byCN(full))
	require.NoError(t, err)
	t.Logf("full read of %d entries: %s", res.Entries, time.Since(start))
	require.Equal(t, 5, res.Entries)
	require.NotEmpty(t, res.Watermark)

	a.modify(t, "CN=u1,"+a.ou, func(m *goldap.ModifyRequest) { m.Replace("title", []string{"Lead Partner"}) })
	a.user(t, "u6")
	require.NoError(t, a.admin.Del(goldap.NewDelRequest("CN=u2,"+a.ou, nil)))
	require.NoError(t, a.admin.ModifyDN(goldap.NewModifyDNRequest("CN=u3,"+a.ou, "CN=u3", true, "OU=Excluded,"+a.ou)))
	a.modify(t, "CN=u4,"+a.ou, func(m *goldap.ModifyRequest) { m.Replace("employeeType", []string{"Former partner"}) })
	return full, res.Watermark
}

func TestSambaDirSyncReadsChanges(t *testing.T) { eachDecoder(t, testSambaDirSyncReadsChanges) }

func testSambaDirSyncReadsChanges(t *testing.T, decoder string) {
	tests := map[string]struct {
		admin bool
		// An ordinary account lacks "Replicating Directory Changes": it
		// uses DirSync with object security, and may not read deleted
		// objects.
		objectSecurity, seesDeletions bool
	}{
		"ordinary account": {admin: false, objectSecurity: true, seesDeletions: false},
		"administrator":    {admin: true, objectSecurity: false, seesDeletions: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := newIncrAD(t)
			a.env.decoder = decoder
			var logs bytes.Buffer
			r, err := New(a.config(func(c *Config) {
				if tt.admin {
					c.BindDN, c.BindPassword = a.env.adminDN, a.env.adminPassword
				}
			}), debugLogger(&logs))
			require.NoError(t, err)
			full, mark := changesScenario(t, a, r)
			wm, err := decodeWatermark(mark)
			require.NoError(t, err)
			require.Equal(t, mechDirSync, wm.Mech, logs.String())
			assert.Equal(t, tt.objectSecurity, wm.ObjectSecurity)
			require.Len(t, wm.NCs, 1)
			assert.Equal(t, a.env.baseDN, wm.NCs[0].DN)
			assert.NotEmpty(t, wm.NCs[0].Leavers, "the filter tests employeeType: leavers are searched")

			logs.Reset()
			got := map[string]source.Entry{}
			start := time.Now()
			res, err := r.ReadChanges(context.Background(), mark, byCN(got))
			require.NoError(t, err, logs.String())
			t.Logf("incremental read of %d entries: %s", res.Entries, time.Since(start))
			assert.True(t, res.Incremental)
			assert.True(t, res.Complete)
			assert.NotEmpty(t, res.Watermark)

			u1 := got["u1"]
			assert.False(t, u1.Deleted)
			assert.Equal(t, "Lead Partner", sambaFirst(u1, "title"))
			for _, attr := range []string{"sAMAccountName", "mail", "employeeType", "objectGUID", "objectSid", "userAccountControl", "whenCreated"} {
				assert.True(t, u1.Has(attr), "a changed entry comes complete, not only with what changed: %s", attr)
			}
			assert.Equal(t, "CN=u1,"+a.ou, u1.DN)
			assert.False(t, got["u6"].Deleted, "added")
			assert.Equal(t, "u6@incr.example", sambaFirst(got["u6"], "mail"))

			var deleted *source.Entry
			for _, e := range got {
				if e.Deleted && sambaFirst(e, "objectGUID") == sambaFirst(full["u2"], "objectGUID") {
					deleted = &e
				}
			}
			if tt.seesDeletions {
				require.NotNil(t, deleted, "u2's deletion, with its objectGUID: %v\n%s", keys(got), logs.String())
				assert.Contains(t, deleted.DN, `\0ADEL:`)
			} else {
				assert.Nil(t, deleted, "an ordinary account does not see deleted objects")
			}

			u3 := got["u3"]
			assert.True(t, u3.Deleted, "moved into the excluded OU: left the scope")
			assert.Equal(t, "CN=u3,OU=Excluded,"+a.ou, u3.DN)
			assert.Equal(t, sambaFirst(full["u3"], "objectGUID"), sambaFirst(u3, "objectGUID"))
			u4 := got["u4"]
			assert.True(t, u4.Deleted, "no longer matches the filter: left the scope")
			assert.Equal(t, sambaFirst(full["u4"], "objectGUID"), sambaFirst(u4, "objectGUID"))
			assert.NotContains(t, got, "u5", "unchanged")
			assert.Equal(t, []string{"u1", "u3", "u4", "u6"}, mine(got, a.ou), "changed, left the scope")
			assert.Contains(t, logs.String(), `msg="ldap entry left the scope: reported as deleted" dn="CN=u3,OU=Excluded,`)
			assert.Contains(t, logs.String(), `reason="renamed or moved: now in the excluded subtree OU=Excluded,`)
			assert.Contains(t, logs.String(), `reason="no longer matches the filter"`)
			assert.Contains(t, logs.String(), "-E '!dirSync=", "DirSync searches are logged")

			// Nothing changed since (in this test's OU).
			again := map[string]source.Entry{}
			res2, err := r.ReadChanges(context.Background(), res.Watermark, byCN(again))
			require.NoError(t, err)
			assert.True(t, res2.Incremental)
			assert.Empty(t, mine(again, a.ou))
		})
	}
}

// mine returns the names of the entries under ou: those of the test
// (deleted objects of other tests, which an ordinary account sees as an
// objectGUID alone, aside).
func mine(got map[string]source.Entry, ou string) []string {
	var out []string
	for k, e := range got {
		if strings.HasSuffix(strings.ToLower(e.DN), ","+strings.ToLower(ou)) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func TestSambaUSNFallbackReadsTheSameChanges(t *testing.T) {
	eachDecoder(t, testSambaUSNFallbackReadsTheSameChanges)
}

func testSambaUSNFallbackReadsTheSameChanges(t *testing.T, decoder string) {
	a := newIncrAD(t)
	a.env.decoder = decoder
	var logs bytes.Buffer
	// The Administrator may read the Deleted Objects container.
	r, err := New(a.config(func(c *Config) {
		c.Incremental = IncrementalUSN
		c.BindDN, c.BindPassword = a.env.adminDN, a.env.adminPassword
	}), debugLogger(&logs))
	require.NoError(t, err)
	full, mark := changesScenario(t, a, r)
	wm, err := decodeWatermark(mark)
	require.NoError(t, err)
	require.Equal(t, mechUSN, wm.Mech)
	assert.Contains(t, wm.DSA, "CN=NTDS Settings,")
	assert.NotEmpty(t, wm.InvocationID)

	logs.Reset()
	got := map[string]source.Entry{}
	res, err := r.ReadChanges(context.Background(), mark, byCN(got))
	require.NoError(t, err, logs.String())
	assert.True(t, res.Incremental)
	assert.True(t, res.Complete)
	assert.Equal(t, "Lead Partner", sambaFirst(got["u1"], "title"))
	assert.False(t, got["u1"].Deleted)
	assert.True(t, got["u1"].Has("sAMAccountName"))
	assert.False(t, got["u6"].Deleted)
	assert.True(t, got["u3"].Deleted, "moved into the excluded OU: left the scope")
	var deleted bool
	for _, e := range got {
		if e.Deleted && sambaFirst(e, "objectGUID") == sambaFirst(full["u2"], "objectGUID") {
			deleted = true
			assert.Contains(t, e.DN, "Deleted Objects")
		}
	}
	assert.True(t, deleted, "u2's deletion, from the Deleted Objects container: %v\n%s", keys(got), logs.String())
	assert.NotContains(t, got, "u4", "a USN does not say that u4 stopped matching the filter: a full read will")
	assert.NotContains(t, got, "u5")
	assert.Contains(t, logs.String(), "-E '!showDeleted'")

	// The same watermark from another domain controller: a full read.
	other := wm
	other.DSA = "CN=NTDS Settings,CN=DC2,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration," + a.env.baseDN
	logs.Reset()
	all := map[string]source.Entry{}
	res2, err := r.ReadChanges(context.Background(), other.encode(), byCN(all))
	require.NoError(t, err)
	assert.False(t, res2.Incremental)
	assert.Equal(t, []string{"u1", "u5", "u6"}, keys(all))
	assert.Contains(t, logs.String(), "the watermark is a USN of another domain controller")
}

func TestSambaUSNWithoutDeletedObjectsAccess(t *testing.T) {
	eachDecoder(t, testSambaUSNWithoutDeletedObjectsAccess)
}

func testSambaUSNWithoutDeletedObjectsAccess(t *testing.T, decoder string) {
	a := newIncrAD(t)
	a.env.decoder = decoder
	var logs bytes.Buffer
	r, err := New(a.config(func(c *Config) { c.Incremental = IncrementalUSN }), debugLogger(&logs))
	require.NoError(t, err)
	_, mark := changesScenario(t, a, r)
	got := map[string]source.Entry{}
	res, err := r.ReadChanges(context.Background(), mark, byCN(got))
	require.NoError(t, err, logs.String())
	assert.True(t, res.Incremental)
	assert.Equal(t, "Lead Partner", sambaFirst(got["u1"], "title"))
	assert.True(t, got["u3"].Deleted, "moved into the excluded OU: left the scope")
	assert.Equal(t, []string{"u1", "u3", "u6"}, keys(got),
		"the deletion of u2 is invisible to an ordinary account (Samba shows it no tombstone), u4's leaving the filter to a USN")
}

func TestSambaDirSyncGroupMembership(t *testing.T) { eachDecoder(t, testSambaDirSyncGroupMembership) }

func testSambaDirSyncGroupMembership(t *testing.T, decoder string) {
	a := newIncrAD(t)
	a.env.decoder = decoder
	for i := 1; i <= 5; i++ {
		a.user(t, fmt.Sprintf("u%d", i))
	}
	group, nested := "CN=Incr Access,"+a.ou, "CN=Incr Nested,"+a.ou
	a.add(t, nested, "group", "sAMAccountName", "n"+a.kind[len(a.kind)-8:])
	a.add(t, group, "group", "sAMAccountName", "g"+a.kind[len(a.kind)-8:])
	a.modify(t, nested, func(m *goldap.ModifyRequest) { m.Add("member", []string{"CN=u3," + a.ou}) })
	a.modify(t, group, func(m *goldap.ModifyRequest) {
		m.Add("member", []string{"CN=u1," + a.ou, "CN=u2," + a.ou, nested})
	})

	var logs bytes.Buffer
	r, err := New(a.config(func(c *Config) { c.Groups = []string{group} }), debugLogger(&logs))
	require.NoError(t, err)
	full := map[string]source.Entry{}
	res, err := r.Read(context.Background(), byCN(full))
	require.NoError(t, err)
	require.Equal(t, []string{"u1", "u2", "u3"}, keys(full))

	a.modify(t, group, func(m *goldap.ModifyRequest) { m.Delete("member", []string{"CN=u2," + a.ou}) })
	a.modify(t, nested, func(m *goldap.ModifyRequest) { m.Add("member", []string{"CN=u4," + a.ou}) })
	a.modify(t, "CN=u5,"+a.ou, func(m *goldap.ModifyRequest) { m.Replace("title", []string{"Not in the groups"}) })

	logs.Reset()
	got := map[string]source.Entry{}
	res2, err := r.ReadChanges(context.Background(), res.Watermark, byCN(got))
	require.NoError(t, err, logs.String())
	assert.True(t, res2.Incremental)
	assert.Equal(t, []string{"u2", "u4"}, mine(got, a.ou), logs.String())
	assert.True(t, got["u2"].Deleted, "removed from the group: left the scope")
	assert.False(t, got["u4"].Deleted, "added to the nested group: a new member")
	assert.Equal(t, "u4@incr.example", sambaFirst(got["u4"], "mail"))
	assert.Contains(t, logs.String(), `reason="no longer a member of the groups"`)
}

// TestSambaIncrementalTimings reads the 3,010 partners in full, then
// their changes, and logs how long each took: go test -v.
func TestSambaIncrementalTimings(t *testing.T) { eachDecoder(t, testSambaIncrementalTimings) }

func testSambaIncrementalTimings(t *testing.T, decoder string) {
	env := needSamba(t)
	env.decoder = decoder
	r, err := New(env.config(func(c *Config) { c.Incremental = IncrementalAuto }), nil)
	require.NoError(t, err)
	n := 0
	count := func(source.Entry) error { n++; return nil }
	start := time.Now()
	res, err := r.Read(context.Background(), count)
	require.NoError(t, err)
	fullTook := time.Since(start)
	require.Equal(t, env.partners, n)
	wm, err := decodeWatermark(res.Watermark)
	require.NoError(t, err)
	assert.Equal(t, mechDirSync, wm.Mech)

	n = 0
	start = time.Now()
	res2, err := r.ReadChanges(context.Background(), res.Watermark, count)
	require.NoError(t, err)
	assert.True(t, res2.Incremental)
	t.Logf("Samba, %d partners: full read with DirSync watermark %s; incremental read %s (%d entries)",
		env.partners, fullTook, time.Since(start), n)
}
