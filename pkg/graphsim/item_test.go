package graphsim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGetUser(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	created := tn.create(newUser("gina", map[string]any{"employeeId": "E7", "jobTitle": "Engineer"}))
	id := created["id"].(string)

	for _, key := range []string{id, strings.ToUpper(id), "gina@contoso.com", "GINA@Contoso.COM"} {
		t.Run(key, func(t *testing.T) {
			t.Parallel()
			r := tn.as(t).get("/v1.0/users/" + key)
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			u := r.object(t)
			assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#users/$entity", u["@odata.context"])
			assert.Equal(t, id, u["id"])
			assert.Equal(t, "Engineer", u["jobTitle"])
			assert.NotContains(t, u, "employeeId", "employeeId is returned only on $select")
			assert.NotContains(t, u, "accountEnabled", "accountEnabled is returned only on $select")
		})
	}

	t.Run("$select", func(t *testing.T) {
		t.Parallel()
		r := tn.as(t).get("/v1.0/users/" + id + "?$select=employeeId,mailNickname,userType")
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		assert.Equal(t, map[string]any{
			"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(employeeId,mailNickname,userType)/$entity",
			"employeeId":     "E7",
			"mailNickname":   "gina",
			"userType":       "Member",
		}, r.object(t))
	})
	t.Run("unknown $select", func(t *testing.T) {
		t.Parallel()
		requireError(t, tn.as(t).get("/v1.0/users/"+id+"?$select=nope"), 400, "BadRequest",
			"Parsing OData Select and Expand failed: Could not find a property named 'nope' on type 'microsoft.graph.user'.")
	})
}

func TestUserNamedLikeAFunction(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	id := tn.create(newUser("delta", nil))["id"].(string)
	r := tn.get("/v1.0/users/delta@contoso.com")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, id, r.object(t)["id"])
}

func TestGuestUPNInPath(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	upn := "hal_partner.example#EXT#@contoso.onmicrosoft.com"
	id := tn.create(newUser("hal", map[string]any{"userPrincipalName": upn}))["id"].(string)

	// GRAPH.md: "#" must be sent as %23; a raw "#" would start the fragment.
	r := tn.get("/v1.0/users/hal_partner.example%23EXT%23@contoso.onmicrosoft.com")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, id, r.object(t)["id"])
	assert.Equal(t, upn, r.object(t)["userPrincipalName"])

	r = tn.request(http.MethodPatch, "/v1.0/users/hal_partner.example%23EXT%23@contoso.onmicrosoft.com",
		map[string]any{"jobTitle": "Guest"})
	assert.Equal(t, http.StatusNoContent, r.status, "body: %s", r.body)
}

func TestPatchUser(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	id := tn.create(newUser("ivy", map[string]any{"givenName": "Ivy", "jobTitle": "Before", "employeeId": "E1"}))["id"].(string)

	r := tn.request(http.MethodPatch, "/v1.0/users/"+id, map[string]any{
		"@odata.type": "#microsoft.graph.user",
		"jobTitle":    "After",
		"employeeId":  nil, // null clears an optional property
		"companyName": "Partner",
	})
	require.Equal(t, http.StatusNoContent, r.status, "body: %s", r.body)
	assert.Empty(t, r.body)

	u := tn.get("/v1.0/users/" + id + "?$select=givenName,jobTitle,employeeId,companyName,displayName").object(t)
	assert.Equal(t, "After", u["jobTitle"])
	assert.Equal(t, "Ivy", u["givenName"], "omitted properties are unchanged")
	assert.Equal(t, "User ivy", u["displayName"])
	assert.Nil(t, u["employeeId"])
	assert.Equal(t, "Partner", u["companyName"])
}

func TestPatchUserRename(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	id := tn.create(newUser("jo", nil))["id"].(string)
	r := tn.request(http.MethodPatch, "/v1.0/users/"+id, map[string]any{"userPrincipalName": "joanna@contoso.com"})
	require.Equal(t, http.StatusNoContent, r.status, "body: %s", r.body)
	assert.Equal(t, id, tn.get("/v1.0/users/joanna@contoso.com").object(t)["id"])
	assert.Equal(t, http.StatusNotFound, tn.get("/v1.0/users/jo@contoso.com").status)
	// The old UPN is free again.
	tn.create(newUser("jo", nil))
}

func TestPatchUserValidation(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	id := tn.create(newUser("kim", map[string]any{"onPremisesImmutableId": "a2ltMQ=="}))["id"].(string)
	tn.create(newUser("lee", map[string]any{"onPremisesImmutableId": "bGVlMQ=="}))
	tests := []struct {
		name    string
		body    map[string]any
		code    string
		message string
	}{
		{"clear displayName", map[string]any{"displayName": nil}, "Request_BadRequest",
			"A value is required for property 'displayName' of resource 'User'."},
		{"empty displayName", map[string]any{"displayName": ""}, "Request_BadRequest",
			"A value is required for property 'displayName' of resource 'User'."},
		{"clear accountEnabled", map[string]any{"accountEnabled": nil}, "Request_BadRequest",
			"A value is required for property 'accountEnabled' of resource 'User'."},
		{"employeeId too long", map[string]any{"employeeId": strings.Repeat("9", 17)}, "Request_BadRequest",
			"Invalid value specified for property 'employeeId' of resource 'User'."},
		{"unverified domain", map[string]any{"userPrincipalName": "kim@fabrikam.com"}, "Request_BadRequest",
			"Property userPrincipalName is invalid."},
		{"duplicate UPN", map[string]any{"userPrincipalName": "LEE@contoso.com"}, "Request_BadRequest",
			"Another object with the same value for property userPrincipalName already exists."},
		{"duplicate immutable id", map[string]any{"onPremisesImmutableId": "bGVlMQ=="}, "Request_BadRequest",
			"Another object with the same value for property onPremisesImmutableId already exists."},
		{"weak password", map[string]any{"passwordProfile": map[string]any{"password": "password"}}, "Request_BadRequest",
			"The specified password does not comply with password complexity requirements. Please provide a different password."},
		{"unknown property", map[string]any{"shoeSize": 44}, "Request_BadRequest", "Invalid property 'shoeSize'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireError(t, tn.as(t).request(http.MethodPatch, "/v1.0/users/"+id, tt.body), 400, tt.code, tt.message)
		})
	}

	t.Run("a user may keep its own UPN and immutable id", func(t *testing.T) {
		t.Parallel()
		r := tn.as(t).request(http.MethodPatch, "/v1.0/users/"+id,
			map[string]any{"userPrincipalName": "kim@contoso.com", "onPremisesImmutableId": "a2ltMQ=="})
		assert.Equal(t, http.StatusNoContent, r.status, "body: %s", r.body)
	})
	t.Run("forceChangePasswordNextSignIn alone", func(t *testing.T) {
		t.Parallel()
		r := tn.as(t).request(http.MethodPatch, "/v1.0/users/"+id,
			map[string]any{"passwordProfile": map[string]any{"forceChangePasswordNextSignIn": true}})
		assert.Equal(t, http.StatusNoContent, r.status, "body: %s", r.body)
	})
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	id := tn.create(newUser("max", nil))["id"].(string)

	r := tn.request(http.MethodDelete, "/v1.0/users/"+id, nil)
	require.Equal(t, http.StatusNoContent, r.status, "body: %s", r.body)
	assert.Empty(t, r.body)

	notFound := "Resource '" + id + "' does not exist or one of its queried reference-property objects are not present."
	requireError(t, tn.get("/v1.0/users/"+id), 404, "Request_ResourceNotFound", notFound)
	requireError(t, tn.request(http.MethodDelete, "/v1.0/users/"+id, nil), 404, "Request_ResourceNotFound", notFound)
	requireError(t, tn.request(http.MethodPatch, "/v1.0/users/"+id, map[string]any{"jobTitle": "x"}), 404,
		"Request_ResourceNotFound", notFound)
	assert.Equal(t, http.StatusNotFound, tn.get("/v1.0/users/max@contoso.com").status)

	// The UPN is free for a new user.
	tn.create(newUser("max", nil))
}
