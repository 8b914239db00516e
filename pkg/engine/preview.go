package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/guestsync/guestsync/pkg/guest"
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
	Match *guest.Guest `json:"match,omitempty"`
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
// state is neither used nor changed), maps it, matches it against the
// tenant and plans its actions. With apply, it carries them out: the one
// account only, whatever else the source holds.
func (e *Engine) Preview(ctx context.Context, who string, apply bool) (*Preview, error) {
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
		return nil, fmt.Errorf("read source: %w", err)
	}
	if !res.Complete {
		return nil, refuseRead(res, state.Source{}, 0)
	}
	switch matches {
	case 0:
		return nil, fmt.Errorf("no entry in the source has the DN, sAMAccountName, uid, userPrincipalName or mail %q (%d entries read)", who, res.Entries)
	case 1:
	default:
		dns := make([]string, len(found))
		for i, f := range found {
			dns[i] = f.DN
		}
		list := strings.Join(dns, "; ")
		if more := matches - len(found); more > 0 {
			list += fmt.Sprintf(" and %d more", more)
		}
		return nil, fmt.Errorf("%q names %d entries (%s): give the DN", who, matches, list)
	}
	st, err := e.loadState() // read only: a preview remembers nothing
	if err != nil {
		return nil, err
	}
	tr, err := e.readTarget(ctx, st)
	if err != nil {
		return nil, err
	}
	current := tr.current
	taken := newTakenIndex(e.Mapping.UniqueTargets())
	for _, g := range current {
		taken.add(g)
	}
	p := &Preview{Entry: found[0]}
	p.Mapping = e.Mapping.MapWith(found[0], mapping.Options{Now: e.Now, Taken: taken.taken})
	switch {
	case !p.Mapping.InScope:
		p.Plan = &plan.Plan{Version: plan.FormatVersion, Actions: []plan.Action{}, OutOfScope: 1}
	case p.Mapping.Err != nil:
		p.Plan = &plan.Plan{Version: plan.FormatVersion}
		p.Plan.AddSkip(found[0].DN, "mapping: "+p.Mapping.Err.Error())
	default:
		for i, g := range current {
			if g.Anchor == p.Mapping.Guest.Anchor {
				p.Match = &current[i]
				break
			}
		}
		p.Plan = e.compute([]guest.Guest{p.Mapping.Guest}, current, plan.Absence{}, tr.clocks)
		// One account only: the grace clocks would make other guests
		// removals here, and preview --apply acts on this account alone.
		mine := p.Plan.Actions[:0]
		for _, a := range p.Plan.Actions {
			if a.Anchor == p.Mapping.Guest.Anchor {
				mine = append(mine, a)
			}
		}
		p.Plan.Actions, p.Plan.Waiting, p.Plan.GraceClocks = mine, 0, nil
	}
	if apply && p.Plan.HasChanges() {
		p.Results = e.Target.Apply(ctx, p.Plan.Actions)
	}
	return p, nil
}
