package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

// sambaFaultMapping is faultMapping for the world's accounts in AD: the
// anchor is objectGUID, the account name sAMAccountName, the scope the
// test's own employeeType (other tests count the domain's partners).
const sambaFaultMapping = `version: 1
name: fault-partners-ad
anchor:
  attributes: [objectGUID]
scope:
  - clauses:
      - {attribute: employeeType, operator: EQUALS, value: %q}
flows:
  - target: userPrincipalName
    type: expression
    expression: Join("@", [sAMAccountName], "partners.contoso.com")
  - {target: mailNickname, type: direct, source: sAMAccountName}
  - {target: displayName, type: direct, source: cn}
  - {target: mail, type: direct, source: mail}
  - target: accountEnabled
    type: expression
    expression: IIF([description] = "disabled", "False", "True")
    defaultIfNull: "True"
`

// TestFaultsSambaAD runs the world's accounts from the shared Samba AD
// (in an OU of the test's own, removed afterwards; Samba itself is never
// stopped): a baseline; accounts disabled and enabled in AD, read
// incrementally (DirSync) while the emulator injects a mix of every
// fault; then an admin's edits and deletions in the tenant and full
// reads under faults. The invariants after each faulted run, and
// convergence after it.
func TestFaultsSambaAD(t *testing.T) {
	t.Parallel()
	s := sambaEnv(t)
	seed := seedFor(t, "GUESTSYNC_FAULTS_SEED")
	w := newWorld(t, seed, 40, "")

	conn, err := goldap.DialURL(s["URL"])
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.Bind(s["ADMINDN"], s["ADMINPASSWORD"]))
	name := fmt.Sprintf("Faults-%08x", rand.Uint32())
	ou := "OU=" + name + "," + s["BASEDN"]
	kind := "P-" + name
	add := func(dn string, attrs map[string]string) {
		t.Helper()
		req := goldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			req.Attribute(k, []string{v})
		}
		require.NoError(t, conn.Add(req), "add %s", dn)
	}
	add(ou, map[string]string{"objectClass": "organizationalUnit"})
	t.Cleanup(func() {
		if err := conn.Del(goldap.NewDelRequest(ou, []goldap.Control{goldap.NewControlSubtreeDelete()})); err != nil {
			t.Errorf("remove %s: %v", ou, err)
		}
	})
	// sAMAccountNames are domain-wide: each account's uid takes the
	// test's suffix. The unowned guest that held an account's UPN holds
	// the name it had before, so no account clashes here.
	suffix := fmt.Sprintf("%04x", rand.Uint32()&0xffff)
	dnOf := map[*account]string{}
	for _, a := range w.accounts {
		a.uid = "s" + suffix + a.uid
		a.mail = a.uid + "@fabrikam.example"
		a.conflict = false
		dnOf[a] = "CN=" + a.cn + "," + ou
		attrs := map[string]string{"objectClass": "user", "sAMAccountName": a.uid, "employeeType": kind, "mail": a.mail}
		if a.disabled {
			attrs["description"] = "disabled"
		}
		add(dnOf[a], attrs)
	}
	res, err := conn.Search(goldap.NewSearchRequest(ou, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=user)", []string{"sAMAccountName", "objectGUID"}, nil))
	require.NoError(t, err)
	guids := map[string][]byte{}
	for _, e := range res.Entries {
		guids[e.GetAttributeValue("sAMAccountName")] = e.GetRawAttributeValue("objectGUID")
	}
	for _, a := range w.accounts {
		require.Len(t, guids[a.uid], 16, "objectGUID of %s", a.uid)
		copy(a.uuid[:], guids[a.uid])
	}

	require.NoError(t, os.WriteFile(filepath.Join(w.dir, "mapping.yaml"), []byte(fmt.Sprintf(sambaFaultMapping, kind)), 0o600))
	cfg, err := os.ReadFile(w.cfg)
	require.NoError(t, err)
	ldifSource := fmt.Sprintf("source: {kind: ldif}\nldif: {path: %q}\n", w.ldif)
	ldapSource := fmt.Sprintf("source: {kind: ldap}\nldap:\n  url: %q\n  caFile: %q\n  bindDN: %q\n  baseDN: %q\n"+
		"  filter: (&(objectCategory=person)(objectClass=user))\n", s["LDAPS_URL"], s["CAFILE"], s["BINDDN"], ou)
	require.Contains(t, string(cfg), ldifSource)
	require.NoError(t, os.WriteFile(w.cfg, []byte(strings.Replace(string(cfg), ldifSource, ldapSource, 1)), 0o600))
	w.env["GUESTSYNC_LDAP_BINDPASSWORD"] = s["PASSWORD"]

	w.baseline()
	// Accounts disabled and enabled in AD, seen by the next (DirSync)
	// read; an admin's edits and deletions in the tenant.
	for i := range 4 {
		a := w.accounts[w.rng.IntN(len(w.accounts))]
		a.disabled = !a.disabled
		mod := goldap.NewModifyRequest(dnOf[a], nil)
		if a.disabled {
			mod.Replace("description", []string{"disabled"})
		} else {
			mod.Delete("description", nil)
		}
		require.NoError(t, conn.Modify(mod), "change %d: %s", i, dnOf[a])
	}
	f := faultSpec{faults: graphsim.Faults{InternalError: 0.1, Unavailable: 0.1, GatewayTimeout: 0.1, Drop: 0.05,
		Latency: 2 * time.Millisecond, Lag: 4 * time.Second, Seed: seed | 1}, throttle: true}
	w.tn.setFaults(f)
	before := w.tn.snapshot()
	r := w.sync()
	t.Logf("incremental read, faults %s: exit %d, %d faults injected", f, r.code, w.tn.current().Stats().Faults)
	if r.code != exitOK {
		t.Logf("the faulted run:\n%s", r)
	} else {
		require.Contains(t, r.out, "(incremental read", "seed %d: the run after the baseline reads by DirSync\n%s", seed, r)
	}
	w.check(r, before, readGood)
	w.converge()

	// An admin's edits and deletions in the tenant, under the same fault
	// mix, with every read full: an incremental read plans only the
	// accounts that changed in the directory, so it leaves an admin's
	// edit of another account's guest (and a guest a faulted run
	// restored with its old properties) until the next full read.
	w.env["GUESTSYNC_LDAP_INCREMENTAL"] = "off"
	w.tamper(3, 2, 0)
	f.faults.Seed++
	w.tn.setFaults(f)
	before = w.tn.snapshot()
	r = w.sync()
	t.Logf("full read, faults %s: exit %d, %d faults injected", f, r.code, w.tn.current().Stats().Faults)
	if r.code != exitOK {
		t.Logf("the faulted run:\n%s", r)
	}
	w.check(r, before, readGood)
	w.converge()
}
