package ldap

import (
	"bytes"
	"context"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

func TestWatermarkRoundTrip(t *testing.T) {
	t.Parallel()
	tests := map[string]watermark{
		"dirsync": {Mech: mechDirSync, NCs: []ncCookies{
			{DN: "DC=example,DC=test", Changes: []byte{0, 1, 2, 0xff}, Leavers: []byte("leavers")},
			{DN: "DC=child,DC=example,DC=test", Changes: []byte("only changes")},
		}},
		"usn":              {Mech: mechUSN, DSA: "CN=NTDS Settings,CN=DC1,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=example,DC=test", InvocationID: "4f7a44b1-0c1d-4d39-9f0b-1f2f8a1d2e3c", USN: 41234},
		"usn without inv":  {Mech: mechUSN, DSA: "CN=NTDS Settings,CN=DC1", USN: 1},
		"entryCSN probe":   {Mech: mechCSN, Attr: "entryCSN", Value: "20261124033029.634558Z#000000#000#000000", After: true, From: "probe"},
		"modifyTimestamp":  {Mech: mechCSN, Attr: "modifyTimestamp", Value: "20261124033029Z", From: "probe"},
		"contextCSN based": {Mech: mechCSN, Attr: "entryCSN", Value: "20261124033029.634558Z#000000#001#000000", After: true, From: "contextCSN"},
	}
	for name, w := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := w.encode()
			assert.Regexp(t, `^[A-Za-z0-9_-]+$`, s, "opaque and safe in any state file")
			got, err := decodeWatermark(s)
			require.NoError(t, err)
			w.V = watermarkVersion
			assert.Equal(t, w, got)
			assert.Equal(t, s, got.encode(), "stable")
		})
	}
}

func TestWatermarkRefused(t *testing.T) {
	t.Parallel()
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := map[string]struct{ in, why string }{
		"empty":                 {"", "no watermark"},
		"not base64":            {"not a watermark!", "not base64url"},
		"not JSON":              {enc("garbage"), "not a watermark of this reader"},
		"unknown field":         {enc(`{"v":1,"m":"usn","dsa":"CN=x","usn":3,"extra":1}`), "unknown field"},
		"other version":         {enc(`{"v":2,"m":"usn","dsa":"CN=x","usn":3}`), "version 2"},
		"unknown mechanism":     {enc(`{"v":1,"m":"syncrepl"}`), `made by "syncrepl"`},
		"dirsync without NC":    {enc(`{"v":1,"m":"dirsync"}`), "without naming contexts"},
		"dirsync empty cookie":  {enc(`{"v":1,"m":"dirsync","nc":[{"dn":"DC=x"}]}`), "empty naming context or cookie"},
		"usn without DSA":       {enc(`{"v":1,"m":"usn","usn":3}`), "without its domain controller"},
		"usn zero":              {enc(`{"v":1,"m":"usn","dsa":"CN=x"}`), "without its domain controller or USN"},
		"csn without value":     {enc(`{"v":1,"m":"csn","attr":"entryCSN"}`), "without entryCSN"},
		"csn other attribute":   {enc(`{"v":1,"m":"csn","attr":"uSNChanged","val":"3"}`), "without entryCSN"},
		"csn filter injection":  {enc(`{"v":1,"m":"csn","attr":"entryCSN","val":"1)(objectClass=*"}`), "not a time stamp"},
		"padded, then not JSON": {enc("x") + "==", "not a watermark of this reader"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeWatermark(tt.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.why)
		})
	}
}

func TestCSNClause(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "(&(entryCSN>=20261124033029.634558Z#000000#000#000000)(!(entryCSN=20261124033029.634558Z#000000#000#000000)))",
		watermark{Attr: "entryCSN", Value: "20261124033029.634558Z#000000#000#000000", After: true}.csnClause())
	assert.Equal(t, "(modifyTimestamp>=20261124033029Z)", watermark{Attr: "modifyTimestamp", Value: "20261124033029Z"}.csnClause())
}

func keyOf(t *testing.T, change func(*Config)) string {
	t.Helper()
	cfg := validConfig()
	cfg.Filter = "(&(objectClass=user)(employeeType=Partner))"
	cfg.ExcludeDNs = []string{"ou=Excluded,ou=Partners,dc=example,dc=test", "ou=Old,ou=Partners,dc=example,dc=test"}
	cfg.Groups = []string{"cn=A,ou=Groups,dc=example,dc=test", "cn=B,ou=Groups,dc=example,dc=test"}
	if change != nil {
		change(&cfg)
	}
	r, err := New(cfg, nil)
	require.NoError(t, err)
	return r.Key()
}

func TestKey(t *testing.T) {
	t.Parallel()
	key := keyOf(t, nil)
	assert.Regexp(t, regexp.MustCompile(`^ldap:dc1\.example\.test:[0-9a-f]{16}$`), key)
	assert.Equal(t, key, keyOf(t, nil), "stable")

	same := map[string]func(*Config){
		"bind account and password": func(c *Config) {
			c.BindDN, c.BindPassword = "cn=other,dc=example,dc=test", "another password"
		},
		"anonymous":        func(c *Config) { c.BindDN, c.BindPassword = "", "" },
		"paging, timeouts": func(c *Config) { c.PageSize, c.Timeout, c.NoPaging = 100, time.Minute, true },
		"tls settings":     func(c *Config) { c.ServerName, c.InsecureSkipVerify = "dc.example.test", true },
		"incremental":      func(c *Config) { c.Incremental = IncrementalAuto },
		"default port written": func(c *Config) {
			c.URL = "LDAPS://DC1.Example.Test:636/"
		},
		"DNs spelled otherwise": func(c *Config) {
			c.BaseDN = "OU=Partners, DC=Example, DC=Test"
			c.ExcludeDNs = []string{"OU=Old,OU=Partners,DC=example,DC=test", "ou=excluded, ou=partners,dc=example,dc=test"}
			c.Groups = []string{"CN=b,OU=Groups,DC=example,DC=test", "cn=A,ou=Groups,dc=example,dc=test"}
		},
		"bases form of the same base": func(c *Config) {
			c.BaseDN, c.Bases = "", []Base{{DN: "ou=Partners,dc=example,dc=test", Scope: "sub"}}
		},
		"filter escaping": func(c *Config) { c.Filter = `(&(objectClass=user)(employeeType=Partn\65r))` },
	}
	for name, change := range same {
		assert.Equal(t, key, keyOf(t, change), "%s: same key", name)
	}

	other := map[string]func(*Config){
		"filter": func(c *Config) { c.Filter = "(&(objectClass=user)(employeeType=Contractor))" },
		"base":   func(c *Config) { c.BaseDN = "dc=example,dc=test"; c.ExcludeDNs = nil },
		"scope":  func(c *Config) { c.Scope = "one"; c.ExcludeDNs = nil },
		"another base": func(c *Config) {
			c.BaseDN, c.Bases = "", []Base{{DN: "ou=Partners,dc=example,dc=test"}, {DN: "ou=Staff,dc=example,dc=test"}}
		},
		"exclusions":      func(c *Config) { c.ExcludeDNs = c.ExcludeDNs[:1] },
		"groups":          func(c *Config) { c.Groups = c.Groups[:1] },
		"no groups":       func(c *Config) { c.Groups = nil },
		"directory":       func(c *Config) { c.Directory = DirectoryAD },
		"attributes":      func(c *Config) { c.Attributes = []string{"mail", "objectGUID"} },
		"server":          func(c *Config) { c.URL = "ldaps://dc2.example.test" },
		"failover server": func(c *Config) { c.URL = "ldaps://dc1.example.test ldaps://dc2.example.test" },
		"port":            func(c *Config) { c.URL = "ldaps://dc1.example.test:3269" },
		"scheme":          func(c *Config) { c.URL, c.StartTLS = "ldap://dc1.example.test", true },
		"referrals":       func(c *Config) { c.FollowReferrals = true },
	}
	seen := map[string]string{key: "the base config"}
	for name, change := range other {
		k := keyOf(t, change)
		assert.NotContains(t, seen, k, "%s: another key (same as %s)", name, seen[k])
		seen[k] = name
	}
}

func TestKeyNeverHoldsCredentials(t *testing.T) {
	t.Parallel()
	key := keyOf(t, nil)
	assert.NotContains(t, key, "s3cret")
	assert.NotContains(t, key, "guestsync")
}

func TestFilterAttributes(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"(objectClass=*)": {"objectclass"},
		"(&(objectCategory=person)(objectClass=user)(employeeType=Partner))":              {"employeetype", "objectcategory", "objectclass"},
		"(&(mail=*@a\\28b\\29.example)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))": {"mail", "useraccountcontrol"},
		"(|(cn>=a)(sn<=z)(givenName~=anna)(title=*lead*)(Title=x))":                       {"cn", "givenname", "sn", "title"},
		"(memberOf:1.2.840.113556.1.4.1941:=CN=G,DC=x)":                                   {"memberof"},
		"(:dn:2.5.13.5:=Partners)":                                                        nil,
		"(userCertificate;binary=*)":                                                      {"usercertificate"},
	}
	for filter, want := range tests {
		assert.Equal(t, want, filterAttributes(filter), filter)
	}
}

func TestLeaverAttributes(t *testing.T) {
	t.Parallel()
	r, err := New(Config{URL: "ldaps://dc1", BaseDN: "DC=x", Filter: "(&(objectCategory=person)(objectClass=user)(employeeType=Partner))"}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"employeetype", "objectClass"}, r.leaverAttributes())

	r, err = New(Config{URL: "ldaps://dc1", BaseDN: "DC=x", Filter: "(objectClass=user)"}, nil)
	require.NoError(t, err)
	assert.Nil(t, r.leaverAttributes(), "nothing that can change: no leavers search")

	r, err = New(Config{URL: "ldaps://dc1", BaseDN: "DC=x", Filter: "(objectClass=user)", Groups: []string{"CN=G,DC=x"}}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"member", "objectClass"}, r.leaverAttributes(), "groups: their members")
}

func TestPlaceOf(t *testing.T) {
	t.Parallel()
	r, err := New(Config{URL: "ldaps://dc1", Bases: []Base{
		{DN: "OU=Partners,DC=example,DC=test"},
		{DN: "OU=Flat,DC=example,DC=test", Scope: "one"},
	}, ExcludeDNs: []string{"OU=Excluded,OU=Partners,DC=example,DC=test"}}, nil)
	require.NoError(t, err)
	tests := map[string]string{
		"OU=Partners,DC=example,DC=test":                          "",
		"CN=Zoë,OU=Company,OU=Partners,DC=example,DC=test":        "",
		"cn=zoë, ou=company, ou=partners, dc=example, dc=test":    "",
		"CN=A,OU=Flat,DC=example,DC=test":                         "",
		"CN=A,OU=Sub,OU=Flat,DC=example,DC=test":                  "outside the bases",
		"OU=Flat,DC=example,DC=test":                              "outside the bases",
		"CN=Staff,OU=Staff,DC=example,DC=test":                    "outside the bases",
		"CN=X,OU=Excluded,OU=Partners,DC=example,DC=test":         "in the excluded subtree OU=Excluded,OU=Partners,DC=example,DC=test",
		`CN=Zoë\0ADEL:1234,CN=Deleted Objects,DC=example,DC=test`: "outside the bases",
	}
	for dn, want := range tests {
		assert.Equal(t, want, r.placeOfDN(dn), dn)
	}
}

func TestNamingContextOf(t *testing.T) {
	t.Parallel()
	d := rootDSE{namingContexts: []string{"DC=example,DC=test", "CN=Configuration,DC=example,DC=test",
		"DC=DomainDnsZones,DC=example,DC=test"}}
	for dn, want := range map[string]string{
		"OU=Partners,DC=example,DC=test":                "DC=example,DC=test",
		"dc=example,dc=test":                            "DC=example,DC=test",
		"CN=Zones,DC=DomainDnsZones,DC=example,DC=test": "DC=DomainDnsZones,DC=example,DC=test",
	} {
		p, err := goldap.ParseDN(dn)
		require.NoError(t, err)
		got, ok := d.namingContextOf(p)
		assert.True(t, ok, dn)
		assert.Equal(t, want, got, dn)
	}
	p, _ := goldap.ParseDN("DC=other,DC=test")
	_, ok := d.namingContextOf(p)
	assert.False(t, ok)
}

func TestNewValidatesIncremental(t *testing.T) {
	t.Parallel()
	ok := map[string]func(*Config){
		"auto":           func(c *Config) { c.Incremental = "auto" },
		"dirsync":        func(c *Config) { c.Incremental = "dirsync" },
		"usn on ad":      func(c *Config) { c.Incremental, c.Directory = "usn", DirectoryAD },
		"csn":            func(c *Config) { c.Incremental = "csn" },
		"off, referrals": func(c *Config) { c.Incremental, c.FollowReferrals = "off", true },
	}
	for name, change := range ok {
		cfg := validConfig()
		change(&cfg)
		_, err := New(cfg, nil)
		assert.NoError(t, err, name)
	}
	bad := map[string]struct {
		change func(*Config)
		want   string
	}{
		"unknown":        {func(c *Config) { c.Incremental = "yes" }, `incremental must be auto, dirsync, usn, csn or off, not "yes"`},
		"dirsync, ldap":  {func(c *Config) { c.Incremental, c.Directory = "dirsync", DirectoryLDAP }, "incremental dirsync is Active Directory's"},
		"usn, ldap":      {func(c *Config) { c.Incremental, c.Directory = "usn", DirectoryLDAP }, "incremental usn is Active Directory's"},
		"csn, ad":        {func(c *Config) { c.Incremental, c.Directory = "csn", DirectoryAD }, "incremental csn is for servers other than Active Directory"},
		"with referrals": {func(c *Config) { c.Incremental, c.FollowReferrals = "auto", true }, "incremental reads do not follow referrals"},
	}
	for name, tt := range bad {
		cfg := validConfig()
		tt.change(&cfg)
		_, err := New(cfg, nil)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), tt.want, name)
	}
}

// TestReadChangesFallsBackToAFullRead checks the decisions made before
// any server is asked: each makes a full read (which here fails to
// connect) and says why.
func TestReadChangesFallsBackToAFullRead(t *testing.T) {
	t.Parallel()
	csnMark := watermark{Mech: mechCSN, Attr: "entryCSN", Value: "20261124033029.634558Z#000000#000#000000", After: true}.encode()
	usnMark := watermark{Mech: mechUSN, DSA: "CN=NTDS Settings,CN=DC1", USN: 5}.encode()
	tests := map[string]struct {
		incremental, mark, why string
	}{
		"incremental off":     {IncrementalOff, csnMark, "incremental reads are off"},
		"garbage":             {IncrementalAuto, "garbage!", "not base64url"},
		"no watermark":        {IncrementalAuto, "", "no watermark"},
		"another mechanism":   {IncrementalDirSync, usnMark, "the watermark was made by usn, and incremental is dirsync"},
		"csn, forced dirsync": {IncrementalDirSync, csnMark, "the watermark was made by csn, and incremental is dirsync"},
		"usn, forced csn":     {IncrementalCSN, usnMark, "the watermark was made by usn, and incremental is csn"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			r, err := New(Config{URL: "ldap://" + deadAddr(t), BaseDN: "dc=example,dc=test", Incremental: tt.incremental,
				Timeout: time.Second}, debugLogger(&logs))
			require.NoError(t, err)
			called := false
			res, err := r.ReadChanges(context.Background(), tt.mark, func(source.Entry) error { called = true; return nil })
			require.Error(t, err, "the full read cannot connect")
			assert.Contains(t, err.Error(), "connect to ldap://")
			assert.False(t, called)
			assert.False(t, res.Incremental)
			assert.Contains(t, logs.String(), `msg="ldap: reading everything instead of the changes" reason=`)
			assert.Contains(t, logs.String(), tt.why)
		})
	}
}

func TestDirSyncCollect(t *testing.T) {
	t.Parallel()
	guid := func(b byte) string { return strings.Repeat(string([]byte{b}), 16) }
	attr := func(name string, values ...string) *goldap.EntryAttribute {
		a := &goldap.EntryAttribute{Name: name, Values: values}
		for _, v := range values {
			a.ByteValues = append(a.ByteValues, []byte(v))
		}
		return a
	}
	cs := &changeSet{byGUID: map[string]*dirChange{}, r: &Reader{log: debugLogger(new(bytes.Buffer))}}
	changes, leavers := cs.collect(false), cs.collect(true)
	for _, e := range []*goldap.Entry{
		{DN: "CN=Moved,OU=Excluded,OU=Partners,DC=x", Attributes: []*goldap.EntryAttribute{
			attr("objectGUID", guid(1)), attr("name", "Moved"), attr("instanceType", "4")}},
		{DN: "CN=New,OU=Partners,DC=x", Attributes: []*goldap.EntryAttribute{
			attr("objectGUID", guid(2)), attr("objectClass", "top", "person", "user"), attr("name", "New")}},
		{DN: `CN=Gone\0ADEL:01010101-0101-0101-0101-010101010101,CN=Deleted Objects,DC=x`, Attributes: []*goldap.EntryAttribute{
			attr("objectGUID", guid(3)), attr("isDeleted", "TRUE"), attr("lastKnownParent", "OU=Partners,DC=x")}},
		{DN: "", Attributes: []*goldap.EntryAttribute{attr("objectGUID", guid(4))}},
		{DN: "CN=No GUID,DC=x", Attributes: []*goldap.EntryAttribute{attr("name", "x")}},
	} {
		require.NoError(t, changes(e))
	}
	for _, e := range []*goldap.Entry{
		{DN: "CN=Partner Access,OU=Groups,DC=x", Attributes: []*goldap.EntryAttribute{
			attr("objectGUID", guid(5)), attr("member;range=1-1", "CN=In,DC=x"), attr("member;range=0-0", "CN=Out1,DC=x", "CN=Out2,DC=x")}},
		{DN: "CN=Moved,OU=Excluded,OU=Partners,DC=x", Attributes: []*goldap.EntryAttribute{
			attr("objectGUID", guid(1)), attr("employeeType", "Employee")}},
	} {
		require.NoError(t, leavers(e))
	}
	require.Len(t, cs.order, 5, "by objectGUID; the entry without one is skipped")
	moved, created, gone, hidden, group := cs.order[0], cs.order[1], cs.order[2], cs.order[3], cs.order[4]
	assert.True(t, moved.renamed && moved.matched && moved.leaver && !moved.created && !moved.deleted)
	assert.Equal(t, []string{"Employee"}, moved.entry.Values("employeeType"), "merged from both searches")
	assert.True(t, created.created && created.renamed)
	assert.True(t, gone.deleted)
	assert.Equal(t, "OU=Partners,DC=x", gone.entry.Values("lastKnownParent")[0])
	assert.True(t, hidden.deleted, "an ordinary account sees a deleted object as a GUID without a DN")
	assert.True(t, group.group && group.leaver)
	assert.Equal(t, []string{"CN=In,DC=x"}, group.added)
	assert.Equal(t, []string{"CN=Out1,DC=x", "CN=Out2,DC=x"}, group.removed)
	assert.False(t, group.entry.Has("member;range=1-1"), "member values are kept apart")
}

func TestSearchCommandWithExtensions(t *testing.T) {
	t.Parallel()
	r, err := New(Config{URL: "ldaps://dc1.example.test", BindDN: "svc@example.test", BindPassword: "pw",
		BaseDN: "OU=Partners,DC=example,DC=test"}, nil)
	require.NoError(t, err)
	got := r.searchCommand("DC=example,DC=test", goldap.ScopeWholeSubtree, "(|(employeeType=Partner)(isDeleted=TRUE))",
		[]string{"*"}, false, "!dirSync=-2147483647/1048576/AAEC")
	assert.Equal(t, "ldapsearch -H ldaps://dc1.example.test -x -D 'svc@example.test' -w '****' -b 'DC=example,DC=test' -s sub "+
		"-E '!dirSync=-2147483647/1048576/AAEC' '(|(employeeType=Partner)(isDeleted=TRUE))' '*'", got)
}

func TestPlainDN(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"OU=Partners,DC=x": "OU=Partners,DC=x",
		"<GUID=0298f5d3-f45a-4cca-b3cc-1582d56f52d6>;OU=Incr,DC=x":                    "OU=Incr,DC=x",
		"<GUID=0298f5d3f45a4ccab3cc1582d56f52d6>;<SID=S-1-5-21-1-2-3-1105>;CN=u,DC=x": "CN=u,DC=x",
		"<GUID=0298f5d3-f45a-4cca-b3cc-1582d56f52d6>":                                 "<GUID=0298f5d3-f45a-4cca-b3cc-1582d56f52d6>",
	} {
		assert.Equal(t, want, plainDN(in), in)
	}
}
