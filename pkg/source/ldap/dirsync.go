package ldap

// Incremental reads of Active Directory with DirSync
// (LDAP_SERVER_DIRSYNC_OID, 1.2.840.113556.1.4.841).
//
// A DirSync search must start at the root of a naming context, with
// subtree scope: guestsync searches each naming context that holds a
// base and applies the bases, excluded subtrees and groups itself. It
// asks with LDAP_DIRSYNC_INCREMENTAL_VALUES, so that a group's changed
// members come as the values added ("member;range=1-1") and removed
// ("member;range=0-0"). DirSync returns deleted objects by itself: the
// show-deleted control is not needed.
//
// Without LDAP_DIRSYNC_OBJECT_SECURITY, DirSync needs the "Replicating
// Directory Changes" right (an administrator, or a sync account given
// it). An account without it is refused, and the full read then asks
// with the flag, which lets any account use DirSync for what it may
// read; the watermark records which (ObjectSecurity). The difference
// that matters: with the flag, deleted objects come only when the
// account may read them (administrators, or an account allowed to list
// CN=Deleted Objects); an ordinary account sees no deletion, and a
// periodic full read (--full) finds them by absence.
//
// The watermark of a full read is the cookie of a DirSync search, at the
// start of the read, for a filter that matches nothing: the server
// answers with no entry and a cookie at its current state, and the read
// itself is the normal paged search. (A cookie holds the server's
// position, not the filter: the incremental searches below start from
// it.)
//
// An incremental read makes, per naming context, one or two DirSync
// searches before delivering anything (so that a refusal can still turn
// into a full read), then looks at each object:
//
//  1. "changes": (|(filter)(isDeleted=TRUE)) with the attributes
//     requested (and name, objectClass): the objects that match the
//     filter and changed, and the deletions. Each is read again in full
//     by <GUID=...> and delivered when in scope. One now out of the
//     bases or in an excluded subtree whose name changed (a rename or a
//     move: Active Directory replicates a move as a change of name) has
//     left the scope.
//  2. "leavers", when the filter tests attributes other than objectClass
//     and objectCategory, or when Groups is set: (!(filter)) with only
//     those attributes (and member, objectClass). DirSync then returns
//     only objects where one of them changed: an object in the bases
//     that no longer matches the filter has left the scope; a scoping
//     group (configured or nested in one) whose members changed makes
//     each member added or removed be looked at (a nested group with
//     its members).
//
// Objects created since the watermark that are not in scope are left
// out: they cannot have been in scope at the last read. Deleted objects
// are reported unless DirSync says they were created since, or their
// lastKnownParent is out of the bases. One that comes without
// lastKnownParent (an account that may read little of it: only its
// objectGUID, with an empty DN) is reported as it is, and matches no
// guest if it never was in scope.
//
// Not seen: an object that stopped matching a filter that tests memberOf
// (a backlink, which DirSync does not report) without Groups; an object
// that moved out of the bases and stopped matching the filter at once.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/source"
)

const (
	// dirSyncFlags are the flags of every DirSync search; with
	// LDAP_DIRSYNC_OBJECT_SECURITY added when the account lacks the
	// "Replicating Directory Changes" right.
	dirSyncFlags = goldap.DirSyncIncrementalValues
	// dirSyncMaxBytes is the most the server may send in one answer
	// (.NET's default); it says when it has more.
	dirSyncMaxBytes = 1 << 20
	// nothingFilter matches no object: the answer is empty, only its
	// cookie counts.
	nothingFilter = `(objectGUID=\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00)`
)

var errNoDirSyncControl = errors.New("the server answered without a DirSync control: it does not support DirSync")

// dirSyncRefused tells a refusal of DirSync (insufficient rights, an
// unsupported control, a search it is unwilling to make) from a failure
// of the connection.
func dirSyncRefused(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if errors.Is(err, errNoDirSyncControl) {
		return true
	}
	var lerr *goldap.Error
	return errors.As(err, &lerr) && lerr.ResultCode < goldap.ErrorNetwork
}

// dirSync runs a DirSync search of the naming context nc from cookie (nil
// for the beginning) until the server has no more to send, passes each
// entry to fn, and returns the cookie to continue from.
func (r *Reader) dirSync(ctx context.Context, conn *connection, nc, filter string, attrs []string, objectSecurity bool, cookie []byte, fn func(*goldap.Entry) error) ([]byte, error) {
	flags := dirSyncFlags
	if objectSecurity {
		flags |= goldap.DirSyncObjectSecurity
	}
	for {
		req := newSearch(nc, goldap.ScopeWholeSubtree, filter, attrs)
		req.Controls = []goldap.Control{goldap.NewRequestControlDirSync(flags, dirSyncMaxBytes, cookie)}
		ext := fmt.Sprintf("!dirSync=%d/%d", flags, dirSyncMaxBytes)
		if len(cookie) > 0 {
			ext += "/" + base64.StdEncoding.EncodeToString(cookie)
		}
		r.log.Debug("ldap search", "command", r.searchCommand(nc, goldap.ScopeWholeSubtree, filter, attrs, false, ext))
		var resp *goldap.ControlDirSync
		_, err := r.runSearch(ctx, conn, req, false, searchHandlers{
			entry: fn,
			// Other naming contexts below this one: a DirSync search
			// covers one.
			referral: func(string) error { return nil },
			done: func(ctls []goldap.Control) {
				if c, ok := goldap.FindControl(ctls, goldap.ControlTypeDirSync).(*goldap.ControlDirSync); ok {
					resp = c
				}
			},
		})
		if err != nil {
			return nil, err
		}
		if resp == nil || len(resp.Cookie) == 0 {
			return nil, errNoDirSyncControl
		}
		cookie = resp.Cookie
		// In the answer, Flags is MoreResults.
		if resp.Flags == 0 {
			return cookie, nil
		}
	}
}

// changeAttributes are the attributes of the "changes" search.
func (r *Reader) changeAttributes() []string {
	attrs := r.cfg.requestedAttributes()
	if slices.Contains(attrs, "*") {
		return []string{"*"}
	}
	attrs = slices.Clone(attrs)
	for _, a := range append([]string{"name", "objectClass", "isDeleted", "lastKnownParent"}, anchorAttributes...) {
		if !containsFold(attrs, a) {
			attrs = append(attrs, a)
		}
	}
	return attrs
}

// leaverAttributes are the attributes of the "leavers" search; nil when
// it is not made.
func (r *Reader) leaverAttributes() []string {
	var attrs []string
	for _, a := range filterAttributes(r.cfg.Filter) {
		switch a {
		case "objectclass", "objectcategory", "memberof":
			// objectClass and objectCategory do not change; memberOf
			// is a backlink, which DirSync does not report.
		default:
			attrs = append(attrs, a)
		}
	}
	if len(r.groups) > 0 && !slices.Contains(attrs, "member") {
		attrs = append(attrs, "member")
	}
	if len(attrs) == 0 {
		return nil
	}
	// objectClass tells the objects created since the watermark.
	return append(attrs, "objectClass")
}

// dirsyncStart takes the DirSync cookies of a full read. refused is set
// when the server will not do DirSync for this account.
func (r *Reader) dirsyncStart(ctx context.Context, s *session, d rootDSE) (wm *watermark, refused, err error) {
	ncs, err := r.baseNamingContexts(d)
	if err != nil {
		return nil, err, nil
	}
	wm = &watermark{Mech: mechDirSync}
	leavers := r.leaverAttributes() != nil
	nothing := func(*goldap.Entry) error { return nil }
	for i, nc := range ncs {
		cookie, err := r.dirSync(ctx, s.conn, nc, nothingFilter, []string{"objectGUID"}, wm.ObjectSecurity, nil, nothing)
		if i == 0 && err != nil && dirSyncRefused(ctx, err) {
			// Without the "Replicating Directory Changes" right: DirSync
			// as far as the account may read.
			r.log.Debug("ldap: DirSync refused without object security; asking with LDAP_DIRSYNC_OBJECT_SECURITY", "error", err)
			wm.ObjectSecurity = true
			cookie, err = r.dirSync(ctx, s.conn, nc, nothingFilter, []string{"objectGUID"}, true, nil, nothing)
			if err == nil {
				r.log.Info("ldap: DirSync with LDAP_DIRSYNC_OBJECT_SECURITY: deleted objects are reported only if this account may read them "+
					"(as an administrator, or an account allowed to read CN=Deleted Objects, may); the \"Replicating Directory Changes\" right "+
					"would show them all. Deletions it cannot see are found by full reads (--full).", "bindDN", r.cfg.BindDN)
			}
		}
		if err != nil {
			if dirSyncRefused(ctx, err) {
				return nil, fmt.Errorf("DirSync of %s: %w", nc, err), nil
			}
			return nil, nil, fmt.Errorf("DirSync of %s on %s: %w", nc, s.url, errCtx(ctx, err))
		}
		nc := ncCookies{DN: nc, Changes: cookie}
		if leavers {
			nc.Leavers = cookie
		}
		wm.NCs = append(wm.NCs, nc)
	}
	return wm, nil, nil
}

// dirChange is what DirSync said of one object, from both searches.
type dirChange struct {
	guid    string
	dn      string
	entry   source.Entry // the attributes that came, members aside
	deleted bool
	created bool // objectClass among the changes
	renamed bool // name among the changes
	matched bool // from the "changes" search
	leaver  bool // from the "leavers" search
	group   bool // member values came
	added   []string
	removed []string
}

// changeSet collects DirSync's answers by objectGUID, in order.
type changeSet struct {
	order  []*dirChange
	byGUID map[string]*dirChange
	r      *Reader
}

func (cs *changeSet) collect(leavers bool) func(*goldap.Entry) error {
	return func(ge *goldap.Entry) error {
		guid := guidOf(ge)
		if guid == "" {
			cs.r.log.Warn("ldap DirSync entry without objectGUID: skipped", "dn", ge.DN)
			return nil
		}
		c := cs.byGUID[guid]
		if c == nil {
			c = &dirChange{guid: guid, entry: source.Entry{Attributes: map[string][]string{}}}
			cs.byGUID[guid] = c
			cs.order = append(cs.order, c)
		}
		if c.dn == "" {
			c.dn = ge.DN
		}
		if leavers {
			c.leaver = true
		} else {
			c.matched = true
		}
		for _, a := range ge.Attributes {
			values := byteStrings(a.ByteValues)
			name := strings.ToLower(a.Name)
			if name == "member" || strings.HasPrefix(name, "member;") {
				for i, v := range values {
					values[i] = plainDN(v)
				}
			}
			switch {
			case name == "name":
				c.renamed = true
			case name == "objectclass":
				c.created = true
			case name == "isdeleted" && len(values) > 0 && strings.EqualFold(values[0], "TRUE"):
				c.deleted = true
			}
			if name == "member" {
				c.group = true
				c.added = append(c.added, values...)
				continue
			}
			if v, ok, err := parseRange(a.Name); err == nil && ok && strings.EqualFold(v.attr, "member") {
				c.group = true
				if v.low == 0 && v.high == 0 {
					c.removed = append(c.removed, values...)
				} else {
					c.added = append(c.added, values...)
				}
				continue
			}
			if !c.entry.Has(a.Name) {
				c.entry.Add(a.Name, values...)
			}
		}
		if ge.DN == "" || strings.Contains(strings.ToUpper(ge.DN), `\0ADEL:`) {
			c.deleted = true
		}
		return nil
	}
}

// dirsyncChanges reads the changes since the cookies of wm.
func (r *Reader) dirsyncChanges(ctx context.Context, rs *readState, s *session, d rootDSE, wm watermark) (source.Result, string, error) {
	ncs, err := r.baseNamingContexts(d)
	if err != nil {
		return source.Result{}, err.Error(), nil
	}
	r.log.Info("ldap reading changes", "url", s.url.String(), "mechanism", mechDirSync, "namingContexts", strings.Join(ncs, "; "))
	cs := &changeSet{byGUID: map[string]*dirChange{}, r: r}
	next := watermark{Mech: mechDirSync, ObjectSecurity: wm.ObjectSecurity}
	changeFilter := "(|" + r.cfg.Filter + "(isDeleted=TRUE))"
	leaverFilter := "(!" + r.cfg.Filter + ")"
	leaverAttrs := r.leaverAttributes()
	for _, nc := range ncs {
		old, ok := wm.cookie(nc)
		if !ok {
			return source.Result{}, fmt.Sprintf("the watermark has no DirSync cookie for the naming context %s", nc), nil
		}
		cookie, err := r.dirSync(ctx, s.conn, nc, changeFilter, r.changeAttributes(), wm.ObjectSecurity, old.Changes, cs.collect(false))
		if err != nil {
			if dirSyncRefused(ctx, err) {
				return source.Result{}, fmt.Sprintf("DirSync of %s refused: %v", nc, err), nil
			}
			return source.Result{}, "", fmt.Errorf("DirSync of %s on %s: %w", nc, s.url, errCtx(ctx, err))
		}
		cookies := ncCookies{DN: nc, Changes: cookie}
		if leaverAttrs != nil {
			from := old.Leavers
			if len(from) == 0 {
				from = old.Changes
			}
			cookie, err := r.dirSync(ctx, s.conn, nc, leaverFilter, leaverAttrs, wm.ObjectSecurity, from, cs.collect(true))
			if err != nil {
				if dirSyncRefused(ctx, err) {
					return source.Result{}, fmt.Sprintf("DirSync of %s refused: %v", nc, err), nil
				}
				return source.Result{}, "", fmt.Errorf("DirSync of %s on %s: %w", nc, s.url, errCtx(ctx, err))
			}
			cookies.Leavers = cookie
		}
		next.NCs = append(next.NCs, cookies)
	}
	r.log.Debug("ldap DirSync answered", "objects", len(cs.order))
	if err := rs.prepare(ctx, s); err != nil {
		return source.Result{}, "", err
	}

	run := newChangeRun(r, rs, s)
	if err := run.applyDirSync(ctx, cs); err != nil {
		var cb *callbackError
		if errors.As(err, &cb) {
			err = cb.err
		}
		return source.Result{Entries: rs.stats.entries}, "", err
	}
	run.summary(mechDirSync)
	return source.Result{Entries: rs.stats.entries, Complete: true, Incremental: true, Watermark: next.encode()}, "", nil
}

// applyDirSync looks at each object DirSync named: deletions first, then
// changed objects, then the members of changed groups.
func (c *changeRun) applyDirSync(ctx context.Context, cs *changeSet) error {
	for _, ch := range cs.order {
		if ch.deleted {
			e := ch.entry
			e.DN = ch.dn
			if err := c.reportDeleted(e, ch.guid, ch.created); err != nil {
				return err
			}
		}
	}
	var groups []*dirChange
	for _, ch := range cs.order {
		if ch.deleted {
			continue
		}
		if ch.group {
			groups = append(groups, ch)
		}
		switch {
		case ch.matched:
			if err := c.object(ctx, guidBase(ch.guid), fromChanges, ch.renamed, ch.created); err != nil {
				return err
			}
		case ch.leaver && !ch.group && !ch.created:
			if err := c.object(ctx, guidBase(ch.guid), fromLeavers, ch.renamed, ch.created); err != nil {
				return err
			}
		}
	}
	for _, ch := range groups {
		relevant, err := c.relevantGroup(ctx, ch.dn, ch.guid)
		if err != nil {
			return err
		}
		if !relevant {
			continue
		}
		c.r.log.Debug("ldap scoping group changed", "group", ch.dn, "added", len(ch.added), "removed", len(ch.removed))
		for _, m := range append(slices.Clone(ch.removed), ch.added...) {
			if err := c.member(ctx, m, 0); err != nil {
				return err
			}
		}
	}
	return nil
}
