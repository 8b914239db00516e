package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/guestsync/guestsync/pkg/account"
)

// Policy is what the plan may do besides creating and updating owned
// accounts.
type Policy struct {
	// Adopt names the property on which an account that guestsync does not
	// own yet may be soft-matched (case-insensitive) and taken over: ""
	// never (Graph: "mail" or "userPrincipalName"). Adoption puts the
	// ownership mark on the account and writes the anchor and the mapped
	// properties.
	Adopt string `json:"adopt,omitempty"`
	// Mode is ModeSync (""), ModeUpsertOnly (creates and updates, never a
	// removal) or ModeCreateOnly (creates and restores only), as
	// external-dns names its policies.
	Mode string `json:"mode,omitempty"`
	// Removal is what happens to an owned guest whose account left the
	// source: RemoveDisable (""), RemoveDelete or RemoveNone.
	Removal string `json:"removal,omitempty"`
	// DeleteAfter: with RemoveDisable, a removed guest is deleted once it
	// has been disabled (and gone from the source) this long; 0 never.
	DeleteAfter time.Duration `json:"deleteAfter,omitempty"`
	// Now is the plan's clock for the grace period.
	Now time.Time `json:"-"`
	// Disabled holds the grace clocks: when each removed guest (by
	// anchor) was found gone and disabled. The state file keeps them.
	Disabled map[string]time.Time `json:"-"`
}

// Modes and removal actions of a Policy.
const (
	ModeSync       = "sync"
	ModeUpsertOnly = "upsert-only"
	ModeCreateOnly = "create-only"

	RemoveDisable = "disable"
	RemoveDelete  = "delete"
	RemoveNone    = "none"
)

// Absence is what the source says about the accounts that are gone. The
// engine fills it. An empty Absence removes nothing new; guests found gone
// earlier (they have a grace clock) stay gone until they return.
type Absence struct {
	// Full: the read was full and complete (and not empty), so an owned
	// guest whose anchor is neither desired nor kept has left the source.
	Full bool
	// Keep lists the anchors of entries that are still in the source but
	// produced no desired guest (a mapping error): they are never removed.
	Keep []string
	// Gone lists the anchors the source itself reported gone: deleted in
	// the directory, or out of the mapping's scope.
	Gone []Gone
}

// Gone is an account the source reported gone, and why.
type Gone struct {
	Anchor string `json:"anchor"`
	DN     string `json:"dn,omitempty"`
	Reason string `json:"reason"`
}

// Compute compares the desired accounts with the current ones of the
// target t describes and returns the actions that make the target match
// the source. Accounts are matched by anchor only (Entra Connect's "hard
// match" on onPremisesImmutableId), so a rename or a move in the source is
// an update, never a delete and create.
//
// Only owned current accounts (with guestsync's mark) are ever matched and
// changed. A desired account whose anchor or one of t's unique properties
// belongs to an account guestsync does not own is skipped with a reason,
// unless the policy allows adopting it by soft match. Desired accounts that
// collide with each other (same anchor or unique property, compared
// case-insensitively as Entra and AD do) are skipped too, so that one bad
// entry never blocks the rest of the run. Current accounts with no desired
// counterpart are removed only as Absence and the policy say.
//
// Removals follow the policy: an owned account whose source entry is gone
// (see Absence) is disabled (t.Enabled set to false), deleted, or left; an
// account guestsync disabled is deleted after the grace period, and
// enabled again if its entry returns. Only owned accounts are ever
// removed, so guestsync only removes what it once had in scope (Entra
// Connect's rule).
func Compute(t Target, desired, current []account.Account, absence Absence, policy Policy) *Plan {
	p := &Plan{Version: FormatVersion, Target: t, Actions: []Action{}}
	owned := make(map[string]*account.Account, len(current))
	recycled := map[string]account.Account{} // owned guests in deletedItems
	foreign := foreignIndex{t: t, by: map[string]account.Account{}}
	foreign.props = append(slices.Clone(t.Unique), policy.Adopt)
	for i, c := range current {
		switch {
		case c.Owned && c.Deleted && c.Anchor != "":
			recycled[c.Anchor] = c
		case c.Owned && c.Anchor != "":
			owned[c.Anchor] = &current[i]
		case !c.Owned && !c.Deleted:
			foreign.add(c)
		}
	}
	// settled are the returning guests whose grace clock stops: they are
	// (or this plan makes them) enabled, or the mapping sets
	// accountEnabled itself.
	settled := map[string]bool{}
	for _, d := range rejectCollisions(p, t, desired) {
		if cp, exists := owned[d.Anchor]; exists {
			p.Matched++
			c := *cp
			changes, settles := changesFor(t, d, c, policy)
			if settles {
				settled[d.Anchor] = true
			}
			if len(changes) == 0 {
				p.Unchanged++
				continue
			}
			if policy.Mode == ModeCreateOnly {
				p.Unchanged++ // create-only: existing guests are left as they are
				continue
			}
			p.Actions = append(p.Actions, Action{Kind: Update, Anchor: d.Anchor, Source: d.Source,
				ID: c.ID, Name: c.Properties[t.Name], Changes: changes})
			continue
		}
		if c, ok := recycled[d.Anchor]; ok {
			// The account is back within the 30 days Entra keeps deleted
			// users: restore the same object (its id, group memberships
			// and sign-in history) rather than create a new one, with
			// the changes an update of the live guest would carry: the
			// recycled guest is as it was deleted, and the tenant must
			// match the source after this run, not the next one.
			changes, settles := changesFor(t, d, c, policy)
			if settles {
				settled[d.Anchor] = true
			}
			p.Actions = append(p.Actions, Action{Kind: Restore, Anchor: d.Anchor, Source: d.Source, ID: c.ID,
				Name: c.Properties[t.Name], Changes: changes, Reason: "the account is back in the source"})
			continue
		}
		if c, ok := foreign.adoptable(d, policy.Adopt); ok {
			changes := diff(t, d, c)
			if c.Anchor != d.Anchor {
				changes = append(changes, Change{Property: t.Anchor, Old: c.Anchor, New: d.Anchor})
			}
			p.Actions = append(p.Actions, Action{Kind: Adopt, Anchor: d.Anchor, Source: d.Source, ID: c.ID,
				Name: c.Properties[t.Name], Changes: changes,
				Reason: fmt.Sprintf("soft match on %s", policy.Adopt)})
			continue
		}
		if why := foreign.conflict(d); why != "" {
			p.Actions = append(p.Actions, Action{Kind: Skip, Anchor: d.Anchor, Source: d.Source,
				Name: d.Properties[t.Name], Reason: "conflict: " + why})
			continue
		}
		g := d
		p.Actions = append(p.Actions, Action{Kind: Create, Anchor: d.Anchor, Source: d.Source,
			Name: d.Properties[t.Name], Account: &g})
	}
	// The clocks that run on: those of guests still guestsync's (in the
	// tenant or its recycle bin, so that a restored guest is enabled
	// again), minus the returned ones.
	clocks := map[string]time.Time{}
	for a, t := range policy.Disabled {
		_, live := owned[a]
		_, binned := recycled[a]
		if (live || binned) && !settled[a] {
			clocks[a] = t
		}
	}
	if policy.Mode == ModeSync || policy.Mode == "" {
		removals(p, t, desired, owned, absence, policy, clocks)
	}
	if len(clocks) > 0 {
		p.GraceClocks = clocks
	}
	return p
}

// changesFor is what brings the owned guest c (live or recycled) to the
// desired d: the properties that differ and, when guestsync disabled c
// because its account left (it has a grace clock) and the mapping does not
// set accountEnabled, enabling it again, except in create-only mode.
// settles reports whether c's grace clock stops: c is (or the changes make
// it) enabled, or the mapping sets accountEnabled itself.
func changesFor(t Target, d, c account.Account, policy Policy) (changes []Change, settles bool) {
	changes = diff(t, d, c)
	if _, mapped := d.Properties[t.Enabled]; mapped || c.Properties[t.Enabled] != "false" {
		return changes, true
	}
	if _, removed := policy.Disabled[d.Anchor]; removed && policy.Mode != ModeCreateOnly {
		// guestsync disabled it when the account left; the account is
		// back, and the mapping does not say otherwise.
		return append(changes, Change{Property: t.Enabled, Old: "false", New: "true"}), true
	}
	return changes, false
}

// removals adds the removal of every owned guest whose account is gone,
// in anchor order, and the grace clocks to keep.
func removals(p *Plan, t Target, desired []account.Account, owned map[string]*account.Account, absence Absence, policy Policy, clocks map[string]time.Time) {
	present := make(map[string]bool, len(desired)+len(absence.Keep))
	for _, d := range desired {
		present[d.Anchor] = true
	}
	for _, a := range absence.Keep {
		present[a] = true
	}
	gone := map[string]Gone{}
	if absence.Full {
		for anchor, c := range owned {
			if !present[anchor] {
				gone[anchor] = Gone{Anchor: anchor, Reason: "not in the source's complete read", DN: c.Source}
			}
		}
	}
	for _, g := range absence.Gone {
		if _, ok := owned[g.Anchor]; ok && !present[g.Anchor] {
			gone[g.Anchor] = g
		}
	}
	// A guest found gone earlier (it has a grace clock) stays gone until
	// its account comes back, also through incremental reads, which only
	// report what changed: its clock runs on and can end in a delete.
	for anchor, since := range policy.Disabled {
		if _, ok := owned[anchor]; ok && !present[anchor] {
			if _, seen := gone[anchor]; !seen {
				gone[anchor] = Gone{Anchor: anchor, Reason: "gone from the source since " + since.UTC().Format(time.RFC3339)}
			}
		}
	}
	anchors := make([]string, 0, len(gone))
	for a := range gone {
		anchors = append(anchors, a)
	}
	sort.Strings(anchors)
	for _, anchor := range anchors {
		c, why := *owned[anchor], gone[anchor]
		a := Action{Anchor: anchor, Source: why.DN, ID: c.ID, Name: c.Properties[t.Name], Reason: why.Reason}
		switch policy.Removal {
		case RemoveNone:
			continue // the clocks that run, run on
		case RemoveDelete:
			a.Kind = Delete
		default:
			since, clocked := policy.Disabled[anchor]
			if !clocked {
				since = policy.Now
			}
			switch {
			case c.Properties[t.Enabled] != "false":
				a.Kind = Disable
				since = policy.Now
			case policy.DeleteAfter > 0 && !policy.Now.Before(since.Add(policy.DeleteAfter)):
				a.Kind = Delete
				a.Reason = fmt.Sprintf("%s; disabled since %s, past the %s grace period", why.Reason,
					since.UTC().Format(time.RFC3339), days(policy.DeleteAfter))
			default:
				p.Waiting++ // disabled, in its grace period
			}
			// Kept after a delete too: the guest waits in the recycle bin,
			// and one restored there is enabled again.
			clocks[anchor] = since
			if a.Kind == "" {
				continue
			}
		}
		p.Actions = append(p.Actions, a)
	}
}

// foreignIndex finds current accounts guestsync does not own by the
// values a desired account could collide on: its anchor, the target's
// unique properties, and the property it may be adopted on.
type foreignIndex struct {
	t     Target
	props []string
	by    map[string]account.Account // "property\x00lower(value)" → account
}

func foreignKey(prop, value string) string { return prop + "\x00" + strings.ToLower(value) }

func (f foreignIndex) add(a account.Account) {
	if a.Anchor != "" {
		f.by[foreignKey("anchor", a.Anchor)] = a
	}
	for _, prop := range f.props {
		if v := a.Properties[prop]; prop != "" && v != "" {
			f.by[foreignKey(prop, v)] = a
		}
	}
}

// adoptable returns the unowned account a desired account soft-matches on
// the property adopt names, if adoption is allowed and the match is
// unambiguous: an account with another anchor is never adopted.
func (f foreignIndex) adoptable(d account.Account, adopt string) (account.Account, bool) {
	v := d.Properties[adopt]
	if adopt == "" || v == "" {
		return account.Account{}, false
	}
	c, ok := f.by[foreignKey(adopt, v)]
	if !ok || (c.Anchor != "" && c.Anchor != d.Anchor) || c.Deleted {
		return account.Account{}, false
	}
	return c, true
}

// conflict says which unowned account blocks creating d, if any.
func (f foreignIndex) conflict(d account.Account) string {
	if c, ok := f.by[foreignKey("anchor", d.Anchor)]; ok {
		return fmt.Sprintf("the anchor belongs to %s %s (%s), which guestsync does not manage", f.t.others(), c.ID, c.Properties[f.t.Name])
	}
	for _, prop := range f.t.Unique {
		if v := d.Properties[prop]; v != "" {
			if c, ok := f.by[foreignKey(prop, v)]; ok {
				return fmt.Sprintf("%s %q is used by %s %s, which guestsync does not manage", prop, v, f.t.others(), c.ID)
			}
		}
	}
	return ""
}

// diff lists the properties whose desired value differs from the current
// one. Create-only properties are never updated. Graph keeps values as
// given, so comparison is exact, except that Graph's booleans are compared
// as booleans.
func diff(t Target, d, c account.Account) []Change {
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
		if n == t.Enabled && strings.EqualFold(want, have) {
			continue
		}
		out = append(out, Change{Property: n, Old: have, New: want, Redacted: d.IsRedacted(n)})
	}
	return out
}

// maxOthers is how many of the other colliding entries a skip reason names.
const maxOthers = 3

// rejectCollisions returns the desired guests that collide with no other,
// adding a skip for each one that does.
func rejectCollisions(p *Plan, t Target, desired []account.Account) []account.Account {
	type key struct{ prop, value string }
	// first holds, per property, the first guest with each value; only the
	// values that more than one guest has get a list (most have none:
	// 100,000 guests would otherwise cost 300,000 small slices).
	props := append([]string{"anchor"}, t.Unique...)
	first := make([]map[string]int, len(props))
	for i := range first {
		first[i] = make(map[string]int, len(desired))
	}
	shared := map[key][]int{}
	for i, d := range desired {
		for p, prop := range props {
			v := d.Anchor
			if p > 0 {
				if v = d.Properties[prop]; v == "" {
					continue
				}
				v = strings.ToLower(v)
			}
			j, seen := first[p][v]
			switch k := (key{prop, v}); {
			case !seen:
				first[p][v] = i
			case shared[k] == nil:
				shared[k] = []int{j, i}
			default:
				shared[k] = append(shared[k], i)
			}
		}
	}
	// Each reason names at most maxOthers of the other entries: a mapping
	// that gives thousands of entries one value must not make each of
	// their reasons list all the others (quadratic in time and size).
	reasons := map[int][]string{}
	for k, idx := range shared {
		for _, i := range idx {
			others := make([]string, 0, maxOthers)
			for _, j := range idx {
				if len(others) == maxOthers {
					break
				}
				if j != i {
					others = append(others, desired[j].Source)
				}
			}
			who := strings.Join(others, "; ")
			if more := len(idx) - 1 - len(others); more > 0 {
				who += fmt.Sprintf(" and %d more", more)
			}
			reasons[i] = append(reasons[i], fmt.Sprintf("%s %q is also produced by %s", k.prop, k.value, who))
		}
	}
	if len(reasons) == 0 {
		return desired
	}
	var ok []account.Account
	for i, d := range desired {
		if r := reasons[i]; len(r) > 0 {
			sort.Strings(r)
			p.Actions = append(p.Actions, Action{Kind: Skip, Anchor: d.Anchor, Source: d.Source,
				Name: d.Properties[t.Name], Reason: "conflict: " + strings.Join(r, ", ")})
			continue
		}
		ok = append(ok, d)
	}
	return ok
}

// days shows a grace period in days when it is whole days.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if n := d / (24 * time.Hour); n != 1 {
			return fmt.Sprintf("%d days", n)
		}
		return "1 day"
	}
	return d.String()
}

// others is what t calls the objects guestsync does not own.
func (t Target) others() string {
	if t.Others != "" {
		return t.Others
	}
	return t.Noun
}
