package ldap

// Incremental reads on servers other than Active Directory (OpenLDAP and
// others), with the "csn" watermark:
//
//   - With the syncprov overlay, OpenLDAP keeps contextCSN on the suffix:
//     the change sequence number of the last change it applied, one value
//     per provider in multi-provider setups. Read at the start, the
//     lowest value bounds everything the read sees: the next read asks
//     for (entryCSN>value). (A provider decommissioned long ago keeps an
//     old value there, and makes incremental reads larger, never wrong.)
//   - Without it, the watermark is the highest entryCSN in scope at the
//     start of the read, found by a first search that asks for entryCSN
//     only. slapd numbers its changes in order (time, then a counter),
//     so anything changed after that has a higher entryCSN. Taking the
//     highest value among the entries as they are delivered would not
//     do: an entry delivered early and changed during the read can have
//     a lower entryCSN than an entry changed later and delivered after.
//   - Servers without entryCSN get the same with modifyTimestamp (RFC
//     4512), compared with >= since it counts whole seconds: an entry
//     changed in the second of the watermark is read again.
//
// Both attributes have ordering rules (entryCSN: CSNOrderingMatch;
// modifyTimestamp: generalizedTimeOrderingMatch), so the server selects
// the changes: the incremental read is the normal search with
// (&(filter)(entryCSN>=v)(!(entryCSN=v))) over each base.
//
// What it cannot see: deletions (a deleted entry has no entryCSN left to
// compare), and entries that stopped matching the filter or moved out of
// the bases (the search no longer returns them). Incremental reads report
// none of these; a periodic full read (--full) finds them by absence.
// Groups: a change to any scoping group (configured or nested) makes the
// read a full one, since who left a group is only known by reading them
// all.

import (
	"context"
	"fmt"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/source/ad"
)

// csnStart takes the watermark of a read that starts now; prev is the
// watermark of an incremental read, nil for a full one. why says why
// there is none.
func (r *Reader) csnStart(ctx context.Context, s *session, d rootDSE, prev *watermark) (*watermark, string, error) {
	if wm, err := r.contextCSN(ctx, s, d); err != nil || wm != nil {
		return wm, "", err
	}
	filter := r.cfg.Filter
	if prev != nil {
		filter = "(&" + filter + prev.csnClause() + ")"
	}
	probes := make([]base, 0, len(r.bases)+1)
	filters := make([]string, 0, len(r.bases)+1)
	for _, b := range r.bases {
		probes, filters = append(probes, b), append(filters, filter)
	}
	if len(r.groups) > 0 {
		// The scoping groups count too (a change to one makes the next
		// read full): every group of the naming contexts, since which
		// are nested is only known once they are expanded.
		groups := groupClassFilter
		if prev != nil {
			groups = "(&" + groups + prev.csnClause() + ")"
		}
		ncs, err := r.baseNamingContexts(d)
		if err != nil {
			return nil, "the groups' naming context: " + err.Error(), nil
		}
		for _, nc := range ncs {
			p, err := goldap.ParseDN(nc)
			if err != nil {
				return nil, fmt.Sprintf("naming context %q: %v", nc, err), nil
			}
			probes, filters = append(probes, base{dn: nc, parsed: p, scope: goldap.ScopeWholeSubtree}), append(filters, groups)
		}
	}
	var maxCSN, maxTime string
	var maxT time.Time
	for i, b := range probes {
		filter := filters[i]
		req := newSearch(b.dn, b.scope, filter, []string{"entryCSN", "modifyTimestamp"})
		r.log.Debug("ldap search", "purpose", "watermark: the highest entryCSN or modifyTimestamp in scope",
			"command", r.searchCommand(b.dn, b.scope, filter, req.Attributes, !r.cfg.NoPaging))
		_, err := r.runSearch(ctx, s.conn, req, !r.cfg.NoPaging, searchHandlers{
			record: func(e tappedEntry) error {
				if v, _ := e.First("entryCSN"); v > maxCSN {
					maxCSN = v
				}
				if v, _ := e.First("modifyTimestamp"); v != "" {
					if t, err := ad.GeneralizedTime(v); err == nil && t.After(maxT) {
						maxT, maxTime = t, v
					}
				}
				return nil
			},
			referral: func(string) error { return nil },
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, "", errCtx(ctx, err)
			}
			return nil, fmt.Sprintf("search %q for the highest entryCSN: %v", b.dn, r.explainRead(ctx, err)), nil
		}
	}
	switch {
	case maxCSN != "":
		return &watermark{Mech: mechCSN, Attr: "entryCSN", Value: maxCSN, After: true, From: "probe"}, "", nil
	case maxTime != "":
		return &watermark{Mech: mechCSN, Attr: "modifyTimestamp", Value: maxT.UTC().Format("20060102150405Z"), From: "probe"}, "", nil
	case prev != nil:
		// Nothing changed in scope since prev: it still holds.
		return prev, "", nil
	}
	return nil, "no entry in scope carries entryCSN or modifyTimestamp (the scope is empty, or this account may not read them)", nil
}

// contextCSN returns a watermark from the contextCSN of the naming
// contexts that hold the bases, or nil when one of them has none.
func (r *Reader) contextCSN(ctx context.Context, s *session, d rootDSE) (*watermark, error) {
	ncs, err := r.baseNamingContexts(d)
	if err != nil {
		r.log.Debug("ldap: no naming context for contextCSN", "error", err)
		return nil, nil
	}
	lowest := ""
	for _, nc := range ncs {
		e, err := s.readEntry(ctx, nc, []string{"contextCSN"})
		if err != nil && ctx.Err() != nil {
			return nil, errCtx(ctx, err)
		}
		if err != nil || e == nil || len(e.GetAttributeValues("contextCSN")) == 0 {
			r.log.Debug("ldap: no contextCSN on the naming context (no syncprov overlay?)", "namingContext", nc, "error", err)
			return nil, nil
		}
		for _, v := range e.GetAttributeValues("contextCSN") {
			if lowest == "" || v < lowest {
				lowest = v
			}
		}
	}
	return &watermark{Mech: mechCSN, Attr: "entryCSN", Value: lowest, After: true, From: "contextCSN"}, nil
}

// groupClassFilter finds the groups that guestsync expands (see
// groupAttributes), empty ones included.
const groupClassFilter = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group)" +
	"(objectClass=posixGroup)(member=*)(uniqueMember=*))"

// csnClause is the filter clause that selects what changed since w.
func (w watermark) csnClause() string {
	v := goldap.EscapeFilter(w.Value)
	if w.After {
		return "(&(" + w.Attr + ">=" + v + ")(!(" + w.Attr + "=" + v + ")))"
	}
	return "(" + w.Attr + ">=" + v + ")"
}

// csnChanges reads the entries changed since wm over each base.
func (r *Reader) csnChanges(ctx context.Context, rs *readState, s *session, d rootDSE, wm watermark) (source.Result, string, error) {
	next, why, err := r.csnStart(ctx, s, d, &wm)
	if err != nil {
		return source.Result{}, "", err
	}
	if err := rs.prepare(ctx, s); err != nil {
		return source.Result{}, "", err
	}
	for _, g := range rs.memberGroups {
		e, err := r.readWith(ctx, s.conn, g, wm.csnClause(), []string{"1.1"})
		if err != nil {
			return source.Result{}, "", fmt.Errorf("read group %q: %w", g, err)
		}
		if e != nil {
			return source.Result{}, fmt.Sprintf("the scoping group %q changed since the watermark: only a full read sees who left it", g), nil
		}
	}
	if next == nil {
		r.log.Info("ldap: no new watermark; the next read will be full", "reason", why)
	}
	r.log.Info("ldap reading changes", "url", s.url.String(), "mechanism", mechCSN, "since", wm.describe())
	rs.filter = "(&" + rs.filter + wm.csnClause() + ")"
	for _, b := range r.bases {
		if ex, ok := excludedBy(b.parsed, r.excludes); ok {
			r.log.Debug("ldap base excluded: not searched", "base", b.dn, "excludeDN", ex.dn)
			continue
		}
		r.log.Debug("ldap search", "command", r.searchCommand(b.dn, b.scope, rs.filter, r.cfg.requestedAttributes(), !r.cfg.NoPaging))
		if err := rs.searchBase(ctx, s, b, 0); err != nil {
			return source.Result{Entries: rs.stats.entries}, "", err
		}
	}
	res := source.Result{Entries: rs.stats.entries, Complete: true, Incremental: true}
	if next != nil {
		res.Watermark = next.encode()
	}
	return res, "", nil
}
