package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/guestsync/guestsync/pkg/plan"
)

// Apply carries out the actions and returns one result per action other
// than Skip, in the order of the actions. A failed action is recorded in its
// result, with Graph's code, message and request id, and never stops the
// others.
//
// Creates, updates, adoptions, disables, deletes and restores go through
// JSON batching (see sendInBatches). A restore with changes is the
// restore, then, once it has succeeded, a PATCH of the changes on the
// restored user (batched too; see bringUpToDate). Invitations are a POST
// and a PATCH that has to wait out replication lag, so they run outside
// batches, Concurrency at a time. Disable, Delete and Restore (and Update)
// are refused for a user the client's last Current, Deleted or Changes
// listing saw without guestsync's mark; Disable, Delete and Restore of a
// user it has not seen are checked with one batched GET of the user's mark
// first.
func (c *Client) Apply(ctx context.Context, actions []plan.Action) []plan.Result {
	results := make([]plan.Result, len(actions))
	var ops, checks []*op
	var invites []int
	for i, a := range actions {
		results[i] = plan.Result{Action: a, ID: a.ID}
		if a.Kind == plan.Skip {
			continue
		}
		if a.Kind == plan.Create && c.opts.Invite {
			invites = append(invites, i)
			continue
		}
		if f := c.refuse(a); f != nil {
			results[i].Failure = f
			continue
		}
		o, err := c.opFor(a)
		if err != nil {
			results[i].Failure = &plan.Failure{Message: err.Error()}
			continue
		}
		o.action = i
		if check := c.checkFor(a); check != nil {
			check.action = i
			checks = append(checks, check)
		}
		ops = append(ops, o)
	}
	if len(checks) > 0 {
		c.sendInBatches(ctx, checks, nil)
		refused := map[int]*plan.Failure{}
		for _, ch := range checks {
			if f := c.checked(ch); f != nil {
				refused[ch.action] = f
			}
		}
		kept := ops[:0]
		for _, o := range ops {
			if f := refused[o.action]; f != nil {
				results[o.action].Failure = f
				continue
			}
			kept = append(kept, o)
		}
		ops = kept
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.invites(ctx, actions, invites, results)
	}()
	// An op's result is recorded (filled in and logged) as soon as Graph
	// has answered it, except a create that clashed (lookUpClashes may
	// yet find that an earlier attempt or run made its guest) and a
	// restore that succeeded and has changes to apply.
	clashed := func(o *op) bool { return o.failure != nil && actions[o.action].Kind == plan.Create && conflict(o) }
	var mu sync.Mutex
	var restored []*op
	c.sendInBatches(ctx, ops, func(o *op) {
		a := actions[o.action]
		switch {
		case clashed(o):
		case a.Kind == plan.Restore && len(a.Changes) > 0 && (o.failure == nil || lostAnswerDone(o, a)):
			mu.Lock()
			restored = append(restored, o)
			mu.Unlock()
		default:
			c.recordResult(o, a, &results[o.action])
		}
	})
	// What follows finishes actions already carried out (a restore's
	// changes, a create that clashed with its own earlier attempt): an
	// interrupt lets it finish, as it lets the batches in flight, within
	// FinishGrace.
	fin, cancel := c.finishing(ctx)
	defer cancel()
	c.bringUpToDate(fin, restored, actions, results)
	wg.Wait()
	var clashes []*op
	for _, o := range ops {
		if clashed(o) {
			clashes = append(clashes, o)
		}
	}
	c.lookUpClashes(fin, clashes, actions)
	for _, o := range clashes {
		c.recordResult(o, actions[o.action], &results[o.action])
	}

	out := results[:0]
	for _, r := range results {
		if r.Action.Kind != plan.Skip {
			out = append(out, r)
		}
	}
	return out
}

// refuse returns why the client will not act on a user it knows is not
// guestsync's.
func (c *Client) refuse(a plan.Action) *plan.Failure {
	switch a.Kind {
	case plan.Update, plan.Disable, plan.Delete, plan.Restore:
	default:
		return nil
	}
	c.mu.Lock()
	owned, seen := c.known[strings.ToLower(a.ID)]
	c.mu.Unlock()
	if seen && !owned {
		return notOwned(a)
	}
	return nil
}

func notOwned(a plan.Action) *plan.Failure {
	return &plan.Failure{Message: fmt.Sprintf("refusing to %s %s: the user does not carry guestsync's ownership mark", a.Kind, a.ID)}
}

// checkFor returns the GET that reads the mark of a user the client has not
// seen, for the destructive kinds.
func (c *Client) checkFor(a plan.Action) *op {
	c.mu.Lock()
	_, seen := c.known[strings.ToLower(a.ID)]
	c.mu.Unlock()
	sel := "?$select=id,onPremisesExtensionAttributes"
	switch {
	case seen:
		return nil
	case a.Kind == plan.Disable, a.Kind == plan.Delete:
		return &op{method: http.MethodGet, url: "/users/" + url.PathEscape(a.ID) + sel}
	case a.Kind == plan.Restore:
		return &op{method: http.MethodGet, url: "/directory/deletedItems/" + url.PathEscape(a.ID) + sel}
	}
	return nil
}

// checked reads the answer of a check: nil when the user carries the mark.
func (c *Client) checked(ch *op) *plan.Failure {
	if ch.failure != nil {
		return ch.failure
	}
	var u struct {
		Attrs map[string]*string `json:"onPremisesExtensionAttributes"`
	}
	if err := json.Unmarshal(ch.resp, &u); err != nil {
		return &plan.Failure{Message: "read ownership mark: " + err.Error()}
	}
	if v := u.Attrs[c.owner.attribute]; v == nil || *v != c.owner.mark {
		return &plan.Failure{Message: "refusing: the user does not carry guestsync's ownership mark"}
	}
	return nil
}

// opFor turns an action into its Graph request.
func (c *Client) opFor(a plan.Action) (*op, error) {
	item := "/users/" + url.PathEscape(a.ID)
	switch a.Kind {
	case plan.Create:
		u, err := c.newUser(a)
		if err != nil {
			return nil, err
		}
		return c.writeOp(http.MethodPost, "/users", u)
	case plan.Update, plan.Adopt:
		u, err := c.changedUser(a)
		if err != nil {
			return nil, err
		}
		return c.writeOp(http.MethodPatch, item, u)
	case plan.Disable:
		u := models.NewUser()
		off := false
		u.SetAccountEnabled(&off)
		return c.writeOp(http.MethodPatch, item, u)
	case plan.Delete:
		return &op{method: http.MethodDelete, url: item, write: true}, nil
	case plan.Restore:
		// Graph requires a body (and Content-Type) with every POST in a
		// batch; restore's options are all optional.
		return &op{method: http.MethodPost, url: "/directory/deletedItems/" + url.PathEscape(a.ID) + "/restore",
			body: json.RawMessage("{}"), write: true}, nil
	}
	return nil, fmt.Errorf("this version cannot %s guests", a.Kind)
}

func (c *Client) writeOp(method, path string, body absser.Parsable) (*op, error) {
	w := jsonser.NewJsonSerializationWriter()
	defer w.Close()
	if err := w.WriteObjectValue("", body); err != nil {
		return nil, fmt.Errorf("encode user: %w", err)
	}
	b, err := w.GetSerializedContent()
	if err != nil {
		return nil, fmt.Errorf("encode user: %w", err)
	}
	return &op{method: method, url: path, body: json.RawMessage(b), write: true}, nil
}

// newUser is the body of a create: an internal guest with the anchor, the
// mark and a random password nobody is told.
func (c *Client) newUser(a plan.Action) (models.Userable, error) {
	if a.Account == nil {
		return nil, fmt.Errorf("create action without a guest")
	}
	u, err := toUser(a.Account.Properties)
	if err != nil {
		return nil, err
	}
	guestType := "Guest"
	u.SetUserType(&guestType)
	anchor := a.Account.Anchor
	u.SetOnPremisesImmutableId(&anchor)
	c.owner.stamp(u)
	pw, err := NewPassword()
	if err != nil {
		return nil, err
	}
	profile := models.NewPasswordProfile()
	profile.SetPassword(&pw)
	// The guest signs in with the password only if the organisation hands
	// it out; a forced change would otherwise lock them out of a password
	// nobody knows.
	force := false
	profile.SetForceChangePasswordNextSignIn(&force)
	u.SetPasswordProfile(profile)
	return u, nil
}

// changedProperties are the new values of an action's changes, apart from
// the anchor (onPremisesImmutableId, which an adoption writes).
func changedProperties(a plan.Action) (props map[string]string, anchor string) {
	props = make(map[string]string, len(a.Changes))
	for _, ch := range a.Changes {
		if ch.Property == "onPremisesImmutableId" {
			anchor = ch.New
			continue
		}
		props[ch.Property] = ch.New
	}
	return props, anchor
}

// changedUser is the body of an update or adoption.
func (c *Client) changedUser(a plan.Action) (models.Userable, error) {
	props, anchor := changedProperties(a)
	u, err := toUser(props)
	if err != nil {
		return nil, err
	}
	if a.Kind == plan.Adopt {
		// Taking an existing guest over: the mark and the anchor go on
		// it in the same PATCH as the mapped properties.
		c.owner.stamp(u)
		if anchor != "" {
			u.SetOnPremisesImmutableId(&anchor)
		}
	}
	return u, nil
}

// bringUpToDate PATCHes the changes of each restore that succeeded onto
// the restored user, in batches, and records the restores' results as
// their PATCHes are answered. Graph's reads and writes are eventually
// consistent, so right after the restore the user may answer 404 for a
// moment: a PATCH answered 404 is tried again, backing off, for up to
// LagTimeout, as the PATCH after an invitation is.
func (c *Client) bringUpToDate(ctx context.Context, restored []*op, actions []plan.Action, results []plan.Result) {
	parent := make(map[*op]*op, len(restored))
	patches := make([]*op, 0, len(restored))
	lag := time.Now().Add(c.opts.LagTimeout)
	for _, o := range restored {
		a := actions[o.action]
		o.failure = nil // the restore's own 404 after a lost answer was its effect
		props, _ := changedProperties(a)
		o.update = c.updateOp(o.action, a.ID, props)
		if o.update.failure != nil {
			c.recordResult(o, a, &results[o.action])
			continue
		}
		o.update.lag = lag
		parent[o.update] = o
		patches = append(patches, o.update)
	}
	c.sendInBatches(ctx, patches, func(p *op) {
		o := parent[p]
		c.recordResult(o, actions[o.action], &results[o.action])
	})
}

// lookUpClashes looks, for every create that clashed (clashes: creates
// that failed as conflicting over any property, Graph names one), for a user with the create's anchor and this sync's
// mark that is still a guest, and records it in the create's op (found).
//
// After a lost answer (op.ambiguous: a 504, a dropped connection) the
// guest is this run's own earlier attempt; it may still be replicating, so
// a lookup that finds no user is repeated, backing off, for up to
// LagTimeout. Otherwise the guest was made by an earlier run that the
// tenant read did not show: a run killed with requests in flight (they
// still finish in Graph), or a create the tenant's listing has not caught
// up with (Graph's reads are eventually consistent). It is this sync's, so
// it is brought up to the plan (op.update, a PATCH) and its create
// finishes as done rather than as a failure a re-run would only repeat. A
// user that carries the mark but is a member now is left alone, and named
// in the failure.
//
// The lookups, then the updates, go out in batches like every other
// request: a run whose mapping clashes over UPNs with a thousand other
// users pays a few batches for it, not a thousand round trips.
func (c *Client) lookUpClashes(ctx context.Context, clashes []*op, actions []plan.Action) {
	deadline := time.Now().Add(c.opts.LagTimeout)
	var updates []*op
	for attempt := 1; len(clashes) > 0; attempt++ {
		lookups := make([]*op, len(clashes))
		for i, o := range clashes {
			q := url.Values{}
			q.Set("$filter", "onPremisesImmutableId eq '"+strings.ReplaceAll(actions[o.action].Account.Anchor, "'", "''")+"'")
			q.Set("$select", "id,userType,onPremisesImmutableId,"+c.owner.selectField())
			lookups[i] = &op{action: o.action, method: http.MethodGet, url: "/users?" + strings.ReplaceAll(q.Encode(), "+", "%20")}
		}
		c.sendInBatches(ctx, lookups, nil)
		var again []*op
		for i, o := range clashes {
			a := actions[o.action]
			id, member, seen := c.ownGuest(lookups[i], a.Account.Anchor)
			switch {
			case id != "" && o.ambiguous:
				o.found = id
			case id != "":
				o.found = id
				o.update = c.updateOp(o.action, id, a.Account.Properties)
				if o.update.failure == nil {
					updates = append(updates, o.update)
				}
			case member != "":
				f := *o.failure
				f.Message += fmt.Sprintf(" The anchor is on user %s, which carries this sync's mark but is a member now; guestsync leaves members alone.", member)
				o.failure = &f
			case !seen && o.ambiguous:
				again = append(again, o)
			}
		}
		wait := c.backoff(attempt)
		if len(again) == 0 || ctx.Err() != nil || time.Now().Add(wait).After(deadline) {
			break
		}
		time.Sleep(wait)
		clashes = again
	}
	c.sendInBatches(ctx, updates, nil)
}

// ownGuest reads a lookup's answer: the id of the user with exactly this
// anchor (Graph's eq ignores case; guestsync's anchors do not) and this
// sync's mark, when a guest, or its id as member when it is a member now.
// seen is false when the lookup failed or found no user at all.
func (c *Client) ownGuest(l *op, anchor string) (id, member string, seen bool) {
	var found struct {
		Value []struct {
			ID       string             `json:"id"`
			UserType string             `json:"userType"`
			Anchor   string             `json:"onPremisesImmutableId"`
			Attrs    map[string]*string `json:"onPremisesExtensionAttributes"`
		} `json:"value"`
	}
	if l.failure != nil || json.Unmarshal(l.resp, &found) != nil {
		return "", "", false
	}
	for _, u := range found.Value {
		if mark := u.Attrs[c.owner.attribute]; u.ID == "" || u.Anchor != anchor || mark == nil || *mark != c.owner.mark {
			continue
		}
		if u.UserType != "Guest" {
			return "", u.ID, true
		}
		return u.ID, "", true
	}
	return "", "", len(found.Value) > 0
}

// updateOp is the PATCH of props on user id: it brings a guest an earlier
// run made up to a create's planned properties, or a restored guest up to
// its restore's changes. A body that cannot be built is its failure.
func (c *Client) updateOp(action int, id string, props map[string]string) *op {
	body, err := toUser(props)
	var p *op
	if err == nil {
		p, err = c.writeOp(http.MethodPatch, "/users/"+url.PathEscape(id), body)
	}
	if err != nil {
		p = &op{failure: &plan.Failure{Message: err.Error()}}
	}
	p.action = action
	return p
}

// recordResult turns a finished op into its action's result, and logs it.
// When an earlier attempt may have done the work (504 or a lost answer),
// the retry's "already exists" (create) or "not found" (delete, restore)
// is that attempt's effect: a create is confirmed by lookUpClashes finding
// the anchor on a guest with the mark. A create whose guest an earlier run
// made was updated there; a restore with changes was updated after it
// (bringUpToDate), and fails when that update did.
func (c *Client) recordResult(o *op, a plan.Action, r *plan.Result) {
	switch {
	case o.update != nil && o.update.failure != nil && a.Kind == plan.Restore:
		f := *o.update.failure
		f.Message = fmt.Sprintf("restored guest %s, but bringing it up to date failed (%s are as they were when it was deleted; the next run updates them): %s",
			a.ID, changedNames(a), f.Message)
		o.failure = &f
	case o.update != nil && a.Kind == plan.Restore:
		c.log.Info("restore done, brought up to date", "upn", a.Name, "id", r.ID, "changed", changedNames(a))
		return
	case o.update != nil && o.update.failure != nil:
		f := *o.update.failure
		f.Message = fmt.Sprintf("guest %s with this anchor already exists (an earlier run made it); update it: %s", o.found, f.Message)
		o.failure = &f
	case o.update != nil:
		r.ID = o.found
		c.log.Info("create done: the guest already existed, made by an earlier run the tenant read did not show; brought up to the plan",
			"upn", a.Name, "id", o.found)
		return
	case o.found != "":
		r.ID = o.found
		c.log.Info("created guest (confirmed after a lost answer)", "upn", a.Name, "id", o.found)
		return
	case lostAnswerDone(o, a):
		o.failure = nil
	}
	if o.failure != nil {
		r.Failure = o.failure
		c.log.Warn(string(a.Kind)+" failed", "upn", a.Name, "id", a.ID, "dn", a.Source, "error", o.failure.Error())
		return
	}
	if a.Kind == plan.Create {
		var created struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(o.resp, &created)
		r.ID = created.ID
	}
	c.log.Info(string(a.Kind)+" done", "upn", a.Name, "id", r.ID)
}

// lostAnswerDone reports whether o's failure is the effect of an earlier
// attempt whose answer was lost: a retried delete or restore that finds
// the user gone from where it acted.
func lostAnswerDone(o *op, a plan.Action) bool {
	return o.failure != nil && o.ambiguous && (a.Kind == plan.Delete || a.Kind == plan.Restore) && o.status == http.StatusNotFound
}

// changedNames lists the properties an action changes, for messages.
func changedNames(a plan.Action) string {
	names := make([]string, len(a.Changes))
	for i, ch := range a.Changes {
		names[i] = ch.Property
	}
	return strings.Join(names, ", ")
}
