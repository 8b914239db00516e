package graphsim_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

// TestDirectoryStateSurvivesARestart: groups, memberships, applications,
// service principals and assignments are kept in the state file, and a
// groups/delta link continues after the restart.
func TestDirectoryStateSurvivesARestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tenant.json")
	first := newTenantWith(t, graphsim.Options{})
	outer, inner := first.group("outer"), first.group("inner")
	ann, bob := first.user("ann", nil), first.user("bob", nil)
	require.Equal(t, http.StatusNoContent, first.addMember(outer, inner).status)
	require.Equal(t, http.StatusNoContent, first.addMember(inner, ann).status)
	require.Equal(t, http.StatusNoContent, first.addMember(inner, bob).status)
	require.Equal(t, http.StatusNoContent, first.request(http.MethodDelete, "/v1.0/groups/"+inner+"/members/"+bob+"/$ref", nil).status)
	sp := first.app("Intranet")["id"].(string)
	r := first.request(http.MethodPost, "/v1.0/servicePrincipals/"+sp+"/appRoleAssignedTo", assignment(outer, sp, defaultRole))
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	gone := first.group("gone")
	require.Equal(t, http.StatusNoContent, first.request(http.MethodDelete, "/v1.0/groups/"+gone, nil).status)
	_, _, link := deltaRound(first, "/v1.0/groups/delta?$select=members")

	require.NoError(t, first.sim.SaveState(path))
	second := newTenantWith(t, graphsim.Options{})
	require.NoError(t, second.sim.LoadState(path))
	a, err := first.sim.Snapshot()
	require.NoError(t, err)
	b, err := second.sim.Snapshot()
	require.NoError(t, err)
	assert.JSONEq(t, string(a), string(b), "the restarted tenant is the same tenant")

	assert.Equal(t, []string{inner, ann}, ids(t, second.get("/v1.0/groups/"+outer+"/transitiveMembers")))
	assigned := second.get("/v1.0/servicePrincipals/" + sp + "/appRoleAssignedTo").object(t)["value"].([]any)
	require.Len(t, assigned, 1)
	assert.Equal(t, outer, assigned[0].(map[string]any)["principalId"])

	require.Equal(t, http.StatusNoContent, second.addMember(inner, bob).status)
	link = strings.Replace(link, first.srv.URL, second.srv.URL, 1)
	changes, _, _ := deltaRound(second, strings.TrimPrefix(link, second.srv.URL))
	assert.Equal(t, []map[string]any{{"id": inner, "members@delta": []any{userRef(bob)}}}, changes)
	// A new group does not reuse a creation number.
	fresh := second.group("fresh")
	assert.Equal(t, []string{outer, inner, fresh}, ids(t, second.get("/v1.0/groups")))
}
