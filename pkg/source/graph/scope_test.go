package graph

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
	graphclient "github.com/guestsync/guestsync/pkg/target/graph"
)

// Unit tests of the group and application scopes against fake (see
// fake_test.go). The same scenarios against guestsync's emulator wait for
// it to serve groups, groups/delta and service principals.

func (f *fake) reader(t *testing.T, opts Options) *Reader {
	t.Helper()
	c, err := graphclient.New(graphclient.Options{URL: f.root, Credential: graphclient.StaticToken("t0ken")})
	require.NoError(t, err)
	r, err := New(c, opts, nil)
	require.NoError(t, err)
	return r
}

func full(t *testing.T, r *Reader) (source.Result, map[string]source.Entry) {
	t.Helper()
	res, entries := read(t, func(fn func(source.Entry) error) (source.Result, error) { return r.Read(context.Background(), fn) })
	require.True(t, res.Complete)
	require.False(t, res.Incremental)
	return res, byDN(entries)
}

func changes(t *testing.T, r *Reader, mark string) (source.Result, map[string]source.Entry) {
	t.Helper()
	res, entries := read(t, func(fn func(source.Entry) error) (source.Result, error) {
		return r.ReadChanges(context.Background(), mark, fn)
	})
	require.True(t, res.Complete)
	require.True(t, res.Incremental)
	require.Len(t, byDN(entries), len(entries), "each object once")
	return res, byDN(entries)
}

// states names each entry's state for comparing: "entry" or "gone".
func states(entries map[string]source.Entry) map[string]string {
	out := map[string]string{}
	for dn, e := range entries {
		out[dn] = "entry"
		if e.Deleted {
			out[dn] = "gone"
		}
	}
	return out
}

func TestGroupScope(t *testing.T) {
	t.Parallel()
	testGroupScope(t, newFake(t))
}

func TestApplicationScope(t *testing.T) {
	t.Parallel()
	testApplicationScope(t, newFake(t))
}

// The same scenarios against guestsync's emulator, through the documented
// calls an admin's script makes.
func TestScopesOnEmulator(t *testing.T) {
	t.Parallel()
	require.True(t, newTenant(t).servesGroups(), "the emulator serves groups and applications")
	t.Run("groups", func(t *testing.T) { t.Parallel(); testGroupScope(t, newTenant(t)) })
	t.Run("application", func(t *testing.T) { t.Parallel(); testApplicationScope(t, newTenant(t)) })
}

func testGroupScope(t *testing.T, f admin) {
	ann := f.user("ann", "Guest", true)
	bob := f.user("bob", "Guest", true)
	cid := f.user("cid", "Guest", false) // disabled
	mia := f.user("mia", "Member", true)
	out := f.user("out", "Guest", true) // in no group
	nested := f.group(bob, cid)
	top := f.group(ann, mia, nested)
	r := f.newReader(t, Options{Scope: ScopeGroups, Groups: []string{top}})
	require.NoError(t, r.Check(context.Background()))
	err := f.newReader(t, Options{Scope: ScopeGroups, Groups: []string{top, missingID}}).Check(context.Background())
	assert.ErrorContains(t, err, "group "+missingID+" does not exist")

	res, got := full(t, r)
	assert.Equal(t, map[string]string{ann: "entry", bob: "entry"}, states(got), "nested members count; members, disabled guests and others do not")
	assert.Equal(t, []string{"ann_fabrikam.com#EXT#@contoso.com"}, got[ann].Values("userPrincipalName"))
	assert.Equal(t, 2, res.Entries)

	// Nothing changed: the members are not read again.
	casts := f.count("/transitiveMembers/")
	res, got = changes(t, r, res.Watermark)
	assert.Empty(t, got)
	assert.Equal(t, casts, f.count("/transitiveMembers/"), "no membership change, no membership read")

	// Users change without any membership change.
	f.set(ann, "displayName", "Ann Lefèvre")
	f.set(mia, "userType", "Guest")       // a member of the group turned guest
	f.set(out, "displayName", "Outsider") // not in scope
	f.set(bob, "accountEnabled", false)
	res, got = changes(t, r, res.Watermark)
	assert.Equal(t, map[string]string{ann: "entry", mia: "entry", bob: "gone"}, states(got))
	assert.Equal(t, []string{"Ann Lefèvre"}, got[ann].Values("displayName"))
	assert.Equal(t, casts, f.count("/transitiveMembers/"))

	// Membership changes, in the group and in the nested group.
	f.set(bob, "accountEnabled", true)
	f.removeMember(top, ann)
	f.addMember(nested, out)
	res, got = changes(t, r, res.Watermark)
	assert.Equal(t, map[string]string{ann: "gone", out: "entry", bob: "entry"}, states(got))
	assert.Equal(t, []string{ann}, got[ann].Values("id"))

	// A group nested later is followed from then on.
	dan := f.user("dan", "Guest", true)
	later := f.group(dan)
	f.addMember(top, later)
	res, got = changes(t, r, res.Watermark)
	assert.Equal(t, map[string]string{dan: "entry"}, states(got))
	eve := f.user("eve", "Guest", true)
	f.addMember(later, eve)
	res, got = changes(t, r, res.Watermark)
	assert.Equal(t, map[string]string{eve: "entry"}, states(got), "a change in the newly nested group is seen")

	// A guest in scope deleted.
	f.deleteUser(eve)
	res, got = changes(t, r, res.Watermark)
	assert.Equal(t, map[string]string{eve: "gone"}, states(got))

	// The watermark now remembers exactly the members in scope.
	w, err := decodeWatermark(res.Watermark)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{bob, cid, mia, out, dan}, w.Members)
	assert.ElementsMatch(t, []string{top, nested, later}, trackedGroups(w.Groups))

	// A full read agrees with what the changes said.
	_, got = full(t, r)
	assert.Equal(t, map[string]string{bob: "entry", mia: "entry", out: "entry", dan: "entry"}, states(got))

	// A nested group deleted: its members leave the scope, and it is no
	// longer followed.
	f.deleteGroup(later)
	res, got = changes(t, r, res.Watermark)
	assert.Equal(t, map[string]string{dan: "gone"}, states(got))
	w, err = decodeWatermark(res.Watermark)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{top, nested}, trackedGroups(w.Groups))
}

func testApplicationScope(t *testing.T, f admin) {
	ann := f.user("ann", "Guest", true)  // assigned directly
	bob := f.user("bob", "Guest", true)  // in an assigned group
	cid := f.user("cid", "Guest", true)  // in a group nested in it: not assigned
	mia := f.user("mia", "Member", true) // assigned directly, not a guest
	gone := f.user("gone", "Guest", true)
	nested := f.group(cid)
	assigned := f.group(bob, nested)
	sp := f.servicePrincipal()
	f.assign(sp, ann, "User")
	f.assign(sp, mia, "User")
	f.assign(sp, assigned, "Group")
	f.assign(sp, f.servicePrincipal(), "ServicePrincipal")
	f.assign(sp, gone, "User")
	f.deleteUser(gone) // an assignment of a user since deleted
	r := f.newReader(t, Options{Scope: ScopeApplication, ServicePrincipal: sp})
	require.NoError(t, r.Check(context.Background()))
	err := f.newReader(t, Options{Scope: ScopeApplication, ServicePrincipal: missingID}).Check(context.Background())
	assert.ErrorContains(t, err, "service principal "+missingID+" does not exist")

	res, got := full(t, r)
	assert.Equal(t, map[string]string{ann: "entry", bob: "entry"}, states(got),
		"users assigned directly and direct members of assigned groups; nested groups do not cascade")

	res, got = changes(t, r, res.Watermark)
	assert.Empty(t, got)

	// Assignments change.
	dan := f.user("dan", "Guest", true)
	f.unassign(sp, ann)
	f.assign(sp, dan, "User")
	res, got = changes(t, r, res.Watermark)
	assert.Equal(t, map[string]string{ann: "gone", dan: "entry"}, states(got))

	// An assigned group's direct members change; the nested group's do not count.
	eve := f.user("eve", "Guest", true)
	fay := f.user("fay", "Guest", true)
	f.addMember(assigned, eve)
	f.addMember(nested, fay)
	f.removeMember(assigned, bob)
	res, got = changes(t, r, res.Watermark)
	assert.Equal(t, map[string]string{eve: "entry", bob: "gone"}, states(got))

	// A group assigned later is followed from then on.
	later := f.group()
	f.assign(sp, later, "Group")
	res, got = changes(t, r, res.Watermark)
	assert.Empty(t, got)
	f.addMember(later, fay)
	res, got = changes(t, r, res.Watermark)
	assert.Equal(t, map[string]string{fay: "entry"}, states(got))

	_, got = full(t, r)
	assert.Equal(t, map[string]string{dan: "entry", eve: "entry", fay: "entry"}, states(got))
}

func TestUsersLinkFromNow(t *testing.T) {
	t.Parallel()
	for _, latest := range []bool{true, false} {
		f := newFake(t)
		f.noLatest = !latest
		for i := range 5 {
			f.user(fmt.Sprint("user", i), "Member", true)
		}
		ann := f.user("ann", "Guest", true)
		g := f.group(ann)
		res, got := full(t, f.reader(t, Options{Scope: ScopeGroups, Groups: []string{g}}))
		assert.Len(t, got, 1)
		if latest {
			assert.Equal(t, 1, f.count("GET /users/delta()"), "the link comes without the tenant's users ($deltatoken=latest)")
		} else {
			assert.Equal(t, 1+3, f.count("GET /users/delta()"), "refused, then the initial round's three pages")
		}
		f.set(ann, "displayName", "Ann")
		_, got = changes(t, f.reader(t, Options{Scope: ScopeGroups, Groups: []string{g}}), res.Watermark)
		assert.Len(t, got, 1, "the link reads the changes after it")
	}
}

func TestMembershipReadLag(t *testing.T) {
	t.Parallel()
	for _, scope := range []string{ScopeGroups, ScopeApplication} {
		f := newFake(t)
		ann := f.user("ann", "Guest", true)
		g := f.group(ann)
		opts := Options{Scope: scope, Groups: []string{g}}
		if scope == ScopeApplication {
			sp := newID('c')
			f.assign(sp, g, "Group")
			opts = Options{Scope: scope, ServicePrincipal: sp}
		}
		r := f.reader(t, opts)
		res, _ := full(t, r)

		bob := f.user("bob", "Guest", true)
		f.addMember(g, bob)
		f.mu.Lock()
		f.lagging = map[string]bool{bob: true}
		f.mu.Unlock()
		res, got := changes(t, r, res.Watermark)
		assert.Equal(t, map[string]string{bob: "entry"}, states(got), "%s: groups/delta said bob was added; the membership read lags", scope)
		assert.Equal(t, []string{"bob_fabrikam.com#EXT#@contoso.com"}, got[bob].Values("userPrincipalName"), scope)
		w, err := decodeWatermark(res.Watermark)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{ann, bob}, w.Members, scope)
	}
}

func TestReadFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	discard := func(source.Entry) error { return nil }
	f := newFake(t)
	ann := f.user("ann", "Guest", true)
	g := f.group(ann)
	sp := newID('c')
	f.assign(sp, ann, "User")

	tests := []struct {
		name    string
		opts    Options
		deny    string
		noDelta bool
		want    string
	}{
		{"assignments refused", Options{Scope: ScopeApplication, ServicePrincipal: sp}, "appRoleAssignedTo", false, "Application.Read.All"},
		{"membership refused", Options{Scope: ScopeGroups, Groups: []string{g}}, "transitiveMembers", false, "GroupMember.Read.All"},
		{"users refused", Options{}, "users/delta", false, "User.Read.All"},
		{"group deleted", Options{Scope: ScopeGroups, Groups: []string{newID('e')}}, "", false, "does not exist"},
		{"service principal deleted", Options{Scope: ScopeApplication, ServicePrincipal: newID('e')}, "", false, "does not exist"},
		{"round without deltaLink", Options{}, "", true, "neither @odata.nextLink nor @odata.deltaLink"},
	}
	for _, tc := range tests {
		f.mu.Lock()
		f.deny, f.noDelta = tc.deny, tc.noDelta
		f.mu.Unlock()
		res, err := f.reader(t, tc.opts).Read(ctx, discard)
		require.Error(t, err, tc.name)
		assert.Contains(t, err.Error(), tc.want, tc.name)
		assert.False(t, res.Complete, tc.name)
		assert.NotEmpty(t, res.Incomplete, tc.name)
	}

	// An incremental read that fails says so too.
	f.mu.Lock()
	f.deny, f.noDelta = "", false
	f.mu.Unlock()
	r := f.reader(t, Options{Scope: ScopeGroups, Groups: []string{g}})
	res, err := r.Read(ctx, discard)
	require.NoError(t, err)
	f.addMember(g, f.user("bob", "Guest", true))
	f.mu.Lock()
	f.deny = "transitiveMembers"
	f.mu.Unlock()
	res, err = r.ReadChanges(ctx, res.Watermark, discard)
	require.Error(t, err)
	assert.False(t, res.Complete)
	assert.True(t, res.Incremental)
	assert.Contains(t, res.Incomplete, "GroupMember.Read.All")

	// A scoping group deleted: the read fails and names it, rather than
	// reading an empty scope that would remove every shadow.
	f.mu.Lock()
	f.deny = ""
	f.mu.Unlock()
	res, err = r.Read(ctx, discard)
	require.NoError(t, err)
	f.deleteGroup(g)
	res, err = r.ReadChanges(ctx, res.Watermark, discard)
	require.Error(t, err)
	assert.False(t, res.Complete)
	assert.Contains(t, err.Error(), "group "+g+" does not exist")
}

func TestOptions(t *testing.T) {
	t.Parallel()
	c, err := graphclient.New(graphclient.Options{URL: "http://127.0.0.1:1/v1.0", Credential: graphclient.StaticToken("t")})
	require.NoError(t, err)
	g := "0c0c1f4b-8c55-4a1e-9a3c-1d2e3f405162"
	for name, tc := range map[string]struct {
		opts Options
		want []string
	}{
		"unknown scope":           {Options{Scope: "everyone"}, []string{`scope must be all, groups or application, not "everyone"`}},
		"groups without groups":   {Options{Scope: ScopeGroups}, []string{"at least one group id"}},
		"group not an id":         {Options{Scope: ScopeGroups, Groups: []string{g, "Partners' Group"}}, []string{`groups[1]: "Partners' Group" is not an object id`}},
		"app without sp":          {Options{Scope: ScopeApplication}, []string{"service principal"}},
		"all with groups":         {Options{Groups: []string{g}}, []string{"groups and servicePrincipal must be empty"}},
		"bad property, bad scope": {Options{Scope: "x", Properties: []string{"a,b"}}, []string{"scope must be", `properties[0]: "a,b"`}},
	} {
		_, err := New(c, tc.opts, nil)
		require.Error(t, err, name)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w, name)
		}
	}
	_, err = New(c, Options{Scope: ScopeGroups, Groups: []string{g}}, nil)
	assert.NoError(t, err)
}

func TestCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFake(t)
	ann := f.user("ann", "Guest", true)
	g := f.group(ann)
	sp := newID('c')
	f.assign(sp, g, "Group")
	groups := f.reader(t, Options{Scope: ScopeGroups, Groups: []string{g}})
	app := f.reader(t, Options{Scope: ScopeApplication, ServicePrincipal: sp})
	all := f.reader(t, Options{})
	for _, r := range []*Reader{groups, app, all} {
		assert.NoError(t, r.Check(ctx))
	}

	for _, tc := range []struct {
		r          *Reader
		deny, want string
	}{
		{all, "/users", "grant the application the User.Read.All permission"},
		{groups, "/transitiveMembers/", "grant the application the GroupMember.Read.All permission"},
		{app, "/appRoleAssignedTo", "grant the application the Application.Read.All permission"},
		{app, "/members/", "grant the application the GroupMember.Read.All permission"},
	} {
		f.mu.Lock()
		f.deny = tc.deny
		f.mu.Unlock()
		err := tc.r.Check(ctx)
		require.Error(t, err, tc.deny)
		assert.Contains(t, err.Error(), tc.want)
	}
	f.mu.Lock()
	f.deny = ""
	f.mu.Unlock()
	missing := newID('e')
	err := f.reader(t, Options{Scope: ScopeGroups, Groups: []string{g, missing}}).Check(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "group "+missing+" does not exist")
}
