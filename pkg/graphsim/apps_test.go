package graphsim_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const defaultRole = "00000000-0000-0000-0000-000000000000"

// app registers an application with roles and creates its service
// principal; it returns the service principal.
func (tn *tenant) app(name string, roles ...map[string]any) map[string]any {
	tn.t.Helper()
	body := map[string]any{"displayName": name}
	if roles != nil {
		body["appRoles"] = roles
	}
	r := tn.request(http.MethodPost, "/v1.0/applications", body)
	require.Equal(tn.t, http.StatusCreated, r.status, "body: %s", r.body)
	r = tn.request(http.MethodPost, "/v1.0/servicePrincipals", map[string]any{"appId": r.object(tn.t)["appId"]})
	require.Equal(tn.t, http.StatusCreated, r.status, "body: %s", r.body)
	return r.object(tn.t)
}

func assignment(principal, resource, role string) map[string]any {
	return map[string]any{"principalId": principal, "resourceId": resource, "appRoleId": role}
}

func TestApplicationsAndServicePrincipals(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	requireError(t, tn.request(http.MethodPost, "/v1.0/applications", map[string]any{}), 400, "Request_BadRequest",
		"Property displayName value is required but is empty or missing.")
	r := tn.request(http.MethodPost, "/v1.0/applications", map[string]any{"displayName": "Intranet"})
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	app := r.object(t)
	assert.Regexp(t, guidPattern, app["id"])
	assert.Regexp(t, guidPattern, app["appId"])
	assert.NotEqual(t, app["id"], app["appId"])
	assert.Equal(t, app["id"], tn.get("/v1.0/applications/" + app["id"].(string)).object(t)["id"])

	const unknown = "00000000-1111-4222-8333-444444444444"
	e := requireError(t, tn.request(http.MethodPost, "/v1.0/servicePrincipals", map[string]any{"appId": unknown}), 400, "Request_BadRequest",
		"The appId '"+unknown+"' of the service principal does not reference a valid application object.")
	assert.Equal(t, "NoBackingApplicationObject", e.Details[0].Code)

	r = tn.request(http.MethodPost, "/v1.0/servicePrincipals", map[string]any{"appId": app["appId"]})
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	sp := r.object(t)
	assert.Equal(t, "Intranet", sp["displayName"])
	assert.Equal(t, true, sp["accountEnabled"])
	assert.Equal(t, "Application", sp["servicePrincipalType"])
	requireError(t, tn.request(http.MethodPost, "/v1.0/servicePrincipals", map[string]any{"appId": app["appId"]}), 409,
		"Request_MultipleObjectsWithSameKeyValue", "The service principal cannot be created, updated, or restored because the service principal name "+
			app["appId"].(string)+" is already in use.")

	id := sp["id"].(string)
	assert.Equal(t, id, tn.get("/v1.0/servicePrincipals/" + id).object(t)["id"])
	assert.Equal(t, id, tn.get("/v1.0/servicePrincipals(appId='" + app["appId"].(string) + "')").object(t)["id"])
	tn.app("Other")
	assert.Equal(t, []string{id}, ids(t, tn.get("/v1.0/servicePrincipals?$filter=appId%20eq%20'"+app["appId"].(string)+"'")))
	assert.Len(t, ids(t, tn.get("/v1.0/servicePrincipals")), 2)
}

func TestAppRoleAssignedTo(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const reader = "8a7c50d3-fcbd-4727-a889-8ab232dfea01"
	sp := tn.app("Intranet", map[string]any{"id": reader, "allowedMemberTypes": []string{"User"}, "value": "Reader",
		"displayName": "Reader", "description": "reads", "isEnabled": true})
	plain := tn.app("Plain")
	spID, plainID := sp["id"].(string), plain["id"].(string)
	ann, g := tn.user("ann", nil), tn.group("partners")
	path := "/v1.0/servicePrincipals/" + spID + "/appRoleAssignedTo"

	r := tn.request(http.MethodPost, path, assignment(ann, spID, reader))
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	a := r.object(t)
	assert.Equal(t, "User", a["principalType"])
	assert.Equal(t, "User ann", a["principalDisplayName"])
	assert.Equal(t, "Intranet", a["resourceDisplayName"])
	assert.Len(t, a["id"], 43)
	requireError(t, tn.request(http.MethodPost, path, assignment(ann, spID, reader)), 400, "Request_BadRequest",
		"Permission being assigned already exists on the object")

	r = tn.request(http.MethodPost, path, assignment(g, spID, reader))
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	assert.Equal(t, "Group", r.object(t)["principalType"])

	requireError(t, tn.request(http.MethodPost, path, assignment(ann, spID, defaultRole)), 400, "Request_BadRequest",
		"Permission being assigned was not found on application '"+sp["appId"].(string)+"'.")
	requireError(t, tn.request(http.MethodPost, path, assignment("00000000-1111-4222-8333-444444444444", spID, reader)), 404,
		"Request_ResourceNotFound", "Resource '00000000-1111-4222-8333-444444444444' does not exist or one of its queried reference-property objects are not present.")
	// An application without roles takes the default role.
	r = tn.request(http.MethodPost, "/v1.0/servicePrincipals/"+plainID+"/appRoleAssignedTo", assignment(ann, plainID, defaultRole))
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)

	// Paging.
	r = tn.get(path + "?$top=1")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	first := r.object(t)
	page := first["value"].([]any)
	require.Len(t, page, 1)
	assert.Equal(t, ann, page[0].(map[string]any)["principalId"])
	second := tn.follow(first["@odata.nextLink"].(string)).object(t)["value"].([]any)
	assert.Equal(t, g, second[0].(map[string]any)["principalId"])

	// Removal; an assignment of a deleted principal is no longer listed.
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, path+"/"+a["id"].(string), nil).status)
	requireError(t, tn.request(http.MethodDelete, path+"/"+a["id"].(string), nil), 404, "Request_ResourceNotFound",
		"Resource '"+a["id"].(string)+"' does not exist or one of its queried reference-property objects are not present.")
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/groups/"+g, nil).status)
	assert.Empty(t, tn.get(path).object(t)["value"])
}
