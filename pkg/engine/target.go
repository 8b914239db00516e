package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/state"
)

// DeltaTarget is a Target that can report what changed since a link it
// gave (Graph's users/delta). With a state file the engine then keeps
// every account in the state, under DeltaKey, and reads only the changes:
// a nightly run on a quiet tenant costs a page instead of a full listing.
type DeltaTarget interface {
	// Changes returns the accounts that changed since deltaLink and the
	// link of the next round; "" starts an initial round that returns
	// every account. A link the target no longer accepts is
	// account.ErrResync.
	Changes(ctx context.Context, deltaLink string) ([]account.Change, string, error)
	// DeltaKey names what a link and its accounts belong to (Graph: the
	// root URL and the owner).
	DeltaKey() string
	// Tenant is the identity of what stands behind the target now
	// (Graph: the tenant's organization id). The same root can lead to
	// another tenant from one run to the next, and a link and accounts
	// remembered of one tenant say nothing of another.
	Tenant(ctx context.Context) (string, error)
}

// targetRead is what readTarget read: the accounts a plan matches against,
// and the state to remember for the next run (nil when nothing is to be
// remembered).
type targetRead struct {
	current []account.Account
	key     string
	next    *state.Target
	// incremental is true when only changes were read.
	incremental bool
	// clocks are the grace clocks of removed accounts, from the state.
	clocks map[string]time.Time
}

// targetKey names a target in the state file: its DeltaKey, or "target"
// for one without change tracking.
func targetKey(t Target) string {
	if dt, ok := t.(DeltaTarget); ok {
		return dt.DeltaKey()
	}
	return "target"
}

// readTarget reads the target's accounts: through change tracking when the
// target has it and a state file is kept (an initial round the first time,
// with --full, or when the link expired; changes merged into the
// remembered accounts otherwise), else with a full listing; full asks for
// an initial round whatever is remembered. Owned deleted accounts come
// from the recycle bin either way.
func (e *Engine) readTarget(ctx context.Context, st *state.State, full bool) (targetRead, error) {
	out := targetRead{key: targetKey(e.Target)}
	out.clocks = st.Targets[out.key].Disabled
	dt, ok := e.Target.(DeltaTarget)
	if !ok || e.StatePath == "" {
		current, err := e.Target.Current(ctx)
		if err != nil {
			return out, fmt.Errorf("read target: %w", err)
		}
		out.current = current
	} else {
		tenant, err := dt.Tenant(ctx)
		if err != nil {
			return out, fmt.Errorf("read target: which tenant: %w", err)
		}
		prev, known := st.Targets[out.key]
		if known && !strings.EqualFold(prev.Tenant, tenant) {
			e.forgetTenant(prev.Tenant, tenant)
			prev, known, out.clocks = state.Target{}, false, nil
		}
		link := prev.DeltaLink
		if full || !known {
			link = ""
		}
		changes, next, err := dt.Changes(ctx, link)
		if link != "" && errors.Is(err, account.ErrResync) {
			e.log().Warn("the tenant's change-tracking link expired; reading every guest", "error", err)
			link = ""
			changes, next, err = dt.Changes(ctx, link)
		}
		if err != nil {
			return out, fmt.Errorf("read target: %w", err)
		}
		var base []account.Account
		fullAt := e.now()
		if link != "" {
			base, fullAt = prev.Accounts, prev.FullReadAt
		}
		guests, changed := base, false
		switch {
		case link == "":
			guests, changed = initialAccounts(changes), true
		case len(changes) > 0:
			guests, changed = mergeChanges(base, changes)
		}
		out.next = &state.Target{Tenant: tenant, DeltaLink: next, Accounts: guests, FullReadAt: fullAt, AccountsChanged: changed}
		if !out.next.AccountsChanged {
			out.next.AccountsFile = prev.AccountsFile
		}
		out.incremental = link != ""
		out.current = guests
		e.log().Info("read target changes", "incremental", out.incremental, "changes", len(changes), "guests", len(guests))
	}
	if rb, ok := e.Target.(RecycleBin); ok {
		deleted, err := rb.Deleted(ctx)
		if err != nil {
			return out, fmt.Errorf("read target's deleted guests: %w", err)
		}
		out.current = append(out.current, deleted...)
	}
	return out, nil
}

// forgetTenant says why what the state remembers of the target is not
// used: it describes another tenant (was) than the one behind the target
// now, or names none (was is "": a state of format 1). Its link would be
// refused by this tenant or, worse, read as "nothing changed"; its guests
// are not this tenant's; its grace clocks belong to the other tenant's
// guests, and restarting them only delays a removal. The run reads every
// guest instead.
func (e *Engine) forgetTenant(was, now string) {
	if was == "" {
		e.log().Warn("the state does not say which tenant its guests and change-tracking link belong to; "+
			"reading every guest, grace clocks start again", "tenant", now)
		return
	}
	e.log().Warn("the tenant behind the Graph URL changed: forgetting the old tenant's guests, "+
		"change-tracking link and grace clocks, reading every guest", "previousTenant", was, "tenant", now)
}

// initialAccounts are the guests of an initial round, where every user
// comes whole, ordered by id like mergeChanges's. It reuses the changes'
// guests rather than indexing them: at 100,000 that index was 20 MB.
//
// A user that changes while the round pages may come twice (Microsoft
// Q&A reports it for users/delta): the later copy wins, as in
// mergeChanges.
func initialAccounts(changes []account.Change) []account.Account {
	out := make([]account.Account, 0, len(changes))
	last := make(map[string]int, len(changes)) // lower-cased id → index in out
	for _, ch := range changes {
		id := strings.ToLower(ch.ID)
		i, seen := last[id]
		if ch.Removed || !ch.InScope {
			if seen {
				out[i].ID = "" // dropped below
			}
			continue
		}
		g := ch.Account
		g.ID = ch.ID
		if seen {
			out[i] = g
			continue
		}
		last[id] = len(out)
		out = append(out, g)
	}
	out = slices.DeleteFunc(out, func(g account.Account) bool { return g.ID == "" })
	slices.SortFunc(out, func(a, b account.Account) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// mergeChanges applies one round's changes to the guests known before it
// and returns every guest after it, ordered by id. A change to an id that
// is not known is a new guest only when it says it is one (it carries
// userType Guest); one without userType is a member's, and is left out.
// Graph sends a changed user with every selected property that has a value
// unless asked for "Prefer: return=minimal" (user: delta, request headers:
// "Default: return the same properties as initial delta request"), which
// guestsync does not ask, so a member turned guest arrives whole.
//
// changed is false when the round changed none of the guests (a tenant's
// members change all the time, and their changes come too): known is then
// returned as it is, and the state need not write the guests again.
func mergeChanges(known []account.Account, changes []account.Change) (out []account.Account, changed bool) {
	byID := make(map[string]account.Account, len(known)+len(changes))
	for _, g := range known {
		byID[strings.ToLower(g.ID)] = g
	}
	for _, ch := range changes {
		id := strings.ToLower(ch.ID)
		prev, ok := byID[id]
		switch {
		case ch.Removed:
			if ok {
				delete(byID, id)
				changed = true
			}
		case ok:
			next := ch.ApplyTo(prev)
			if !sameAccount(prev, next) {
				byID[id] = next
				changed = true
			}
		case ch.InScope: // new: what the round carried is all there is
			g := ch.Account
			g.ID = ch.ID
			byID[id] = g
			changed = true
		}
	}
	if !changed {
		return known, false
	}
	out = make([]account.Account, 0, len(byID))
	for _, g := range byID {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b account.Account) int { return strings.Compare(a.ID, b.ID) })
	return out, true
}

// sameAccount reports whether a change left a guest as it was.
func sameAccount(a, b account.Account) bool {
	return a.ID == b.ID && a.Anchor == b.Anchor && a.Source == b.Source && a.Owned == b.Owned &&
		a.Deleted == b.Deleted && maps.Equal(a.Properties, b.Properties) &&
		slices.Equal(a.CreateOnly, b.CreateOnly) && slices.Equal(a.Redacted, b.Redacted)
}
