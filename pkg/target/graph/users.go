package graph

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/directory"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/plan"
)

// pageSize is Graph's largest $top for users (1 to 999).
const pageSize = 999

func (c *Client) usersBuilder() *users.UsersRequestBuilder {
	return users.NewUsersRequestBuilderInternal(map[string]string{}, c.adapter)
}

// Current returns every guest user, Owned set on those that carry
// guestsync's mark: the others are there so that the plan can see (and
// avoid) collisions on anchor, UPN, mailNickname or mail with objects it
// does not own. It follows @odata.nextLink until the last page.
func (c *Client) Current(ctx context.Context) ([]account.Account, error) {
	top := int32(pageSize)
	filter := "userType eq 'Guest'"
	cfg := &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Filter: &filter, Select: append(selectFields(), c.owner.selectField()), Top: &top,
		},
	}
	resp, err := getRetrying(ctx, func() (models.UserCollectionResponseable, error) {
		return c.usersBuilder().Get(ctx, cfg)
	})
	var out []account.Account
	for pages := 1; ; pages++ {
		if err != nil {
			return nil, fmt.Errorf("list guest users (page %d): %w", pages, failure(err))
		}
		for _, u := range resp.GetValue() {
			g := toGuest(u)
			g.Owned = c.owner.owns(u)
			c.remember(g)
			// Every guest: any of them can hold a UPN or mailNickname a
			// desired guest would collide with.
			out = append(out, g)
		}
		next := resp.GetOdataNextLink()
		if next == nil || *next == "" {
			break
		}
		link := *next
		resp, err = getRetrying(ctx, func() (models.UserCollectionResponseable, error) {
			return c.usersBuilder().WithUrl(link).Get(ctx, nil)
		})
	}
	c.log.Debug("listed guest users", "relevant", len(out))
	return out, nil
}

// Deleted returns the guests carrying guestsync's mark that are in the
// tenant's recycle bin (GET /directory/deletedItems/microsoft.graph.user),
// with Deleted and Owned set: restorable for 30 days after their deletion,
// so that the plan can restore a returning account instead of creating a
// second one. Unowned deleted users are left out: guestsync never restores
// them.
func (c *Client) Deleted(ctx context.Context) ([]account.Account, error) {
	// The SDK's builder says /directory/deletedItems/graph.user (Graph's
	// short alias); the documented cast is microsoft.graph.user, which the
	// emulator also knows, so the URL is spelled out. No $top: the
	// deletedItems list does not take it; pages follow @odata.nextLink.
	q := url.Values{}
	q.Set("$filter", "userType eq 'Guest'")
	q.Set("$select", strings.Join(append(selectFields(), c.owner.selectField()), ","))
	first := c.base + "/directory/deletedItems/microsoft.graph.user?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	builder := directory.NewDeletedItemsGraphUserRequestBuilderInternal(map[string]string{}, c.adapter)
	get := func(link string) (models.UserCollectionResponseable, error) {
		return getRetrying(ctx, func() (models.UserCollectionResponseable, error) { return builder.WithUrl(link).Get(ctx, nil) })
	}
	resp, err := get(first)
	var out []account.Account
	for pages := 1; ; pages++ {
		if err != nil {
			return nil, fmt.Errorf("list deleted guest users (page %d): %w", pages, failure(err))
		}
		for _, u := range resp.GetValue() {
			g := toGuest(u)
			g.Owned, g.Deleted = c.owner.owns(u), true
			c.remember(g)
			if g.Owned {
				out = append(out, g)
			}
		}
		next := resp.GetOdataNextLink()
		if next == nil || *next == "" {
			break
		}
		resp, err = get(*next)
	}
	c.log.Debug("listed deleted guest users", "owned", len(out))
	return out, nil
}

// remember records whether a listed user carries the mark, for Apply's
// ownership double-check.
func (c *Client) remember(g account.Account) {
	if g.ID == "" {
		return
	}
	c.mu.Lock()
	c.known[strings.ToLower(g.ID)] = g.Owned
	c.mu.Unlock()
}

// failure extracts Graph's error code, message and request id.
func failure(err error) *plan.Failure {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		// ODataError.Error panics when the body had no "error" object
		// (a proxy's bare 5xx), so the message starts from the status.
		f := &plan.Failure{Status: oe.ResponseStatusCode, Message: fmt.Sprintf("HTTP %d with no Graph error body", oe.ResponseStatusCode)}
		if main := oe.GetErrorEscaped(); main != nil {
			if s := main.GetCode(); s != nil {
				f.Code = clipText(*s)
			}
			if s := main.GetMessage(); s != nil && *s != "" {
				f.Message = clipText(*s)
			}
			if inner := main.GetInnerError(); inner != nil {
				if s := inner.GetRequestId(); s != nil {
					f.RequestID = clipText(*s)
				}
			}
		}
		return f
	}
	var api *abs.ApiError
	if errors.As(err, &api) {
		return &plan.Failure{Status: api.ResponseStatusCode, Message: clipText(api.Error())}
	}
	return &plan.Failure{Message: clipText(err.Error())}
}

// maxGraphMessage bounds the text an answer puts in a failure (code,
// message, request id): failures are listed in reports, and an answer's
// body, Graph's or a proxy's, can be any size.
const maxGraphMessage = 1000

func clipText(s string) string {
	if len(s) <= maxGraphMessage {
		return s
	}
	r := []rune(s)
	if len(r) <= maxGraphMessage {
		return s
	}
	return string(r[:maxGraphMessage]) + fmt.Sprintf("… (%d characters in all)", len(r))
}

// getRetrying retries an idempotent GET that failed in a way that may go
// better next time, by the same rule as batches (retryable: 429, 500,
// 502, 503, 504, a dropped connection), so that one transient fault does
// not fail a nightly run: 3 more tries, 1, 2 and 4 s apart, or after the
// answer's Retry-After when that is longer. (The SDK's middleware retries
// 429, 503 and 504 before this sees them.)
func getRetrying[T any](ctx context.Context, get func() (T, error)) (T, error) {
	delay := time.Second
	for attempt := 0; ; attempt++ {
		v, err := get()
		if err == nil || attempt == 3 {
			return v, err
		}
		if !retryable(failure(err).Status, err) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(max(delay, retryAfter(headerOf(err, "Retry-After")))):
		}
		delay *= 2
	}
}
