package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
	"github.com/guestsync/guestsync/pkg/plan"
)

// lostPatches sends the first n batched PATCHes of users (all of them when
// n < 0) to a user that does not exist, so that the emulator answers them
// 404 as Graph does while a restored user is still replicating.
type lostPatches struct {
	next    http.Handler
	mu      sync.Mutex
	n, sent int
}

func (l *lostPatches) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/$batch") {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var b struct {
			Requests []map[string]any `json:"requests"`
		}
		if json.Unmarshal(body, &b) == nil {
			l.mu.Lock()
			for _, item := range b.Requests {
				if item["method"] == http.MethodPatch && (l.n < 0 || l.sent < l.n) {
					item["url"] = "/users/00000000-0000-4000-8000-00000000dead"
					l.sent++
				}
			}
			l.mu.Unlock()
			body, _ = json.Marshal(b)
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	}
	l.next.ServeHTTP(w, r)
}

func (l *lostPatches) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent
}

// deletedZoe is a client and emulator (its PATCHes through lost) with one
// guest guestsync made, zoe, deleted since: the restore that brings her
// back with the account disabled and a new name.
func deletedZoe(t *testing.T, lost int, co Options) (*Client, *lostPatches, plan.Action) {
	t.Helper()
	ctx := context.Background()
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}, Token: "t0ken"})
	lp := &lostPatches{next: sim, n: 0}
	srv := httptest.NewServer(lp)
	t.Cleanup(srv.Close)
	co.URL, co.Credential = srv.URL+"/v1.0", StaticToken("t0ken")
	c, err := New(co)
	require.NoError(t, err)
	res := c.Apply(ctx, []plan.Action{create("QUFBQUFBQUFBQUFBQUFBQQ==", "zoe")})
	require.Nil(t, res[0].Failure)
	id := res[0].ID
	res = c.Apply(ctx, []plan.Action{{Kind: plan.Delete, ID: id}})
	require.Nil(t, res[0].Failure)
	deleted, err := c.Deleted(ctx)
	require.NoError(t, err)
	require.Len(t, deleted, 1)
	require.Equal(t, "true", deleted[0].Properties["accountEnabled"])
	lp.mu.Lock()
	lp.n = lost
	lp.mu.Unlock()
	return c, lp, plan.Action{Kind: plan.Restore, Anchor: "QUFBQUFBQUFBQUFBQUFBQQ==", ID: id,
		Name: "zoe@partners.contoso.com", Changes: []plan.Change{
			{Property: "accountEnabled", Old: "true", New: "false"},
			{Property: "displayName", Old: "Partner zoe", New: "Zoë Martin"},
		}}
}

// TestRestoreAppliesItsChanges: one Apply restores the guest and brings
// it up to the plan, also when the first PATCH meets replication lag.
func TestRestoreAppliesItsChanges(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		lost int
	}{{"answered at once", 0}, {"the first PATCH meets replication lag", 1}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, lp, restore := deletedZoe(t, tt.lost, Options{RetryDelay: 10 * time.Millisecond})
			res := c.Apply(ctx, []plan.Action{restore})
			require.Len(t, res, 1)
			require.Nil(t, res[0].Failure)
			assert.Equal(t, restore.ID, res[0].ID)
			assert.Equal(t, tt.lost, lp.count())

			cur, err := c.Current(ctx)
			require.NoError(t, err)
			require.Len(t, cur, 1)
			assert.Equal(t, restore.ID, cur[0].ID, "the same object, restored")
			assert.Equal(t, "false", cur[0].Properties["accountEnabled"])
			assert.Equal(t, "Zoë Martin", cur[0].Properties["displayName"])
			deleted, err := c.Deleted(ctx)
			require.NoError(t, err)
			assert.Empty(t, deleted)
		})
	}
}

// TestRestoreWhoseUpdateFailsIsAFailure: the guest is back, but not as the
// plan says: the action fails (the run exits 1, the next run updates it)
// and says so.
func TestRestoreWhoseUpdateFailsIsAFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, lp, restore := deletedZoe(t, -1, Options{RetryDelay: 10 * time.Millisecond, LagTimeout: 100 * time.Millisecond})
	res := c.Apply(ctx, []plan.Action{restore})
	require.Len(t, res, 1)
	f := res[0].Failure
	require.NotNil(t, f)
	assert.Equal(t, http.StatusNotFound, f.Status)
	assert.Equal(t, "Request_ResourceNotFound", f.Code)
	assert.Contains(t, f.Message, "restored guest "+restore.ID+", but bringing it up to date failed")
	assert.Contains(t, f.Message, "accountEnabled, displayName are as they were when it was deleted")
	assert.Positive(t, lp.count())

	cur, err := c.Current(ctx)
	require.NoError(t, err)
	require.Len(t, cur, 1, "the restore itself happened")
	assert.Equal(t, "true", cur[0].Properties["accountEnabled"])
}
