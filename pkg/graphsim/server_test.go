package graphsim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tests := []struct {
		name          string
		authorization string
		wantStatus    int
		wantMessage   string
	}{
		{"no header", "", http.StatusUnauthorized, "Access token is empty."},
		{"bearer without token", "Bearer ", http.StatusUnauthorized, "Access token is empty."},
		{"wrong scheme", "Basic dXNlcjpwYXNz", http.StatusUnauthorized, "Access token validation failure. Invalid audience."},
		{"wrong token", "Bearer nope", http.StatusUnauthorized, "Access token validation failure. Invalid audience."},
		{"right token", "Bearer " + testToken, http.StatusOK, ""},
		{"scheme is case-insensitive", "bearer " + testToken, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, tn.srv.URL+"/v1.0/users", nil)
			require.NoError(t, err)
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			r := tn.as(t).send(req)
			if tt.wantStatus == http.StatusOK {
				require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
				return
			}
			requireError(t, r, tt.wantStatus, "InvalidAuthenticationToken", tt.wantMessage)
			assert.Contains(t, r.header.Get("WWW-Authenticate"), "Bearer")
		})
	}
}

func TestAnyTokenAcceptedWhenNoneConfigured(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(graphsim.New(graphsim.Options{}))
	t.Cleanup(srv.Close)
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/v1.0/users", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer whatever")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestResponseHeaders(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)

	r := tn.get("/v1.0/users", "client-request-id", "my-correlation-id")
	require.Equal(t, http.StatusOK, r.status)
	assert.Regexp(t, guidPattern, r.header.Get("request-id"))
	assert.Equal(t, "my-correlation-id", r.header.Get("client-request-id"))
	assert.Equal(t, "Tue, 24 Nov 2026 01:02:03 GMT", r.header.Get("Date"))
	assert.Equal(t, "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
		r.header.Get("Content-Type"))

	r2 := tn.get("/v1.0/users")
	assert.Regexp(t, guidPattern, r2.header.Get("client-request-id"))
	assert.NotEqual(t, r.header.Get("request-id"), r2.header.Get("request-id"), "request-id must be new per request")
}

func TestErrorBodyShape(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	r := tn.get("/v1.0/users/nobody@contoso.com", "client-request-id", "abc-123")
	e := requireError(t, r, http.StatusNotFound, "Request_ResourceNotFound",
		"Resource 'nobody@contoso.com' does not exist or one of its queried reference-property objects are not present.")
	assert.Equal(t, "2026-11-24T01:02:03", e.InnerError.Date, "innerError.date has no zone suffix")
	assert.Equal(t, r.header.Get("request-id"), e.InnerError.RequestID)
	assert.Equal(t, "abc-123", e.InnerError.ClientRequestID)
	assert.Empty(t, e.Details)

	// The envelope has exactly error.{code,message,innerError} here.
	errObj := r.object(t)["error"].(map[string]any)
	assert.ElementsMatch(t, []string{"code", "message", "innerError"}, keys(errObj))
}

func TestRouting(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tests := []struct {
		name    string
		method  string
		path    string
		status  int
		code    string
		message string
	}{
		{"unknown segment", "GET", "/v1.0/foo", 400, "BadRequest", "Resource not found for the segment 'foo'."},
		{"unknown version", "GET", "/v2/users", 400, "BadRequest", "Invalid version: v2"},
		{"unknown segment under a user", "GET", "/v1.0/users/{id}/foo", 400, "BadRequest", "Resource not found for the segment 'foo'."},
		{"navigation of a missing user", "GET", "/v1.0/users/missing/manager", 404, "Request_ResourceNotFound",
			"Resource 'missing' does not exist or one of its queried reference-property objects are not present."},
		{"me with an app token", "GET", "/v1.0/me", 400, "BadRequest", "/me request is only valid with delegated authentication flow."},
		{"domains not emulated yet", "GET", "/v1.0/domains", 501, "NotImplemented", "graphsim does not emulate /domains yet."},
		{"delta with a $filter on another property", "GET", "/v1.0/users/delta()?$filter=displayName%20eq%20'x'", 400, "Request_UnsupportedQuery",
			"users/delta supports only $filter=id eq '{id}', several joined by 'or'."},
		{"GET invitations", "GET", "/v1.0/invitations", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."},
		{"POST delta", "POST", "/v1.0/users/delta", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."},
		{"deletedItems without a cast", "GET", "/v1.0/directory/deletedItems", 400, "Request_BadRequest",
			"The OData cast type is a required part of the URI, e.g. /directory/deletedItems/microsoft.graph.user."},
		{"deleted groups not emulated yet", "GET", "/v1.0/directory/deletedItems/microsoft.graph.group", 501, "NotImplemented",
			"graphsim does not emulate deleted group objects yet."},
		{"PUT users", "PUT", "/v1.0/users", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."},
		{"DELETE users", "DELETE", "/v1.0/users", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."},
		{"POST a user", "POST", "/v1.0/users/{id}", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."},
		{"PUT a user", "PUT", "/v1.0/users/{id}", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."},
		{"POST organization", "POST", "/v1.0/organization", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."},
		{"POST $count", "POST", "/v1.0/users/$count", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."},
	}
	id := tn.create(newUser("routing", nil))["id"].(string)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tt.path
			if i := len("/v1.0/users/{id}"); len(path) >= i && path[:i] == "/v1.0/users/{id}" {
				path = "/v1.0/users/" + id + path[i:]
			}
			requireError(t, tn.as(t).request(tt.method, path, nil), tt.status, tt.code, tt.message)
		})
	}
}

func TestOrganization(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	r := tn.get("/v1.0/organization")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	body := r.object(t)
	assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#organization", body["@odata.context"])
	orgs := body["value"].([]any)
	require.Len(t, orgs, 1)
	org := orgs[0].(map[string]any)
	assert.Equal(t, "11111111-2222-4333-8444-555555555555", org["id"])

	domains := org["verifiedDomains"].([]any)
	require.Len(t, domains, 4)
	first := domains[0].(map[string]any)
	assert.Equal(t, map[string]any{
		"name":         "contoso.com",
		"isDefault":    true,
		"isInitial":    false,
		"type":         "Managed",
		"capabilities": "Email, OfficeCommunicationsOnlineOrganization",
	}, first)
	initial := domains[1].(map[string]any)
	assert.Equal(t, "Contoso.onmicrosoft.com", initial["name"])
	assert.Equal(t, true, initial["isInitial"])
	assert.Equal(t, false, initial["isDefault"])

	single := tn.get("/v1.0/organization/11111111-2222-4333-8444-555555555555")
	require.Equal(t, http.StatusOK, single.status)
	assert.Equal(t, org["id"], single.object(t)["id"])
	requireError(t, tn.get("/v1.0/organization/nope"), 404, "Request_ResourceNotFound",
		"Resource 'nope' does not exist or one of its queried reference-property objects are not present.")
}

func TestDefaultVerifiedDomain(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(graphsim.New(graphsim.Options{Token: "t"}))
	t.Cleanup(srv.Close)
	tn := &tenant{t: t, srv: srv}
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/v1.0/organization", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer t")
	r := tn.send(req)
	require.Equal(t, http.StatusOK, r.status)
	org := r.object(t)["value"].([]any)[0].(map[string]any)
	d := org["verifiedDomains"].([]any)[0].(map[string]any)
	assert.Equal(t, "graphsim.onmicrosoft.com", d["name"])
	assert.Equal(t, true, d["isInitial"])
	assert.Equal(t, true, d["isDefault"])
}

func TestStatsCountsSuccessfulRequests(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	u := tn.create(newUser("stats", nil))
	tn.create(newUser("stats2", nil))
	require.Equal(t, 400, tn.request("POST", "/v1.0/users", newUser("bad", map[string]any{"displayName": nil})).status)
	require.Equal(t, 204, tn.request("PATCH", "/v1.0/users/"+u["id"].(string), map[string]any{"jobTitle": "x"}).status)
	require.Equal(t, 204, tn.request("DELETE", "/v1.0/users/"+u["id"].(string), nil).status)
	require.Equal(t, 200, tn.get("/v1.0/users").status)
	require.Equal(t, 404, tn.get("/v1.0/users/"+u["id"].(string)).status)

	assert.Equal(t, graphsim.Stats{Users: 1, DeletedUsers: 1, Reads: 1, Writes: 4}, tn.sim.Stats())
}

func TestConcurrentCreates(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const n = 40
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half the requests race for the same UPN: exactly one may win.
			alias := "same"
			if i%2 == 0 {
				alias = "user" + string(rune('a'+i/2))
			}
			statuses[i] = postStatus(tn.srv.URL+"/v1.0/users", newUser(alias, nil))
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		if s == http.StatusCreated {
			created++
		}
	}
	assert.Equal(t, n/2+1, created)
	assert.Equal(t, n/2+1, tn.sim.Stats().Users)
}

// postStatus posts body without testing.T, for use from goroutines.
func postStatus(url string, body any) int {
	raw, err := json.Marshal(body)
	if err != nil {
		return -1
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return -1
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return resp.StatusCode
}
