package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/guestsync/guestsync/pkg/account"
)

// DeltaKey identifies the change tracking this client does: the Graph
// root and the owner id. A state file keeps a delta link and the guests it
// describes under this key, so a changed URL or owner starts from an
// initial round. The root alone does not name a tenant (every tenant of a
// cloud has the same one): the state also keeps the tenant's id (Tenant),
// checked on every run.
func (c *Client) DeltaKey() string {
	return "graph " + c.base + " owner " + c.owner.mark + " in " + c.owner.attribute
}

// Changes returns what changed among the tenant's guests since deltaLink
// (GET /users/delta()), and the deltaLink of the next round. An empty
// deltaLink starts an initial round, which returns every guest in full.
//
// The pages are read as raw JSON rather than through the SDK's models:
// Graph's rounds carry "at least the properties that have been updated",
// a cleared one as null, and the SDK drops nulls, so a cleared property
// would look unchanged. Each Change says which properties it carried.
// In an initial round (deltaLink "") every user is whole and Present is
// left empty. A user whose userType is present and not Guest is reported as removed
// (a guest turned member leaves guestsync's view); one whose userType is
// absent is a guest's partial update or a member's, which the engine
// tells apart by whether it knows the id.
//
// A link Graph no longer accepts is reported as account.ErrResync.
func (c *Client) Changes(ctx context.Context, deltaLink string) ([]account.Change, string, error) {
	link := deltaLink
	if link == "" {
		q := url.Values{}
		q.Set("$select", strings.Join(append(selectFields(), c.owner.selectField()), ","))
		link = c.base + "/users/delta()?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	}
	var changes []account.Change
	for pages := 1; ; pages++ {
		page, err := getRetrying(ctx, func() (deltaPage, error) { return c.deltaPage(ctx, link) })
		if err != nil {
			f := failure(err)
			if deltaLink != "" && resyncNeeded(f.Status, f.Code) {
				return nil, "", fmt.Errorf("read user changes: %s (%s): %w", f.Message, f.Code, account.ErrResync)
			}
			return nil, "", fmt.Errorf("read user changes (page %d): %w", pages, f)
		}
		for i, fields := range page.Value {
			ch, ok, err := c.toChange(fields, deltaLink == "")
			if err != nil {
				return nil, "", fmt.Errorf("read user changes (page %d, item %d): %w", pages, i+1, err)
			}
			if ok {
				changes = append(changes, ch)
			}
		}
		switch {
		case page.NextLink != "":
			link = page.NextLink
		case page.DeltaLink != "":
			c.log.Debug("read user changes", "users", len(changes), "pages", pages, "initial", deltaLink == "")
			return changes, page.DeltaLink, nil
		default:
			return nil, "", fmt.Errorf("read user changes: page %d has neither @odata.nextLink nor @odata.deltaLink", pages)
		}
	}
}

// resyncNeeded reports whether an error answer to a delta link means that
// tracking must start again. Graph docs ("Use delta query to track changes
// in Microsoft Graph data", "Token duration"): a directory object's token
// lasts seven days, and an expired one gets "a 40X-series error with error
// codes such as syncStateNotFound" (400 syncStateNotFound for users, per
// the Microsoft 365 Dev Blog on token durations); "Synchronization reset"
// answers 410 Gone (with resyncRequired-style codes) during tenant
// maintenance.
func resyncNeeded(status int, code string) bool {
	code = strings.ToLower(code)
	return status == 410 || strings.Contains(code, "syncstatenotfound") || strings.Contains(code, "resync")
}

// deltaPage is one page of a users/delta round.
type deltaPage struct {
	Value     []map[string]json.RawMessage `json:"value"`
	NextLink  string                       `json:"@odata.nextLink"`
	DeltaLink string                       `json:"@odata.deltaLink"`
}

// deltaPage GETs one page. Prefer odata.maxpagesize=999 asks for Graph's
// largest page (it may send fewer).
func (c *Client) deltaPage(ctx context.Context, link string) (deltaPage, error) {
	ri := abs.NewRequestInformation()
	ri.Method = abs.GET
	ri.SetUri(mustURL(link))
	ri.Headers.TryAdd("Accept", "application/json")
	ri.Headers.TryAdd("Prefer", "odata.maxpagesize="+strconv.Itoa(pageSize))
	raw, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue})
	if err != nil {
		return deltaPage{}, err
	}
	b, _ := raw.([]byte)
	var p deltaPage
	if err := json.Unmarshal(b, &p); err != nil {
		return deltaPage{}, fmt.Errorf("decode users/delta page: %w", err)
	}
	return p, nil
}

// mustURL parses a link Graph (or the client) made; a link that does not
// parse gives an empty URL, which the request then fails on.
func mustURL(link string) url.URL {
	u, err := url.Parse(link)
	if err != nil {
		return url.URL{}
	}
	return *u
}

// toChange reads one user of a round. ok is false for users that are not
// guests (their userType says so, and they are not being removed).
// In an initial round every user comes whole, so Present is left empty
// (100,000 small lists fewer).
func (c *Client) toChange(fields map[string]json.RawMessage, initial bool) (ch account.Change, ok bool, err error) {
	if err := json.Unmarshal(fields["id"], &ch.ID); err != nil || ch.ID == "" {
		return ch, false, fmt.Errorf("a user without an id (with %s)", propertyNames(fields))
	}
	if _, gone := fields["@removed"]; gone {
		ch.Removed = true
		return ch, true, nil
	}
	if t, present := fields["userType"]; present {
		var userType *string
		_ = json.Unmarshal(t, &userType)
		if userType == nil || *userType != "Guest" {
			ch.Removed = true // a member now (or never a guest): out of view
			return ch, true, nil
		}
		ch.InScope = true
	}
	ch.Account = account.Account{ID: ch.ID, Properties: map[string]string{}}
	if a, present := fields["onPremisesImmutableId"]; present {
		ch.AnchorPresent = true
		var anchor *string
		if err := json.Unmarshal(a, &anchor); err != nil {
			return ch, false, fmt.Errorf("user %s: onPremisesImmutableId: %w", ch.ID, err)
		}
		if anchor != nil {
			ch.Account.Anchor = *anchor
		}
	}
	if ext, present := fields["onPremisesExtensionAttributes"]; present {
		ch.OwnerPresent = true
		var attrs map[string]*string
		if !bytes.Equal(ext, []byte("null")) {
			if err := json.Unmarshal(ext, &attrs); err != nil {
				return ch, false, fmt.Errorf("user %s: onPremisesExtensionAttributes: %w", ch.ID, err)
			}
		}
		if v := attrs[c.owner.attribute]; v != nil && *v == c.owner.mark {
			ch.Account.Owned = true
		}
	}
	for name := range accessors {
		v, present := fields[name]
		if !present {
			continue
		}
		if !initial {
			ch.Present = append(ch.Present, name)
		}
		value, isNull, err := textValue(v)
		if err != nil {
			return ch, false, fmt.Errorf("user %s: %s: %w", ch.ID, name, err)
		}
		if !isNull {
			ch.Account.Properties[name] = value
		}
	}
	slices.Sort(ch.Present)
	if ch.OwnerPresent { // else the round says nothing of the mark
		c.remember(ch.Account)
	}
	return ch, true, nil
}

// textValue reads a JSON string, boolean or null as guestsync's text form.
// A string without escapes is taken as it is, which is most of them.
func textValue(v json.RawMessage) (value string, isNull bool, err error) {
	switch {
	case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && bytes.IndexByte(v, '\\') < 0:
		return string(v[1 : len(v)-1]), false, nil
	case bytes.Equal(v, []byte("null")):
		return "", true, nil
	case bytes.Equal(v, []byte("true")), bytes.Equal(v, []byte("false")):
		return string(v), false, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, fmt.Errorf("%s is not text", v)
	}
	return s, false, nil
}

// propertyNames names the properties of a user Graph sent, at most a few
// and sorted, for a message about a user that cannot be told by its id:
// the values themselves may be of any size.
func propertyNames(fields map[string]json.RawMessage) string {
	const show = 8
	names := slices.Sorted(maps.Keys(fields))
	if len(names) == 0 {
		return "no properties"
	}
	more := ""
	if len(names) > show {
		names, more = names[:show], fmt.Sprintf(" and %d more", len(names)-show)
	}
	for i, n := range names {
		if len(n) > 64 {
			names[i] = strings.ToValidUTF8(n[:64], "") + "…"
		}
	}
	return strings.Join(names, ", ") + more
}
