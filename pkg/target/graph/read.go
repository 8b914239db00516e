package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/guestsync/guestsync/pkg/plan"
)

// Reads for the guest source (pkg/source/graph), which must not import
// the SDK: pages of any collection as raw JSON, and objects by path through
// $batch, with the client's authentication, retries and error decoding.

// Page is one page of a Graph collection, its objects as raw JSON so that
// a reader sees exactly which properties Graph sent (a null stays a null,
// which the SDK's models would drop).
type Page struct {
	Value     []map[string]json.RawMessage `json:"value"`
	NextLink  string                       `json:"@odata.nextLink"`
	DeltaLink string                       `json:"@odata.deltaLink"`
}

// PageOptions say how a page is asked for.
type PageOptions struct {
	// Eventual sends ConsistencyLevel: eventual, which Graph's advanced
	// queries need (Graph docs, "Advanced query capabilities on Microsoft
	// Entra ID objects": OData casts such as
	// /groups/{id}/transitiveMembers/microsoft.graph.user, with $count=true
	// in the URL).
	Eventual bool
	// MaxPageSize, when above 0, asks for pages of that many objects with
	// Prefer: odata.maxpagesize (delta functions take no $top).
	MaxPageSize int
}

// Root is the Graph root the client talks to, with its version and no
// trailing slash (e.g. https://graph.microsoft.com/v1.0): the first link of
// a read is Root() + a path.
func (c *Client) Root() string { return c.base }

// GetPage GETs one page of a collection: link is absolute (Root() + a path
// and query, or an @odata.nextLink or @odata.deltaLink Graph sent). It
// retries what may go better next time (getRetrying). An answer with an
// error status is returned as an error holding a *plan.Failure (status,
// Graph's code and message, request id).
func (c *Client) GetPage(ctx context.Context, link string, o PageOptions) (Page, error) {
	p, err := getRetrying(ctx, func() (Page, error) { return c.getPage(ctx, link, o) })
	if err != nil {
		return Page{}, failure(err)
	}
	return p, nil
}

func (c *Client) getPage(ctx context.Context, link string, o PageOptions) (Page, error) {
	ri := abs.NewRequestInformation()
	ri.Method = abs.GET
	ri.SetUri(mustURL(link))
	ri.Headers.TryAdd("Accept", "application/json")
	if o.Eventual {
		ri.Headers.TryAdd("ConsistencyLevel", "eventual")
	}
	if o.MaxPageSize > 0 {
		ri.Headers.TryAdd("Prefer", "odata.maxpagesize="+strconv.Itoa(o.MaxPageSize))
	}
	raw, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue})
	if err != nil {
		return Page{}, err
	}
	b, _ := raw.([]byte)
	var p Page
	if err := json.Unmarshal(b, &p); err != nil {
		return Page{}, fmt.Errorf("decode the page: %w", err)
	}
	return p, nil
}

// Answer is Graph's answer to one GET of GetEach: Status and Body, or
// Failure when the request failed (an error status, or no answer at all).
type Answer struct {
	Status  int
	Body    json.RawMessage
	Failure *plan.Failure
}

// GetEach GETs each path (relative to Root(), e.g. "/users/{id}?$select=id")
// through $batch, 20 to a request, Concurrency requests at once, retrying
// throttled and failed items as Apply does. The answers are in the order
// of paths. A 404 is an answer like any other: the caller decides whether
// an object that is gone is a failure.
func (c *Client) GetEach(ctx context.Context, paths []string) []Answer {
	ops := make([]*op, len(paths))
	for i, p := range paths {
		ops[i] = &op{action: i, method: "GET", url: p}
	}
	c.sendInBatches(ctx, ops, nil)
	out := make([]Answer, len(ops))
	for i, o := range ops {
		out[i] = Answer{Status: o.status, Body: o.resp, Failure: o.failure}
	}
	return out
}

// NeedsResync reports whether Graph refused a delta link because the round
// must start again (an expired or unknown state token, a synchronization
// reset: see resyncNeeded).
func NeedsResync(err error) bool {
	var f *plan.Failure
	if !errors.As(err, &f) {
		return false
	}
	return resyncNeeded(f.Status, f.Code)
}

// FailureOf returns the Graph failure inside err (status, code, message,
// request id), or nil.
func FailureOf(err error) *plan.Failure {
	var f *plan.Failure
	if errors.As(err, &f) {
		return f
	}
	return nil
}
