package graphsim_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

const deletedUsersPath = "/v1.0/directory/deletedItems/microsoft.graph.user"

func TestSoftDeleteAndRestore(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	id := tn.create(newUser("rita", map[string]any{"mail": "rita@partner.example", "jobTitle": "Buyer"}))["id"].(string)
	keep := tn.create(newUser("kurt", nil))["id"].(string)

	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/users/"+id, nil).status)
	assert.Equal(t, http.StatusNotFound, tn.get("/v1.0/users/"+id).status)
	assert.Equal(t, []string{keep}, ids(t, tn.get("/v1.0/users")))
	assert.Equal(t, graphsim.Stats{Users: 1, DeletedUsers: 1, Reads: 1, Writes: 3}, tn.sim.Stats())

	list := tn.get(deletedUsersPath)
	assert.Equal(t, []string{id}, ids(t, list))
	body := list.object(t)
	assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#directory/deletedItems/microsoft.graph.user", body["@odata.context"])
	item := body["value"].([]any)[0].(map[string]any)
	assert.Equal(t, "2026-11-24T01:02:03Z", item["deletedDateTime"])
	assert.Equal(t, "rita@contoso.com", item["userPrincipalName"])
	assert.Equal(t, "1", list.header.Get("x-ms-resource-unit"))

	got := tn.get("/v1.0/directory/deletedItems/" + id).object(t)
	assert.Equal(t, "#microsoft.graph.user", got["@odata.type"])
	assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#directoryObjects/$entity", got["@odata.context"])
	assert.Equal(t, "Buyer", got["jobTitle"])

	r := tn.request(http.MethodPost, "/v1.0/directory/deletedItems/"+id+"/restore", nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	restored := r.object(t)
	assert.Equal(t, id, restored["id"])
	assert.Equal(t, "#microsoft.graph.user", restored["@odata.type"])
	assert.NotContains(t, restored, "deletedDateTime")

	u := tn.get("/v1.0/users/" + id + "?$select=id,jobTitle,mail,proxyAddresses,deletedDateTime").object(t)
	assert.Equal(t, "Buyer", u["jobTitle"], "the user comes back with its properties")
	assert.Equal(t, []any{"SMTP:rita@partner.example"}, u["proxyAddresses"])
	assert.Nil(t, u["deletedDateTime"])
	assert.Empty(t, ids(t, tn.get(deletedUsersPath)))
	assert.Equal(t, []string{id, keep}, ids(t, tn.get("/v1.0/users")), "the restored user keeps its place")
}

func TestRestoreConflicts(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	oldID := tn.create(newUser("ole", map[string]any{"mail": "ole@partner.example"}))["id"].(string)
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/users/"+oldID, nil).status)
	// The UPN and the mail are free again once the user is deleted.
	newID := tn.create(newUser("ole", map[string]any{"mail": "ole@partner.example"}))["id"].(string)

	restore := "/v1.0/directory/deletedItems/" + oldID + "/restore"
	e := requireError(t, tn.request(http.MethodPost, restore, nil), 400, "Request_BadRequest",
		"Another object with the same value for property userPrincipalName already exists.")
	require.Len(t, e.Details, 2)
	assert.Equal(t, "ObjectConflict", e.Details[0].Code)
	assert.Equal(t, "User_"+newID, e.Details[1].Target)

	requireError(t, tn.request(http.MethodPost, restore, map[string]any{"newUserPrincipalName": "ole@fabrikam.com"}),
		400, "Request_BadRequest", "Property userPrincipalName is invalid.")
	requireError(t, tn.request(http.MethodPost, restore, map[string]any{"newUserPrincipalName": "ole2@contoso.com"}),
		400, "Request_BadRequest", "Another object with the same value for property proxyAddresses already exists.")

	r := tn.request(http.MethodPost, restore, map[string]any{"newUserPrincipalName": "ole2@contoso.com", "autoReconcileProxyConflict": true})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "ole2@contoso.com", r.object(t)["userPrincipalName"])
	u := tn.get("/v1.0/users/ole2@contoso.com?$select=proxyAddresses").object(t)
	assert.Equal(t, []any{}, u["proxyAddresses"], "the conflicting proxy address was dropped")
}

func TestDeletedItemsErrors(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	missing := "00000000-0000-4000-8000-000000000000"
	notFound := "Resource '" + missing + "' does not exist or one of its queried reference-property objects are not present."
	tests := []struct {
		name, method, path string
		status             int
		code, message      string
	}{
		{"get missing", "GET", "/v1.0/directory/deletedItems/" + missing, 404, "Request_ResourceNotFound", notFound},
		{"restore missing", "POST", "/v1.0/directory/deletedItems/" + missing + "/restore", 404, "Request_ResourceNotFound", notFound},
		{"hard-delete missing", "DELETE", "/v1.0/directory/deletedItems/" + missing, 404, "Request_ResourceNotFound", notFound},
		{"POST the list", "POST", deletedUsersPath, 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."},
		{"GET restore", "GET", "/v1.0/directory/deletedItems/" + missing + "/restore", 405, "Request_BadRequest",
			"Specified HTTP method is not allowed for the request target."},
		{"directory itself", "GET", "/v1.0/directory", 501, "NotImplemented", "graphsim does not emulate /directory yet."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireError(t, tn.as(t).request(tt.method, tt.path, nil), tt.status, tt.code, tt.message)
		})
	}
}

func TestHardDeleteAndPurge(t *testing.T) {
	t.Parallel()
	clk := newClock()
	tn := newTenantWith(t, graphsim.Options{Now: clk.Now})
	gone := tn.create(newUser("gone", nil))["id"].(string)
	old := tn.create(newUser("old", nil))["id"].(string)
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/users/"+gone, nil).status)
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/directory/deletedItems/"+gone, nil).status)
	assert.Equal(t, http.StatusNotFound, tn.get("/v1.0/directory/deletedItems/"+gone).status, "hard delete is final")

	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/users/"+old, nil).status)
	clk.Advance(30*24*time.Hour - time.Second)
	assert.Equal(t, []string{old}, ids(t, tn.get(deletedUsersPath)), "restorable for 30 days")
	clk.Advance(time.Second)
	assert.Empty(t, ids(t, tn.get(deletedUsersPath)), "purged after 30 days")
	assert.Equal(t, 0, tn.sim.Stats().DeletedUsers)
}

func TestPurgeFollowsTimeScale(t *testing.T) {
	t.Parallel()
	clk := newClock()
	// 30 days at a time scale of 86400 are 30 seconds.
	tn := newTenantWith(t, graphsim.Options{Now: clk.Now, TimeScale: 86400})
	id := tn.create(newUser("fast", nil))["id"].(string)
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/users/"+id, nil).status)
	clk.Advance(29 * time.Second)
	assert.Len(t, ids(t, tn.get(deletedUsersPath)), 1)
	clk.Advance(time.Second)
	assert.Empty(t, ids(t, tn.get(deletedUsersPath)))
}

func TestDeletedItemsAcceptsTheNamespaceAlias(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	id := tn.create(newUser("rita", nil))["id"].(string)
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/users/"+id, nil).status)
	for _, path := range []string{"/v1.0/directory/deletedItems/graph.user", "/v1.0/directory/deletedItems/Microsoft.Graph.User"} {
		assert.Equal(t, []string{id}, ids(t, tn.get(path)), path)
	}
	assert.Equal(t, http.StatusNotImplemented, tn.get("/v1.0/directory/deletedItems/graph.group").status)
}
