package graph

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"

	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/graphsim"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/schema"
)

func newClient(t *testing.T) (*Client, *graphsim.Server) {
	t.Helper()
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}, Token: "t0ken"})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := New(Options{URL: srv.URL + "/v1.0", Credential: StaticToken("t0ken")})
	require.NoError(t, err)
	return c, sim
}

func create(anchor, alias string) plan.Action {
	g := account.Account{Anchor: anchor, Source: "CN=" + alias, Properties: map[string]string{
		"userPrincipalName": alias + "@partners.contoso.com",
		"mailNickname":      alias,
		"displayName":       "Partner " + alias,
		"accountEnabled":    "true",
		"companyName":       "Fabrikam",
	}}
	return plan.Action{Kind: plan.Create, Anchor: anchor, Name: g.Properties["userPrincipalName"], Account: &g}
}

func TestCreateListUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, sim := newClient(t)
	res := c.Apply(ctx, []plan.Action{create("QUFBQUFBQUFBQUFBQUFBQQ==", "zoe"), create("QkJCQkJCQkJCQkJCQkJCQg==", "jurgen")})
	require.Len(t, res, 2)
	for _, r := range res {
		require.Nil(t, r.Failure)
		assert.NotEmpty(t, r.ID)
	}
	current, err := c.Current(ctx)
	require.NoError(t, err)
	require.Len(t, current, 2)
	byAnchor := map[string]account.Account{}
	for _, g := range current {
		byAnchor[g.Anchor] = g
	}
	zoe := byAnchor["QUFBQUFBQUFBQUFBQUFBQQ=="]
	assert.Equal(t, res[0].ID, zoe.ID)
	assert.Equal(t, "zoe@partners.contoso.com", zoe.Properties["userPrincipalName"])
	assert.Equal(t, "true", zoe.Properties["accountEnabled"], "selected properties come back")
	assert.Equal(t, "Fabrikam", zoe.Properties["companyName"])

	upd := plan.Action{Kind: plan.Update, ID: zoe.ID, Changes: []plan.Change{
		{Property: "displayName", Old: "Partner zoe", New: "Zoë Lefèvre"},
		{Property: "accountEnabled", Old: "true", New: "false"},
	}}
	res = c.Apply(ctx, []plan.Action{upd})
	require.Len(t, res, 1)
	require.Nil(t, res[0].Failure)
	current, err = c.Current(ctx)
	require.NoError(t, err)
	for _, g := range current {
		if g.ID == zoe.ID {
			assert.Equal(t, "Zoë Lefèvre", g.Properties["displayName"])
			assert.Equal(t, "false", g.Properties["accountEnabled"])
		}
	}
	assert.Equal(t, 3, sim.Stats().Writes)
}

func TestFailuresCarryGraphsCodeAndRequestID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, _ := newClient(t)
	bad := create("Q0NDQ0NDQ0NDQ0NDQ0NDQw==", "eve")
	bad.Account.Properties["userPrincipalName"] = "eve@unverified.example"
	res := c.Apply(ctx, []plan.Action{
		create("QUFBQUFBQUFBQUFBQUFBQQ==", "zoe"),
		create("QkJCQkJCQkJCQkJCQkJCQg==", "zoe"), // same UPN
		bad,
		{Kind: plan.Update, ID: "00000000-0000-0000-0000-000000000000", Changes: []plan.Change{{Property: "displayName", New: "x"}}},
	})
	require.Len(t, res, 4)
	assert.Nil(t, res[0].Failure, "one failure never stops the others")

	dup := res[1].Failure
	require.NotNil(t, dup)
	assert.Equal(t, 400, dup.Status)
	assert.Equal(t, "Request_BadRequest", dup.Code)
	assert.Equal(t, "Another object with the same value for property userPrincipalName already exists.", dup.Message)
	assert.Regexp(t, `^[0-9a-f-]{36}$`, dup.RequestID)

	require.NotNil(t, res[2].Failure)
	assert.Equal(t, "Property userPrincipalName is invalid.", res[2].Failure.Message)

	require.NotNil(t, res[3].Failure)
	assert.Equal(t, 404, res[3].Failure.Status)
	assert.Equal(t, "Request_ResourceNotFound", res[3].Failure.Code)
}

func TestCurrentFollowsPaging(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, sim := newClient(t)
	var actions []plan.Action
	for i := 0; i < 1203; i++ {
		anchor := fmt.Sprintf("%022d==", i)
		actions = append(actions, create(anchor, fmt.Sprintf("p%04d", i)))
	}
	for _, r := range c.Apply(ctx, actions) {
		require.Nil(t, r.Failure, r.Action.Name)
	}
	reads := sim.Stats().Reads
	current, err := c.Current(ctx)
	require.NoError(t, err)
	assert.Len(t, current, 1203)
	assert.Equal(t, 2, sim.Stats().Reads-reads, "999 per page: two pages")
	seen := map[string]bool{}
	for _, g := range current {
		assert.False(t, seen[g.ID], "no duplicates across pages")
		seen[g.ID] = true
	}
}

func TestUnauthorisedIsReported(t *testing.T) {
	t.Parallel()
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}, Token: "right"})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, err := New(Options{URL: srv.URL + "/v1.0", Credential: StaticToken("wrong")})
	require.NoError(t, err)
	_, err = c.Current(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "InvalidAuthenticationToken")
	assert.NotContains(t, err.Error(), "wrong", "the token is not echoed")
}

func TestAccessorsCoverEveryProperty(t *testing.T) {
	t.Parallel()
	for _, p := range schema.Graph().Properties() {
		_, ok := accessors[p.Name]
		assert.True(t, ok, "no accessor for %s", p.Name)
	}
	assert.Len(t, accessors, len(schema.Graph().Properties()))
	// Round trip through the SDK model.
	props := map[string]string{}
	for _, p := range schema.Graph().Properties() {
		props[p.Name] = "v-" + p.Name
	}
	props["accountEnabled"] = "false"
	props["usageLocation"] = "DE"
	props["userPrincipalName"] = "v@partners.contoso.com"
	u, err := toUser(props)
	require.NoError(t, err)
	assert.Equal(t, props, toGuest(u).Properties)
}

func TestNewPassword(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		pw, err := NewPassword()
		require.NoError(t, err)
		assert.Len(t, pw, passwordLength)
		var l, u, d, s bool
		for _, r := range pw {
			switch {
			case unicode.IsLower(r):
				l = true
			case unicode.IsUpper(r):
				u = true
			case unicode.IsDigit(r):
				d = true
			case strings.ContainsRune("!#%*+-=?@^_~", r):
				s = true
			}
		}
		assert.True(t, l && u && d && s, "all four classes in %d", i)
		assert.False(t, seen[pw])
		seen[pw] = true
	}
}

func TestOwnershipMarkAndAdoption(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}, Token: "t0ken"})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	mine, err := New(Options{URL: srv.URL + "/v1.0", Credential: StaticToken("t0ken"), Owner: "prod"})
	require.NoError(t, err)
	other, err := New(Options{URL: srv.URL + "/v1.0", Credential: StaticToken("t0ken"), Owner: "test"})
	require.NoError(t, err)

	for _, r := range mine.Apply(ctx, []plan.Action{create("QUFBQUFBQUFBQUFBQUFBQQ==", "zoe")}) {
		require.Nil(t, r.Failure)
	}
	for _, r := range other.Apply(ctx, []plan.Action{create("QkJCQkJCQkJCQkJCQkJCQg==", "jurgen")}) {
		require.Nil(t, r.Failure)
	}
	owned := func(c *Client) map[string]bool {
		cur, err := c.Current(ctx)
		require.NoError(t, err)
		out := map[string]bool{}
		for _, g := range cur {
			out[g.Properties["mailNickname"]] = g.Owned
		}
		return out
	}
	assert.Equal(t, map[string]bool{"zoe": true, "jurgen": false}, owned(mine), "each instance owns only what it created")
	assert.Equal(t, map[string]bool{"zoe": false, "jurgen": true}, owned(other))

	// Adoption: the mark and the anchor are written with the changes.
	cur, err := mine.Current(ctx)
	require.NoError(t, err)
	var jurgen account.Account
	for _, g := range cur {
		if g.Properties["mailNickname"] == "jurgen" {
			jurgen = g
		}
	}
	res := mine.Apply(ctx, []plan.Action{{Kind: plan.Adopt, ID: jurgen.ID, Changes: []plan.Change{
		{Property: "displayName", Old: jurgen.Properties["displayName"], New: "Jürgen Müller"},
		{Property: "onPremisesImmutableId", Old: jurgen.Anchor, New: "Q0NDQ0NDQ0NDQ0NDQ0NDQw=="},
	}}})
	require.Len(t, res, 1)
	require.Nil(t, res[0].Failure)
	assert.Equal(t, map[string]bool{"zoe": true, "jurgen": true}, owned(mine))
	cur, _ = mine.Current(ctx)
	for _, g := range cur {
		if g.ID == jurgen.ID {
			assert.Equal(t, "Q0NDQ0NDQ0NDQ0NDQ0NDQw==", g.Anchor)
			assert.Equal(t, "Jürgen Müller", g.Properties["displayName"])
		}
	}

	// An action kind this version cannot carry out is a recorded failure,
	// never a silent no-op.
	res = mine.Apply(ctx, []plan.Action{{Kind: plan.Kind("merge"), ID: jurgen.ID}})
	require.Len(t, res, 1)
	require.NotNil(t, res[0].Failure)
	assert.Contains(t, res[0].Failure.Message, "cannot merge")

	_, err = New(Options{URL: srv.URL + "/v1.0", Credential: StaticToken("t0ken"), OwnerAttribute: "extensionAttribute16"})
	assert.ErrorContains(t, err, "use extensionAttribute1 to extensionAttribute15")
}

func TestGetRetryingRetriesWhatMayGoBetter(t *testing.T) {
	t.Parallel()
	serverError := func(status int) error {
		e := odataerrors.NewODataError()
		e.ResponseStatusCode = status
		return e
	}
	calls := 0
	v, err := getRetrying(context.Background(), func() (int, error) {
		calls++
		if calls == 1 {
			return 0, serverError(500)
		}
		return 42, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 42, v)
	assert.Equal(t, 2, calls, "a 500 is retried")

	calls = 0
	v, err = getRetrying(context.Background(), func() (int, error) {
		calls++
		if calls == 1 {
			return 0, fmt.Errorf("get: %w", io.ErrUnexpectedEOF)
		}
		return 7, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 7, v)
	assert.Equal(t, 2, calls, "a dropped connection is retried")

	calls = 0
	_, err = getRetrying(context.Background(), func() (int, error) { calls++; return 0, context.Canceled })
	require.Error(t, err)
	assert.Equal(t, 1, calls, "a cancelled run is not")

	calls = 0
	_, err = getRetrying(context.Background(), func() (int, error) { calls++; return 0, serverError(403) })
	require.Error(t, err)
	assert.Equal(t, 1, calls, "a 403 is not")
	assert.Equal(t, "HTTP 403 with no Graph error body", failure(err).Message, "a bare error body does not panic")
}
