package graphsim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

type batchItem struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

var jsonHeaders = map[string]any{"Content-Type": "application/json"}

// batch posts requests and requires the outer 200.
func (tn *tenant) batch(requests ...map[string]any) []batchItem {
	tn.t.Helper()
	r := tn.request(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": requests})
	require.Equal(tn.t, http.StatusOK, r.status, "body: %s", r.body)
	var out struct{ Responses []batchItem }
	require.NoError(tn.t, json.Unmarshal(r.body, &out))
	require.Len(tn.t, out.Responses, len(requests))
	return out.Responses
}

func (b batchItem) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(b.Body, &m), "body: %s", b.Body)
	return m
}

func TestBatch(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	items := tn.batch(
		map[string]any{"id": "1", "method": "POST", "url": "/users", "body": newUser("bea", nil), "headers": jsonHeaders},
		map[string]any{"id": "2", "method": "GET", "url": "/users/bea@contoso.com?$select=id,jobTitle", "dependsOn": []string{"1"}},
		map[string]any{"id": "3", "method": "PATCH", "url": "users/bea@contoso.com", "body": map[string]any{"jobTitle": "Lead"},
			"headers": jsonHeaders, "dependsOn": []string{"2"}},
		map[string]any{"id": "4", "method": "GET", "url": "/users/$count", "headers": map[string]any{"ConsistencyLevel": "eventual"},
			"dependsOn": []string{"3"}},
		map[string]any{"id": "5", "method": "GET", "url": "/users?$select=jobTitle&$filter=jobTitle eq 'Lead'", "dependsOn": []string{"4"}},
	)
	var statuses []int
	for i, it := range items {
		assert.Equal(t, fmt.Sprint(i+1), it.ID, "answered in request order")
		statuses = append(statuses, it.Status)
	}
	assert.Equal(t, []int{201, 200, 204, 200, 200}, statuses)
	created := items[0].object(t)
	assert.Equal(t, "bea@contoso.com", created["userPrincipalName"])
	assert.Equal(t, created["id"], items[1].object(t)["id"])
	assert.Equal(t, jsonContent, items[0].Headers["Content-Type"])
	assert.Equal(t, "1", items[0].Headers["x-ms-resource-unit"])
	assert.Equal(t, "4.0", items[0].Headers["OData-Version"])
	assert.NotContains(t, items[0].Headers, "Date")
	assert.Empty(t, items[2].Body, "204 has no body")
	assert.Equal(t, `"1"`, string(items[3].Body), "a text/plain body is a JSON string")
	assert.Equal(t, []any{map[string]any{"jobTitle": "Lead"}}, items[4].object(t)["value"])

	st := tn.sim.Stats()
	assert.Equal(t, graphsim.Stats{Users: 1, Reads: 3, Writes: 2, Batches: 1, BatchItems: 5}, st)
}

const jsonContent = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

func TestBatchDependsOn(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	items := tn.batch(
		// Listed first, runs after "make", which it depends on.
		map[string]any{"id": "read", "method": "GET", "url": "/users/dep@contoso.com", "dependsOn": []string{"MAKE"}},
		map[string]any{"id": "make", "method": "POST", "url": "/users", "body": newUser("dep", nil), "headers": jsonHeaders},
		map[string]any{"id": "missing", "method": "GET", "url": "/users/nobody@contoso.com"},
		map[string]any{"id": "after-missing", "method": "DELETE", "url": "/users/dep@contoso.com", "dependsOn": []string{"missing"}},
		map[string]any{"id": "transitive", "method": "GET", "url": "/users", "dependsOn": []string{"after-missing"}},
	)
	assert.Equal(t, 200, items[0].Status, "ran after its dependency: %s", items[0].Body)
	assert.Equal(t, 201, items[1].Status)
	assert.Equal(t, 404, items[2].Status)
	for _, it := range items[3:] {
		assert.Equal(t, http.StatusFailedDependency, it.Status)
		e := it.object(t)["error"].(map[string]any)
		assert.Equal(t, "FailedDependency", e["code"])
		assert.Contains(t, e["innerError"], "request-id")
	}
	assert.Equal(t, 1, tn.sim.Stats().Users, "the dependant DELETE never ran")
}

func TestBatchRejected(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	get := func(id string) map[string]any { return map[string]any{"id": id, "method": "GET", "url": "/users"} }
	var many []map[string]any
	for i := range 21 {
		many = append(many, get(fmt.Sprint(i)))
	}
	tests := []struct {
		name    string
		body    any
		status  int
		code    string
		message string
	}{
		{"21 requests", map[string]any{"requests": many}, 400, "BadRequest",
			"The batch contains 21 requests; JSON batch requests are limited to 20."},
		{"no requests", map[string]any{"requests": []any{}}, 400, "BadRequest", "Invalid batch payload format."},
		{"not JSON", []byte("{"), 400, "BadRequest", "Invalid batch payload format."},
		{"missing url", map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET"}}}, 400, "BadRequest",
			"Invalid batch payload format."},
		{"duplicate ids", map[string]any{"requests": []any{get("a"), get("A")}}, 400, "BadRequest", "Request Id A has to be unique in a batch."},
		{"absolute url", map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"}}},
			400, "BadRequest", "Request Id 1: the url must be relative to the version root, e.g. /users."},
		{"body without Content-Type", map[string]any{"requests": []any{map[string]any{"id": "1", "method": "PATCH", "url": "/users/x",
			"body": map[string]any{"jobTitle": "x"}}}}, 400, "BadRequest", "Write request id : 1 does not contain Content-Type header or body."},
		{"POST without body", map[string]any{"requests": []any{map[string]any{"id": "2", "method": "POST", "url": "/users",
			"headers": jsonHeaders}}}, 400, "BadRequest", "Write request id : 2 does not contain Content-Type header or body."},
		{"unknown dependency", map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET", "url": "/users",
			"dependsOn": []string{"9"}}}}, 400, "BadRequest", `Request Id 1 depends on "9", which is not another request of the batch.`},
		{"cycle", map[string]any{"requests": []any{
			map[string]any{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"2"}},
			map[string]any{"id": "2", "method": "GET", "url": "/users", "dependsOn": []string{"1"}}}},
			400, "BadRequest", "The dependsOn references of the batch form a cycle."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireError(t, tn.as(t).request(http.MethodPost, "/v1.0/$batch", tt.body), tt.status, tt.code, tt.message)
		})
	}
	t.Run("GET $batch", func(t *testing.T) {
		t.Parallel()
		requireError(t, tn.as(t).get("/v1.0/$batch"), 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
	})
	t.Run("no token", func(t *testing.T) {
		t.Parallel()
		r := tn.as(t).request(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": []any{get("1")}}, "Authorization", "")
		requireError(t, r, 401, "InvalidAuthenticationToken", "Access token is empty.")
	})
	assert.Equal(t, 0, tn.sim.Stats().BatchItems, "a rejected batch runs nothing")
}

func TestBatchItems(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	items := tn.batch(
		map[string]any{"id": "nested", "method": "POST", "url": "/$batch", "body": map[string]any{"requests": []any{}}, "headers": jsonHeaders},
		map[string]any{"id": "segment", "method": "GET", "url": "/nope"},
		map[string]any{"id": "method", "method": "PUT", "url": "/users", "body": map[string]any{}, "headers": jsonHeaders},
		map[string]any{"id": "gzip", "method": "POST", "url": "/invitations", "body": invitation("g@x.example", nil), "headers": jsonHeaders},
	)
	assert.Equal(t, 400, items[0].Status)
	assert.Equal(t, "Nested batch requests are not supported.", items[0].object(t)["error"].(map[string]any)["message"])
	assert.Equal(t, 400, items[1].Status)
	assert.Equal(t, 405, items[2].Status)
	assert.Equal(t, 201, items[3].Status)

	// The outer body may itself be gzip.
	r := tn.request(http.MethodPost, "/v1.0/$batch", gzipped(t, map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "GET", "url": "/organization"}}}), "Content-Encoding", "gzip")
	assert.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
}

func TestBatchItemsThrottledOneByOne(t *testing.T) {
	t.Parallel()
	clk := newClock()
	tn := newTenantWith(t, graphsim.Options{Now: clk.Now, Throttle: graphsim.ThrottleDocumented,
		Budgets: graphsim.Budgets{AppWrites: 2}})
	var reqs []map[string]any
	for i := range 4 {
		reqs = append(reqs, map[string]any{"id": fmt.Sprint(i), "method": "POST", "url": "/users",
			"body": newUser(fmt.Sprintf("b%d", i), nil), "headers": jsonHeaders})
	}
	items := tn.batch(reqs...)
	assert.Equal(t, []int{201, 201, 429, 429}, []int{items[0].Status, items[1].Status, items[2].Status, items[3].Status})
	for _, it := range items[2:] {
		assert.Equal(t, "75", it.Headers["Retry-After"], "2 writes per 150 s")
		assert.Regexp(t, `^Tenant_Application/Write/`, it.Headers["x-ms-throttle-scope"])
		e := it.object(t)["error"].(map[string]any)
		assert.Equal(t, "TooManyRequests", e["code"])
		assert.Equal(t, "Please retry again later.", e["message"])
	}
	st := tn.sim.Stats()
	assert.Equal(t, 2, st.Throttled)
	assert.Equal(t, 2, st.Users)

	// Retrying the throttled items after Retry-After succeeds.
	clk.Advance(150 * time.Second)
	items = tn.batch(reqs[2:]...)
	assert.Equal(t, []int{201, 201}, []int{items[0].Status, items[1].Status})
}
