package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/graphsim"
	"github.com/guestsync/guestsync/pkg/plan"
)

// tally counts the emulator's answers by "METHOD STATUS" (top-level
// requests only; batch items are counted by graphsim.Stats).
type tally struct {
	mu sync.Mutex
	n  map[string]int
}

func (t *tally) get(k string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n[k]
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

// simClient starts an emulator with so and a client with co (URL and
// credential filled in).
func simClient(t testing.TB, so graphsim.Options, co Options) (*Client, *graphsim.Server, *tally) {
	t.Helper()
	so.VerifiedDomains = []string{"partners.contoso.com"}
	so.Token = "t0ken"
	sim := graphsim.New(so)
	tl := &tally{n: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: 200}
		// Without http.Hijacker, a dropped connection is the emulator's
		// panic(http.ErrAbortHandler), which net/http turns into a reset.
		sim.ServeHTTP(sw, r)
		tl.mu.Lock()
		tl.n[fmt.Sprintf("%s %d", r.Method, sw.status)]++
		tl.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	co.URL, co.Credential = srv.URL+"/v1.0", StaticToken("t0ken")
	c, err := New(co)
	require.NoError(t, err)
	return c, sim, tl
}

func invite(anchor, mail string) plan.Action {
	g := account.Account{Anchor: anchor, Properties: map[string]string{
		"mail": mail, "displayName": "Invited " + mail, "companyName": "Fabrikam",
		"accountEnabled": "true", "userPrincipalName": "ignored@partners.contoso.com", "mailNickname": "ignored",
	}}
	return plan.Action{Kind: plan.Create, Anchor: anchor, Name: mail, Account: &g} // to a client with Invite set
}

func TestInviteWaitsOutReplicationLag(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The emulator's clock stands still until the first PATCH has met the
	// lag, then moves past it: the test does not depend on how fast this
	// machine sends the PATCH.
	start := time.Now()
	var tl *tally
	now := func() time.Time {
		if tl.get("PATCH 404") > 0 {
			return start.Add(time.Hour)
		}
		return start
	}
	c, sim, tl := simClient(t, graphsim.Options{Now: now, Faults: graphsim.Faults{Lag: 3 * time.Second}},
		Options{Invite: true, RetryDelay: 20 * time.Millisecond, InviteRedirectURL: "https://myapps.example/"})
	res := c.Apply(ctx, []plan.Action{invite("QUFBQUFBQUFBQUFBQUFBQQ==", "ann@fabrikam.com")})
	require.Len(t, res, 1)
	require.Nil(t, res[0].Failure)
	require.NotEmpty(t, res[0].ID)
	assert.Equal(t, 1, tl.get("POST 201"), "one invitation")
	assert.Equal(t, 1, tl.get("PATCH 404"), "the PATCH met the lag")
	assert.Equal(t, 1, tl.get("PATCH 204"))

	cur, err := c.Current(ctx)
	require.NoError(t, err)
	require.Len(t, cur, 1)
	g := cur[0]
	assert.Equal(t, res[0].ID, g.ID)
	assert.True(t, g.Owned)
	assert.Equal(t, "QUFBQUFBQUFBQUFBQUFBQQ==", g.Anchor)
	assert.Equal(t, "Fabrikam", g.Properties["companyName"])
	assert.Equal(t, "ann@fabrikam.com", g.Properties["mail"])
	assert.Contains(t, g.Properties["userPrincipalName"], "#EXT#", "Graph assigns the UPN")
	assert.Equal(t, 1, sim.Stats().Users)
}

func TestInviteWithoutRedirectURLFailsThatAction(t *testing.T) {
	t.Parallel()
	c, sim, _ := simClient(t, graphsim.Options{}, Options{Invite: true})
	res := c.Apply(context.Background(), []plan.Action{invite("QUFBQUFBQUFBQUFBQUFBQQ==", "ann@fabrikam.com")})
	require.Len(t, res, 1)
	require.NotNil(t, res[0].Failure)
	assert.Contains(t, res[0].Failure.Message, "graph.invitation.redirectURL")
	assert.Equal(t, 0, sim.Stats().Writes, "nothing is sent")
}

func TestInviteLagOutlastingTheTimeoutIsRecorded(t *testing.T) {
	t.Parallel()
	c, _, _ := simClient(t, graphsim.Options{Faults: graphsim.Faults{Lag: time.Minute}},
		Options{Invite: true, RetryDelay: 10 * time.Millisecond, LagTimeout: 100 * time.Millisecond, InviteRedirectURL: "https://myapps.example/"})
	res := c.Apply(context.Background(), []plan.Action{invite("QUFBQUFBQUFBQUFBQUFBQQ==", "bob@fabrikam.com"), invite("QkJCQkJCQkJCQkJCQkJCQg==", "")})
	require.Len(t, res, 2)
	f := res[0].Failure
	require.NotNil(t, f)
	assert.NotEmpty(t, res[0].ID, "the invitation itself worked")
	assert.Equal(t, 404, f.Status)
	assert.Equal(t, "Request_ResourceNotFound", f.Code)
	assert.Regexp(t, `^[0-9a-f-]{36}$`, f.RequestID)
	require.NotNil(t, res[1].Failure)
	assert.Contains(t, res[1].Failure.Message, "needs the guest's mail")
}

func byNickname(t *testing.T, gs []account.Account) map[string]account.Account {
	t.Helper()
	out := map[string]account.Account{}
	for _, g := range gs {
		out[g.Properties["mailNickname"]] = g
	}
	return out
}

// twoOwners is a tenant with guests zoe and max of owner "prod" (the
// client returned) and eve of owner "test", by mailNickname.
func twoOwners(t *testing.T) (*Client, *graphsim.Server, *tally, map[string]account.Account) {
	t.Helper()
	ctx := context.Background()
	c, sim, tl := simClient(t, graphsim.Options{}, Options{Owner: "prod"})
	other, err := New(Options{URL: c.base, Credential: StaticToken("t0ken"), Owner: "test"})
	require.NoError(t, err)
	for _, r := range c.Apply(ctx, []plan.Action{create("QUFBQUFBQUFBQUFBQUFBQQ==", "zoe"), create("QkJCQkJCQkJCQkJCQkJCQg==", "max")}) {
		require.Nil(t, r.Failure)
	}
	for _, r := range other.Apply(ctx, []plan.Action{create("Q0NDQ0NDQ0NDQ0NDQ0NDQw==", "eve")}) {
		require.Nil(t, r.Failure)
	}
	cur, err := c.Current(ctx)
	require.NoError(t, err)
	return c, sim, tl, byNickname(t, cur)
}

func TestDisableDeleteRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, sim, _, g := twoOwners(t)
	zoe, max, eve := g["zoe"].ID, g["max"].ID, g["eve"].ID

	res := c.Apply(ctx, []plan.Action{
		{Kind: plan.Disable, ID: zoe}, {Kind: plan.Delete, ID: max},
		{Kind: plan.Delete, ID: eve}, {Kind: plan.Disable, ID: eve},
	})
	require.Len(t, res, 4)
	require.Nil(t, res[0].Failure)
	require.Nil(t, res[1].Failure)
	for _, r := range res[2:] {
		require.NotNil(t, r.Failure, "another owner's guest is refused")
		assert.Contains(t, r.Failure.Message, "ownership mark")
	}
	cur, err := c.Current(ctx)
	require.NoError(t, err)
	g = byNickname(t, cur)
	assert.Equal(t, "false", g["zoe"].Properties["accountEnabled"])
	assert.NotContains(t, g, "max")
	assert.Equal(t, "true", g["eve"].Properties["accountEnabled"])

	deleted, err := c.Deleted(ctx)
	require.NoError(t, err)
	require.Len(t, deleted, 1)
	assert.Equal(t, max, deleted[0].ID)
	assert.True(t, deleted[0].Deleted && deleted[0].Owned)
	assert.Equal(t, "QkJCQkJCQkJCQkJCQkJCQg==", deleted[0].Anchor)

	res = c.Apply(ctx, []plan.Action{{Kind: plan.Restore, ID: max}})
	require.Nil(t, res[0].Failure)
	assert.Equal(t, max, res[0].ID)
	deleted, err = c.Deleted(ctx)
	require.NoError(t, err)
	assert.Empty(t, deleted)
	assert.Equal(t, 3, sim.Stats().Users)

	// A client that has listed nothing checks the mark with a GET first.
	fresh, err := New(Options{URL: c.base, Credential: StaticToken("t0ken"), Owner: "prod"})
	require.NoError(t, err)
	res = fresh.Apply(ctx, []plan.Action{{Kind: plan.Delete, ID: eve}, {Kind: plan.Delete, ID: zoe}})
	require.NotNil(t, res[0].Failure)
	assert.Contains(t, res[0].Failure.Message, "ownership mark")
	require.Nil(t, res[1].Failure)
	assert.Equal(t, 2, sim.Stats().Users)
	assert.Equal(t, 1, sim.Stats().DeletedUsers)
}

func TestChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, sim, _ := simClient(t, graphsim.Options{}, Options{})
	res := c.Apply(ctx, []plan.Action{create("QUFBQUFBQUFBQUFBQUFBQQ==", "zoe"), create("QkJCQkJCQkJCQkJCQkJCQg==", "max")})
	zoe, max := res[0].ID, res[1].ID

	changes, link, err := c.Changes(ctx, "")
	require.NoError(t, err)
	require.Len(t, changes, 2)
	require.NotEmpty(t, link)
	g := changedByNickname(t, changes)
	assert.True(t, g["zoe"].Account.Owned)
	assert.True(t, g["zoe"].OwnerPresent)
	assert.Equal(t, "QUFBQUFBQUFBQUFBQUFBQQ==", g["zoe"].Account.Anchor)
	assert.Equal(t, "Fabrikam", g["zoe"].Account.Properties["companyName"], "selected properties come back")
	assert.Empty(t, g["zoe"].Present, "an initial round's users are whole")
	assert.False(t, g["zoe"].Removed)

	changes, link2, err := c.Changes(ctx, link)
	require.NoError(t, err)
	assert.Empty(t, changes)

	res = c.Apply(ctx, []plan.Action{
		{Kind: plan.Update, ID: zoe, Changes: []plan.Change{{Property: "displayName", New: "Zoë"}}},
		{Kind: plan.Delete, ID: max},
		create("Q0NDQ0NDQ0NDQ0NDQ0NDQw==", "eve"),
	})
	for _, r := range res {
		require.Nil(t, r.Failure)
	}
	changes, _, err = c.Changes(ctx, link2)
	require.NoError(t, err)
	require.Len(t, changes, 3)
	var removed []string
	for _, ch := range changes {
		if ch.Removed {
			removed = append(removed, ch.ID)
		}
	}
	assert.Equal(t, []string{max}, removed)
	g = changedByNickname(t, changes)
	assert.Equal(t, "Zoë", g["zoe"].Account.Properties["displayName"])
	assert.Contains(t, g["zoe"].Present, "displayName")
	assert.Equal(t, res[2].ID, g["eve"].ID)
	assert.True(t, strings.HasPrefix(link2, c.base), "links are absolute")

	_, _, err = c.Changes(ctx, c.base+"/users/delta()?$deltatoken=not-a-token")
	require.Error(t, err)
	assert.NotErrorIs(t, err, account.ErrResync, "a malformed link is a 400, not an expiry")

	sim.ExpireDeltaTokens()
	_, _, err = c.Changes(ctx, link2)
	require.ErrorIs(t, err, account.ErrResync, "an expired link: 400 syncStateNotFound")
	assert.Contains(t, err.Error(), "syncStateNotFound")
	changes, _, err = c.Changes(ctx, "")
	require.NoError(t, err, "an initial round starts again")
	assert.Len(t, changes, 2)
}

// changedByNickname indexes the changes that carry a mailNickname.
func changedByNickname(t *testing.T, changes []account.Change) map[string]account.Change {
	t.Helper()
	out := map[string]account.Change{}
	for _, ch := range changes {
		if n := ch.Account.Properties["mailNickname"]; n != "" {
			out[n] = ch
		}
	}
	return out
}

func TestDeltaTextValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, want string
		null, bad bool
	}{
		{`"Zoë"`, "Zoë", false, false},
		{`"Zo\u00eb \"Z\""`, `Zoë "Z"`, false, false},
		{`null`, "", true, false},
		{`true`, "true", false, false},
		{`false`, "false", false, false},
		{`42`, "", false, true},
		{`["a"]`, "", false, true},
	}
	for _, tt := range tests {
		got, null, err := textValue(json.RawMessage(tt.raw))
		assert.Equal(t, tt.bad, err != nil, tt.raw)
		assert.Equal(t, tt.want, got, tt.raw)
		assert.Equal(t, tt.null, null, tt.raw)
	}
}

// A create whose anchor an earlier run already put on a guest (a killed run
// whose requests finished, or a listing that had not caught up) finishes as
// that guest brought up to the plan; the anchor on another owner's user, or
// a clash on another property, stays a failure and nothing is touched.
func TestCreateOfAGuestAnEarlierRunMade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, sim, tl, before := twoOwners(t)

	again := create("QUFBQUFBQUFBQUFBQUFBQQ==", "zoe")
	again.Account.Properties["displayName"] = "Zoe Neumann"
	eve := create("Q0NDQ0NDQ0NDQ0NDQ0NDQw==", "eve")
	eve.Account.Properties["displayName"] = "Not yours"
	clash := create("RERERERERERERERERERERA==", "max") // max's UPN, another anchor
	gets, batches := tl.get("GET 200"), tl.get("POST 200")
	res := c.Apply(ctx, []plan.Action{again, eve, clash})
	require.Len(t, res, 3)
	assert.Equal(t, gets, tl.get("GET 200"), "no lookup of its own")
	assert.Equal(t, batches+3, tl.get("POST 200"), "one batch for the creates, one for the three lookups, one for zoe's update")

	require.Nil(t, res[0].Failure)
	assert.Equal(t, before["zoe"].ID, res[0].ID, "the guest the earlier run made")
	require.NotNil(t, res[1].Failure)
	assert.Contains(t, res[1].Failure.Message, "already exists")
	require.NotNil(t, res[2].Failure)
	assert.Contains(t, res[2].Failure.Message, "property userPrincipalName already exists")

	cur, err := c.Current(ctx)
	require.NoError(t, err)
	after := byNickname(t, cur)
	assert.Equal(t, "Zoe Neumann", after["zoe"].Properties["displayName"], "brought up to the plan")
	assert.Equal(t, "Partner eve", after["eve"].Properties["displayName"], "another owner's guest is untouched")
	assert.Equal(t, "Partner max", after["max"].Properties["displayName"])
	assert.Equal(t, 3, sim.Stats().Users)

	// A guest of this sync turned member is out of guestsync's view: its
	// anchor fails the create, with why, and the member is not touched.
	req, err := http.NewRequest(http.MethodPatch, c.base+"/users/"+after["max"].ID, strings.NewReader(`{"userType":"Member"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer t0ken")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	member := create("QkJCQkJCQkJCQkJCQkJCQg==", "max")
	member.Account.Properties["displayName"] = "Max Guest"
	res = c.Apply(ctx, []plan.Action{member})
	require.NotNil(t, res[0].Failure)
	assert.Contains(t, res[0].Failure.Message, "The anchor is on user "+after["max"].ID+", which carries this sync's mark but is a member now")
	req, err = http.NewRequest(http.MethodGet, c.base+"/users/"+after["max"].ID+"?$select=displayName", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer t0ken")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var got struct{ DisplayName string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	assert.Equal(t, "Partner max", got.DisplayName, "the member is not touched")
}
