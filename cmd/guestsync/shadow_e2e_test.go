package main

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The acceptance tests of issue #13 (guests to shadow accounts), through
// the CLI: a config file, `guestsync sync` and `plan`, the emulated tenant
// as the source and the shared Samba AD DC as the target. Each test has
// its own tenant, OU and owner (see shadowWorld).

// validSAM is what Active Directory accepts as a user's sAMAccountName,
// and what guestsync's mapping promises on top (lower case, a-z 0-9 . _
// -): at most 20 characters, none of " [ ] : ; | = + * ? < > / \ , @, no
// final dot.
var validSAM = regexp.MustCompile(`^[a-z0-9._-]{1,20}$`)

// TestShadowFirstSyncOf300Guests: 300 guests, some with diacritics in
// their names, display names longer than a cn may be, UPN local parts
// longer than a sAMAccountName may be, and two whose derived
// sAMAccountNames are the same. The first sync makes one whole shadow per
// guest; the second writes nothing at all to the directory.
func TestShadowFirstSyncOf300Guests(t *testing.T) {
	t.Parallel()
	w := newShadowWorld(t)
	names := []struct{ given, sur string }{{"Zoë", "Müller"}, {"Łukasz", "Dvořák"}, {"Søren", "Østergaard"},
		{"François", "Lefèvre"}, {"Siobhán", "Ó Súilleabháin"}, {"Ana", "Núñez"}}
	guests := map[string]guest{} // by id
	add := func(g guest) string {
		id := w.addGuest(g)
		guests[id] = g
		return id
	}
	// The two whose first 20 characters (after the suffix's 8) are the same.
	twinA := add(guest{local: "t" + w.suffix + "samenamed.one_a.example", displayName: "Twin One"})
	twinB := add(guest{local: "t" + w.suffix + "samenamed.two_b.example", displayName: "Twin Two"})
	// Two display names alike in their first 64 characters, the cn's limit.
	long := "Christopher Alexander Montgomery-Smith, Head of Partnerships and Alliances"
	add(guest{local: "l" + w.suffix + "a_fabrikam.com", displayName: long + ", EMEA"})
	add(guest{local: "l" + w.suffix + "b_fabrikam.com", displayName: long + ", APAC"})
	for i := len(guests); i < 300; i++ {
		n := names[i%len(names)]
		g := guest{local: fmt.Sprintf("g%s%03d_fabrikam.com", w.suffix, i), displayName: fmt.Sprintf("%s %s %03d", n.given, n.sur, i),
			givenName: n.given, surname: n.sur}
		switch i % 3 {
		case 1: // a local part far beyond 20 characters
			g.local = fmt.Sprintf("christopher.alexander.%s.%03d_montgomery-smith.example", w.suffix, i)
		case 2: // a display name beyond 64 characters
			g.displayName = fmt.Sprintf("%s %s %03d, Senior Vice President of Strategic Partnerships (Fabrikam)", n.given, n.sur, i)
		}
		add(g)
	}
	require.Len(t, guests, 300)

	out := w.sync()
	assert.Contains(t, out, "Applied: 300 created, 0 updated, 0 failed")
	shadows := w.shadowsIn(w.ou)
	require.Len(t, shadows, 300, "one shadow per guest, in the OU")
	sams := map[string]string{}
	for id, g := range guests {
		e := shadows[w.mark(id)]
		if !assert.NotNil(t, e, "the shadow of %s (%s)", id, g.upn()) {
			continue
		}
		assert.Equal(t, g.upn(), e.GetAttributeValue("userPrincipalName"), e.DN)
		sam := e.GetAttributeValue("sAMAccountName")
		assert.Regexp(t, validSAM, sam, e.DN)
		assert.False(t, strings.HasSuffix(sam, "."), "%s: sAMAccountName %q ends with a dot", e.DN, sam)
		if other, taken := sams[strings.ToLower(sam)]; taken {
			t.Errorf("%s and %s share the sAMAccountName %q", e.DN, other, sam)
		}
		sams[strings.ToLower(sam)] = e.DN
		assert.EqualValues(t, 0x40200, uac(t, e), "%s: NORMAL_ACCOUNT | SMARTCARD_REQUIRED", e.DN)
		assert.NotContains(t, []string{"", "0"}, e.GetAttributeValue("pwdLastSet"), "%s: a password was set", e.DN)
		assert.Equal(t, g.displayName, e.GetAttributeValue("displayName"), e.DN)
		assert.LessOrEqual(t, utf8.RuneCountInString(e.GetAttributeValue("cn")), 64, e.DN)
		if g.givenName != "" {
			assert.Equal(t, g.givenName, e.GetAttributeValue("givenName"), e.DN)
			assert.Equal(t, g.surname, e.GetAttributeValue("sn"), e.DN)
		}
	}
	// The twins: the first candidate for one, the next for the other.
	a, b := shadows[w.mark(twinA)], shadows[w.mark(twinB)]
	require.NotNil(t, a)
	require.NotNil(t, b)
	first := "t" + w.suffix + "samenamed.o"
	got := []string{a.GetAttributeValue("sAMAccountName"), b.GetAttributeValue("sAMAccountName")}
	assert.Contains(t, got, first[:20], "one twin has the name cut to 20 characters")
	assert.NotEqual(t, got[0], got[1])

	// The second sync (incremental: users/delta) and a full one: nothing
	// to do, and not one object written.
	usn := w.highestUSN()
	out = w.sync()
	assert.Contains(t, out, "No changes: 0 shadow accounts up to date, 0 skipped, 0 out of scope. (incremental read")
	out = w.sync("--full")
	assert.Contains(t, out, "No changes: 300 shadow accounts up to date, 0 skipped, 0 out of scope.")
	assert.Empty(t, w.changedSince(usn), "the syncs after the first wrote to the directory")
	assert.Len(t, w.search(w.ou, goldap.ScopeWholeSubtree, "(objectClass=user)", "1.1"), 300, "no object added or removed")
}

// TestShadowRenamedGuest: a guest's displayName and UPN change in the
// tenant; the next sync updates and renames the same shadow (the same
// objectGUID), keeping its sAMAccountName (set once, at creation).
func TestShadowRenamedGuest(t *testing.T) {
	t.Parallel()
	w := newShadowWorld(t)
	ann := w.addGuest(guest{local: "ann" + w.suffix + "_fabrikam.com", displayName: "Ann Lee", givenName: "Ann", surname: "Lee"})
	w.plainGuests(2)
	out := w.sync()
	require.Contains(t, out, "Applied: 3 created, 0 updated, 0 failed")
	before := w.shadow(ann)
	require.NotNil(t, before)
	require.True(t, directlyIn(t, before.DN, w.ou), before.DN)

	newUPN := "ann.lee" + w.suffix + "_fabrikam.com#EXT#@" + shadowTenantDomain
	w.call("PATCH", "/users/"+ann, map[string]any{"displayName": "Ann Lee-Müller (Fabrikam)", "userPrincipalName": newUPN})
	usn := w.highestUSN()
	out = w.sync()
	assert.Contains(t, out, `"Ann Lee" → "Ann Lee-Müller (Fabrikam)"`)
	assert.Contains(t, out, "Applied: 0 created, 1 updated, 0 failed")
	after := w.shadow(ann)
	require.NotNil(t, after)
	assert.Equal(t, before.GetRawAttributeValue("objectGUID"), after.GetRawAttributeValue("objectGUID"), "the same shadow")
	assert.Equal(t, newUPN, after.GetAttributeValue("userPrincipalName"))
	assert.Equal(t, "Ann Lee-Müller (Fabrikam)", after.GetAttributeValue("displayName"))
	assert.Equal(t, "Ann Lee-Müller (Fabrikam)", after.GetAttributeValue("cn"))
	assert.Equal(t, "CN=Ann Lee-Müller (Fabrikam),"+w.ou, after.DN, "renamed (modrdn) in place")
	assert.Contains(t, after.GetAttributeValue("description"), newUPN)
	assert.Equal(t, before.GetAttributeValue("sAMAccountName"), after.GetAttributeValue("sAMAccountName"))
	assert.EqualValues(t, 0x40200, uac(t, after))
	assert.Equal(t, []string{after.DN}, w.changedSince(usn), "the renamed shadow, and nothing else, was written")
	assert.Len(t, w.shadowsIn(w.ou), 3, "no shadow added")

	out = w.sync("--full")
	assert.Contains(t, out, "No changes: 3 shadow accounts up to date")
}

// TestShadowGroupScopeLifecycle: guests in scope through a group. One
// leaves the group: its shadow is disabled and moved to the disabled OU;
// it comes back: enabled and moved back. One is deleted in the tenant:
// disabled, then, past deleteAfter, deleted in AD. Then 600 of the 700
// left the group at once: sync stops at the removal threshold (500, the
// default) with exit 3, and nothing in AD changed.
func TestShadowGroupScopeLifecycle(t *testing.T) {
	t.Parallel()
	w := newShadowWorld(t)
	// Where the time goes, in the log (never asserted).
	start := time.Now()
	step := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }
	ids := w.plainGuests(701)
	group := w.group(ids...)
	outside := w.addGuest(guest{local: "x" + w.suffix + "_fabrikam.com", displayName: "Not In The Group"})
	w.configure(fmt.Sprintf("{scope: groups, groups: [%s]}", group), "")
	step("tenant made")
	out := w.sync()
	step("first sync")
	require.Contains(t, out, "Applied: 701 created, 0 updated, 0 failed")
	require.Len(t, w.shadowsIn(w.ou), 701)
	assert.Nil(t, w.shadow(outside), "a guest outside the group has no shadow")

	leaver, deleted := ids[0], ids[700]
	w.removeMember(group, leaver)
	out = w.sync()
	assert.Contains(t, out, "Applied: 0 created, 0 updated, 1 disabled, 0 failed")
	e := w.shadow(leaver)
	require.NotNil(t, e)
	assert.True(t, directlyIn(t, e.DN, w.disabled), "moved to the disabled OU: %s", e.DN)
	assert.EqualValues(t, 0x40202, uac(t, e), "disabled: ACCOUNTDISABLE added, nothing else changed")

	step("left the group")
	w.addMember(group, leaver)
	out = w.sync()
	step("back in the group")
	assert.Contains(t, out, "Applied: 0 created, 1 updated, 0 failed")
	e = w.shadow(leaver)
	require.NotNil(t, e)
	assert.True(t, directlyIn(t, e.DN, w.ou), "moved back: %s", e.DN)
	assert.EqualValues(t, 0x40200, uac(t, e), "enabled again")

	w.call("DELETE", "/users/"+deleted, nil)
	out = w.sync()
	assert.Contains(t, out, "1 disabled")
	e = w.shadow(deleted)
	require.NotNil(t, e, "a deleted guest's shadow is kept disabled during the grace period")
	assert.True(t, directlyIn(t, e.DN, w.disabled), e.DN)
	// The grace period is over (a shorter one for this run, rather than a
	// sleep that a slow machine could outrun).
	w.env["GUESTSYNC_POLICY_DELETEAFTER"] = "1ns"
	out = w.sync("--full")
	delete(w.env, "GUESTSYNC_POLICY_DELETEAFTER")
	assert.Contains(t, out, "Applied: 0 created, 0 updated, 1 deleted, 0 failed")
	assert.Nil(t, w.shadow(deleted), "deleted in AD")
	require.Len(t, w.shadowsIn(w.ou), 700)
	step("deleted in the tenant")

	// 600 of the 700 leave the scope at once.
	for _, id := range ids[100:700] {
		w.removeMember(group, id)
	}
	step("600 left the group")
	usn := w.highestUSN()
	code, out, stderr := w.run("plan")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "600 to disable")
	assert.Contains(t, out, "over the removal threshold of 500")
	step("plan")
	code, out, stderr = w.run("sync")
	step("sync stopped")
	assert.Equal(t, exitRail, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, stderr, "the plan removes 600 shadow accounts, over the removal threshold of 500")
	assert.Empty(t, w.changedSince(usn), "a stopped sync changes nothing")
	shadows := w.shadowsIn(w.ou)
	assert.Len(t, shadows, 700, "every shadow still in the OU")
	for _, e := range shadows {
		assert.EqualValues(t, 0x40200, uac(t, e), "%s is still enabled", e.DN)
	}
}

// TestShadowClashWithUnownedUser: users of the domain that guestsync does
// not own hold names the mapping would give two guests. The one whose
// derived sAMAccountName is taken gets the mapping's next candidate; the
// one whose UPN is taken (AD keeps UPNs unique) is skipped, and the plan
// names the object in the way. Neither object is touched.
func TestShadowClashWithUnownedUser(t *testing.T) {
	t.Parallel()
	w := newShadowWorld(t)
	others := "OU=others," + w.ou
	req := goldap.NewAddRequest(others, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	require.NoError(t, w.admin.Add(req))

	samGuest := guest{local: "u" + w.suffix + "_fabrikam.com", displayName: "Uma Unowned"}
	upnGuest := guest{local: "v" + w.suffix + "_fabrikam.com", displayName: "Vic Unowned"}
	derived := strings.ToLower(samGuest.local)[:20]
	samHolder := "CN=Someone Else " + w.suffix + "," + others
	upnHolder := "CN=Someone Else Too " + w.suffix + "," + others
	for dn, attrs := range map[string]map[string]string{
		samHolder: {"sAMAccountName": derived, "description": "an admin's own account"},
		upnHolder: {"sAMAccountName": "w" + w.suffix, "userPrincipalName": upnGuest.upn()},
	} {
		req := goldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"user"})
		for k, v := range attrs {
			req.Attribute(k, []string{v})
		}
		require.NoError(t, w.admin.Add(req), dn)
	}
	all := []string{"*", "uSNChanged", "whenChanged"}
	before := map[string]*goldap.Entry{}
	for _, dn := range []string{samHolder, upnHolder} {
		before[dn] = w.search(dn, goldap.ScopeBaseObject, "(objectClass=*)", all...)[0]
	}

	samID := w.addGuest(samGuest)
	upnID := w.addGuest(upnGuest)
	w.plainGuests(1)

	code, out, stderr := w.run("plan")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "skip "+upnID+": conflict: userPrincipalName \""+upnGuest.upn()+"\" is used by object "+upnHolder+
		", which guestsync does not manage", "the plan names the object in the way")
	assert.Contains(t, out, `sAMAccountName         "`+derived[:11]+"-"+samID[:8]+`"`)
	assert.Contains(t, out, "Plan: 2 to create, 0 to update, 0 unchanged, 1 skipped, 0 out of scope.")

	out = w.sync()
	assert.Contains(t, out, "Applied: 2 created, 0 updated, 0 failed")
	e := w.shadow(samID)
	require.NotNil(t, e)
	assert.Equal(t, derived[:11]+"-"+samID[:8], e.GetAttributeValue("sAMAccountName"), "the mapping's next candidate")
	assert.Nil(t, w.shadow(upnID), "no shadow for a guest whose UPN someone else holds")

	for dn, was := range before {
		now := w.search(dn, goldap.ScopeBaseObject, "(objectClass=*)", all...)[0]
		assert.Equal(t, was.GetAttributeValue("uSNChanged"), now.GetAttributeValue("uSNChanged"), "%s was written", dn)
		for _, a := range was.Attributes {
			assert.Equal(t, a.Values, now.GetAttributeValues(a.Name), "%s: %s", dn, a.Name)
		}
		assert.Len(t, now.Attributes, len(was.Attributes), dn)
	}
}

// TestShadowPlainLDAPRefused: an AD URL of plain LDAP without StartTLS is
// refused by validate, plan and sync before anything is sent, to AD or
// to Graph: a shadow's password must never travel in the clear.
func TestShadowPlainLDAPRefused(t *testing.T) {
	t.Parallel()
	w := newShadowWorld(t)
	w.plainGuests(1)
	// A listener that counts who connects to it: nobody may.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var connections atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connections.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	w.env["GUESTSYNC_AD_URL"] = "ldap://" + ln.Addr().String()
	graphRequests := w.requests.Load()
	// validate exits 1 for the problems it lists; plan and sync exit 2,
	// as for any configuration problem.
	for cmd, want := range map[string]int{"validate": exitFailed, "plan": exitUsage, "sync": exitUsage} {
		code, out, stderr := w.run(cmd)
		assert.Equal(t, want, code, "%s: stdout:\n%s\nstderr:\n%s", cmd, out, stderr)
		assert.Contains(t, out+stderr, "is plain LDAP: shadows are written only over ldaps:// or with ad.startTLS", cmd)
	}
	assert.Zero(t, connections.Load(), "a connection reached the plain LDAP server")
	assert.Equal(t, graphRequests, w.requests.Load(), "a request reached Graph")

	// The same URL scheme with StartTLS, against Samba: written.
	w.env["GUESTSYNC_AD_URL"] = w.samba["URL"]
	w.env["GUESTSYNC_AD_STARTTLS"] = "true"
	out := w.sync()
	assert.Contains(t, out, "Applied: 1 created, 0 updated, 0 failed")
}
