package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
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
