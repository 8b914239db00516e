package graphsim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

func userRef(id string) map[string]any {
	return map[string]any{"@odata.type": "#microsoft.graph.user", "id": id}
}

func removedRef(kind, id string) map[string]any {
	return map[string]any{"@odata.type": "#microsoft.graph." + kind, "id": id, "@removed": map[string]any{"reason": "deleted"}}
}

// byID indexes delta entries by id.
func byID(entries []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, e := range entries {
		out[e["id"].(string)] = e
	}
	return out
}

func TestGroupDeltaMembers(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	partners, empty, gone := tn.group("partners"), tn.group("empty"), tn.group("gone")
	inner := tn.group("inner")
	ann, bob, cat := tn.user("ann", nil), tn.user("bob", nil), tn.user("cat", nil)
	for _, m := range [][2]string{{partners, ann}, {partners, bob}, {partners, inner}, {gone, ann}} {
		require.Equal(t, http.StatusNoContent, tn.addMember(m[0], m[1]).status)
	}

	entries, sizes, link := deltaRound(tn, "/v1.0/groups/delta?$select=displayName,members", "Prefer", "odata.maxpagesize=2")
	assert.Equal(t, []int{2, 2}, sizes)
	got := byID(entries)
	require.Len(t, got, 4)
	assert.Equal(t, map[string]any{"id": partners, "displayName": "partners", "members@delta": []any{
		userRef(ann), userRef(bob), map[string]any{"@odata.type": "#microsoft.graph.group", "id": inner}}}, got[partners])
	assert.Equal(t, map[string]any{"id": empty, "displayName": "empty"}, got[empty], "no members, no members@delta")

	// Nothing changed: an empty round.
	entries, _, link = deltaRound(tn, strings.TrimPrefix(link, tn.srv.URL))
	assert.Empty(t, entries)

	// A member removed, one added, a member user deleted, a group deleted,
	// a group created.
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/groups/"+partners+"/members/"+bob+"/$ref", nil).status)
	require.Equal(t, http.StatusNoContent, tn.addMember(partners, cat).status)
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/users/"+ann, nil).status)
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/groups/"+gone, nil).status)
	fresh := tn.group("fresh")

	entries, _, link = deltaRound(tn, strings.TrimPrefix(link, tn.srv.URL))
	got = byID(entries)
	require.Len(t, got, 3, "%v", entries)
	assert.Equal(t, map[string]any{"id": partners, "displayName": "partners", "members@delta": []any{
		removedRef("user", bob), userRef(cat), removedRef("user", ann)}}, got[partners])
	assert.Equal(t, map[string]any{"id": gone, "@removed": map[string]any{"reason": "deleted"}}, got[gone])
	assert.Equal(t, map[string]any{"id": fresh, "displayName": "fresh"}, got[fresh])

	// A restored user is a member again.
	require.Equal(t, http.StatusOK, tn.request(http.MethodPost, "/v1.0/directory/deletedItems/"+ann+"/restore", nil).status)
	entries, _, _ = deltaRound(tn, strings.TrimPrefix(link, tn.srv.URL))
	require.Len(t, entries, 1)
	assert.Equal(t, []any{userRef(ann)}, entries[0]["members@delta"])
}

func TestGroupDeltaQueryOptions(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	a, b := tn.group("a"), tn.group("b")
	ann := tn.user("ann", nil)
	require.Equal(t, http.StatusNoContent, tn.addMember(a, ann).status)

	// Without $select: the default properties and members@delta.
	entries, _, _ := deltaRound(tn, "/v1.0/groups/delta")
	require.Len(t, entries, 2)
	assert.Equal(t, "a", entries[0]["displayName"])
	assert.Equal(t, []any{userRef(ann)}, entries[0]["members@delta"])
	// $select without members: no members@delta.
	entries, _, _ = deltaRound(tn, "/v1.0/groups/delta?$select=displayName")
	assert.NotContains(t, entries[0], "members@delta")
	// $select=members alone: the id and members@delta.
	entries, _, _ = deltaRound(tn, "/v1.0/groups/delta?$select=members")
	assert.Equal(t, map[string]any{"id": a, "members@delta": []any{userRef(ann)}}, entries[0])

	// $filter on ids.
	entries, _, link := deltaRound(tn, "/v1.0/groups/delta?$filter=id%20eq%20'"+b+"'")
	assert.Equal(t, []string{b}, []string{entries[0]["id"].(string)})
	require.Equal(t, http.StatusNoContent, tn.addMember(a, tn.user("bob", nil)).status)
	entries, _, _ = deltaRound(tn, strings.TrimPrefix(link, tn.srv.URL))
	assert.Empty(t, entries, "a change of a group outside the filter")
	requireError(t, tn.get("/v1.0/groups/delta?$filter=displayName%20eq%20'a'"), 400, "Request_UnsupportedQuery",
		"groups/delta supports only $filter=id eq '{id}', several joined by 'or'.")

	// A users/delta token is not a groups/delta token, and a foreign or
	// altered one has no sync state here.
	_, _, usersLink := deltaRound(tn, "/v1.0/users/delta")
	token := usersLink[strings.Index(usersLink, "$deltatoken=")+len("$deltatoken="):]
	requireError(t, tn.get("/v1.0/groups/delta?$deltatoken="+token), 400, "Request_BadRequest", "Invalid $deltatoken value.")
	_, _, groupsLink := deltaRound(tn, "/v1.0/groups/delta")
	other := newTenantWith(t, graphsim.Options{})
	requireError(t, other.get(strings.TrimPrefix(groupsLink, tn.srv.URL)), 400, "syncStateNotFound",
		"The sync state generation is not found. The delta token is expired and data must be synchronized again.")
}

// TestUsersDeltaFilterByID: users/delta follows the users its $filter
// names, in the first round and in later ones.
func TestUsersDeltaFilterByID(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	ann, bob, cat := tn.user("ann", nil), tn.user("bob", nil), tn.user("cat", nil)
	filter := "$filter=id%20eq%20'" + ann + "'%20or%20id%20eq%20'" + strings.ToUpper(cat) + "'"
	entries, _, link := deltaRound(tn, "/v1.0/users/delta?$select=displayName&"+filter)
	assert.Equal(t, []string{ann, cat}, []string{entries[0]["id"].(string), entries[1]["id"].(string)})

	for _, id := range []string{ann, bob} {
		r := tn.request(http.MethodPatch, "/v1.0/users/"+id, map[string]any{"displayName": "changed"})
		require.Equal(t, http.StatusNoContent, r.status)
	}
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/users/"+cat, nil).status)
	entries, _, _ = deltaRound(tn, strings.TrimPrefix(link, tn.srv.URL))
	assert.Equal(t, []map[string]any{{"id": ann, "displayName": "changed"},
		{"id": cat, "@removed": map[string]any{"reason": "changed"}}}, entries)
}

// TestDeltaSyncFromNow: $deltatoken=latest answers no objects and a
// deltaLink that reports what changes afterwards, keeping the query.
func TestDeltaSyncFromNow(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	g := tn.group("partners")
	ann := tn.user("ann", nil)
	entries, sizes, users := deltaRound(tn, "/v1.0/users/delta?$select=displayName&$deltatoken=latest")
	assert.Empty(t, entries)
	assert.Equal(t, []int{0}, sizes)
	entries, _, groups := deltaRound(tn, "/v1.0/groups/delta?$select=members&$deltaToken=latest")
	assert.Empty(t, entries)

	require.Equal(t, http.StatusNoContent, tn.addMember(g, ann).status)
	r := tn.request(http.MethodPatch, "/v1.0/users/"+ann, map[string]any{"displayName": "Ann"})
	require.Equal(t, http.StatusNoContent, r.status)
	entries, _, _ = deltaRound(tn, strings.TrimPrefix(users, tn.srv.URL))
	assert.Equal(t, []map[string]any{{"id": ann, "displayName": "Ann"}}, entries)
	entries, _, _ = deltaRound(tn, strings.TrimPrefix(groups, tn.srv.URL))
	assert.Equal(t, []map[string]any{{"id": g, "members@delta": []any{userRef(ann)}}}, entries)
}
