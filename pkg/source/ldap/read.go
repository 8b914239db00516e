package ldap

import (
	"context"
	"errors"
	"fmt"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/source"
)

// readState is one Read in progress: what it sends, what it has seen, and
// the connections it holds.
type readState struct {
	r  *Reader
	fn func(source.Entry) error
	// filter is the filter sent: Config.Filter, with Active Directory's
	// in-chain clauses when Groups is set.
	filter string
	// members are the keys (dnKey) of the members of Groups when guestsync
	// expanded them itself; nil when the server does it or without Groups.
	members map[string]struct{}
	// memberGroups are the DNs of the groups guestsync expanded, configured
	// and nested, for incremental reads to see whether one changed.
	memberGroups []string
	// seen are the keys of the entries delivered, kept only when an entry
	// can be reached twice (several bases, referrals): memory then grows
	// with the number of entries in scope, a key each.
	seen map[string]struct{}
	// sessions are the open connections by URL: the first server, and the
	// servers referrals led to.
	sessions map[string]*session
	pending  []pendingReferral
	followed map[string]bool
	stats    readStats
}

type readStats struct {
	entries           int // delivered to fn
	excluded          int // at or below ExcludeDNs
	notInGroups       int // not members of Groups (expanded by guestsync)
	duplicates        int // reached again from another base or referral
	referralsSkipped  int
	referralsFollowed int
}

func newReadState(r *Reader, fn func(source.Entry) error) *readState {
	rs := &readState{r: r, fn: fn, filter: r.cfg.Filter, sessions: map[string]*session{}, followed: map[string]bool{}}
	if len(r.bases) > 1 || r.cfg.FollowReferrals {
		rs.seen = map[string]struct{}{}
	}
	return rs
}

func (rs *readState) close() {
	for _, s := range rs.sessions {
		s.close()
	}
}

// prepare applies Groups: as a filter clause on Active Directory, as a set
// of member DNs elsewhere.
func (rs *readState) prepare(ctx context.Context, s *session) error {
	r := rs.r
	if len(r.groups) == 0 {
		return nil
	}
	kind, err := detectDirectory(ctx, s)
	switch {
	case err != nil && r.cfg.Directory == "":
		return err
	case err != nil:
		r.log.Debug("ldap RootDSE unreadable: trusting the configured directory", "directory", r.cfg.Directory, "error", err)
		kind = r.cfg.Directory
	case r.cfg.Directory == DirectoryAD && kind != DirectoryAD:
		// Another server would not know the in-chain rule, match nothing,
		// and the read would look like a directory without partners.
		return fmt.Errorf("directory is ad, but %s does not look like Active Directory (its RootDSE has neither forestFunctionality nor %s in supportedCapabilities): set directory to ldap or leave it empty", s.url, adCapability)
	case r.cfg.Directory != "":
		kind = r.cfg.Directory
	default:
		r.log.Debug("ldap directory detected", "url", s.url.String(), "directory", kind)
	}
	if kind == DirectoryAD {
		if err := checkGroupsExist(ctx, s, r.groups); err != nil {
			return err
		}
		rs.filter = inChainFilter(r.cfg.Filter, r.groups)
		if r.cfg.Directory == "" {
			r.log.Debug("ldap search", "command", r.command(rs.filter))
		}
		return nil
	}
	start := time.Now()
	members, err := expandGroups(ctx, s, r.groups, r.cfg.MaxGroupDepth)
	if err != nil {
		return err
	}
	r.log.Debug("ldap groups expanded", "groups", len(r.groups), "members", len(members.keys),
		"nestedGroups", members.nested, "duration", time.Since(start))
	rs.members = members.keys
	rs.memberGroups = members.groups
	return nil
}

// searchBase searches b on s and passes what it finds to take. hops is how
// many referrals led there.
func (rs *readState) searchBase(ctx context.Context, s *session, b base, hops int) error {
	r := rs.r
	start := time.Now()
	before := rs.stats.entries
	req := newSearch(b.dn, b.scope, rs.filter, r.cfg.requestedAttributes())
	pages, err := r.runSearch(ctx, s.conn, req, !r.cfg.NoPaging, searchHandlers{
		record:   func(e tappedEntry) error { return rs.take(ctx, s, e) },
		referral: func(ref string) error { rs.referral(s, b, ref, hops); return nil },
	})
	if err != nil {
		if cb := (*callbackError)(nil); errors.As(err, &cb) {
			return cb.err
		}
		return fmt.Errorf("search %s for %s under %q (page %d, after %d entries): %w",
			s.url, rs.filter, b.dn, pages, rs.stats.entries, r.explainSearch(ctx, err, b.dn, rs.stats.entries))
	}
	r.log.Debug("ldap search done", "url", s.url.String(), "base", b.dn, "scope", scopeName(b.scope),
		"entries", rs.stats.entries-before, "pages", pages, "duration", time.Since(start))
	return nil
}

// take passes e to fn unless it is out of scope or was delivered already.
func (rs *readState) take(ctx context.Context, s *session, te tappedEntry) error {
	e := te.Entry
	r := rs.r
	if len(r.excludes) > 0 || rs.members != nil || rs.seen != nil {
		dn, err := goldap.ParseDN(e.DN)
		if err != nil {
			return fmt.Errorf("entry %q: its DN does not parse, so its scope cannot be checked: %w", e.DN, err)
		}
		if ex, ok := excludedBy(dn, r.excludes); ok {
			rs.stats.excluded++
			r.log.Debug("ldap entry excluded", "dn", e.DN, "excludeDN", ex.dn)
			return nil
		}
		if rs.members != nil || rs.seen != nil {
			key := dnKey(dn)
			if _, ok := rs.members[key]; rs.members != nil && !ok {
				rs.stats.notInGroups++
				return nil
			}
			if _, ok := rs.seen[key]; ok {
				rs.stats.duplicates++
				r.log.Debug("ldap entry already read", "dn", e.DN, "url", s.url.String())
				return nil
			}
			if rs.seen != nil {
				rs.seen[key] = struct{}{}
			}
		}
	}
	if te.options {
		if err := completeRanges(ctx, aside{s}, &e, r.cfg.requestedAttributes()); err != nil {
			return err
		}
	}
	if te.notText {
		r.reportUndecodable(e)
	}
	if err := rs.fn(e); err != nil {
		return &callbackError{fmt.Errorf("entry %q: %w", e.DN, err)}
	}
	rs.stats.entries++
	return nil
}
