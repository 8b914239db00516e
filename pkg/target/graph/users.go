package graph

import (
	"context"
	"errors"
	"fmt"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/guestsync/guestsync/pkg/guest"
	"github.com/guestsync/guestsync/pkg/plan"
)

// pageSize is Graph's largest $top for users (1 to 999).
const pageSize = 999

func (c *Client) usersBuilder() *users.UsersRequestBuilder {
	return users.NewUsersRequestBuilderInternal(map[string]string{}, c.adapter)
}

// Current returns the guest users guestsync may match: every guest that
// carries its ownership mark (Owned) and every other guest with an
// onPremisesImmutableId or a mail, so that the plan can see (and avoid)
// collisions with objects it does not own. It follows @odata.nextLink
// until the last page.
func (c *Client) Current(ctx context.Context) ([]guest.Guest, error) {
	top := int32(pageSize)
	filter := "userType eq 'Guest'"
	cfg := &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Filter: &filter, Select: append(selectFields(), c.owner.selectField()), Top: &top,
		},
	}
	resp, err := c.usersBuilder().Get(ctx, cfg)
	var out []guest.Guest
	for pages := 1; ; pages++ {
		if err != nil {
			return nil, fmt.Errorf("list guest users (page %d): %w", pages, failure(err))
		}
		for _, u := range resp.GetValue() {
			g := toGuest(u)
			g.Owned = c.owner.owns(u)
			if g.Owned || g.Anchor != "" || g.Properties["mail"] != "" {
				out = append(out, g)
			}
		}
		next := resp.GetOdataNextLink()
		if next == nil || *next == "" {
			break
		}
		resp, err = c.usersBuilder().WithUrl(*next).Get(ctx, nil)
	}
	c.log.Debug("listed guest users", "relevant", len(out))
	return out, nil
}

// Apply carries out the actions one by one. A failed action is recorded in
// its result and never stops the others.
func (c *Client) Apply(ctx context.Context, actions []plan.Action) []plan.Result {
	results := make([]plan.Result, 0, len(actions))
	for _, a := range actions {
		if ctx.Err() != nil {
			results = append(results, plan.Result{Action: a, Failure: &plan.Failure{Message: "not attempted: " + ctx.Err().Error()}})
			continue
		}
		var r plan.Result
		switch a.Kind {
		case plan.Create:
			r = c.create(ctx, a)
		case plan.Update, plan.Adopt:
			r = c.update(ctx, a)
		case plan.Skip:
			continue
		default:
			r = plan.Result{Action: a, Failure: &plan.Failure{Message: fmt.Sprintf("this version cannot %s guests", a.Kind)}}
		}
		results = append(results, r)
	}
	return results
}

func (c *Client) create(ctx context.Context, a plan.Action) plan.Result {
	res := plan.Result{Action: a}
	if a.Guest == nil {
		res.Failure = &plan.Failure{Message: "create action without a guest"}
		return res
	}
	u, err := toUser(a.Guest.Properties)
	if err != nil {
		res.Failure = &plan.Failure{Message: err.Error()}
		return res
	}
	guestType := "Guest"
	u.SetUserType(&guestType)
	anchor := a.Guest.Anchor
	u.SetOnPremisesImmutableId(&anchor)
	c.owner.stamp(u)
	pw, err := NewPassword()
	if err != nil {
		res.Failure = &plan.Failure{Message: err.Error()}
		return res
	}
	profile := models.NewPasswordProfile()
	profile.SetPassword(&pw)
	// The guest signs in with the password only if the organisation hands
	// it out; a forced change would otherwise lock them out of a password
	// nobody knows.
	force := false
	profile.SetForceChangePasswordNextSignIn(&force)
	u.SetPasswordProfile(profile)
	created, err := c.usersBuilder().Post(ctx, u, nil)
	if err != nil {
		res.Failure = failure(err)
		c.log.Warn("create failed", "upn", a.UserPrincipalName, "dn", a.DN, "error", res.Failure.Error())
		return res
	}
	if id := created.GetId(); id != nil {
		res.ObjectID = *id
	}
	c.log.Info("created guest", "upn", a.UserPrincipalName, "id", res.ObjectID)
	return res
}

func (c *Client) update(ctx context.Context, a plan.Action) plan.Result {
	res := plan.Result{Action: a, ObjectID: a.ObjectID}
	props := make(map[string]string, len(a.Changes))
	anchor := ""
	for _, ch := range a.Changes {
		if ch.Property == "onPremisesImmutableId" {
			anchor = ch.New
			continue
		}
		props[ch.Property] = ch.New
	}
	u, err := toUser(props)
	if err != nil {
		res.Failure = &plan.Failure{Message: err.Error()}
		return res
	}
	if a.Kind == plan.Adopt {
		// Taking an existing guest over: the mark and the anchor go on
		// it in the same PATCH as the mapped properties.
		c.owner.stamp(u)
		if anchor != "" {
			u.SetOnPremisesImmutableId(&anchor)
		}
	}
	item := users.NewUserItemRequestBuilderInternal(map[string]string{"user%2Did": a.ObjectID}, c.adapter)
	if _, err := item.Patch(ctx, u, nil); err != nil {
		res.Failure = failure(err)
		c.log.Warn("update failed", "upn", a.UserPrincipalName, "id", a.ObjectID, "error", res.Failure.Error())
		return res
	}
	c.log.Info(map[plan.Kind]string{plan.Update: "updated guest", plan.Adopt: "adopted guest"}[a.Kind], "upn", a.UserPrincipalName, "id", a.ObjectID, "properties", len(props))
	return res
}

// failure extracts Graph's error code, message and request id.
func failure(err error) *plan.Failure {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		f := &plan.Failure{Status: oe.ResponseStatusCode, Message: oe.Error()}
		if main := oe.GetErrorEscaped(); main != nil {
			if s := main.GetCode(); s != nil {
				f.Code = *s
			}
			if s := main.GetMessage(); s != nil {
				f.Message = *s
			}
			if inner := main.GetInnerError(); inner != nil {
				if s := inner.GetRequestId(); s != nil {
					f.RequestID = *s
				}
			}
		}
		return f
	}
	var api *abs.ApiError
	if errors.As(err, &api) {
		return &plan.Failure{Status: api.ResponseStatusCode, Message: api.Error()}
	}
	return &plan.Failure{Message: err.Error()}
}
