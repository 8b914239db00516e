package graphsim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ext = "onPremisesExtensionAttributes"

func TestExtensionAttributes(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	created := tn.create(newUser("owned", map[string]any{ext: map[string]any{"extensionAttribute15": "guestsync:prod"}}))
	id := created["id"].(string)
	attrs := created[ext].(map[string]any)
	assert.Len(t, attrs, 15, "all fifteen attributes are shown")
	assert.Equal(t, "guestsync:prod", attrs["extensionAttribute15"])
	assert.Nil(t, attrs["extensionAttribute1"])
	tn.create(newUser("foreign", nil))

	assert.NotContains(t, tn.get("/v1.0/users/"+id).object(t), ext, "returned only on $select")

	// A PATCH updates the attributes it names; null clears one.
	require.Equal(t, 204, tn.request(http.MethodPatch, "/v1.0/users/"+id,
		map[string]any{ext: map[string]any{"extensionAttribute1": "cost-center-7"}}).status)
	got := tn.get("/v1.0/users/" + id + "?$select=" + ext).object(t)[ext].(map[string]any)
	assert.Equal(t, "cost-center-7", got["extensionAttribute1"])
	assert.Equal(t, "guestsync:prod", got["extensionAttribute15"], "untouched attributes keep their values")

	filter := listPath("$filter", ext+"/extensionAttribute15 eq 'guestsync:prod'", "$count", "true", "$select", "id")
	requireError(t, tn.get(filter), 400, "Request_UnsupportedQuery",
		"Unsupported or invalid query filter clause specified for property 'onPremisesExtensionAttributes/extensionAttribute15' of resource 'User'.")
	assert.Equal(t, []string{id}, ids(t, tn.get(filter, "ConsistencyLevel", "eventual")), "an advanced query finds the owned user")
	lower := listPath("$filter", "onpremisesextensionattributes/EXTENSIONATTRIBUTE15 eq 'GUESTSYNC:PROD'", "$count", "true")
	assert.Equal(t, []string{id}, ids(t, tn.get(lower, "ConsistencyLevel", "eventual")), "names and values ignore case")

	require.Equal(t, 204, tn.request(http.MethodPatch, "/v1.0/users/"+id,
		map[string]any{ext: map[string]any{"extensionAttribute15": nil}}).status)
	assert.Empty(t, ids(t, tn.get(filter, "ConsistencyLevel", "eventual")))
}

func TestExtensionAttributesRejected(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	id := tn.create(newUser("rej", nil))["id"].(string)
	advanced := []string{"ConsistencyLevel", "eventual"}
	tests := []struct {
		name    string
		r       func(*tenant) *response
		code    string
		message string
	}{
		{"unknown member in $filter", func(tn *tenant) *response {
			return tn.get(listPath("$filter", ext+"/extensionAttribute16 eq 'x'", "$count", "true"), advanced...)
		}, "BadRequest", "Could not find a property named 'extensionAttribute16' on type 'microsoft.graph.onPremisesExtensionAttributes'."},
		{"startsWith", func(tn *tenant) *response {
			return tn.get(listPath("$filter", "startsWith("+ext+"/extensionAttribute1,'x')", "$count", "true"), advanced...)
		}, "Request_UnsupportedQuery",
			"Unsupported or invalid query filter clause specified for property 'onPremisesExtensionAttributes/extensionAttribute1' of resource 'User'."},
		{"unknown member in body", func(tn *tenant) *response {
			return tn.request(http.MethodPatch, "/v1.0/users/"+id, map[string]any{ext: map[string]any{"extensionAttribute16": "x"}})
		}, "Request_BadRequest", "Invalid property 'extensionAttribute16'."},
		{"too long", func(tn *tenant) *response {
			return tn.request(http.MethodPatch, "/v1.0/users/"+id,
				map[string]any{ext: map[string]any{"extensionAttribute2": strings.Repeat("x", 1025)}})
		}, "Request_BadRequest", "Invalid value specified for property 'onPremisesExtensionAttributes' of resource 'User'."},
		{"not a string", func(tn *tenant) *response {
			return tn.request(http.MethodPatch, "/v1.0/users/"+id, map[string]any{ext: map[string]any{"extensionAttribute2": 7}})
		}, "BadRequest", "Cannot convert the literal '7' to the expected type 'Edm.String'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireError(t, tt.r(tn.as(t)), 400, tt.code, tt.message)
		})
	}
	assert.Equal(t, 204, tn.request(http.MethodPatch, "/v1.0/users/"+id,
		map[string]any{ext: map[string]any{"extensionAttribute2": strings.Repeat("x", 1024)}}).status, "1024 characters fit")
}
