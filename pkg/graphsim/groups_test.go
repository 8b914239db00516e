package graphsim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

const eventual = "ConsistencyLevel"

// newGroup is a valid security group body; overrides replace (or, when
// nil, delete) properties.
func newGroup(name string, overrides map[string]any) map[string]any {
	g := map[string]any{"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true}
	for k, v := range overrides {
		if v == nil {
			delete(g, k)
			continue
		}
		g[k] = v
	}
	return g
}

// group creates a security group and returns its id.
func (tn *tenant) group(name string) string {
	tn.t.Helper()
	r := tn.request(http.MethodPost, "/v1.0/groups", newGroup(name, nil))
	require.Equal(tn.t, http.StatusCreated, r.status, "body: %s", r.body)
	return r.object(tn.t)["id"].(string)
}

// user creates a user and returns its id.
func (tn *tenant) user(alias string, overrides map[string]any) string {
	tn.t.Helper()
	return tn.create(newUser(alias, overrides))["id"].(string)
}

func memberRef(id string) map[string]any {
	return map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + id}
}

// addMember adds member to group and returns the response.
func (tn *tenant) addMember(group, member string) *response {
	tn.t.Helper()
	return tn.request(http.MethodPost, "/v1.0/groups/"+group+"/members/$ref", memberRef(member))
}

func TestCreateGroup(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	for _, tc := range []struct {
		name      string
		body      map[string]any
		status    int
		code, msg string
	}{
		{"no displayName", newGroup("a", map[string]any{"displayName": nil}), 400, "Request_BadRequest",
			"Property displayName value is required but is empty or missing."},
		{"no mailEnabled", newGroup("a", map[string]any{"mailEnabled": nil}), 400, "Request_BadRequest",
			"Property mailEnabled value is required but is empty or missing."},
		{"no mailNickname", newGroup("a", map[string]any{"mailNickname": nil}), 400, "Request_BadRequest",
			"Property mailNickname value is required but is empty or missing."},
		{"no securityEnabled", newGroup("a", map[string]any{"securityEnabled": nil}), 400, "Request_BadRequest",
			"Property securityEnabled value is required but is empty or missing."},
		{"space in mailNickname", newGroup("a", map[string]any{"mailNickname": "a b"}), 400, "Request_BadRequest",
			"Invalid value specified for property 'mailNickname' of resource 'Group'."},
		{"mailNickname too long", newGroup("a", map[string]any{"mailNickname": strings.Repeat("n", 65)}), 400, "Request_BadRequest",
			"Invalid value specified for property 'mailNickname' of resource 'Group'."},
		{"unknown property", newGroup("a", map[string]any{"colour": "blue"}), 400, "Request_BadRequest", "Invalid property 'colour'."},
		{"bind to nobody", newGroup("a", map[string]any{"members@odata.bind": []string{
			"https://graph.microsoft.com/v1.0/directoryObjects/00000000-1111-4222-8333-444444444444"}}), 404, "Request_ResourceNotFound",
			"Resource '00000000-1111-4222-8333-444444444444' does not exist or one of its queried reference-property objects are not present."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireError(t, tn.as(t).request(http.MethodPost, "/v1.0/groups", tc.body), tc.status, tc.code, tc.msg)
		})
	}

	ann := tn.user("ann", nil)
	r := tn.request(http.MethodPost, "/v1.0/groups", newGroup("Partners", map[string]any{
		"groupTypes": []string{"Unified"}, "mailEnabled": true, "description": "partner guests",
		"members@odata.bind": []string{"https://graph.microsoft.com/v1.0/users/" + ann}}))
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	g := r.object(t)
	assert.Regexp(t, guidPattern, g["id"])
	assert.Equal(t, "Partners@Contoso.onmicrosoft.com", g["mail"])
	assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#groups/$entity", g["@odata.context"])
	assert.Equal(t, []string{ann}, ids(t, tn.get("/v1.0/groups/"+g["id"].(string)+"/members")))

	got := tn.get("/v1.0/groups/" + g["id"].(string) + "?$select=displayName,securityEnabled").object(t)
	assert.Equal(t, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups(displayName,securityEnabled)/$entity",
		"displayName": "Partners", "securityEnabled": true}, got)
	requireError(t, tn.get("/v1.0/groups/00000000-1111-4222-8333-444444444444"), 404, "Request_ResourceNotFound",
		"Resource '00000000-1111-4222-8333-444444444444' does not exist or one of its queried reference-property objects are not present.")
}

func TestListGroups(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	a, b, c := tn.group("alpha"), tn.group("beta"), tn.group("gamma")

	r := tn.get("/v1.0/groups?$top=2&$select=id,displayName")
	assert.Equal(t, []string{a, b}, ids(t, r))
	next := r.object(t)["@odata.nextLink"].(string)
	assert.Equal(t, []string{c}, ids(t, tn.follow(next)))

	assert.Equal(t, []string{b}, ids(t, tn.get("/v1.0/groups?$filter=displayName%20eq%20'BETA'")))
	assert.Equal(t, []string{a, b, c}, ids(t, tn.get("/v1.0/groups?$filter=securityEnabled%20eq%20true")))
	requireError(t, tn.get("/v1.0/groups?$filter=description%20eq%20'x'"), 400, "Request_UnsupportedQuery",
		"Unsupported or invalid query filter clause specified for property 'description' of resource 'Group'.")
	requireError(t, tn.get("/v1.0/groups?$select=userPrincipalName"), 400, "BadRequest",
		"Parsing OData Select and Expand failed: Could not find a property named 'userPrincipalName' on type 'microsoft.graph.group'.")

	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/groups/"+b, nil).status)
	assert.Equal(t, []string{a, c}, ids(t, tn.get("/v1.0/groups")))
	assert.Equal(t, http.StatusNotFound, tn.request(http.MethodDelete, "/v1.0/groups/"+b, nil).status)
	assert.Equal(t, 2, tn.sim.Stats().Groups)
	requireError(t, tn.get("/v1.0/groups/$count"), 400, "Request_BadRequest", "$count is not currently supported.")
	r = tn.get("/v1.0/groups/$count?$filter=startsWith(displayName,'g')", eventual, "eventual")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "1", string(r.body))
}

func TestGroupMembershipWrites(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	g, ann := tn.group("partners"), tn.user("ann", nil)
	const nobody = "00000000-1111-4222-8333-444444444444"
	notFound := func(id string) string {
		return "Resource '" + id + "' does not exist or one of its queried reference-property objects are not present."
	}

	require.Equal(t, http.StatusNoContent, tn.addMember(g, ann).status)
	requireError(t, tn.addMember(g, ann), 400, "Request_BadRequest",
		"One or more added object references already exist for the following modified properties: 'members'.")
	requireError(t, tn.addMember(g, nobody), 404, "Request_ResourceNotFound", notFound(nobody))
	requireError(t, tn.addMember(nobody, ann), 404, "Request_ResourceNotFound", notFound(nobody))
	requireError(t, tn.request(http.MethodPost, "/v1.0/groups/"+g+"/members/$ref", map[string]any{"@odata.id": "not a url"}),
		400, "Request_BadRequest", "Invalid object identifier 'not a url'.")

	path := "/v1.0/groups/" + g + "/members/" + ann + "/$ref"
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, path, nil).status)
	requireError(t, tn.request(http.MethodDelete, path, nil), 404, "Request_ResourceNotFound",
		"One or more removed object references do not exist for the following modified properties: 'members'.")
	assert.Empty(t, ids(t, tn.get("/v1.0/groups/"+g+"/members")))
	// The form msgraph-sdk-go sends.
	require.Equal(t, http.StatusNoContent, tn.addMember(g, ann).status)
	byRef := "/v1.0/groups/" + g + "/members/$ref?@id=https://graph.microsoft.com/v1.0/directoryObjects/" + ann
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, byRef, nil).status)
	assert.Empty(t, ids(t, tn.get("/v1.0/groups/"+g+"/members")))
	// Added again after a removal: a member again.
	require.Equal(t, http.StatusNoContent, tn.addMember(g, ann).status)
	assert.Equal(t, []string{ann}, ids(t, tn.get("/v1.0/groups/"+g+"/members")))
}

func TestTransitiveMembers(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	top, mid, low := tn.group("top"), tn.group("mid"), tn.group("low")
	ann := tn.user("ann", map[string]any{"userType": "Guest"})
	bob := tn.user("bob", nil)
	cat := tn.user("cat", map[string]any{"userType": "Guest"})
	for _, m := range [][2]string{{top, ann}, {top, mid}, {mid, bob}, {mid, low}, {low, cat}, {low, top}, {low, ann}} {
		require.Equal(t, http.StatusNoContent, tn.addMember(m[0], m[1]).status, "%v", m)
	}
	adv := []string{eventual, "eventual"}

	r := tn.get("/v1.0/groups/" + top + "/members")
	assert.Equal(t, []string{ann, mid}, ids(t, r))
	listed := r.object(t)["value"].([]any)
	assert.Equal(t, "#microsoft.graph.user", listed[0].(map[string]any)["@odata.type"])
	assert.Equal(t, "ann@contoso.com", listed[0].(map[string]any)["userPrincipalName"], "a user shows the user's default set")
	assert.Equal(t, "#microsoft.graph.group", listed[1].(map[string]any)["@odata.type"])
	assert.Equal(t, true, listed[1].(map[string]any)["securityEnabled"], "a group shows the group's default set")
	r = tn.get("/v1.0/groups/" + top + "/members?$select=id,securityEnabled")
	assert.Equal(t, []any{map[string]any{"@odata.type": "#microsoft.graph.user", "id": ann},
		map[string]any{"@odata.type": "#microsoft.graph.group", "id": mid, "securityEnabled": true}}, r.object(t)["value"])
	// The cycle low -> top ends where it comes back; top is not its own member.
	assert.Equal(t, []string{ann, mid, bob, low, cat}, ids(t, tn.get("/v1.0/groups/"+top+"/transitiveMembers")))

	cast := "/v1.0/groups/" + top + "/transitiveMembers/microsoft.graph.user"
	requireError(t, tn.get(cast), 400, "Request_UnsupportedQuery",
		"The specified filter to the reference property query is currently not supported.")
	requireError(t, tn.get(cast+"?$count=true"), 400, "Request_UnsupportedQuery",
		"The specified filter to the reference property query is currently not supported.")
	r = tn.get(cast+"?$count=true&$select=id,userPrincipalName,userType", adv...)
	assert.Equal(t, []string{ann, bob, cat}, ids(t, r))
	body := r.object(t)
	assert.Equal(t, float64(3), body["@odata.count"])
	assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#users(id,userPrincipalName,userType)", body["@odata.context"])
	assert.Equal(t, map[string]any{"id": ann, "userPrincipalName": "ann@contoso.com", "userType": "Guest"}, body["value"].([]any)[0])

	guests := cast + "?$count=true&$filter=userType%20eq%20'Guest'"
	assert.Equal(t, []string{ann, cat}, ids(t, tn.get(guests, adv...)))
	requireError(t, tn.get("/v1.0/groups/"+top+"/members?$filter=userType%20eq%20'Guest'"), 400, "Request_UnsupportedQuery",
		"The specified filter to the reference property query is currently not supported.")
	// A cast on direct members works by default.
	assert.Equal(t, []string{mid}, ids(t, tn.get("/v1.0/groups/"+top+"/members/microsoft.graph.group")))

	// Paging: $top and the absolute nextLink keep the advanced query.
	r = tn.get(cast+"?$count=true&$top=2", adv...)
	assert.Equal(t, []string{ann, bob}, ids(t, r))
	assert.Equal(t, []string{cat}, ids(t, tn.follow(r.object(t)["@odata.nextLink"].(string), adv...)))

	requireError(t, tn.get("/v1.0/groups/"+top+"/transitiveMembers/$count"), 400, "Request_BadRequest", "$count is not currently supported.")
	r = tn.get("/v1.0/groups/"+top+"/transitiveMembers/microsoft.graph.user/$count", adv...)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "3", string(r.body))
	requireError(t, tn.get("/v1.0/groups/"+top+"/transitiveMembers/microsoft.graph.device?$count=true", adv...), 400,
		"Request_UnsupportedQuery", "The OData cast to microsoft.graph.device is not a supported member type.")

	// A deleted user leaves every list; restored, it is back.
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/users/"+cat, nil).status)
	assert.Equal(t, []string{ann, bob}, ids(t, tn.get(cast+"?$count=true", adv...)))
	require.Equal(t, http.StatusOK, tn.request(http.MethodPost, "/v1.0/directory/deletedItems/"+cat+"/restore", nil).status)
	assert.Equal(t, []string{ann, bob, cat}, ids(t, tn.get(cast+"?$count=true", adv...)))
	// A deleted group ends its memberships.
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/groups/"+mid, nil).status)
	assert.Equal(t, []string{ann}, ids(t, tn.get("/v1.0/groups/"+top+"/transitiveMembers")))
}

func TestUsersFilterByGuestAndEnabled(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	ann := tn.user("ann", map[string]any{"userType": "Guest"})
	bob := tn.user("bob", map[string]any{"userType": "Guest", "accountEnabled": false})
	tn.user("cat", nil)
	assert.Equal(t, []string{ann, bob}, ids(t, tn.get("/v1.0/users?$filter=userType%20eq%20'Guest'")))
	assert.Equal(t, []string{ann}, ids(t, tn.get("/v1.0/users?$filter=userType%20eq%20'Guest'%20and%20accountEnabled%20eq%20true")))
	assert.Equal(t, []string{bob}, ids(t, tn.get("/v1.0/users?$filter=accountEnabled%20eq%20false")))
}

// TestDirectoryInBatch: the directory endpoints answer inside $batch, the
// advanced query header travelling in the item's headers (Graph docs,
// "Advanced query capabilities": "specify the ConsistencyLevel header in
// the JSON body of the POST request").
func TestDirectoryInBatch(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	g, ann := tn.group("partners"), tn.user("ann", nil)
	r := tn.request(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "POST", "url": "/groups/" + g + "/members/$ref", "body": memberRef(ann), "headers": jsonHeaders},
		map[string]any{"id": "2", "method": "GET", "url": "/groups/" + g + "/transitiveMembers/microsoft.graph.user?$count=true",
			"headers": map[string]any{"ConsistencyLevel": "eventual"}, "dependsOn": []string{"1"}},
		map[string]any{"id": "3", "method": "GET", "url": "/groups/" + g + "/transitiveMembers/microsoft.graph.user", "dependsOn": []string{"1"}},
	}})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	responses := r.object(t)["responses"].([]any)
	status := func(i int) float64 { return responses[i].(map[string]any)["status"].(float64) }
	assert.Equal(t, []float64{204, 200, 400}, []float64{status(0), status(1), status(2)})
	body := responses[1].(map[string]any)["body"].(map[string]any)
	assert.Equal(t, ann, body["value"].([]any)[0].(map[string]any)["id"])
}

func TestDirectoryRouting(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	g := tn.group("g")
	sp := tn.app("App")["id"].(string)
	const nobody = "00000000-1111-4222-8333-444444444444"
	for _, tc := range []struct {
		name, method, path string
		status             int
		code, message      string
	}{
		{"PUT groups", "PUT", "/v1.0/groups", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."},
		{"members of a missing group", "GET", "/v1.0/groups/" + nobody + "/members", 404, "Request_ResourceNotFound",
			"Resource '" + nobody + "' does not exist or one of its queried reference-property objects are not present."},
		{"member references", "GET", "/v1.0/groups/" + g + "/members/$ref", 501, "NotImplemented",
			"graphsim does not emulate GET /groups/{id}/members/$ref yet."},
		{"one member", "GET", "/v1.0/groups/" + g + "/members/" + nobody, 501, "NotImplemented",
			"graphsim does not emulate GET /groups/{id}/members/{id} yet."},
		{"owners", "GET", "/v1.0/groups/" + g + "/owners", 501, "NotImplemented", "graphsim does not emulate /groups/{id}/owners yet."},
		{"PATCH a group", "PATCH", "/v1.0/groups/" + g, 501, "NotImplemented", "graphsim does not emulate PATCH /groups/{id} yet."},
		{"POST to members", "POST", "/v1.0/groups/" + g + "/members", 405, "Request_BadRequest",
			"Specified HTTP method is not allowed for the request target."},
		{"unknown segment", "GET", "/v1.0/groups/" + g + "/colour", 400, "BadRequest", "Resource not found for the segment 'colour'."},
		{"missing service principal", "GET", "/v1.0/servicePrincipals/" + nobody + "/appRoleAssignedTo", 404, "Request_ResourceNotFound",
			"Resource '" + nobody + "' does not exist or one of its queried reference-property objects are not present."},
		{"service principal owners", "GET", "/v1.0/servicePrincipals/" + sp + "/owners", 501, "NotImplemented",
			"graphsim does not emulate /servicePrincipals/{id}/owners yet."},
		{"DELETE applications", "DELETE", "/v1.0/applications", 405, "Request_BadRequest",
			"Specified HTTP method is not allowed for the request target."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireError(t, tn.as(t).request(tc.method, tc.path, nil), tc.status, tc.code, tc.message)
		})
	}
}

// TestMembershipIndexLag: with Faults.Lag the advanced queries on member
// lists see a membership change late; the default reads and groups/delta
// see it at once.
func TestMembershipIndexLag(t *testing.T) {
	t.Parallel()
	clk := newClock()
	tn := newTenantWith(t, graphsim.Options{Now: clk.Now, Faults: graphsim.Faults{Lag: 2 * time.Second}})
	g := tn.group("partners")
	ann := tn.user("ann", nil)
	bob := tn.user("bob", nil)
	clk.Advance(3 * time.Second) // the users are replicated
	require.Equal(t, http.StatusNoContent, tn.addMember(g, ann).status)
	clk.Advance(3 * time.Second)
	_, _, link := deltaRound(tn, "/v1.0/groups/delta?$select=members")

	require.Equal(t, http.StatusNoContent, tn.addMember(g, bob).status)
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/groups/"+g+"/members/"+ann+"/$ref", nil).status)
	indexed := "/v1.0/groups/" + g + "/transitiveMembers/microsoft.graph.user?$count=true"
	assert.Equal(t, []string{ann}, ids(t, tn.get(indexed, eventual, "eventual")), "the index has not seen either change")
	assert.Equal(t, []string{bob}, ids(t, tn.get("/v1.0/groups/"+g+"/members")))
	entries, _, _ := deltaRound(tn, strings.TrimPrefix(link, tn.srv.URL))
	assert.Equal(t, []any{userRef(bob), removedRef("user", ann)}, entries[0]["members@delta"])

	clk.Advance(3 * time.Second)
	assert.Equal(t, []string{bob}, ids(t, tn.get(indexed, eventual, "eventual")))
}
