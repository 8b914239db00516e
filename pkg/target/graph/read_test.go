package graph

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/plan"
)

func TestGetPage(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var headers []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		headers = append(headers, r.Header.Clone())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1.0/denied" {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"request-id":"r1"}}}`))
			return
		}
		_, _ = w.Write([]byte(`{"value":[{"id":"a","surname":null,"accountEnabled":true}],"@odata.nextLink":"https://next","@odata.deltaLink":""}`))
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{URL: srv.URL + "/v1.0", Credential: StaticToken("t")})
	require.NoError(t, err)
	assert.Equal(t, srv.URL+"/v1.0", c.Root())

	p, err := c.GetPage(context.Background(), c.Root()+"/groups/g/transitiveMembers/microsoft.graph.user?$count=true", PageOptions{Eventual: true, MaxPageSize: 999})
	require.NoError(t, err)
	require.Len(t, p.Value, 1)
	assert.JSONEq(t, `null`, string(p.Value[0]["surname"]), "a null stays a null")
	assert.Equal(t, "https://next", p.NextLink)
	assert.Equal(t, "eventual", headers[0].Get("ConsistencyLevel"))
	assert.Equal(t, "odata.maxpagesize=999", headers[0].Get("Prefer"))
	assert.Equal(t, "Bearer t", headers[0].Get("Authorization"))

	_, err = c.GetPage(context.Background(), c.Root()+"/users", PageOptions{})
	require.NoError(t, err)
	assert.Empty(t, headers[1].Get("ConsistencyLevel"), "advanced queries only when asked for")

	_, err = c.GetPage(context.Background(), c.Root()+"/denied", PageOptions{})
	require.Error(t, err)
	f := FailureOf(err)
	require.NotNil(t, f)
	assert.Equal(t, http.StatusForbidden, f.Status)
	assert.Equal(t, "Authorization_RequestDenied", f.Code)
	assert.Equal(t, "r1", f.RequestID)
	assert.False(t, NeedsResync(err))
}

func TestGetEach(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	ctx := context.Background()
	res := c.Apply(ctx, []plan.Action{create("QUFBQUFBQUFBQUFBQUFBQQ==", "zoe")})
	require.Nil(t, res[0].Failure)
	id := res[0].ID
	answers := c.GetEach(ctx, []string{"/users/" + id + "?$select=id,displayName", "/users/00000000-0000-4000-8000-000000000000?$select=id"})
	require.Len(t, answers, 2)
	assert.Equal(t, http.StatusOK, answers[0].Status)
	assert.Nil(t, answers[0].Failure)
	var u map[string]any
	require.NoError(t, json.Unmarshal(answers[0].Body, &u))
	assert.Equal(t, "Partner zoe", u["displayName"])
	assert.Equal(t, http.StatusNotFound, answers[1].Status)
	require.NotNil(t, answers[1].Failure)
	assert.Equal(t, "Request_ResourceNotFound", answers[1].Failure.Code)
}
