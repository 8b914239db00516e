package graph

import (
	"context"
	"fmt"

	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/guestsync/guestsync/pkg/guest"
)

// Changes returns what changed among the tenant's users since deltaLink
// (GET /users/delta()): the guest users created or changed, with Owned set
// as in Current, the ids of users removed (deleted, restorable or not, or
// otherwise gone; Graph's "@removed"), and the deltaLink of the next round.
// An empty deltaLink starts the initial round, which returns every guest
// user. The $select (managed properties, the mark's attribute, userType,
// onPremisesImmutableId) travels inside Graph's links. Users whose userType
// is not Guest are left out (a guest turned member is then not reported;
// a full Current catches that rare case).
func (c *Client) Changes(ctx context.Context, deltaLink string) (changed []guest.Guest, removedIDs []string, nextDeltaLink string, err error) {
	var builder *users.DeltaRequestBuilder
	var cfg *users.DeltaRequestBuilderGetRequestConfiguration
	if deltaLink == "" {
		builder = users.NewDeltaRequestBuilderInternal(map[string]string{}, c.adapter)
		cfg = &users.DeltaRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.DeltaRequestBuilderGetQueryParameters{
				Select: append(selectFields(), c.owner.selectField()),
			},
		}
	} else {
		builder = users.NewDeltaRequestBuilder(deltaLink, c.adapter)
	}
	resp, err := builder.Get(ctx, cfg)
	for pages := 1; ; pages++ {
		if err != nil {
			return nil, nil, "", fmt.Errorf("read user changes (page %d): %w", pages, failure(err))
		}
		for _, u := range resp.GetValue() {
			if _, gone := u.GetAdditionalData()["@removed"]; gone {
				if id := u.GetId(); id != nil {
					removedIDs = append(removedIDs, *id)
				}
				continue
			}
			if t := u.GetUserType(); t == nil || *t != "Guest" {
				continue
			}
			g := toGuest(u)
			g.Owned = c.owner.owns(u)
			c.remember(g)
			changed = append(changed, g)
		}
		if next := resp.GetOdataNextLink(); next != nil && *next != "" {
			resp, err = users.NewDeltaRequestBuilder(*next, c.adapter).Get(ctx, nil)
			continue
		}
		if dl := resp.GetOdataDeltaLink(); dl != nil {
			nextDeltaLink = *dl
		}
		break
	}
	if nextDeltaLink == "" {
		return nil, nil, "", fmt.Errorf("read user changes: the last page has no @odata.deltaLink")
	}
	c.log.Debug("read user changes", "changed", len(changed), "removed", len(removedIDs))
	return changed, removedIDs, nextDeltaLink, nil
}
