package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/guestsync/guestsync/pkg/guest"
)

// Compute compares the desired guests with the current ones and returns the
// actions that make the tenant match the source. Guests are matched by
// anchor only (Entra Connect's "hard match" on onPremisesImmutableId), so a
// rename or a move in the directory is an update, never a delete and create.
//
// Desired guests that collide with each other (same anchor, or same
// userPrincipalName or mailNickname compared case-insensitively, as Entra
// does) are skipped with a reason naming the other entry, so that one bad
// entry never blocks the rest of the run. Current guests with no desired
// counterpart are left alone: removals belong to a later policy.
func Compute(desired, current []guest.Guest) *Plan {
	p := &Plan{Version: FormatVersion, Actions: []Action{}}
	byAnchor := make(map[string]guest.Guest, len(current))
	for _, c := range current {
		if c.Anchor != "" {
			byAnchor[c.Anchor] = c
		}
	}
	ok := rejectCollisions(p, desired)
	for _, d := range ok {
		c, exists := byAnchor[d.Anchor]
		if !exists {
			g := d
			p.Actions = append(p.Actions, Action{Kind: Create, Anchor: d.Anchor, DN: d.SourceDN,
				UserPrincipalName: d.Properties["userPrincipalName"], Guest: &g})
			continue
		}
		changes := diff(d, c)
		if len(changes) == 0 {
			p.Unchanged++
			continue
		}
		p.Actions = append(p.Actions, Action{Kind: Update, Anchor: d.Anchor, DN: d.SourceDN,
			ObjectID: c.ID, UserPrincipalName: c.Properties["userPrincipalName"], Changes: changes})
	}
	return p
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
