package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
	"github.com/guestsync/guestsync/pkg/source"
	graphclient "github.com/guestsync/guestsync/pkg/target/graph"
)

// Tests of the scope "every guest" against guestsync's Graph emulator,
// which serves users, users/delta and $batch.

type tenant struct {
	t   *testing.T
	sim *graphsim.Server
	url string

	mu          sync.Mutex
	requests    []string          // method and path of every request
	assignments map[string]string // service principal and principal → assignment id
}

func newTenant(t *testing.T) *tenant {
	t.Helper()
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"contoso.com"}, Token: "t0ken"})
	tn := &tenant{t: t, sim: sim, assignments: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tn.mu.Lock()
		tn.requests = append(tn.requests, r.Method+" "+strings.TrimPrefix(r.URL.Path, "/v1.0"))
		tn.mu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tn.url = srv.URL + "/v1.0"
	return tn
}

func (tn *tenant) reader(opts Options) *Reader {
	tn.t.Helper()
	c, err := graphclient.New(graphclient.Options{URL: tn.url, Credential: graphclient.StaticToken("t0ken")})
	require.NoError(tn.t, err)
	r, err := New(c, opts, nil)
	require.NoError(tn.t, err)
	return r
}

// call sends an admin's request to the emulator and returns the answer's
// JSON object (nil for 204).
func (tn *tenant) call(method, path string, body any) map[string]any {
	tn.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(tn.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, tn.url+path, rd)
	require.NoError(tn.t, err)
	req.Header.Set("Authorization", "Bearer t0ken")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tn.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(tn.t, err)
	require.Less(tn.t, resp.StatusCode, 300, "%s %s: %s", method, path, b)
	if len(b) == 0 {
		return nil
	}
	var out map[string]any
	require.NoError(tn.t, json.Unmarshal(b, &out))
	return out
}

// user creates a user (userType Guest or Member) and returns its id.
func (tn *tenant) user(alias, userType string, enabled bool) string {
	tn.t.Helper()
	upn := alias + "@contoso.com"
	if userType == "Guest" {
		upn = alias + "_fabrikam.com#EXT#@contoso.com"
	}
	u := tn.call(http.MethodPost, "/users", map[string]any{
		"accountEnabled":    enabled,
		"displayName":       "User " + alias,
		"givenName":         alias,
		"mailNickname":      alias,
		"userPrincipalName": upn,
		"userType":          userType,
		"companyName":       "Fabrikam",
		"passwordProfile":   map[string]any{"password": "Passw0rd!x", "forceChangePasswordNextSignIn": false},
	})
	return u["id"].(string)
}

func (tn *tenant) patch(id string, props map[string]any) {
	tn.t.Helper()
	tn.call(http.MethodPatch, "/users/"+url.PathEscape(id), props)
}

// read collects a read's entries.
func read(t *testing.T, do func(fn func(source.Entry) error) (source.Result, error)) (source.Result, []source.Entry) {
	t.Helper()
	var entries []source.Entry
	res, err := do(func(e source.Entry) error {
		entries = append(entries, e)
		return nil
	})
	require.NoError(t, err)
	slices.SortFunc(entries, func(a, b source.Entry) int { return compare(a.DN, b.DN) })
	return res, entries
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func byDN(entries []source.Entry) map[string]source.Entry {
	out := map[string]source.Entry{}
	for _, e := range entries {
		out[e.DN] = e
	}
	return out
}

func TestEveryGuestFullRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	ann := tn.user("ann", "Guest", true)
	bob := tn.user("bob", "Guest", true)
	tn.user("cid", "Guest", false) // disabled: an absence
	tn.user("dan", "Member", true)
	r := tn.reader(Options{})

	res, entries := read(t, func(fn func(source.Entry) error) (source.Result, error) { return r.Read(ctx, fn) })
	assert.True(t, res.Complete)
	assert.False(t, res.Incremental)
	assert.NotEmpty(t, res.Watermark)
	assert.Equal(t, 2, res.Entries)
	require.Len(t, entries, 2)
	got := byDN(entries)
	require.Contains(t, got, ann)
	require.Contains(t, got, bob)
	e := got[ann]
	assert.Equal(t, []string{ann}, e.Values("id"))
	assert.Equal(t, []string{"ann_fabrikam.com#EXT#@contoso.com"}, e.Values("userPrincipalName"), "the UPN verbatim, #EXT# included")
	assert.Equal(t, []string{"User ann"}, e.Values("displayName"))
	assert.Equal(t, []string{"true"}, e.Values("accountEnabled"))
	assert.Equal(t, []string{"Guest"}, e.Values("userType"))
	assert.Equal(t, []string{"Fabrikam"}, e.Values("companyName"))
	assert.False(t, e.Deleted)
	assert.False(t, e.Has("surname"), "a property without a value is left out")

	w, err := decodeWatermark(res.Watermark)
	require.NoError(t, err)
	assert.Len(t, w.Members, 3, "the watermark remembers every guest, the disabled one too")
	assert.NoError(t, r.Check(ctx))
}

func TestEveryGuestIncremental(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	ann := tn.user("ann", "Guest", true)
	bob := tn.user("bob", "Guest", true)
	cid := tn.user("cid", "Guest", true)
	dan := tn.user("dan", "Member", true)
	eve := tn.user("eve", "Member", true)
	fay := tn.user("fay", "Guest", true)
	gus := tn.user("gus", "Guest", false)
	r := tn.reader(Options{})
	res, _ := read(t, func(fn func(source.Entry) error) (source.Result, error) { return r.Read(ctx, fn) })
	require.True(t, res.Complete)

	// Nothing changed: nothing to read.
	res, entries := read(t, func(fn func(source.Entry) error) (source.Result, error) { return r.ReadChanges(ctx, res.Watermark, fn) })
	require.True(t, res.Complete)
	assert.True(t, res.Incremental)
	assert.Empty(t, entries)

	tn.patch(ann, map[string]any{"displayName": "Ann Lefèvre"})         // changed
	tn.patch(bob, map[string]any{"accountEnabled": false})              // disabled: gone
	tn.call(http.MethodDelete, "/users/"+cid, nil)                      // deleted: gone
	tn.patch(dan, map[string]any{"displayName": "Dan, still a member"}) // not a guest: not read
	tn.patch(eve, map[string]any{"userType": "Guest"})                  // a member turned guest: comes
	tn.patch(fay, map[string]any{"userType": "Member"})                 // a guest turned member: gone
	tn.patch(gus, map[string]any{"accountEnabled": true})               // re-enabled: comes
	hal := tn.user("hal", "Guest", true)                                // new
	res, entries = read(t, func(fn func(source.Entry) error) (source.Result, error) { return r.ReadChanges(ctx, res.Watermark, fn) })
	require.True(t, res.Complete)
	assert.True(t, res.Incremental)
	got := byDN(entries)
	assert.Len(t, entries, 7, "ann, bob, cid, eve, fay, gus, hal: %v", entries)
	assert.NotContains(t, got, dan)
	assert.False(t, got[ann].Deleted)
	assert.Equal(t, []string{"Ann Lefèvre"}, got[ann].Values("displayName"))
	assert.Equal(t, []string{"ann_fabrikam.com#EXT#@contoso.com"}, got[ann].Values("userPrincipalName"), "a change comes as a whole entry")
	for _, id := range []string{bob, cid, fay} {
		assert.True(t, got[id].Deleted, id)
		assert.Equal(t, []string{id}, got[id].Values("id"), "a gone entry carries its anchor")
	}
	assert.Equal(t, []string{"false"}, got[bob].Values("accountEnabled"), "a disabled guest comes with what is known of it")
	for _, id := range []string{eve, gus, hal} {
		assert.False(t, got[id].Deleted, id)
		assert.Equal(t, []string{"Guest"}, got[id].Values("userType"))
	}

	// The member turned guest and back, and the deleted guest, are
	// remembered correctly: fay's return as a guest is read, dan still not.
	tn.patch(fay, map[string]any{"userType": "Guest"})
	tn.patch(dan, map[string]any{"displayName": "Dan again"})
	res, entries = read(t, func(fn func(source.Entry) error) (source.Result, error) { return r.ReadChanges(ctx, res.Watermark, fn) })
	require.True(t, res.Complete)
	require.Len(t, entries, 1)
	assert.Equal(t, fay, entries[0].DN)
	assert.False(t, entries[0].Deleted)
	w, err := decodeWatermark(res.Watermark)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{ann, bob, eve, fay, gus, hal}, w.Members)
}

func TestUnusableWatermarkReadsFully(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	tn.user("ann", "Guest", true)
	r := tn.reader(Options{})
	res, _ := read(t, func(fn func(source.Entry) error) (source.Result, error) { return r.Read(ctx, fn) })

	for name, mark := range map[string]string{"garbage": "not a watermark", "ldap's": "eyJ2IjoxLCJtIjoiY3NuIn0"} {
		res, entries := read(t, func(fn func(source.Entry) error) (source.Result, error) { return r.ReadChanges(ctx, mark, fn) })
		assert.True(t, res.Complete, name)
		assert.False(t, res.Incremental, name)
		assert.Len(t, entries, 1, name)
		assert.NotEmpty(t, res.Watermark, name)
	}

	// A deltaLink Graph no longer accepts (expired: 400 syncStateNotFound).
	tn.sim.ExpireDeltaTokens()
	res, entries := read(t, func(fn func(source.Entry) error) (source.Result, error) { return r.ReadChanges(ctx, res.Watermark, fn) })
	assert.True(t, res.Complete)
	assert.False(t, res.Incremental, "an expired link: read fully")
	assert.Len(t, entries, 1)
}

func TestKey(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	g1, g2 := "0c0c1f4b-8c55-4a1e-9a3c-1d2e3f405162", "1d1d1f4b-8c55-4a1e-9a3c-1d2e3f405162"
	all := tn.reader(Options{}).Key()
	assert.Regexp(t, `^graph-guests:http://127\.0\.0\.1:\d+/v1\.0:[0-9a-f]{16}$`, all)
	assert.Equal(t, all, tn.reader(Options{Scope: ScopeAll}).Key())
	groups := tn.reader(Options{Scope: ScopeGroups, Groups: []string{g1, g2}}).Key()
	assert.NotEqual(t, all, groups)
	assert.Equal(t, groups, tn.reader(Options{Scope: ScopeGroups, Groups: []string{strings.ToUpper(g2), g1}}).Key(), "order and case of ids do not count")
	assert.NotEqual(t, groups, tn.reader(Options{Scope: ScopeGroups, Groups: []string{g1}}).Key())
	assert.NotEqual(t, all, tn.reader(Options{Scope: ScopeApplication, ServicePrincipal: g1}).Key())
	assert.NotEqual(t, all, tn.reader(Options{Properties: []string{"jobTitle", "onPremisesImmutableId"}}).Key())
}
