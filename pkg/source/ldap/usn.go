package ldap

// Incremental reads of Active Directory by update sequence number, when
// DirSync is refused ("Polling for Changes Using USNChanged").
//
// Each domain controller numbers the changes it applies (uSNChanged on
// each object, highestCommittedUSN in the RootDSE); the numbers of two
// domain controllers have nothing to do with each other. The watermark is
// the highestCommittedUSN read at the start of the read, with the domain
// controller's dsServiceName and the invocationId of its NTDS Settings
// (which changes when it is restored from a backup, when its numbers may
// repeat). Read from another domain controller (a failover to the next
// URL), or after a restore, the watermark is not used: the read is full.
//
// An incremental read with watermark N:
//
//  1. When Groups is set: a scoping group (configured, or nested in one)
//     with uSNChanged > N makes the read a full one: a USN says that a
//     group changed, not which members left it.
//  2. (&(filter)(uSNChanged>=N+1)), paged, from the root of each naming
//     context holding a base: the objects in scope are delivered; one
//     out of the bases or in an excluded subtree is reported as having
//     left the scope (a USN does not tell a move from another change, so
//     a change to a matching object outside the scope is reported too,
//     unless it was created since N).
//  3. (&(isDeleted=TRUE)(uSNChanged>=N+1)) one level under each naming
//     context's Deleted Objects container, with the show-deleted control:
//     the deletions. Active Directory lets administrators (and accounts
//     given the right on that container) read it; for others the
//     deletions wait for a full read, and the read logs a warning.
//
// Not seen: an object that stopped matching the filter (it is no longer
// returned, and a USN does not say what changed).

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/source/ad"
)

// deletedObjectsWKGUID is GUID_DELETED_OBJECTS_CONTAINER_W: the Deleted
// Objects container of a naming context is <WKGUID=...,nc>.
const deletedObjectsWKGUID = "18E2EA80684F11D2B9AA00C04F79F805"

var tombstoneAttributes = append([]string{"isDeleted", "lastKnownParent", "name", "uSNCreated"}, anchorAttributes...)

// usnStart takes the USN watermark of a read that starts now.
func (r *Reader) usnStart(ctx context.Context, s *session, d rootDSE) (*watermark, string, error) {
	if d.dsServiceName == "" || d.highestUSN <= 0 {
		return nil, "the RootDSE gives no dsServiceName or highestCommittedUSN", nil
	}
	inv, err := r.invocationID(ctx, s, d.dsServiceName)
	if err != nil {
		return nil, "", err
	}
	return &watermark{Mech: mechUSN, DSA: d.dsServiceName, InvocationID: inv, USN: d.highestUSN}, "", nil
}

// invocationID returns the invocationId of the domain controller's NTDS
// Settings object, "" when it cannot be read.
func (r *Reader) invocationID(ctx context.Context, s *session, dsa string) (string, error) {
	e, err := s.readEntry(ctx, dsa, []string{"invocationId"})
	if err != nil {
		if ctx.Err() != nil {
			return "", errCtx(ctx, err)
		}
		r.log.Debug("ldap: invocationId not readable", "dsServiceName", dsa, "error", err)
		return "", nil
	}
	if e == nil {
		return "", nil
	}
	id, err := ad.GUIDString(e.GetRawAttributeValue("invocationId"))
	if err != nil {
		return "", nil
	}
	return id, nil
}

// usnChanges reads the changes since wm.USN on the same domain controller.
func (r *Reader) usnChanges(ctx context.Context, rs *readState, s *session, d rootDSE, wm watermark) (source.Result, string, error) {
	if !sameDN(d.dsServiceName, wm.DSA) {
		return source.Result{}, fmt.Sprintf("the watermark is a USN of another domain controller (%s; %s is %s), and USNs are per domain controller",
			wm.DSA, s.url, d.dsServiceName), nil
	}
	inv, err := r.invocationID(ctx, s, d.dsServiceName)
	if err != nil {
		return source.Result{}, "", err
	}
	switch {
	case wm.InvocationID != "" && inv == "":
		return source.Result{}, "the domain controller's invocationId, recorded with the watermark, can no longer be read to check it", nil
	case wm.InvocationID == "" && inv != "":
		return source.Result{}, "the watermark has no invocationId to check that the domain controller was not restored since", nil
	case wm.InvocationID != inv:
		return source.Result{}, fmt.Sprintf("the domain controller's invocationId changed (%s, now %s): restored from a backup?", wm.InvocationID, inv), nil
	case d.highestUSN < wm.USN:
		return source.Result{}, fmt.Sprintf("highestCommittedUSN went back from %d to %d", wm.USN, d.highestUSN), nil
	}
	ncs, err := r.baseNamingContexts(d)
	if err != nil {
		return source.Result{}, err.Error(), nil
	}
	// The new watermark is d.highestUSN, read before anything else.
	if err := rs.prepare(ctx, s); err != nil {
		return source.Result{}, "", err
	}
	since := wm.USN + 1
	clause := "(uSNChanged>=" + strconv.FormatInt(since, 10) + ")"
	if len(r.groups) > 0 {
		if g, err := r.changedGroup(ctx, s, ncs, clause); err != nil || g != "" {
			if err != nil {
				return source.Result{}, "", err
			}
			return source.Result{}, fmt.Sprintf("the scoping group %q changed since the watermark: a USN does not say who left it", g), nil
		}
	}
	next := watermark{Mech: mechUSN, DSA: d.dsServiceName, InvocationID: inv, USN: d.highestUSN}
	r.log.Info("ldap reading changes", "url", s.url.String(), "mechanism", mechUSN, "since", wm.describe())

	run := newChangeRun(r, rs, s)
	// Entries are delivered while the search streams on the main
	// connection: ranged values are read on the second.
	run.er = aside{s}
	filter := "(&" + rs.filter + clause + ")"
	attrs := append(r.fullAttributes(), "uSNCreated")
	for _, nc := range ncs {
		req := newSearch(nc, goldap.ScopeWholeSubtree, filter, attrs)
		r.log.Debug("ldap search", "command", r.searchCommand(nc, goldap.ScopeWholeSubtree, filter, attrs, !r.cfg.NoPaging))
		_, err := r.runSearch(ctx, s.conn, req, !r.cfg.NoPaging, searchHandlers{
			entry:    func(e *goldap.Entry) error { return run.usnEntry(ctx, e, since) },
			referral: func(string) error { return nil }, // other naming contexts
		})
		if err != nil {
			if cb := (*callbackError)(nil); errors.As(err, &cb) {
				return source.Result{Entries: rs.stats.entries}, "", cb.err
			}
			return source.Result{Entries: rs.stats.entries}, "", fmt.Errorf("search %s for %s under %q: %w",
				s.url, filter, nc, r.explainSearch(ctx, err, nc, rs.stats.entries))
		}
	}
	run.er = s
	for _, nc := range ncs {
		if err := run.usnDeletions(ctx, nc, since); err != nil {
			if cb := (*callbackError)(nil); errors.As(err, &cb) {
				return source.Result{Entries: rs.stats.entries}, "", cb.err
			}
			return source.Result{Entries: rs.stats.entries}, "", err
		}
	}
	run.summary(mechUSN)
	return source.Result{Entries: rs.stats.entries, Complete: true, Incremental: true, Watermark: next.encode()}, "", nil
}

// changedGroup returns the DN of a scoping group changed since the
// clause's USN, "" when none did.
func (r *Reader) changedGroup(ctx context.Context, s *session, ncs []string, clause string) (string, error) {
	var b strings.Builder
	b.WriteString("(&(objectClass=group)" + clause + "(|")
	for _, g := range r.groups {
		b.WriteString("(distinguishedName=" + goldap.EscapeFilter(g) + ")")
	}
	b.WriteString(inChainClause(r.groups) + "))")
	filter := b.String()
	found := ""
	for _, nc := range ncs {
		req := newSearch(nc, goldap.ScopeWholeSubtree, filter, []string{"1.1"})
		r.log.Debug("ldap search", "purpose", "scoping groups changed", "command", r.searchCommand(nc, goldap.ScopeWholeSubtree, filter, req.Attributes, !r.cfg.NoPaging))
		_, err := r.runSearch(ctx, s.conn, req, !r.cfg.NoPaging, searchHandlers{
			entry: func(e *goldap.Entry) error {
				if found == "" {
					found = e.DN
				}
				return nil
			},
			referral: func(string) error { return nil },
		})
		if err != nil {
			return "", fmt.Errorf("look for changed groups under %q: %w", nc, r.explainRead(ctx, err))
		}
		if found != "" {
			return found, nil
		}
	}
	return "", nil
}

// usnEntry handles an object that matches the filter and changed.
func (c *changeRun) usnEntry(ctx context.Context, e *goldap.Entry, since int64) error {
	if !c.claim(guidOf(e)) {
		return nil
	}
	why, byPlace := c.scopeOfEntry(e.DN)
	if why == "" {
		return c.deliver(ctx, e)
	}
	if created, err := strconv.ParseInt(e.GetAttributeValue("uSNCreated"), 10, 64); err == nil && created >= since {
		c.ignore(e.DN, "created since the last read, "+why)
		return nil
	}
	if !byPlace {
		c.ignore(e.DN, why)
		return nil
	}
	return c.leftScope(e, "changed while "+why+" (moved there, or changed there)")
}

// usnDeletions reports the objects of the naming context nc deleted since
// the USN since.
func (c *changeRun) usnDeletions(ctx context.Context, nc string, since int64) error {
	r := c.r
	container := "<WKGUID=" + deletedObjectsWKGUID + "," + nc + ">"
	filter := "(&(isDeleted=TRUE)(uSNChanged>=" + strconv.FormatInt(since, 10) + "))"
	req := newSearch(container, goldap.ScopeSingleLevel, filter, tombstoneAttributes)
	req.Controls = []goldap.Control{goldap.NewControlMicrosoftShowDeleted()}
	r.log.Debug("ldap search", "purpose", "deletions", "command",
		r.searchCommand(container, goldap.ScopeSingleLevel, filter, tombstoneAttributes, !r.cfg.NoPaging, "!showDeleted"))
	var tombstones []source.Entry
	_, err := r.runSearch(ctx, c.s.conn, req, !r.cfg.NoPaging, searchHandlers{
		entry:    func(e *goldap.Entry) error { tombstones = append(tombstones, toEntry(e)); return nil },
		referral: func(string) error { return nil },
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return errCtx(ctx, err)
	case goldap.IsErrorAnyOf(err, goldap.LDAPResultNoSuchObject, goldap.LDAPResultInsufficientAccessRights, goldap.LDAPResultUnwillingToPerform):
		r.log.Warn("ldap: deletions are not visible to this account (it may not read the Deleted Objects container): they are seen by the next full read",
			"namingContext", nc, "error", err)
		return nil
	case err != nil:
		return fmt.Errorf("search the deleted objects of %s: %w", nc, r.explainRead(ctx, err))
	}
	for _, t := range tombstones {
		guid, _ := t.First("objectGUID")
		created := false
		if v, ok := t.First("uSNCreated"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			created = err == nil && n >= since
		}
		if err := c.reportDeleted(t, guid, created); err != nil {
			return err
		}
	}
	return nil
}
