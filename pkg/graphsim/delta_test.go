package graphsim_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

// deltaRound follows nextLinks from start to the deltaLink and returns the
// entries seen, the page sizes and the deltaLink.
func deltaRound(tn *tenant, start string, headers ...string) ([]map[string]any, []int, string) {
	tn.t.Helper()
	var entries []map[string]any
	var sizes []int
	r := tn.get(start, headers...)
	for {
		require.Equal(tn.t, http.StatusOK, r.status, "body: %s", r.body)
		body := r.object(tn.t)
		page := body["value"].([]any)
		sizes = append(sizes, len(page))
		for _, v := range page {
			entries = append(entries, v.(map[string]any))
		}
		next, ok := body["@odata.nextLink"].(string)
		if !ok {
			delta, ok := body["@odata.deltaLink"].(string)
			require.True(tn.t, ok, "the last page has a deltaLink: %s", r.body)
			assert.NotContains(tn.t, body, "@odata.nextLink")
			return entries, sizes, delta
		}
		require.Less(tn.t, len(sizes), 20, "paging does not terminate")
		assert.Contains(tn.t, next, "$skiptoken=")
		r = tn.follow(next, headers...)
	}
}

func TestDeltaInitialAndIncremental(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	var created []string
	for i := range 5 {
		created = append(created, tn.create(newUser(fmt.Sprintf("d%d", i), map[string]any{"jobTitle": "Initial"}))["id"].(string))
	}

	entries, sizes, deltaLink := deltaRound(tn, "/v1.0/users/delta()?$select=displayName,jobTitle,employeeId",
		"Prefer", "odata.maxpagesize=2")
	assert.Equal(t, []int{2, 2, 1}, sizes)
	require.Len(t, entries, 5)
	assert.Equal(t, map[string]any{"id": created[0], "displayName": "User d0", "jobTitle": "Initial"}, entries[0],
		"$select plus id; never-set properties are left out")
	assert.Contains(t, deltaLink, "/v1.0/users/delta()?$deltatoken=")

	// Nothing changed: an empty page and a new deltaLink.
	again, _, deltaLink2 := deltaRound(tn, strings.TrimPrefix(deltaLink, tn.srv.URL))
	assert.Empty(t, again)

	// Create, update, soft-delete and hard-delete.
	added := tn.create(newUser("d9", nil))["id"].(string)
	require.Equal(t, 204, tn.request(http.MethodPatch, "/v1.0/users/"+created[1], map[string]any{"jobTitle": "Changed"}).status)
	require.Equal(t, 204, tn.request(http.MethodDelete, "/v1.0/users/"+created[2], nil).status)
	require.Equal(t, 204, tn.request(http.MethodDelete, "/v1.0/users/"+created[3], nil).status)
	require.Equal(t, 204, tn.request(http.MethodDelete, "/v1.0/directory/deletedItems/"+created[3], nil).status)

	changes, _, deltaLink3 := deltaRound(tn, strings.TrimPrefix(deltaLink2, tn.srv.URL))
	assert.Equal(t, []map[string]any{
		{"id": added, "displayName": "User d9"},
		{"id": created[1], "displayName": "User d1", "jobTitle": "Changed"},
		{"id": created[2], "@removed": map[string]any{"reason": "changed"}},
		{"id": created[3], "@removed": map[string]any{"reason": "deleted"}},
	}, changes, "the selection travels in the token")

	// A restore brings the user back as a change.
	require.Equal(t, 200, tn.request(http.MethodPost, "/v1.0/directory/deletedItems/"+created[2]+"/restore", nil).status)
	restored, _, _ := deltaRound(tn, strings.TrimPrefix(deltaLink3, tn.srv.URL))
	assert.Equal(t, []map[string]any{{"id": created[2], "displayName": "User d2", "jobTitle": "Initial"}}, restored)

	// The old deltaLink still works and reports everything since then.
	fromOld, _, _ := deltaRound(tn, strings.TrimPrefix(deltaLink2, tn.srv.URL))
	assert.Len(t, fromOld, 4)
}

func TestDeltaDefaultsAndErrors(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.create(newUser("def", map[string]any{"jobTitle": "Engineer", "employeeId": "E9"}))
	for _, path := range []string{"/v1.0/users/delta", "/v1.0/users/delta()", "/v1.0/users/microsoft.graph.delta()"} {
		r := tn.get(path)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", path, r.body)
		body := r.object(t)
		assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#users", body["@odata.context"])
		u := body["value"].([]any)[0].(map[string]any)
		assert.Equal(t, "Engineer", u["jobTitle"])
		assert.NotContains(t, u, "employeeId", "not in the default set")
		assert.Equal(t, "1", r.header.Get("x-ms-resource-unit"))
	}
	tests := []struct {
		name, path, code, message string
		status                    int
	}{
		{"forged deltatoken", "/v1.0/users/delta?$deltatoken=abc", "Request_BadRequest", "Invalid $deltatoken value.", 400},
		{"forged skiptoken", "/v1.0/users/delta?$skiptoken=abc", "Request_BadRequest", "Invalid $skiptoken value.", 400},
		{"$top", "/v1.0/users/delta?$top=5", "BadRequest", "The query parameter '$top' is not supported.", 400},
		{"unknown $select", "/v1.0/users/delta?$select=nope", "BadRequest",
			"Parsing OData Select and Expand failed: Could not find a property named 'nope' on type 'microsoft.graph.user'.", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireError(t, tn.as(t).get(tt.path), tt.status, tt.code, tt.message)
		})
	}
	requireError(t, tn.get("/v1.0/users/delta", "Prefer", "return=minimal"), 501, "NotImplemented",
		"graphsim does not emulate Prefer: return=minimal on users/delta yet.")
}

func TestDeltaWaitsForReplication(t *testing.T) {
	t.Parallel()
	clk := newClock()
	tn := newTenantWith(t, graphsim.Options{Now: clk.Now, Faults: graphsim.Faults{Lag: 2 * time.Second}})
	first := tn.create(newUser("early", nil))["id"].(string)
	clk.Advance(3 * time.Second)
	late := tn.create(newUser("late", nil))["id"].(string)

	entries, _, link := deltaRound(tn, "/v1.0/users/delta?$select=id")
	assert.Equal(t, []map[string]any{{"id": first}}, entries, "a user inside its replication lag is not listed")
	clk.Advance(3 * time.Second)
	entries, _, _ = deltaRound(tn, strings.TrimPrefix(link, tn.srv.URL))
	assert.Equal(t, []map[string]any{{"id": late}}, entries, "the next round reports it once replicated")
}

func TestDeltaShowsClearedPropertiesAsNull(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	id := tn.create(newUser("cleared", map[string]any{"jobTitle": "Engineer", "businessPhones": []string{"+1 555 0100"}}))["id"].(string)

	entries, _, deltaLink := deltaRound(tn, "/v1.0/users/delta?$select=displayName,jobTitle,officeLocation,businessPhones")
	assert.Equal(t, []map[string]any{{"id": id, "displayName": "User cleared", "jobTitle": "Engineer",
		"businessPhones": []any{"+1 555 0100"}}}, entries, "the initial round leaves never-set officeLocation out")

	require.Equal(t, http.StatusNoContent, tn.request(http.MethodPatch, "/v1.0/users/"+id,
		map[string]any{"jobTitle": nil, "businessPhones": []string{}}).status)
	r := tn.follow(deltaLink)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Contains(t, string(r.body), `"jobTitle":null`, "a cleared property is sent as JSON null")
	changes := r.object(t)["value"].([]any)
	assert.Equal(t, []any{map[string]any{"id": id, "displayName": "User cleared", "jobTitle": nil, "businessPhones": []any{}}},
		changes, "cleared properties are null (a collection []), the never-set officeLocation stays absent")
	nextLink := r.object(t)["@odata.deltaLink"].(string)

	// Setting it again shows the value; the state file remembers what was
	// cleared, so a restarted tenant answers the same.
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodPatch, "/v1.0/users/"+id,
		map[string]any{"officeLocation": "B1"}).status)
	snap, err := tn.sim.Snapshot()
	require.NoError(t, err)
	assert.Contains(t, string(snap), `"cleared": [`)
	restarted := newTenantWith(t, graphsim.Options{})
	require.NoError(t, restarted.sim.LoadSnapshot(snap))
	again, _, _ := deltaRound(restarted, strings.TrimPrefix(nextLink, tn.srv.URL))
	assert.Equal(t, []map[string]any{{"id": id, "displayName": "User cleared", "jobTitle": nil, "officeLocation": "B1",
		"businessPhones": []any{}}}, again)

	// A fresh initial round shows the current state without nulls.
	initial, _, _ := deltaRound(tn, "/v1.0/users/delta?$select=displayName,jobTitle,officeLocation,businessPhones")
	assert.Equal(t, []map[string]any{{"id": id, "displayName": "User cleared", "officeLocation": "B1"}}, initial)
}

// requireSyncStateNotFound asserts the answer to an expired deltaLink.
func requireSyncStateNotFound(t *testing.T, r *response) {
	t.Helper()
	e := requireError(t, r, http.StatusBadRequest, "syncStateNotFound",
		"The sync state generation is not found. The delta token is expired and data must be synchronized again.")
	assert.Equal(t, r.header.Get("request-id"), e.InnerError.RequestID)
	assert.NotEmpty(t, e.InnerError.Date)
}

func TestDeltaLinkExpiresAfterSevenDays(t *testing.T) {
	t.Parallel()
	clk := newClock()
	tn := newTenantWith(t, graphsim.Options{Now: clk.Now})
	tn.create(newUser("a", nil))
	tn.create(newUser("b", nil))
	_, _, first := deltaRound(tn, "/v1.0/users/delta?$select=displayName")

	clk.Advance(6 * 24 * time.Hour)
	_, _, second := deltaRound(tn, strings.TrimPrefix(first, tn.srv.URL))
	clk.Advance(24 * time.Hour)
	_, _, _ = deltaRound(tn, strings.TrimPrefix(first, tn.srv.URL)) // exactly seven days: still valid
	clk.Advance(time.Second)
	requireSyncStateNotFound(t, tn.follow(first))

	// Each deltaLink has its own seven days.
	clk.Advance(5 * 24 * time.Hour)
	changes, _, _ := deltaRound(tn, strings.TrimPrefix(second, tn.srv.URL))
	assert.Empty(t, changes)

	// A nextLink continues its round however long the client takes.
	r := tn.get("/v1.0/users/delta", "Prefer", "odata.maxpagesize=1")
	require.Equal(t, http.StatusOK, r.status)
	next := r.object(t)["@odata.nextLink"].(string)
	clk.Advance(30 * 24 * time.Hour)
	rest, _, _ := deltaRound(tn, strings.TrimPrefix(next, tn.srv.URL))
	assert.Len(t, rest, 1)
}

func TestDeltaTokenLifetimeOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  graphsim.Options
		valid time.Duration // still usable this long after issue
		gone  time.Duration // expired this long after issue; 0: never
	}{
		{"time-scaled", graphsim.Options{TimeScale: 7 * 24}, time.Hour, time.Hour + time.Second},
		{"shorter lifetime", graphsim.Options{DeltaTokenLifetime: time.Minute}, time.Minute, time.Minute + time.Second},
		{"shorter and time-scaled", graphsim.Options{DeltaTokenLifetime: time.Minute, TimeScale: 60}, time.Second, 2 * time.Second},
		{"never", graphsim.Options{DeltaTokenLifetime: -1}, 1000 * 24 * time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			tt.opts.Now = clk.Now
			tn := newTenantWith(t, tt.opts)
			_, _, link := deltaRound(tn, "/v1.0/users/delta")
			clk.Advance(tt.valid)
			_, _, _ = deltaRound(tn, strings.TrimPrefix(link, tn.srv.URL))
			if tt.gone > 0 {
				clk.Advance(tt.gone - tt.valid)
				requireSyncStateNotFound(t, tn.follow(link))
			}
		})
	}
}

func TestExpireDeltaTokens(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	id := tn.create(newUser("e", nil))["id"].(string)
	_, _, before := deltaRound(tn, "/v1.0/users/delta?$select=id")

	tn.sim.ExpireDeltaTokens()
	requireSyncStateNotFound(t, tn.follow(before))

	// The client starts over: a new initial round, and its deltaLink works.
	entries, _, after := deltaRound(tn, "/v1.0/users/delta?$select=id")
	assert.Equal(t, []map[string]any{{"id": id}}, entries)
	_, _, after = deltaRound(tn, strings.TrimPrefix(after, tn.srv.URL))

	// The state file remembers the expiry.
	snap, err := tn.sim.Snapshot()
	require.NoError(t, err)
	restarted := newTenantWith(t, graphsim.Options{})
	require.NoError(t, restarted.sim.LoadSnapshot(snap))
	requireSyncStateNotFound(t, restarted.get(strings.TrimPrefix(before, tn.srv.URL)))
	_, _, _ = deltaRound(restarted, strings.TrimPrefix(after, tn.srv.URL))

	// The same over HTTP.
	r := tn.request(http.MethodPost, "/_graphsim/expire-delta-tokens", nil)
	require.Equal(t, http.StatusNoContent, r.status, "body: %s", r.body)
	requireSyncStateNotFound(t, tn.follow(after))
	assert.Equal(t, 1, tn.sim.Stats().Writes, "the control endpoint is not counted")
}

// TestDeltaWritesBetweenPages pins what a round shows when the tenant
// changes between its pages: the initial round lists the users that exist
// and are visible when each page is cut (a user deleted before its page is
// left out; one created, or whose replication lag ends, after the round
// began is listed), and its deltaLink reports every change after the round
// began; a later round leaves out a user changed again after it began and
// reports that user in the next round.
func TestDeltaWritesBetweenPages(t *testing.T) {
	t.Parallel()
	clk := newClock()
	tn := newTenantWith(t, graphsim.Options{Now: clk.Now, Faults: graphsim.Faults{Lag: 2 * time.Second}})
	var id []string
	for _, alias := range []string{"a", "b", "c", "d"} {
		id = append(id, tn.create(newUser(alias, nil))["id"].(string))
	}
	clk.Advance(3 * time.Second)
	late := tn.create(newUser("late", nil))["id"].(string) // hidden for 2 s
	page := []string{"Prefer", "odata.maxpagesize=2"}

	r := tn.get("/v1.0/users/delta?$select=id", page...)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, id[:2], ids(t, r))
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/users/"+id[2], nil).status)
	added := tn.create(newUser("added", nil))["id"].(string)
	clk.Advance(3 * time.Second) // late and added are visible now
	rest, sizes, link := deltaRound(tn, strings.TrimPrefix(r.object(t)["@odata.nextLink"].(string), tn.srv.URL), page...)
	assert.Equal(t, []map[string]any{{"id": id[3]}, {"id": late}, {"id": added}}, rest)
	assert.Equal(t, []int{2, 1}, sizes)

	next, _, link := deltaRound(tn, strings.TrimPrefix(link, tn.srv.URL), page...)
	assert.Equal(t, []map[string]any{{"id": late}, {"id": id[2], "@removed": map[string]any{"reason": "changed"}}, {"id": added}},
		next, "the changes since the initial round began")

	for _, u := range []string{id[0], id[1], id[3]} {
		require.Equal(t, http.StatusNoContent, tn.request(http.MethodPatch, "/v1.0/users/"+u, map[string]any{"jobTitle": "x"}).status)
	}
	r = tn.follow(link, page...)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, id[:2], ids(t, r))
	for _, u := range []string{id[3], id[0]} {
		require.Equal(t, http.StatusNoContent, tn.request(http.MethodPatch, "/v1.0/users/"+u, map[string]any{"jobTitle": "y"}).status)
	}
	rest, _, link = deltaRound(tn, strings.TrimPrefix(r.object(t)["@odata.nextLink"].(string), tn.srv.URL), page...)
	assert.Empty(t, rest, "d changed again after the round began: the next round has it")
	next, _, _ = deltaRound(tn, strings.TrimPrefix(link, tn.srv.URL), "Prefer", "odata.maxpagesize=2")
	assert.Equal(t, []map[string]any{{"id": id[3]}, {"id": id[0]}}, next)
}
