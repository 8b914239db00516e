package main

// End-to-end lifecycle tests: a real directory server (the slapd and the
// Samba AD DC of .ci/with-testservers), the guestsync command, and the
// Graph emulator. Each test writes its own OU with the directory's admin
// account and removes it afterwards, so that it can change, rename and
// delete accounts without disturbing the other tests.

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
	"github.com/guestsync/guestsync/pkg/state"
)

// directory is a writable subtree of a test directory server.
type directory struct {
	t    *testing.T
	conn *goldap.Conn
	base string // the test's own OU
}

// newSlapdDirectory creates ou=Life-<random> in the test slapd.
func newSlapdDirectory(t *testing.T, s map[string]string) *directory {
	t.Helper()
	conn, err := goldap.DialURL(s["URL"])
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.Bind(s["ADMINDN"], s["ADMINPASSWORD"]))
	name := fmt.Sprintf("Life-%08x", rand.Uint32())
	d := &directory{t: t, conn: conn, base: "ou=" + name + "," + s["BASEDN"]}
	d.add(d.base, "objectClass", "organizationalUnit", "ou", name)
	t.Cleanup(d.removeAll)
	return d
}

func (d *directory) add(dn string, attrs ...string) {
	d.t.Helper()
	req := goldap.NewAddRequest(dn, nil)
	var names []string
	values := map[string][]string{}
	for i := 0; i+1 < len(attrs); i += 2 {
		if _, ok := values[attrs[i]]; !ok {
			names = append(names, attrs[i])
		}
		values[attrs[i]] = append(values[attrs[i]], attrs[i+1])
	}
	for _, n := range names {
		req.Attribute(n, values[n])
	}
	require.NoError(d.t, d.conn.Add(req), "add %s", dn)
}

// partner adds uid=<uid> under the test OU.
func (d *directory) partner(uid string) string {
	dn := "uid=" + uid + "," + d.base
	d.add(dn, "objectClass", "inetOrgPerson", "uid", uid, "cn", "Partner "+uid, "sn", uid,
		"mail", uid+"@fabrikam.example", "employeeType", "Partner")
	return dn
}

func (d *directory) replace(dn, attr string, values ...string) {
	d.t.Helper()
	req := goldap.NewModifyRequest(dn, nil)
	req.Replace(attr, values)
	require.NoError(d.t, d.conn.Modify(req), "modify %s", dn)
}

func (d *directory) remove(dn string) {
	d.t.Helper()
	require.NoError(d.t, d.conn.Del(goldap.NewDelRequest(dn, nil)), "delete %s", dn)
}

// removeAll deletes the test OU and everything in it.
func (d *directory) removeAll() {
	res, err := d.conn.Search(goldap.NewSearchRequest(d.base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	if err != nil {
		return
	}
	for i := len(res.Entries) - 1; i >= 0; i-- { // children first
		_ = d.conn.Del(goldap.NewDelRequest(res.Entries[i].DN, nil))
	}
}

// lifecycle runs guestsync commands against one directory subtree and one
// emulated tenant, with one state file.
type lifecycle struct {
	t    *testing.T
	sim  *graphsim.Server
	cfg  string
	env  map[string]string
	stat string
}

func newLifecycle(t *testing.T, configYAML string, env map[string]string) *lifecycle {
	t.Helper()
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mapping.yaml"), []byte(slapdMapping), 0o600))
	cfg := filepath.Join(dir, "guestsync.yaml")
	configYAML += fmt.Sprintf("mapping: {file: mapping.yaml}\ngraph: {url: %q, auth: emulator}\n", srv.URL+"/v1.0")
	require.NoError(t, os.WriteFile(cfg, []byte(configYAML), 0o600))
	l := &lifecycle{t: t, sim: sim, cfg: cfg, env: env, stat: filepath.Join(dir, "state.json")}
	env["GUESTSYNC_STATE_FILE"] = l.stat
	return l
}

// run runs guestsync with args and the config, and returns its exit code
// and output; stderr is returned for messages.
func (l *lifecycle) run(args ...string) (int, string, string) {
	l.t.Helper()
	return guestsync(l.t, l.env, append(args, "--config", l.cfg)...)
}

// sync runs sync and requires exit code 0.
func (l *lifecycle) sync(args ...string) string {
	l.t.Helper()
	code, out, stderr := l.run(append([]string{"sync"}, args...)...)
	require.Equal(l.t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	return out
}

// TestLifecycleWithSlapd walks one set of accounts through a partner's
// whole life against a real OpenLDAP: first sync, no-op rerun, attribute
// change, rename, removal → disable → delete after the grace period,
// leaving and returning → re-enable, the removal threshold, the empty and
// failed read guards, a concurrent run, and a stale reviewed plan.
func TestLifecycleWithSlapd(t *testing.T) {
	t.Parallel()
	s := slapdEnv(t)
	d := newSlapdDirectory(t, s)
	dns := map[string]string{}
	for i := 1; i <= 8; i++ {
		uid := fmt.Sprintf("lp%d", i)
		dns[uid] = d.partner(uid)
	}
	l := newLifecycle(t, fmt.Sprintf(`version: 1
source: {kind: ldap}
ldap:
  url: %q
  allowInsecureBind: true
  bindDN: %q
  baseDN: %q
  filter: (employeeType=Partner)
policy: {deleteAfter: 1h, removalThreshold: 3}
`, s["URL"], s["BINDDN"], d.base), map[string]string{"GUESTSYNC_LDAP_BINDPASSWORD": s["PASSWORD"]})

	// First run, then a rerun that changes nothing.
	out := l.sync()
	assert.Contains(t, out, "Applied: 8 created, 0 updated, 0 failed")
	writes := l.sim.Stats().Writes
	out = l.sync()
	assert.Contains(t, out, "No changes: 0 guests up to date") // an incremental read: nothing changed
	assert.Contains(t, out, "(incremental read")
	assert.Equal(t, writes, l.sim.Stats().Writes, "a rerun writes nothing")

	// An attribute changes; an account is renamed (a new RDN, so a new uid
	// and UPN): both are updates of the same guest.
	d.replace(dns["lp1"], "cn", "Partner One (Fabrikam)")
	require.NoError(t, d.conn.ModifyDN(goldap.NewModifyDNRequest(dns["lp2"], "uid=lp2-renamed", true, "")))
	out = l.sync()
	assert.Contains(t, out, `displayName            "Partner lp1" → "Partner One (Fabrikam)"`)
	assert.Contains(t, out, `userPrincipalName      "lp2@partners.contoso.com" → "lp2-renamed@partners.contoso.com"`)
	assert.Contains(t, out, "Applied: 0 created, 2 updated, 0 failed")
	assert.Equal(t, 8, l.sim.Stats().Users, "a rename is never delete + create")

	// Removal: OpenLDAP's incremental read cannot see deletions; the full
	// read (here the periodic one, source.fullReadEvery) finds the account
	// gone and disables its guest, and once the grace period is over the
	// next full read deletes it.
	d.remove(dns["lp3"])
	out = l.sync()
	assert.Contains(t, out, "No changes: 0 guests up to date")
	assert.Contains(t, out, "(incremental read")
	l.env["GUESTSYNC_SOURCE_FULLREADEVERY"] = "1ns" // the last full read is older than that
	out = l.sync()
	delete(l.env, "GUESTSYNC_SOURCE_FULLREADEVERY")
	assert.NotContains(t, out, "(incremental read")
	assert.Contains(t, out, "- disable guest lp3@partners.contoso.com")
	assert.Contains(t, out, "Applied: 0 created, 0 updated, 1 disabled, 0 failed")
	out = l.sync("--full")
	assert.Contains(t, out, "1 disabled guest(s) waiting out the grace period before deletion.")
	// The grace period is over (a shorter one for this run, rather than a
	// sleep that a slow machine could outrun).
	l.env["GUESTSYNC_POLICY_DELETEAFTER"] = "1ns"
	out = l.sync("--full")
	delete(l.env, "GUESTSYNC_POLICY_DELETEAFTER")
	assert.Contains(t, out, "- delete guest lp3@partners.contoso.com")
	assert.Contains(t, out, "Applied: 0 created, 0 updated, 1 deleted, 0 failed")
	assert.Equal(t, 7, l.sim.Stats().Users)
	assert.Equal(t, 1, l.sim.Stats().DeletedUsers, "deleted to the recycle bin, restorable")

	// An account leaves the scope and comes back: disabled, then enabled.
	d.replace(dns["lp4"], "employeeType", "Former partner")
	out = l.sync("--full")
	assert.Contains(t, out, "1 disabled")
	d.replace(dns["lp4"], "employeeType", "Partner")
	out = l.sync()
	assert.Contains(t, out, `accountEnabled         "false" → "true"`)
	assert.Contains(t, out, "Applied: 0 created, 1 updated, 0 failed")

	// The removal threshold (3): four leave at once.
	for _, uid := range []string{"lp5", "lp6", "lp7", "lp8"} {
		d.replace(dns[uid], "employeeType", "Former partner")
	}
	writes = l.sim.Stats().Writes
	code, out, stderr := l.run("sync", "--full")
	assert.Equal(t, 3, code, stderr)
	assert.Contains(t, stderr, "the plan removes 4 guests, over the removal threshold of 3")
	assert.Contains(t, out, "Plan: 0 to create, 0 to update, 4 to disable")
	assert.Equal(t, writes, l.sim.Stats().Writes, "a stopped run changes nothing")
	out = l.sync("--full", "--allow-removals", "4")
	assert.Contains(t, out, "4 disabled")

	// Guards: a read that finds nothing is refused (exit 4), and a read
	// that fails fails the run; neither removes anything.
	writes = l.sim.Stats().Writes
	l.env["GUESTSYNC_LDAP_FILTER"] = "(employeeType=Nobody)"
	code, out, stderr = l.run("sync", "--full")
	assert.Equal(t, 4, code, stderr)
	assert.Contains(t, out, "Refused: the source read cannot be trusted; nothing changed.")
	assert.Contains(t, stderr, "read source: empty read, refusing to plan on it: the source returned no entries, while guestsync owns 7 guests")
	delete(l.env, "GUESTSYNC_LDAP_FILTER")
	l.env["GUESTSYNC_LDAP_URL"] = "ldap://" + deadAddr(t)
	code, _, stderr = l.run("sync", "--full")
	assert.Equal(t, 1, code, stderr)
	delete(l.env, "GUESTSYNC_LDAP_URL")
	assert.Equal(t, writes, l.sim.Stats().Writes, "neither guard wrote anything")

	// A second run while one holds the lock is refused.
	lock, err := state.Acquire(l.stat)
	require.NoError(t, err)
	code, _, stderr = l.run("sync")
	lock.Release()
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "another guestsync run holds the lock")

	// A reviewed plan that the directory overtook is refused.
	d.replace(dns["lp1"], "cn", "Partner One")
	planFile := filepath.Join(t.TempDir(), "plan.json")
	code, _, stderr = l.run("plan", "--out", planFile)
	require.Equal(t, 0, code, stderr)
	d.replace(dns["lp1"], "cn", "Partner One (again)")
	code, _, stderr = l.run("apply", planFile)
	assert.Equal(t, 3, code, stderr)
	assert.Contains(t, stderr, "the source or the tenant changed since the plan was made")
	code, _, stderr = l.run("plan", "--out", planFile)
	require.Equal(t, 0, code, stderr)
	code, out, stderr = l.run("apply", planFile)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Applied: 0 created, 1 updated, 0 failed")
	assert.True(t, strings.Contains(out, `"Partner One (again)"`), out)

	// A plan made with --full is applied with a full read: the deletion
	// only a full read sees is in both.
	d.remove(dns["lp1"])
	code, out, stderr = l.run("plan", "--full", "--out", planFile)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "- disable guest lp1@partners.contoso.com")
	code, out, stderr = l.run("apply", planFile)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "1 disabled, 0 failed")
}

// deadAddr is a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(nil)
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	return addr
}

// adMapping maps the Samba test users: the anchor is objectGUID (base64,
// Entra Connect's convention), the UPN comes from sAMAccountName.
const adMapping = `version: 1
name: samba-partners
anchor:
  attributes: [ms-DS-ConsistencyGuid, objectGUID]
scope:
  - clauses:
      - {attribute: title, operator: EQUALS, value: Partner}
flows:
  - target: userPrincipalName
    type: expression
    expression: Join("@", [sAMAccountName], "partners.contoso.com")
  - {target: mailNickname, type: direct, source: sAMAccountName}
  - {target: displayName, type: direct, source: cn}
  - {target: mail, type: direct, source: mail}
  - {target: accountEnabled, type: constant, value: "true"}
`

// TestLifecycleWithSambaAD runs against a real Active Directory (Samba):
// objectGUID anchors, DirSync incremental reads as the read-only service
// account, a rename, an account leaving the scope (seen by DirSync), and a
// deletion (seen by the next full read: the service account may not read
// Deleted Objects).
func TestLifecycleWithSambaAD(t *testing.T) {
	t.Parallel()
	s := sambaEnv(t)
	url, base := s["LDAPS_URL"], s["BASEDN"]
	conn, err := goldap.DialURL(s["URL"])
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.Bind(s["ADMINDN"], s["ADMINPASSWORD"]))
	name := fmt.Sprintf("Life-%08x", rand.Uint32())
	ou := "OU=" + name + "," + base
	kind := "P-" + name // the other tests count the domain's employeeType=Partner users
	add := func(dn, class string, attrs ...string) {
		t.Helper()
		req := goldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{class})
		for i := 0; i+1 < len(attrs); i += 2 {
			req.Attribute(attrs[i], []string{attrs[i+1]})
		}
		require.NoError(t, conn.Add(req), "add %s", dn)
	}
	add(ou, "organizationalUnit")
	t.Cleanup(func() {
		if err := conn.Del(goldap.NewDelRequest(ou, []goldap.Control{goldap.NewControlSubtreeDelete()})); err != nil {
			t.Errorf("remove %s: %v", ou, err)
		}
	})
	suffix := fmt.Sprintf("%04x", rand.Uint32()&0xffff) // sAMAccountNames are domain-wide
	user := func(cn string) string {
		dn := "CN=" + cn + "," + ou
		add(dn, "user", "sAMAccountName", "l"+suffix+cn, "employeeType", kind, "mail", cn+"@fabrikam.example", "title", "Partner")
		return dn
	}
	dns := map[string]string{}
	for _, cn := range []string{"ann", "bob", "cat", "dan"} {
		dns[cn] = user(cn)
	}

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ad.yaml"), []byte(adMapping), 0o600))
	l := newLifecycle(t, fmt.Sprintf(`version: 1
source: {kind: ldap}
ldap:
  url: %q
  caFile: %q
  bindDN: %q
  baseDN: %q
  filter: (&(objectCategory=person)(objectClass=user)(employeeType=%s))
`, url, s["CAFILE"], s["BINDDN"], ou, kind),
		map[string]string{"GUESTSYNC_LDAP_BINDPASSWORD": s["PASSWORD"],
			"GUESTSYNC_MAPPING_FILE": filepath.Join(dir, "ad.yaml")})

	out := l.sync()
	assert.Contains(t, out, "Applied: 4 created, 0 updated, 0 failed")
	writes := l.sim.Stats().Writes
	out = l.sync()
	assert.Contains(t, out, "No changes")
	assert.Equal(t, writes, l.sim.Stats().Writes)

	// A rename (cn is the RDN in AD) is an update of the same guest.
	require.NoError(t, conn.ModifyDN(goldap.NewModifyDNRequest(dns["bob"], "CN=bobby", true, "")))
	out = l.sync()
	assert.Contains(t, out, `displayName            "bob" → "bobby"`)
	assert.Contains(t, out, "Applied: 0 created, 1 updated, 0 failed")

	// An account that leaves the scope (no longer a partner in the
	// directory's filter): DirSync reports it to the service account, and
	// the incremental run disables its guest.
	mod := goldap.NewModifyRequest(dns["dan"], nil)
	mod.Replace("employeeType", []string{"Former"})
	require.NoError(t, conn.Modify(mod))
	out = l.sync()
	assert.Contains(t, out, "(incremental read")
	assert.Contains(t, out, "- disable guest l"+suffix+"dan@partners.contoso.com")
	assert.Contains(t, out, "1 disabled, 0 failed")

	// A deletion: an ordinary account may not read AD's Deleted Objects,
	// so DirSync does not show it the deletion; the next full read finds
	// the account gone.
	require.NoError(t, conn.Del(goldap.NewDelRequest(dns["cat"], nil)))
	out = l.sync("--full")
	assert.Contains(t, out, "- disable guest l"+suffix+"cat@partners.contoso.com")
	assert.Contains(t, out, "1 disabled, 0 failed")
	assert.Equal(t, 4, l.sim.Stats().Users, "disabled, not deleted: the grace period has only begun")
}
