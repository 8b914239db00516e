package engine

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/mapping"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/state"
)

// Preview is everything guestsync would do with one account, step by step,
// as Entra's "provision on demand" shows it.
type Preview struct {
	Entry   source.Entry   `json:"entry"`
	Mapping mapping.Result `json:"-"`
	// Match is the current guest the account matches, if any.
	Match *account.Account `json:"match,omitempty"`
	// Plan holds the actions for this account alone.
	Plan *plan.Plan `json:"plan"`
	// Results are set when the plan was applied.
	Results []plan.Result `json:"results,omitempty"`
}

// identifies reports whether e is the account who names: its DN, or its
// sAMAccountName, uid, userPrincipalName or mail (case-insensitive).
func identifies(e source.Entry, who string) bool {
	if strings.EqualFold(e.DN, who) {
		return true
	}
	for _, attr := range []string{"sAMAccountName", "uid", "userPrincipalName", "mail"} {
		for _, v := range e.Values(attr) {
			if strings.EqualFold(v, who) {
				return true
			}
		}
	}
	return false
}

// Preview reads the source for the account who names (a full read; the
// source's watermark is neither used nor moved), maps it, matches it
// against the tenant and plans its actions: those of a sync, for this
// account alone (an account out of scope is a removal of its guest, as
// Entra's provisioning on demand disables it). With apply, the plan goes
// through the gate as any run's: under the state lock, within the removal
// limits, stopped by an interrupt, with the grace clock of its guest kept.
func (e *Engine) Preview(ctx context.Context, who string, apply bool) (*Preview, error) {
	pv := &Preview{}
	run, err := e.gate(ctx, apply, func(ctx context.Context, st *state.State, tm *Timings) (planned, error) {
		return e.planOne(ctx, st, who, pv)
	})
	if err != nil {
		return nil, err
	}
	pv.Results = run.Results
	return pv, nil
}

// planOne is Preview's plan step: it finds who's entry, fills pv, and
// plans the actions on that account's guest alone.
func (e *Engine) planOne(ctx context.Context, st *state.State, who string, pv *Preview) (planned, error) {
	entry, err := e.findEntry(ctx, who)
	if err != nil {
		return planned{partial: true}, err
	}
	pv.Entry = entry
	tr, err := e.readTarget(ctx, st, e.Full)
	out := planned{tr: tr, partial: true}
	if err != nil {
		return out, err
	}
	current := tr.current
	var taken takenIndex
	out.owned, taken = e.survey(current)
	pv.Mapping = e.Mapping.MapWith(entry, mapping.Options{Now: e.Now, Taken: taken.taken})
	anchor, desired, absence := pv.Mapping.Account.Anchor, []account.Account{}, plan.Absence{}
	switch {
	case !pv.Mapping.InScope:
		a, err := e.Mapping.AnchorOf(entry)
		if err != nil {
			pv.Plan = &plan.Plan{Version: plan.FormatVersion, Target: e.Target.Describe(), Actions: []plan.Action{}, OutOfScope: 1,
				GraceClocks: maps.Clone(tr.clocks)} // the clocks run on
			out.plan = pv.Plan
			return out, nil
		}
		anchor = a
		absence.Gone = []plan.Gone{{Anchor: a, DN: entry.DN, Reason: "out of the mapping's scope: " + pv.Mapping.Reason}}
	case pv.Mapping.Err != nil:
		pv.Plan = &plan.Plan{Version: plan.FormatVersion, Target: e.Target.Describe(), GraceClocks: maps.Clone(tr.clocks)}
		pv.Plan.AddSkip(entry.DN, "mapping: "+pv.Mapping.Err.Error())
		out.plan, out.mappingFailed = pv.Plan, 1
		return out, nil
	default:
		desired = append(desired, pv.Mapping.Account)
	}
	for i, g := range current {
		if g.Anchor == anchor {
			pv.Match = &current[i]
			break
		}
	}
	p := e.compute(desired, current, absence, tr.clocks)
	// One account only: the grace clocks of other guests make them
	// removals here too, and preview --apply acts on this account alone.
	mine := p.Actions[:0]
	for _, a := range p.Actions {
		if a.Anchor == anchor {
			mine = append(mine, a)
		}
	}
	p.Actions, p.Waiting = mine, 0
	if !pv.Mapping.InScope {
		p.OutOfScope = 1
	}
	p.GraceClocks = oneClock(tr.clocks, p.GraceClocks, anchor)
	pv.Plan, out.plan = p, p
	return out, nil
}

// oneClock is the grace clocks after a plan for one account: the clocks
// as they were, but for anchor's, which is as the plan for it says.
func oneClock(old, planned map[string]time.Time, anchor string) map[string]time.Time {
	clocks := maps.Clone(old)
	if clocks == nil {
		clocks = map[string]time.Time{}
	}
	delete(clocks, anchor)
	if t, ok := planned[anchor]; ok {
		clocks[anchor] = t
	}
	if len(clocks) == 0 {
		return nil
	}
	return clocks
}

// findEntry reads the whole source for the one entry who names.
func (e *Engine) findEntry(ctx context.Context, who string) (source.Entry, error) {
	// The first few entries who names, and how many in all: a name many
	// entries share (a mail) must not keep, or list, all of them.
	const named = 3
	var found []source.Entry
	matches := 0
	res, err := e.Source.Read(ctx, func(entry source.Entry) error {
		if identifies(entry, who) {
			if matches++; matches <= named {
				found = append(found, entry)
			}
		}
		return nil
	})
	if err != nil {
		return source.Entry{}, fmt.Errorf("read source: %w", err)
	}
	if refused := refuseRead(res, state.Source{}, 0); refused != nil {
		return source.Entry{}, refused
	}
	switch matches {
	case 0:
		return source.Entry{}, fmt.Errorf("no entry in the source has the DN, sAMAccountName, uid, userPrincipalName or mail %q (%d entries read)", who, res.Entries)
	case 1:
		return found[0], nil
	}
	dns := make([]string, len(found))
	for i, f := range found {
		dns[i] = f.DN
	}
	list := strings.Join(dns, "; ")
	if more := matches - len(found); more > 0 {
		list += fmt.Sprintf(" and %d more", more)
	}
	return source.Entry{}, fmt.Errorf("%q names %d entries (%s): give the DN", who, matches, list)
}
