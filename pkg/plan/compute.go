package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/guestsync/guestsync/pkg/guest"
)

// Policy is what the plan may do besides creating and updating owned
// guests.
type Policy struct {
	// Adopt names how a guest that guestsync does not own yet may be
	// taken over: "" (never), "mail" or "upn" (soft match on that
	// property, case-insensitive). Adoption puts the ownership mark on
	// the guest and writes the anchor and the mapped properties.
	Adopt string `json:"adopt,omitempty"`
}

// Compute compares the desired guests with the current ones and returns the
// actions that make the tenant match the source. Guests are matched by
// anchor only (Entra Connect's "hard match" on onPremisesImmutableId), so a
// rename or a move in the directory is an update, never a delete and create.
//
// Only owned current guests (with guestsync's mark) are ever matched and
// changed. A desired guest whose anchor, userPrincipalName or mailNickname
// belongs to a guest guestsync does not own is skipped with a reason, unless
// the policy allows adopting it by soft match. Desired guests that collide
// with each other (same anchor, userPrincipalName or mailNickname, compared
// case-insensitively as Entra does) are skipped too, so that one bad entry
// never blocks the rest of the run. Current guests with no desired
// counterpart are left alone: removals belong to a later policy.
func Compute(desired, current []guest.Guest, policy Policy) *Plan {
	p := &Plan{Version: FormatVersion, Actions: []Action{}}
	owned := make(map[string]guest.Guest, len(current))
	recycled := map[string]guest.Guest{} // owned guests in deletedItems
	foreign := foreignIndex{}
	for _, c := range current {
		switch {
		case c.Owned && c.Deleted && c.Anchor != "":
			recycled[c.Anchor] = c
		case c.Owned && c.Anchor != "":
			owned[c.Anchor] = c
		case !c.Owned && !c.Deleted:
			foreign.add(c)
		}
	}
	for _, d := range rejectCollisions(p, desired) {
		if c, exists := owned[d.Anchor]; exists {
			changes := diff(d, c)
			if len(changes) == 0 {
				p.Unchanged++
				continue
			}
			p.Actions = append(p.Actions, Action{Kind: Update, Anchor: d.Anchor, DN: d.SourceDN,
				ObjectID: c.ID, UserPrincipalName: c.Properties["userPrincipalName"], Changes: changes})
			continue
		}
		if c, ok := recycled[d.Anchor]; ok {
			// The account is back within the 30 days Entra keeps deleted
			// users: restore the same object (its id, group memberships
			// and sign-in history) rather than create a new one; the
			// next run updates its properties.
			p.Actions = append(p.Actions, Action{Kind: Restore, Anchor: d.Anchor, DN: d.SourceDN, ObjectID: c.ID,
				UserPrincipalName: c.Properties["userPrincipalName"], Reason: "the account is back in the source"})
			continue
		}
		if c, ok := foreign.adoptable(d, policy.Adopt); ok {
			changes := diff(d, c)
			if c.Anchor != d.Anchor {
				changes = append(changes, Change{Property: "onPremisesImmutableId", Old: c.Anchor, New: d.Anchor})
			}
			p.Actions = append(p.Actions, Action{Kind: Adopt, Anchor: d.Anchor, DN: d.SourceDN, ObjectID: c.ID,
				UserPrincipalName: c.Properties["userPrincipalName"], Changes: changes,
				Reason: fmt.Sprintf("soft match on %s", policy.Adopt)})
			continue
		}
		if why := foreign.conflict(d); why != "" {
			p.Actions = append(p.Actions, Action{Kind: Skip, Anchor: d.Anchor, DN: d.SourceDN,
				UserPrincipalName: d.Properties["userPrincipalName"], Reason: "conflict: " + why})
			continue
		}
		g := d
		p.Actions = append(p.Actions, Action{Kind: Create, Anchor: d.Anchor, DN: d.SourceDN,
			UserPrincipalName: d.Properties["userPrincipalName"], Guest: &g})
	}
	return p
}

// foreignIndex finds current guests guestsync does not own by the values a
// desired guest could collide on.
type foreignIndex map[string]guest.Guest // "property\x00lower(value)" → guest

var collisionProperties = []string{"userPrincipalName", "mailNickname", "mail"}

func foreignKey(prop, value string) string { return prop + "\x00" + strings.ToLower(value) }

func (f foreignIndex) add(g guest.Guest) {
	if g.Anchor != "" {
		f[foreignKey("anchor", g.Anchor)] = g
	}
	for _, prop := range collisionProperties {
		if v := g.Properties[prop]; v != "" {
			f[foreignKey(prop, v)] = g
		}
	}
}

// adoptable returns the unowned guest a desired guest soft-matches on the
// policy's property, if adoption is allowed and the match is unambiguous:
// a guest with another anchor is never adopted.
func (f foreignIndex) adoptable(d guest.Guest, adopt string) (guest.Guest, bool) {
	prop := map[string]string{"mail": "mail", "upn": "userPrincipalName"}[adopt]
	v := d.Properties[prop]
	if prop == "" || v == "" {
		return guest.Guest{}, false
	}
	c, ok := f[foreignKey(prop, v)]
	if !ok || (c.Anchor != "" && c.Anchor != d.Anchor) || c.Deleted {
		return guest.Guest{}, false
	}
	return c, true
}

// conflict says which unowned guest blocks creating d, if any.
func (f foreignIndex) conflict(d guest.Guest) string {
	if c, ok := f[foreignKey("anchor", d.Anchor)]; ok {
		return fmt.Sprintf("the anchor belongs to guest %s (%s), which guestsync does not manage", c.ID, c.Properties["userPrincipalName"])
	}
	for _, prop := range []string{"userPrincipalName", "mailNickname"} {
		if v := d.Properties[prop]; v != "" {
			if c, ok := f[foreignKey(prop, v)]; ok {
				return fmt.Sprintf("%s %q is used by guest %s, which guestsync does not manage", prop, v, c.ID)
			}
		}
	}
	return ""
}

// diff lists the properties whose desired value differs from the current
// one. Create-only properties are never updated. Graph keeps values as
// given, so comparison is exact, except that Graph's booleans are compared
// as booleans.
func diff(d, c guest.Guest) []Change {
	names := make([]string, 0, len(d.Properties))
	for n := range d.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Change
	for _, n := range names {
		if d.IsCreateOnly(n) {
			continue
		}
		want, have := d.Properties[n], c.Properties[n]
		if want == have {
			continue
		}
		if p, ok := guest.LookupProperty(n); ok && p.Kind == guest.Bool && strings.EqualFold(want, have) {
			continue
		}
		out = append(out, Change{Property: n, Old: have, New: want, Redacted: d.IsRedacted(n)})
	}
	return out
}

// rejectCollisions returns the desired guests that collide with no other,
// adding a skip for each one that does.
func rejectCollisions(p *Plan, desired []guest.Guest) []guest.Guest {
	type key struct{ prop, value string }
	owners := map[key][]int{}
	for i, d := range desired {
		owners[key{"anchor", d.Anchor}] = append(owners[key{"anchor", d.Anchor}], i)
		for _, prop := range []string{"userPrincipalName", "mailNickname"} {
			if v := d.Properties[prop]; v != "" {
				k := key{prop, strings.ToLower(v)}
				owners[k] = append(owners[k], i)
			}
		}
	}
	reasons := map[int][]string{}
	for k, idx := range owners {
		if len(idx) < 2 {
			continue
		}
		for _, i := range idx {
			var others []string
			for _, j := range idx {
				if j != i {
					others = append(others, desired[j].SourceDN)
				}
			}
			reasons[i] = append(reasons[i], fmt.Sprintf("%s %q is also produced by %s", k.prop, k.value, strings.Join(others, "; ")))
		}
	}
	var ok []guest.Guest
	for i, d := range desired {
		if r := reasons[i]; len(r) > 0 {
			sort.Strings(r)
			p.Actions = append(p.Actions, Action{Kind: Skip, Anchor: d.Anchor, DN: d.SourceDN,
				UserPrincipalName: d.Properties["userPrincipalName"], Reason: "conflict: " + strings.Join(r, ", ")})
			continue
		}
		ok = append(ok, d)
	}
	return ok
}
