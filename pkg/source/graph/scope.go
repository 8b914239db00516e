package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	graphclient "github.com/guestsync/guestsync/pkg/target/graph"
)

// Application permissions each read needs (least privileged, from the
// "Permissions" table of each API's page in the Graph docs).
const (
	permUsers        = "User.Read.All"        // users/delta, GET /users/{id}
	permGroupMembers = "GroupMember.Read.All" // members, transitiveMembers, groups/delta
	permApplication  = "Application.Read.All" // appRoleAssignedTo
)

// advanced is how the membership casts are asked: "ConsistencyLevel:
// eventual" with $count=true in the URL (Graph docs, "Advanced query
// capabilities on Microsoft Entra ID objects"; "List group transitive
// members", the example that lists only the users with the OData cast).
var advanced = graphclient.PageOptions{Eventual: true}

// scopeState is what decides who is in scope, read before the members:
// the groups whose membership is followed with groups/delta, and, for an
// application, the principals assigned to it.
type scopeState struct {
	// groups are followed with groups/delta: the scoping groups and the
	// groups nested in them (ScopeGroups), or the groups assigned to the
	// application (ScopeApplication). Sorted, lower case.
	groups []string
	// users are the users assigned to the application directly.
	users []string
	// assigned lists the application's assignments as "group:<id>" and
	// "user:<id>", sorted: what the watermark remembers of them.
	assigned []string
}

// discover reads what decides the scope (not for ScopeAll).
func (r *Reader) discover(ctx context.Context) (scopeState, error) {
	var st scopeState
	switch r.opts.Scope {
	case ScopeGroups:
		seen := map[string]bool{}
		for _, g := range r.opts.Groups {
			seen[g] = true
			c := collection{
				link:       r.client.Root() + "/groups/" + g + "/transitiveMembers/microsoft.graph.group?$select=id&$count=true&$top=999",
				opts:       advanced,
				what:       "list the groups nested in group " + g,
				permission: []string{permGroupMembers},
			}
			_, err := r.readPages(ctx, c, func(obj map[string]json.RawMessage) error {
				var id string
				if json.Unmarshal(obj["id"], &id) == nil && id != "" {
					seen[strings.ToLower(id)] = true
				}
				return nil
			})
			if err != nil {
				return st, notFound(err, "group", g)
			}
		}
		st.groups = sortedKeys(seen)
	case ScopeApplication:
		sp := r.opts.ServicePrincipal
		c := collection{
			link:       r.client.Root() + "/servicePrincipals/" + sp + "/appRoleAssignedTo?$select=principalId,principalType",
			what:       "list the assignments of service principal " + sp,
			permission: []string{permApplication},
		}
		groups, users := map[string]bool{}, map[string]bool{}
		_, err := r.readPages(ctx, c, func(obj map[string]json.RawMessage) error {
			var a struct {
				PrincipalID   string `json:"principalId"`
				PrincipalType string `json:"principalType"`
			}
			if err := json.Unmarshal(mustJSON(obj), &a); err != nil || a.PrincipalID == "" {
				return fmt.Errorf("service principal %s: an assignment without a principalId", sp)
			}
			id := strings.ToLower(a.PrincipalID)
			switch a.PrincipalType {
			case "User":
				users[id] = true
			case "Group":
				groups[id] = true
			default:
				// ServicePrincipal: an application granted a role, no
				// guest.
			}
			return nil
		})
		if err != nil {
			return st, notFound(err, "service principal", sp)
		}
		st.groups, st.users = sortedKeys(groups), sortedKeys(users)
		for _, g := range st.groups {
			st.assigned = append(st.assigned, "group:"+g)
		}
		for _, u := range st.users {
			st.assigned = append(st.assigned, "user:"+u)
		}
	}
	return st, nil
}

// members reads every user in scope (guests or not) with the reader's
// properties and hands each to fn once, as it comes: memory holds the ids
// seen, not the users.
func (r *Reader) members(ctx context.Context, st scopeState, fn func(user) error) error {
	seen := map[string]bool{}
	add := func(obj map[string]json.RawMessage) error {
		u, err := newUser(obj)
		if err != nil || seen[u.id] {
			return err
		}
		seen[u.id] = true
		return fn(u)
	}
	switch r.opts.Scope {
	case ScopeGroups:
		for _, g := range r.opts.Groups {
			c := collection{
				link:       r.client.Root() + "/groups/" + g + "/transitiveMembers/microsoft.graph.user?" + r.selectQuery("$count=true", "$top=999"),
				opts:       advanced,
				what:       "list the users in group " + g + " (nested groups included)",
				permission: []string{permGroupMembers, permUsers},
			}
			if _, err := r.readPages(ctx, c, add); err != nil {
				return notFound(err, "group", g)
			}
		}
	case ScopeApplication:
		// Direct members only: an assignment does not cascade to nested
		// groups (see the package comment).
		for _, g := range st.groups {
			c := collection{
				link:       r.client.Root() + "/groups/" + g + "/members/microsoft.graph.user?" + r.selectQuery("$count=true", "$top=999"),
				opts:       advanced,
				what:       "list the users in group " + g + " (assigned to service principal " + r.opts.ServicePrincipal + ")",
				permission: []string{permGroupMembers, permUsers},
			}
			if _, err := r.readPages(ctx, c, add); err != nil {
				return notFound(err, "group", g)
			}
		}
		var direct []string
		for _, id := range st.users {
			if !seen[id] {
				direct = append(direct, id)
			}
		}
		return r.readUsers(ctx, direct, func(u user) error {
			seen[u.id] = true
			return fn(u)
		})
	}
	return nil
}

// readUsers reads users by id through $batch, handing each to fn. A user
// that is gone (404) is left out: deleted since it was assigned or added
// to a group.
func (r *Reader) readUsers(ctx context.Context, ids []string, fn func(user) error) error {
	for chunk := range slices.Chunk(ids, 200) { // a few batches at a time: memory stays flat
		paths := make([]string, len(chunk))
		for i, id := range chunk {
			paths[i] = "/users/" + url.PathEscape(id) + "?" + r.selectQuery()
		}
		for i, a := range r.client.GetEach(ctx, paths) {
			id := chunk[i]
			switch {
			case a.Status == http.StatusNotFound:
				r.log.Info("a user in scope does not exist (deleted?): left out", "id", id)
				continue
			case a.Failure != nil && a.Status == http.StatusForbidden:
				return fmt.Errorf("read user %s: %w; %s", id, a.Failure, grant([]string{permUsers}))
			case a.Failure != nil:
				return fmt.Errorf("read user %s: %w", id, a.Failure)
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(a.Body, &obj); err != nil {
				return fmt.Errorf("read user %s: decode: %w", id, err)
			}
			u, err := newUser(obj)
			if err != nil {
				return fmt.Errorf("read user %s: %w", id, err)
			}
			if err := fn(u); err != nil {
				return err
			}
		}
	}
	return nil
}

// groupRound is a groups/delta round following up to maxDeltaFilter
// groups' membership: the groups and the round's deltaLink.
type groupRound struct {
	IDs  []string `json:"ids"`
	Link string   `json:"link"`
}

// maxDeltaFilter is how many ids one delta $filter may name (Graph docs,
// "group: delta": "There is a limit of 50 filtered objects").
const maxDeltaFilter = 50

// startGroupRounds makes initial groups/delta rounds over ids, selecting
// members only (so that only membership changes are reported), and
// returns their deltaLinks. The initial round lists every member: it is
// read to its end and dropped, since the members are read with their
// properties elsewhere.
func (r *Reader) startGroupRounds(ctx context.Context, ids []string) ([]groupRound, error) {
	var rounds []groupRound
	for chunk := range slices.Chunk(ids, maxDeltaFilter) {
		terms := make([]string, len(chunk))
		for i, id := range chunk {
			terms[i] = "id eq '" + id + "'"
		}
		q := url.Values{}
		q.Set("$filter", strings.Join(terms, " or "))
		q.Set("$select", "members")
		c := collection{
			link:       r.client.Root() + "/groups/delta?" + strings.ReplaceAll(q.Encode(), "+", "%20"),
			opts:       graphclient.PageOptions{MaxPageSize: pageSize},
			delta:      true,
			what:       "start following the membership of " + fmt.Sprint(len(chunk)) + " groups (groups/delta)",
			permission: []string{permGroupMembers},
		}
		link, err := r.readPages(ctx, c, func(map[string]json.RawMessage) error { return nil })
		if err != nil {
			return nil, err
		}
		rounds = append(rounds, groupRound{IDs: slices.Clone(chunk), Link: link})
	}
	return rounds, nil
}

// membershipChanges is what groups/delta rounds reported.
type membershipChanges struct {
	// changed: a group had a change (members@delta, or the group itself
	// removed).
	changed bool
	// added are the users each group gained (by group id), as
	// members@delta said.
	added map[string][]string
}

// continueGroupRounds reads what changed in the groups' membership since
// their deltaLinks, and the rounds' next deltaLinks. A link Graph refuses
// (expired) is an error for which graphclient.NeedsResync is true.
func (r *Reader) continueGroupRounds(ctx context.Context, rounds []groupRound) (membershipChanges, []groupRound, error) {
	mc := membershipChanges{added: map[string][]string{}}
	var next []groupRound
	for _, g := range rounds {
		c := collection{
			link:       g.Link,
			opts:       graphclient.PageOptions{MaxPageSize: pageSize},
			delta:      true,
			what:       "read membership changes of " + fmt.Sprint(len(g.IDs)) + " groups (groups/delta)",
			permission: []string{permGroupMembers},
		}
		link, err := r.readPages(ctx, c, func(obj map[string]json.RawMessage) error {
			var group struct {
				ID      string `json:"id"`
				Members []struct {
					Type    string          `json:"@odata.type"`
					ID      string          `json:"id"`
					Removed json.RawMessage `json:"@removed"`
				} `json:"members@delta"`
			}
			_ = json.Unmarshal(mustJSON(obj), &group)
			r.log.Debug("group membership changed", "group", group.ID, "members", len(group.Members))
			mc.changed = true
			id := strings.ToLower(group.ID)
			for _, m := range group.Members {
				if m.Removed == nil && strings.EqualFold(m.Type, "#microsoft.graph.user") && m.ID != "" {
					mc.added[id] = append(mc.added[id], strings.ToLower(m.ID))
				}
			}
			return nil
		})
		if err != nil {
			return mc, nil, err
		}
		next = append(next, groupRound{IDs: g.IDs, Link: link})
	}
	return mc, next, nil
}

// trackedGroups lists the groups rounds follow, sorted.
func trackedGroups(rounds []groupRound) []string {
	var out []string
	for _, g := range rounds {
		out = append(out, g.IDs...)
	}
	slices.Sort(out)
	return out
}

// notFound says that a scoping object does not exist, when Graph answered
// 404: a deleted group or service principal, or a wrong id, must stop the
// read rather than look like a scope with nobody in it.
func notFound(err error, kind, id string) error {
	if f := graphclient.FailureOf(err); f != nil && f.Status == http.StatusNotFound {
		return fmt.Errorf("%s %s does not exist (deleted, or a wrong id in the source's scope): %w", kind, id, err)
	}
	return err
}

// mustJSON re-encodes an object Graph sent, for decoding into a struct.
func mustJSON(obj map[string]json.RawMessage) []byte {
	b, _ := json.Marshal(obj)
	return b
}
