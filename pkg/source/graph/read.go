package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/guestsync/guestsync/pkg/source"
	graphclient "github.com/guestsync/guestsync/pkg/target/graph"
)

// run counts and hands on the entries of one read.
type run struct {
	fn      func(source.Entry) error
	entries int
}

func (rn *run) emit(e source.Entry) error {
	rn.entries++
	if err := rn.fn(e); err != nil {
		return fmt.Errorf("%s: %w", e.DN, err)
	}
	return nil
}

// incomplete is the result of a read that stopped on err: it cannot
// vouch for having seen every guest in scope.
func (rn *run) incomplete(err error, incremental bool) source.Result {
	return source.Result{Entries: rn.entries, Incremental: incremental, Incomplete: err.Error()}
}

// usersRound is a users/delta round: from its start when link is "", or
// from a deltaLink. Without "Prefer: return=minimal", each user a round
// reports carries every selected property that has a value, changed or
// not (Graph docs, "user: delta", "Default: return the same properties as
// initial delta request"), so each one is a whole entry.
func (r *Reader) usersRound(link string) collection {
	if link == "" {
		link = r.client.Root() + "/users/delta()?" + r.selectQuery()
	}
	return collection{link: link, opts: graphclient.PageOptions{MaxPageSize: pageSize}, delta: true,
		what: "read users (users/delta)", permission: []string{permUsers}}
}

// usersLinkFromNow returns a users/delta deltaLink from which changes
// made from now on are read, without the tenant's users: "Resources stored
// in Microsoft Entra ID (such as users and groups) support 'sync from now'
// scenarios ... append $deltaToken=latest to the delta function and the
// response will contain a deltaLink and no resource data" (Graph docs,
// "Use delta query to track changes in Microsoft Graph data"). A Graph
// that refuses it (400) gets the initial round instead, read to its end
// and dropped.
func (r *Reader) usersLinkFromNow(ctx context.Context) (string, error) {
	c := r.usersRound("")
	latest := c
	latest.link += "&$deltatoken=latest"
	link, err := r.readPages(ctx, latest, func(map[string]json.RawMessage) error { return nil })
	if f := graphclient.FailureOf(err); f != nil && f.Status == http.StatusBadRequest {
		r.log.Debug("users/delta does not sync from now here: reading the initial round for its link", "why", f.Error())
		return r.readPages(ctx, c, func(map[string]json.RawMessage) error { return nil })
	}
	return link, err
}

// Read streams every enabled guest in scope to fn, and returns in
// Result.Watermark where ReadChanges starts next time. The delta links
// are taken first, so that whatever changes while the guests are read is
// read again next time.
//
// A read that fails (a page Graph refuses, a round that does not reach
// its deltaLink, a scoping group or application that does not exist)
// returns the error with Result.Complete false: nothing may be taken for
// absent.
func (r *Reader) Read(ctx context.Context, fn func(source.Entry) error) (source.Result, error) {
	rn := &run{fn: fn}
	w, err := r.readFull(ctx, rn)
	if err != nil {
		return rn.incomplete(err, false), err
	}
	r.log.Debug("read guests", "scope", r.opts.Scope, "entries", rn.entries, "inScope", len(w.Members))
	return source.Result{Entries: rn.entries, Complete: true, Watermark: w.encode()}, nil
}

func (r *Reader) readFull(ctx context.Context, rn *run) (watermark, error) {
	var w watermark
	var err error
	if r.opts.Scope == ScopeAll {
		// The initial users/delta round is the read itself: it lists every
		// user of the tenant (users/delta filters only by id, so guests are
		// picked here) and ends with the deltaLink.
		members := map[string]bool{}
		w.Users, err = r.readPages(ctx, r.usersRound(""), func(obj map[string]json.RawMessage) error {
			u, err := newUser(obj)
			if err != nil || u.removed() || !u.guest() {
				return err
			}
			members[u.id] = true
			if !u.enabled() {
				return nil
			}
			return rn.emit(u.entry())
		})
		w.Members = sortedKeys(members)
		return w, err
	}
	// Groups and applications: users/delta only gives the link (the
	// users come with the membership reads below).
	if w.Users, err = r.usersLinkFromNow(ctx); err != nil {
		return w, err
	}
	st, err := r.discover(ctx)
	if err != nil {
		return w, err
	}
	w.Assigned = st.assigned
	if w.Groups, err = r.startGroupRounds(ctx, st.groups); err != nil {
		return w, err
	}
	members := map[string]bool{}
	err = r.members(ctx, st, func(u user) error {
		members[u.id] = true
		if u.guest() && u.enabled() {
			return rn.emit(u.entry())
		}
		return nil
	})
	w.Members = sortedKeys(members)
	return w, err
}

// ReadChanges streams what changed since watermark: guests in scope that
// changed, as whole entries, and as Entry{Deleted: true} those that are
// gone (deleted, disabled, turned member, or out of scope: removed from
// the groups, or no longer assigned to the application). A watermark it
// cannot use (malformed, of another format, or a users/delta link Graph
// no longer accepts) makes it read fully instead, with Result.Incremental
// false.
func (r *Reader) ReadChanges(ctx context.Context, mark string, fn func(source.Entry) error) (source.Result, error) {
	w, err := decodeWatermark(mark)
	if err != nil {
		r.log.Info("the watermark cannot be used: reading every guest", "why", err.Error())
		return r.Read(ctx, fn)
	}
	rn := &run{fn: fn}
	next, err := r.readChanges(ctx, w, rn)
	if err != nil {
		if rn.entries == 0 && graphclient.NeedsResync(err) {
			r.log.Info("Graph no longer accepts the delta link: reading every guest", "why", err.Error())
			return r.Read(ctx, fn)
		}
		return rn.incomplete(err, true), err
	}
	r.log.Debug("read guest changes", "scope", r.opts.Scope, "entries", rn.entries, "inScope", len(next.Members))
	return source.Result{Entries: rn.entries, Complete: true, Incremental: true, Watermark: next.encode()}, nil
}

func (r *Reader) readChanges(ctx context.Context, w watermark, rn *run) (watermark, error) {
	old := make(map[string]bool, len(w.Members))
	for _, id := range w.Members {
		old[id] = true
	}
	if r.opts.Scope == ScopeAll {
		members := old
		link, err := r.readPages(ctx, r.usersRound(w.Users), func(obj map[string]json.RawMessage) error {
			u, err := newUser(obj)
			if err != nil {
				return err
			}
			switch {
			case u.removed():
				if members[u.id] {
					delete(members, u.id)
					return rn.emit(gone(u.id, nil))
				}
			case u.guest():
				members[u.id] = true
				if u.enabled() {
					return rn.emit(u.entry())
				}
				return rn.emit(gone(u.id, &u))
			case members[u.id]: // a guest turned member
				delete(members, u.id)
				return rn.emit(gone(u.id, &u))
			}
			return nil // a member, as before
		})
		return watermark{Users: link, Members: sortedKeys(members)}, err
	}

	// Groups and applications: only the changes of users in scope at the
	// last read are kept. A user that came into scope since is read with
	// the members (scopeChanges), after this round: that read is newer.
	var changes []user
	usersLink, err := r.readPages(ctx, r.usersRound(w.Users), func(obj map[string]json.RawMessage) error {
		u, err := newUser(obj)
		if err == nil && old[u.id] {
			changes = append(changes, u)
		}
		return err
	})
	if err != nil {
		return w, err
	}
	next := watermark{Users: usersLink, Groups: w.Groups, Assigned: w.Assigned}
	members, handled, err := r.scopeChanges(ctx, w, &next, old, changes, rn)
	if err != nil {
		return w, err
	}
	for _, u := range changes {
		if handled[u.id] || !members[u.id] {
			continue // out of scope now, and delivered as gone
		}
		var err error
		switch {
		case u.removed():
			delete(members, u.id)
			err = rn.emit(gone(u.id, nil))
		case u.guest() && u.enabled():
			err = rn.emit(u.entry())
		default: // disabled, or not a guest (any more)
			err = rn.emit(gone(u.id, &u))
		}
		if err != nil {
			return w, err
		}
	}
	next.Members = sortedKeys(members)
	return next, nil
}

// scopeChanges works out who is in scope now, for groups and
// applications: the application's assignments are read again (they are
// few), and the groups' membership changes since their deltaLinks; when
// either changed, the members are read again and compared with those the
// watermark remembers. Those that left are delivered as gone, the guests
// that came as entries (both then handled). It updates next's group rounds
// and assignments.
func (r *Reader) scopeChanges(ctx context.Context, w watermark, next *watermark, old map[string]bool, changes []user, rn *run) (members, handled map[string]bool, err error) {
	handled = map[string]bool{}
	changed, discovered := false, false
	var st scopeState
	if r.opts.Scope == ScopeApplication {
		if st, err = r.discover(ctx); err != nil {
			return nil, nil, err
		}
		discovered = true
		changed = !slices.Equal(st.assigned, w.Assigned)
		next.Assigned = st.assigned
	}
	restart := false
	mc, rounds, err := r.continueGroupRounds(ctx, w.Groups)
	switch {
	case err != nil && graphclient.NeedsResync(err):
		r.log.Info("Graph no longer accepts a groups/delta link: reading the members again", "why", err.Error())
		changed, restart = true, true
	case err != nil:
		return nil, nil, err
	default:
		next.Groups = rounds
	}
	if !changed && !mc.changed {
		return old, handled, nil
	}
	if !discovered {
		if st, err = r.discover(ctx); err != nil {
			return nil, nil, err
		}
	}
	if restart || !slices.Equal(st.groups, trackedGroups(next.Groups)) {
		// Other groups decide the scope now (a group nested or taken
		// out, an assignment made or removed): follow those. The rounds
		// start before the members are read, as in a full read.
		if next.Groups, err = r.startGroupRounds(ctx, st.groups); err != nil {
			return nil, nil, err
		}
	}
	// Those that came are delivered as they are read (the read is newer
	// than the users/delta round), those that left once all are read.
	fresh := map[string]bool{}
	came := func(u user) error {
		fresh[u.id] = true
		if old[u.id] || handled[u.id] {
			return nil
		}
		handled[u.id] = true
		if u.guest() && u.enabled() {
			return rn.emit(u.entry())
		}
		return nil
	}
	if err := r.members(ctx, st, came); err != nil {
		return nil, nil, err
	}
	// The membership reads are advanced queries (ConsistencyLevel:
	// eventual), answered from a separate index (Graph docs, "Advanced
	// query capabilities on Microsoft Entra ID objects") that may not show
	// yet what groups/delta already reported. A user added to a group that
	// still decides the scope is in scope: read it by id if the membership
	// read missed it, or it would be missed until the next full read.
	var lagging []string
	for _, g := range st.groups {
		for _, id := range mc.added[g] {
			if !fresh[id] && !slices.Contains(lagging, id) {
				lagging = append(lagging, id)
			}
		}
	}
	if len(lagging) > 0 {
		r.log.Debug("users added to a group are not in its members yet (eventual consistency): read by id", "users", len(lagging))
		if err := r.readUsers(ctx, lagging, came); err != nil {
			return nil, nil, err
		}
	}
	latest := map[string]*user{}
	for i := range changes {
		latest[changes[i].id] = &changes[i]
	}
	for _, id := range sortedKeys(old) {
		if !fresh[id] {
			handled[id] = true
			if err := rn.emit(gone(id, latest[id])); err != nil {
				return nil, nil, err
			}
		}
	}
	r.log.Debug("scope changed: members read again", "before", len(old), "now", len(fresh))
	return fresh, handled, nil
}
