package engine

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/guestsync/guestsync/pkg/plan"
)

// check is the step between plan and apply: a reviewed plan (Expect) must
// be exactly the plan made now, and the removal limits must allow it.
func (e *Engine) check(pl planned) error {
	if e.Expect != nil {
		if e.Expect.Version != plan.FormatVersion {
			return fmt.Errorf("the saved plan has format version %d; this build applies version %d", e.Expect.Version, plan.FormatVersion)
		}
		if d := comparePlans(e.Expect, pl.plan); len(d) > 0 {
			return &StalePlanError{Differences: d}
		}
	}
	return e.Limits.check(pl.plan, pl.owned, !pl.plan.Incremental && !pl.partial)
}

// StalePlanError is a reviewed plan refused because the source or the
// tenant changed since it was made.
type StalePlanError struct {
	Differences []string
}

func (e *StalePlanError) Error() string {
	const show = 5
	d := e.Differences
	more := ""
	if len(d) > show {
		d, more = d[:show], fmt.Sprintf("; and %d more", len(e.Differences)-show)
	}
	return fmt.Sprintf("stopped before any change: the source or the tenant changed since the plan was made "+
		"(%d differences: %s%s); make a new plan and review it", len(e.Differences), strings.Join(d, "; "), more)
}

// comparePlans lists how now differs from saved, action by action. Grace
// clocks and counts are not compared: the clock of a new disable is the
// time of the run.
func comparePlans(saved, now *plan.Plan) []string {
	var diffs []string
	if t, n := saved.Target, now.Target; !reflect.DeepEqual(t, n) {
		// Another target, or the same one creating another way (invited
		// guests instead of internal ones): every action would be carried
		// out differently from what was reviewed.
		diffs = append(diffs, fmt.Sprintf("the plan was made to %s %ss in %s, this run would %s %ss in %s",
			t.Create, t.Noun, t.Kind, n.Create, n.Noun, n.Kind))
	}
	key := func(a plan.Action) string { return string(a.Kind) + " " + a.Anchor + " " + a.Source }
	enc := func(a plan.Action) string {
		b, _ := json.Marshal(a)
		return string(b)
	}
	// Several actions may share a key (the same entry read twice): each
	// key holds the encodings still to be matched.
	want := map[string][]string{}
	for _, a := range saved.Actions {
		want[key(a)] = append(want[key(a)], enc(a))
	}
	for _, a := range now.Actions {
		k, e := key(a), enc(a)
		ws := want[k]
		switch i := slices.Index(ws, e); {
		case i >= 0:
			want[k] = slices.Delete(ws, i, i+1)
		case len(ws) > 0:
			want[k] = ws[1:]
			diffs = append(diffs, fmt.Sprintf("%s %s is not the same", a.Kind, describe(a)))
		default:
			diffs = append(diffs, fmt.Sprintf("now also %s %s", a.Kind, describe(a)))
		}
	}
	for _, a := range saved.Actions {
		k := key(a)
		if len(want[k]) > 0 {
			want[k] = want[k][1:]
			diffs = append(diffs, fmt.Sprintf("no longer %s %s", a.Kind, describe(a)))
		}
	}
	return diffs
}

// describe names an action's guest for people.
func describe(a plan.Action) string {
	switch {
	case a.Name != "":
		return a.Name
	case a.Source != "":
		return a.Source
	}
	return "anchor " + a.Anchor
}

// DefaultMaxRemovals is the removal threshold when none is configured:
// Entra Connect's default delete threshold.
const DefaultMaxRemovals = 500

// RemovalLimits are the safety limits on removals (disables and deletes).
type RemovalLimits struct {
	// MaxRemovals is how many removals a run may make; 0 means
	// DefaultMaxRemovals.
	MaxRemovals int
	// MaxRemovalPercent, when above 0, also limits removals to this share
	// of the owned guests.
	MaxRemovalPercent float64
	// AllowRemovals, when above 0, replaces both limits for this run
	// (sync --allow-removals N).
	AllowRemovals int
}

// RemovalLimitError is a run stopped by the removal limits before it changed anything.
type RemovalLimitError struct {
	Removals, Limit int
	Why             string
	// Noun is what the plan's target calls one account ("guest",
	// "shadow account").
	Noun string
}

func (e *RemovalLimitError) Error() string {
	return fmt.Sprintf("stopped before any change: the plan removes %d %ss, over the removal threshold of %d (%s); "+
		"review the plan, then run again with --allow-removals %d to proceed", e.Removals, nounOf(e.Noun), e.Limit, e.Why, e.Removals)
}

// nounOf is noun, or "account" when the target gave none.
func nounOf(noun string) string {
	if noun == "" {
		return "account"
	}
	return noun
}

// Check returns a *RemovalLimitError when applying p would remove more
// than the limits allow. owned is how many guests guestsync owned when p
// was computed.
func (l RemovalLimits) Check(p *plan.Plan, owned int) error {
	return l.check(p, owned, !p.Incremental)
}

// check is Check for a plan that covers the whole source (whole) or only
// some of its accounts (an incremental read, a preview): only a whole plan
// that matches none of the owned guests says that the anchor, the scope or
// the owner changed.
func (l RemovalLimits) check(p *plan.Plan, owned int, whole bool) error {
	n := p.Removals()
	if n == 0 {
		return nil
	}
	noun := nounOf(p.Target.Noun)
	if l.AllowRemovals == 0 && whole && p.Matched == 0 && owned > 0 {
		// A full read in which not one account matches a guest guestsync
		// owns: a changed anchor attribute, scope, filter or owner id far
		// more often than every partner leaving at once.
		return &RemovalLimitError{Removals: n, Limit: 0, Noun: noun, Why: fmt.Sprintf(
			"no account in the source matches any of the %d %ss guestsync owns: a changed anchor, scope or owner?", owned, noun)}
	}
	if l.AllowRemovals > 0 {
		if n > l.AllowRemovals {
			return &RemovalLimitError{Removals: n, Limit: l.AllowRemovals, Noun: noun, Why: "--allow-removals"}
		}
		return nil
	}
	limit, why := l.MaxRemovals, "count"
	if limit <= 0 {
		limit = DefaultMaxRemovals
	}
	if l.MaxRemovalPercent > 0 {
		if pct := int(l.MaxRemovalPercent * float64(owned) / 100); pct < limit {
			limit, why = pct, fmt.Sprintf("%g %% of %d owned %ss", l.MaxRemovalPercent, owned, noun)
		}
	}
	if n > limit {
		return &RemovalLimitError{Removals: n, Limit: limit, Noun: noun, Why: why}
	}
	return nil
}
