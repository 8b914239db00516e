package ldap

// Integration tests of scoping (several bases, excluded subtrees, groups,
// referrals) against the slapd of .ci/with-testservers. Each test writes
// its own subtree with the admin account and removes it afterwards.

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

// writableSlapd is the test slapd with the admin credentials.
type writableSlapd struct {
	slapdEnv
	adminDN, adminPassword string
}

func needWritableSlapd(t *testing.T) writableSlapd {
	t.Helper()
	env := writableSlapd{slapdEnv: needSlapd(t), adminDN: os.Getenv("GUESTSYNC_TEST_SLAPD_ADMINDN"), adminPassword: os.Getenv("GUESTSYNC_TEST_SLAPD_ADMINPASSWORD")}
	if env.adminDN == "" || env.adminPassword == "" {
		t.Fatal("GUESTSYNC_TEST_SLAPD_ADMINDN and _ADMINPASSWORD must be set with GUESTSYNC_TEST_SLAPD_URL (is .ci/testservers outdated?)")
	}
	return env
}

// testEntry is an entry to add: its DN and attributes, in order.
type testEntry struct {
	dn    string
	attrs [][2]string // name, value; a name may repeat
}

func entry(dn string, attrs ...string) testEntry {
	e := testEntry{dn: dn}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.attrs = append(e.attrs, [2]string{attrs[i], attrs[i+1]})
	}
	return e
}

// add adds entries in order as the admin, and removes them in reverse
// order when the test ends.
func (env writableSlapd) add(t *testing.T, entries ...testEntry) {
	t.Helper()
	conn, err := goldap.DialURL(env.url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.Bind(env.adminDN, env.adminPassword))
	for i, e := range entries {
		req := goldap.NewAddRequest(e.dn, nil)
		var names []string
		values := map[string][]string{}
		for _, a := range e.attrs {
			if _, ok := values[a[0]]; !ok {
				names = append(names, a[0])
			}
			values[a[0]] = append(values[a[0]], a[1])
		}
		for _, n := range names {
			req.Attribute(n, values[n])
		}
		require.NoError(t, conn.Add(req), "add %s", e.dn)
		if i == 0 {
			t.Cleanup(func() {
				// Referral objects are only removed as themselves with
				// ManageDsaIT; without it slapd answers with the referral.
				ctl := []goldap.Control{goldap.NewControlManageDsaIT(true)}
				for j := len(entries) - 1; j >= 0; j-- {
					if err := conn.Del(goldap.NewDelRequest(entries[j].dn, ctl)); err != nil {
						t.Errorf("remove %s: %v", entries[j].dn, err)
					}
				}
			})
		}
	}
}

func randomName(prefix string) string { return fmt.Sprintf("%s-%08x", prefix, rand.Uint32()) }

func person(dn, uid, employeeType string) testEntry {
	return entry(dn, "objectClass", "inetOrgPerson", "uid", uid, "cn", uid, "sn", uid, "employeeType", employeeType)
}

func ou(dn string) testEntry {
	name, _, _ := strings.Cut(strings.TrimPrefix(dn, "ou="), ",")
	return entry(dn, "objectClass", "organizationalUnit", "ou", name)
}

// partner is the DN of a partner user that .ci/testservers loads.
func (env writableSlapd) partner(i int) string {
	return fmt.Sprintf("uid=partner%05d,ou=Partners,%s", i, env.baseDN)
}

// groupTree writes ou=Groups-<random>:
//
//	Partner Access (groupOfNames): Fabrikam Partners, partner 1, Cycle A,
//	    and uid=ghost, who does not exist
//	Fabrikam Partners (groupOfUniqueNames): partner 2 (with a UID),
//	    partner 3 (spelled in other letter case and spacing), Many Partners
//	Many Partners: partners 100-129 (enough to look for groups among them
//	    with one search)
//	Cycle A: Cycle B; Cycle B: Cycle A and partner 4
//	Posix Only (posixGroup): memberUid partner00005
//
// The members of Partner Access, nested ones included, are the partners 1,
// 2, 3, 4 and 100-129.
type groupTree struct {
	ou, partnerAccess, fabrikam, many, cycleA, cycleB, posix string
}

func (env writableSlapd) groupTree(t *testing.T) groupTree {
	t.Helper()
	g := groupTree{ou: "ou=" + randomName("Groups") + "," + env.baseDN}
	g.partnerAccess, g.fabrikam, g.many = "cn=Partner Access,"+g.ou, "cn=Fabrikam Partners,"+g.ou, "cn=Many Partners,"+g.ou
	g.cycleA, g.cycleB, g.posix = "cn=Cycle A,"+g.ou, "cn=Cycle B,"+g.ou, "cn=Posix Only,"+g.ou
	many := entry(g.many, "objectClass", "groupOfNames", "cn", "Many Partners")
	for i := 100; i < 130; i++ {
		many.attrs = append(many.attrs, [2]string{"member", env.partner(i)})
	}
	env.add(t,
		ou(g.ou),
		entry(g.partnerAccess, "objectClass", "groupOfNames", "cn", "Partner Access",
			"member", g.fabrikam, "member", env.partner(1), "member", g.cycleA, "member", "uid=ghost,ou=Partners,"+env.baseDN),
		entry(g.fabrikam, "objectClass", "groupOfUniqueNames", "cn", "Fabrikam Partners",
			"uniqueMember", env.partner(2)+"#'0101'B",
			"uniqueMember", "UID=PARTNER00003, OU=partners,"+strings.ToUpper(env.baseDN),
			"uniqueMember", g.many),
		many,
		entry(g.cycleA, "objectClass", "groupOfNames", "cn", "Cycle A", "member", g.cycleB),
		entry(g.cycleB, "objectClass", "groupOfNames", "cn", "Cycle B", "member", g.cycleA, "member", env.partner(4)),
		entry(g.posix, "objectClass", "posixGroup", "cn", "Posix Only", "gidNumber", "5000", "memberUid", "partner00005"),
	)
	return g
}

// readDNs reads with cfg and returns the DNs delivered, each checked to
// come once.
func readDNs(t *testing.T, cfg Config, logs *bytes.Buffer) ([]string, source.Result, error) {
	t.Helper()
	var log = debugLogger(new(bytes.Buffer))
	if logs != nil {
		log = debugLogger(logs)
	}
	r, err := New(cfg, log)
	require.NoError(t, err)
	var dns []string
	res, err := r.Read(context.Background(), func(e source.Entry) error {
		require.NotContains(t, dns, e.DN, "delivered twice")
		dns = append(dns, e.DN)
		return nil
	})
	return dns, res, err
}

func sortedLower(dns []string) []string {
	out := make([]string, len(dns))
	for i, d := range dns {
		out[i] = strings.ToLower(strings.ReplaceAll(d, " ", ""))
	}
	slices.Sort(out)
	return out
}

func TestSlapdGroupScopingExpandsNestingAndCycles(t *testing.T) {
	eachDecoder(t, testSlapdGroupScopingExpandsNestingAndCycles)
}

func testSlapdGroupScopingExpandsNestingAndCycles(t *testing.T, decoder string) {
	env := needWritableSlapd(t)
	env.decoder = decoder
	g := env.groupTree(t)
	var want []string
	for _, i := range []int{1, 2, 3, 4} {
		want = append(want, env.partner(i))
	}
	for i := 100; i < 130; i++ {
		want = append(want, env.partner(i))
	}

	for _, directory := range []string{"", "ldap"} {
		t.Run("directory="+directory, func(t *testing.T) {
			t.Parallel()
			cfg := env.partners()
			cfg.Directory = directory
			cfg.Groups = []string{g.partnerAccess}
			var logs bytes.Buffer
			dns, res, err := readDNs(t, cfg, &logs)
			require.NoError(t, err)
			assert.Equal(t, source.Result{Entries: len(want), Complete: true}, res)
			assert.Equal(t, sortedLower(want), sortedLower(dns))
			if directory == "" {
				assert.Contains(t, logs.String(), "msg=\"ldap directory detected\" url="+env.url+" directory=ldap")
			}
			assert.Contains(t, logs.String(), "nestedGroups=4")
			assert.Contains(t, logs.String(), fmt.Sprintf("notInGroups=%d", env.users-len(want)))
			assert.Contains(t, logs.String(), `msg="ldap group member does not exist" member="uid=ghost,ou=Partners,`)
		})
	}

	t.Run("starting inside the cycle, two groups", func(t *testing.T) {
		t.Parallel()
		cfg := env.partners()
		cfg.Groups = []string{g.cycleB, "CN=many partners," + strings.ToUpper(g.ou)}
		dns, res, err := readDNs(t, cfg, nil)
		require.NoError(t, err)
		assert.Equal(t, source.Result{Entries: 31, Complete: true}, res)
		assert.Contains(t, dns, env.partner(4))
		assert.NotContains(t, dns, env.partner(1))
	})

	t.Run("groups entries in scope are members too", func(t *testing.T) {
		t.Parallel()
		cfg := env.partners()
		cfg.BaseDN, cfg.Filter = g.ou, "(cn=*)"
		cfg.Groups = []string{g.partnerAccess}
		dns, res, err := readDNs(t, cfg, nil)
		require.NoError(t, err)
		// As with AD's in-chain rule, nested groups are members too; Partner
		// Access is not a member of itself (the cycle is Cycle A and B's).
		assert.Equal(t, sortedLower([]string{g.fabrikam, g.many, g.cycleA, g.cycleB}), sortedLower(dns))
		assert.True(t, res.Complete)
	})
}

func TestSlapdGroupScopingFailures(t *testing.T) { eachDecoder(t, testSlapdGroupScopingFailures) }

func testSlapdGroupScopingFailures(t *testing.T, decoder string) {
	env := needWritableSlapd(t)
	env.decoder = decoder
	g := env.groupTree(t)
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"nesting deeper than allowed", func(c *Config) { c.Groups, c.MaxGroupDepth = []string{g.partnerAccess}, 1 },
			`groups are nested more than 1 levels deep ("cn=Many Partners,` + g.ou + `" is at level 2): raise maxGroupDepth`},
		{"memberUid only", func(c *Config) { c.Groups = []string{g.partnerAccess, g.posix} },
			`group "` + g.posix + `" lists its members only by memberUid`},
		{"a group that does not exist", func(c *Config) { c.Groups = []string{"cn=Nobody," + g.ou} },
			`group "cn=Nobody,` + g.ou + `" does not exist on ` + env.url},
		{"ad forced on another server", func(c *Config) { c.Groups, c.Directory = []string{g.partnerAccess}, "ad" },
			"directory is ad, but " + env.url + " does not look like Active Directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := env.partners()
			tt.change(&cfg)
			dns, res, err := readDNs(t, cfg, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, source.Result{}, res)
			assert.Empty(t, dns)
		})
	}
}

// TestSlapdSizeLimitInGroupExpansion makes the search for nested groups
// among 520 members of one container exceed the service account's size
// limit of 500 without paging: the read fails instead of leaving members
// out.
func TestSlapdSizeLimitInGroupExpansion(t *testing.T) {
	eachDecoder(t, testSlapdSizeLimitInGroupExpansion)
}

func testSlapdSizeLimitInGroupExpansion(t *testing.T, decoder string) {
	env := needWritableSlapd(t)
	env.decoder = decoder
	container := "ou=" + randomName("ManyGroups") + "," + env.baseDN
	entries := []testEntry{ou(container)}
	huge := entry("cn=Huge,"+container, "objectClass", "groupOfNames", "cn", "Huge")
	for i := range 520 {
		dn := fmt.Sprintf("cn=g%03d,%s", i, container)
		entries = append(entries, entry(dn, "objectClass", "groupOfNames", "cn", fmt.Sprintf("g%03d", i), "member", env.partner(i+1)))
		huge.attrs = append(huge.attrs, [2]string{"member", dn})
	}
	env.add(t, append(entries, huge)...)

	cfg := env.partners()
	cfg.Groups = []string{huge.dn}
	dns, res, err := readDNs(t, cfg, nil)
	require.NoError(t, err, "paged, the expansion sees every group")
	assert.Equal(t, source.Result{Entries: 520, Complete: true}, res)
	assert.Len(t, dns, 520)

	cfg.NoPaging = true
	dns, res, err = readDNs(t, cfg, nil)
	require.Error(t, err)
	t.Log(err)
	assert.True(t, goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded), err.Error())
	assert.Contains(t, err.Error(), `look for nested groups under "ou=`)
	assert.Contains(t, err.Error(), "the server's size limit stopped the search")
	assert.Equal(t, source.Result{}, res)
	assert.Empty(t, dns)
}

// scopeTree writes ou=Scope-<random>:
//
//	ou=People: p1..p5
//	  ou=Excluded: x1, x2
//	    ou=Deeper: x3
//	ou=Vendors: v1..v3
//	  ou=Sub: v4
//	ou=Elsewhere<i>: a referral object for each of refs, in which {root}
//	    stands for the DN of ou=Scope-<random>
//
// all with employeeType Partner.
type scopeTree struct {
	root, people, excluded, vendors string
	all                             []string // the DNs of the 12 people
}

func (env writableSlapd) scopeTree(t *testing.T, refs ...string) scopeTree {
	t.Helper()
	s := scopeTree{root: "ou=" + randomName("Scope") + "," + env.baseDN}
	s.people, s.vendors = "ou=People,"+s.root, "ou=Vendors,"+s.root
	s.excluded = "ou=Excluded," + s.people
	entries := []testEntry{ou(s.root), ou(s.people), ou(s.excluded), ou("ou=Deeper," + s.excluded), ou(s.vendors), ou("ou=Sub," + s.vendors)}
	people := map[string]string{
		"p1": s.people, "p2": s.people, "p3": s.people, "p4": s.people, "p5": s.people,
		"x1": s.excluded, "x2": s.excluded, "x3": "ou=Deeper," + s.excluded,
		"v1": s.vendors, "v2": s.vendors, "v3": s.vendors, "v4": "ou=Sub," + s.vendors,
	}
	for _, uid := range slices.Sorted(func(yield func(string) bool) {
		for k := range people {
			if !yield(k) {
				return
			}
		}
	}) {
		dn := "uid=" + uid + "," + people[uid]
		entries = append(entries, person(dn, uid, "Partner"))
		s.all = append(s.all, dn)
	}
	for i, ref := range refs {
		name := fmt.Sprintf("Elsewhere%d", i)
		entries = append(entries, entry("ou="+name+","+s.root, "objectClass", "referral", "objectClass", "extensibleObject", "ou", name, "ref", strings.ReplaceAll(ref, "{root}", s.root)))
	}
	env.add(t, entries...)
	return s
}

// those returns the DNs of s.all whose uid starts with one of prefixes.
func (s scopeTree) those(prefixes ...string) []string {
	var out []string
	for _, dn := range s.all {
		for _, p := range prefixes {
			if strings.HasPrefix(dn, "uid="+p) {
				out = append(out, dn)
			}
		}
	}
	return out
}

func TestSlapdSeveralBasesAndExclusions(t *testing.T) {
	eachDecoder(t, testSlapdSeveralBasesAndExclusions)
}

func testSlapdSeveralBasesAndExclusions(t *testing.T, decoder string) {
	env := needWritableSlapd(t)
	env.decoder = decoder
	s := env.scopeTree(t)
	cfg := env.partners()
	cfg.BaseDN = ""
	cfg.Bases = []Base{
		{DN: s.people},
		{DN: s.vendors, Scope: "one"},
		{DN: strings.ToUpper(s.root)}, // overlaps both, in other letter case
	}
	cfg.ExcludeDNs = []string{strings.ReplaceAll(strings.ReplaceAll(s.excluded, ",", " , "), "=", " = ")}
	var logs bytes.Buffer
	dns, res, err := readDNs(t, cfg, &logs)
	require.NoError(t, err)
	want := s.those("p", "v")
	assert.Equal(t, source.Result{Entries: len(want), Complete: true}, res)
	assert.Equal(t, sortedLower(want), sortedLower(dns))
	// People: p1-5 delivered, x1-3 excluded; Vendors (one level): v1-3;
	// the root: p1-5 and v1-3 again, x1-3 excluded again, v4 new.
	assert.Contains(t, logs.String(), "entries=9 excluded=6 notInGroups=0 duplicates=8")
	assert.Contains(t, logs.String(), `msg="ldap entry excluded" dn="uid=x3,ou=Deeper,`+s.excluded+`" excludeDN="`+cfg.ExcludeDNs[0]+`"`)
	for _, b := range cfg.Bases {
		assert.Contains(t, logs.String(), "-b '"+b.DN+"' -s "+map[string]string{"": "sub", "one": "one"}[b.Scope])
	}

	t.Run("one level only", func(t *testing.T) {
		t.Parallel()
		cfg := env.partners()
		cfg.BaseDN, cfg.Scope = s.vendors, "one"
		dns, res, err := readDNs(t, cfg, nil)
		require.NoError(t, err)
		assert.Equal(t, source.Result{Entries: 3, Complete: true}, res)
		assert.Equal(t, sortedLower(s.those("v1", "v2", "v3")), sortedLower(dns))
	})
}

// staffFilter selects the test partners and the 20 employees of ou=Staff,
// where the test referrals point.
const staffFilter = "(|(employeeType=Partner)(employeeType=Employee))"

func TestSlapdReferrals(t *testing.T) { eachDecoder(t, testSlapdReferrals) }

func testSlapdReferrals(t *testing.T, decoder string) {
	env := needWritableSlapd(t)
	env.decoder = decoder
	tlsURL, caFile := os.Getenv("GUESTSYNC_TEST_SLAPD_LDAPS_URL"), os.Getenv("GUESTSYNC_TEST_SLAPD_CAFILE")
	staff := "ou=Staff," + env.baseDN
	hostPort := strings.TrimPrefix(env.url, "ldap://")
	localhost := "ldap://localhost:" + hostPort[strings.LastIndex(hostPort, ":")+1:]
	tests := []struct {
		name    string
		ref     string
		change  func(*Config)
		entries int    // with the 12 partners of the scope tree
		err     string // or this error, after those 12
		log     string
	}{
		{name: "skipped by default", ref: env.url + "/" + staff, entries: 12, log: "referralsSkipped=1 referralsFollowed=0"},
		{name: "followed", ref: env.url + "/" + staff, change: func(c *Config) { c.FollowReferrals = true },
			entries: 32, log: "referralsSkipped=0 referralsFollowed=1"},
		{name: "followed back into the tree: no loop, no duplicates", ref: env.url + "/{root}", change: func(c *Config) { c.FollowReferrals = true },
			entries: 12, log: "duplicates=12 referralsSkipped=0 referralsFollowed=1"},
		{name: "into an excluded subtree", ref: env.url + "/" + staff, change: func(c *Config) {
			c.FollowReferrals, c.ExcludeDNs = true, []string{staff}
		}, entries: 12, log: `msg="ldap referral excluded"`},
		{name: "another host", ref: localhost + "/" + staff, change: func(c *Config) { c.FollowReferrals = true },
			err: "follow referral " + localhost + "/" + staff + "??sub from " + env.url + ": host localhost is not one of url's hosts"},
		{name: "another host, allowed", ref: localhost + "/" + staff, change: func(c *Config) {
			c.FollowReferrals, c.ReferralHosts = true, []string{"localhost"}
		}, entries: 32},
		{name: "from TLS to plain LDAP", ref: env.url + "/" + staff, change: func(c *Config) {
			c.FollowReferrals, c.URL, c.CAFile = true, tlsURL, caFile
		}, err: "refusing to follow a referral to plain LDAP from a TLS connection"},
		{name: "from TLS to TLS", ref: tlsURL + "/" + staff, change: func(c *Config) {
			c.FollowReferrals, c.URL, c.CAFile = true, tlsURL, caFile
		}, entries: 32},
		{name: "from StartTLS to plain LDAP, with StartTLS", ref: env.url + "/" + staff, change: func(c *Config) {
			c.FollowReferrals, c.StartTLS, c.CAFile = true, true, caFile
		}, entries: 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := env.scopeTree(t, tt.ref)
			cfg := env.partners()
			cfg.BaseDN, cfg.Filter = s.root, staffFilter
			if tt.change != nil {
				tt.change(&cfg)
			}
			var logs bytes.Buffer
			dns, res, err := readDNs(t, cfg, &logs)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.Equal(t, source.Result{Entries: 12, Complete: false}, res)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, source.Result{Entries: tt.entries, Complete: true}, res)
			assert.Len(t, dns, tt.entries)
			assert.Contains(t, logs.String(), tt.log)
		})
	}
}
