package ldap

import (
	"context"
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/source"
)

// adCapability is LDAP_CAP_ACTIVE_DIRECTORY_OID, in the RootDSE's
// supportedCapabilities of Active Directory and Samba AD domain
// controllers.
const adCapability = "1.2.840.113556.1.4.800"

// detectDirectory tells Active Directory from other servers by the
// RootDSE.
func detectDirectory(ctx context.Context, s *session) (string, error) {
	e, err := s.readEntry(ctx, "", []string{"supportedCapabilities", "forestFunctionality"})
	if err == nil && e == nil {
		err = fmt.Errorf("no RootDSE returned")
	}
	if err != nil {
		return "", fmt.Errorf("read the RootDSE of %s to tell Active Directory from other servers (or set directory to ad or ldap): %w", s.url, err)
	}
	if slices.Contains(e.GetAttributeValues("supportedCapabilities"), adCapability) || len(e.GetAttributeValues("forestFunctionality")) > 0 {
		return DirectoryAD, nil
	}
	return DirectoryLDAP, nil
}

// checkGroupsExist fails for a group DN that does not exist. Active
// Directory's in-chain rule matches nothing for it, and reading that as
// "no members" would remove every guest.
func checkGroupsExist(ctx context.Context, s *session, groups []string) error {
	for _, g := range groups {
		e, err := s.readEntry(ctx, g, []string{"1.1"})
		if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) || (err == nil && e == nil) {
			return fmt.Errorf("group %q does not exist on %s", g, s.url)
		}
		if err != nil {
			return fmt.Errorf("read group %q: %w", g, err)
		}
	}
	return nil
}

// Group expansion, for servers without Active Directory's in-chain rule.
//
// A group lists its members as DNs in member (groupOfNames, RFC 2307bis,
// AD's group) or uniqueMember (groupOfUniqueNames, whose values may end
// with an optional "#'0101'B" UID, ignored). memberUid (RFC 2307
// posixGroup) holds user names, not DNs: resolving them would mean
// guessing the naming attribute and where users live, so a group that
// lists members only that way is an error, and memberUid values next to
// member or uniqueMember are ignored.
var groupAttributes = []string{"member", "uniqueMember", "memberUid"}

// groupFilter finds the groups among the entries of a container.
const groupFilter = "(|(member=*)(uniqueMember=*)(memberUid=*))"

// containerSearchFrom is how many candidate members in one container make
// a one-level search for the groups there cheaper than reading each
// candidate: one round trip instead of one per member, for groups of
// thousands of users.
const containerSearchFrom = 16

// membership is the result of expanding groups.
type membership struct {
	keys   map[string]struct{} // dnKey of every member, nested groups included
	nested int                 // nested groups read
	groups []string            // the DNs of the groups read, configured and nested
}

// candidate is a member not yet known to be a group or not.
type candidate struct {
	dn     string
	parsed *goldap.DN
	key    string
}

// nestedGroup is a member found to be a group. entry holds its member
// attributes when they were read while finding it.
type nestedGroup struct {
	dn    string
	key   string
	entry *source.Entry
}

// expandGroups reads groups and the groups nested in them, breadth first,
// and returns the DNs of all their members. Each group is read once, which
// ends cycles; nesting deeper than maxDepth is an error, never a silent
// cut: the members below would be missing from the read.
func expandGroups(ctx context.Context, s *session, groups []string, maxDepth int) (membership, error) {
	m := membership{keys: map[string]struct{}{}}
	visited := map[string]bool{}
	level := make([]nestedGroup, 0, len(groups))
	for _, g := range groups {
		dn, err := goldap.ParseDN(g)
		if err != nil {
			return m, fmt.Errorf("group %q: %w", g, err)
		}
		if key := dnKey(dn); !visited[key] {
			visited[key] = true
			level = append(level, nestedGroup{dn: g, key: key})
		}
	}
	for depth := 0; len(level) > 0; depth++ {
		var candidates []candidate
		for _, g := range level {
			m.groups = append(m.groups, g.dn)
			values, err := groupMembers(ctx, s, g, depth == 0)
			if err != nil {
				return m, err
			}
			for _, v := range values {
				dn, err := goldap.ParseDN(v)
				if err != nil {
					return m, fmt.Errorf("group %q: member %q is not a DN: %w", g.dn, v, err)
				}
				key := dnKey(dn)
				if _, ok := m.keys[key]; ok {
					continue
				}
				m.keys[key] = struct{}{}
				candidates = append(candidates, candidate{dn: v, parsed: dn, key: key})
			}
		}
		found, err := findGroups(ctx, s, candidates)
		if err != nil {
			return m, err
		}
		var next []nestedGroup
		for _, g := range found {
			if visited[g.key] {
				s.r.log.Debug("ldap group already expanded (a cycle, or reached twice)", "group", g.dn)
				continue
			}
			visited[g.key] = true
			next = append(next, g)
		}
		if len(next) > 0 && depth+1 > maxDepth {
			return m, fmt.Errorf("groups are nested more than %d levels deep (%q is at level %d): raise maxGroupDepth, or set directory to ad if this is Active Directory", maxDepth, next[0].dn, depth+1)
		}
		m.nested += len(next)
		level = next
	}
	return m, nil
}

// groupMembers returns the member DNs of g, reading its member attributes
// unless they came with it. A configured group must exist; a nested one
// exists, since it was just found.
func groupMembers(ctx context.Context, s *session, g nestedGroup, configured bool) ([]string, error) {
	e := g.entry
	if e == nil {
		var err error
		e, err = readGroupEntry(ctx, s, g.dn)
		if err != nil && configured && goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			return nil, fmt.Errorf("group %q does not exist on %s", g.dn, s.url)
		}
		if err != nil {
			return nil, err
		}
		if e == nil && configured {
			return nil, fmt.Errorf("group %q does not exist on %s", g.dn, s.url)
		}
		if e == nil {
			return nil, nil
		}
	}
	members := e.Values("member")
	for _, v := range e.Values("uniqueMember") {
		members = append(members, withoutUID(v))
	}
	if uids := e.Values("memberUid"); len(uids) > 0 {
		if len(members) == 0 {
			return nil, fmt.Errorf("group %q lists its members only by memberUid (an RFC 2307 posixGroup), which guestsync does not resolve: use a group with member or uniqueMember DNs (groupOfNames, groupOfUniqueNames, RFC 2307bis)", g.dn)
		}
		s.r.log.Debug("ldap group memberUid values ignored: member and uniqueMember are used", "group", g.dn, "memberUids", len(uids))
	}
	if configured && len(members) == 0 {
		s.r.log.Warn("ldap group has no members", "group", g.dn)
	}
	return members, nil
}

// readGroupEntry reads the member attributes of dn, every value of them
// (ranged retrieval included). It returns nil for an entry that the server
// did not return.
func readGroupEntry(ctx context.Context, s *session, dn string) (*source.Entry, error) {
	ge, err := s.readEntry(ctx, dn, groupAttributes)
	if err != nil {
		return nil, fmt.Errorf("read group %q: %w", dn, err)
	}
	if ge == nil {
		return nil, nil
	}
	e := toEntry(ge)
	if err := completeRanges(ctx, s, &e, nil); err != nil {
		return nil, fmt.Errorf("read group %q: %w", dn, err)
	}
	return &e, nil
}

// isGroup reports whether e lists members.
func isGroup(e *source.Entry) bool {
	for _, a := range groupAttributes {
		if len(e.Values(a)) > 0 {
			return true
		}
	}
	return false
}

// withoutUID removes the optional UID of a uniqueMember value
// (RFC 4517 NameAndOptionalUID: "uid=a,dc=example#'0101'B").
func withoutUID(v string) string {
	i := strings.LastIndex(v, "#'")
	if i < 0 || !strings.HasSuffix(v, "'B") || i+2 > len(v)-2 {
		return v
	}
	if strings.Trim(v[i+2:len(v)-2], "01") != "" {
		return v
	}
	return v[:i]
}

// findGroups returns the candidates that are groups. Candidates are
// grouped by parent container: a container with many of them is searched
// once for its groups, the others are read one by one.
func findGroups(ctx context.Context, s *session, candidates []candidate) ([]nestedGroup, error) {
	type container struct {
		dn      string
		members []candidate
	}
	var order []string
	byParent := map[string]*container{}
	for _, c := range candidates {
		var parentKey, parentDN string
		if len(c.parsed.RDNs) > 1 {
			parent := &goldap.DN{RDNs: c.parsed.RDNs[1:]}
			parentKey, parentDN = dnKey(parent), parent.String()
		}
		p, ok := byParent[parentKey]
		if !ok {
			p = &container{dn: parentDN}
			byParent[parentKey] = p
			order = append(order, parentKey)
		}
		p.members = append(p.members, c)
	}

	var found []nestedGroup
	for _, k := range order {
		p := byParent[k]
		if len(p.members) < containerSearchFrom || p.dn == "" {
			for _, c := range p.members {
				e, err := readGroupEntry(ctx, s, c.dn)
				switch {
				case goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) || (err == nil && e == nil):
					s.r.log.Debug("ldap group member does not exist", "member", c.dn)
				case err != nil:
					return nil, err
				case isGroup(e):
					found = append(found, nestedGroup{dn: c.dn, key: c.key, entry: e})
				}
			}
			continue
		}
		groups, err := groupsIn(ctx, s, p.dn)
		if err != nil {
			return nil, err
		}
		for _, c := range p.members {
			if groups[c.key] {
				found = append(found, nestedGroup{dn: c.dn, key: c.key})
			}
		}
	}
	return found, nil
}

// groupsIn returns the keys of the groups directly under container.
func groupsIn(ctx context.Context, s *session, container string) (map[string]bool, error) {
	groups := map[string]bool{}
	req := newSearch(container, goldap.ScopeSingleLevel, groupFilter, []string{"1.1"})
	_, err := s.r.runSearch(ctx, s.conn, req, !s.r.cfg.NoPaging, searchHandlers{
		entry: func(e *goldap.Entry) error {
			dn, err := goldap.ParseDN(e.DN)
			if err != nil {
				return fmt.Errorf("entry %q: %w", e.DN, err)
			}
			groups[dnKey(dn)] = true
			return nil
		},
		// A group held by another server is not expanded: its members'
		// DNs would not be in this directory's searches either.
		referral: func(ref string) error {
			s.r.log.Debug("ldap referral skipped while looking for nested groups", "referral", ref)
			return nil
		},
	})
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return groups, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look for nested groups under %q: %w", container, s.r.explainRead(ctx, err))
	}
	return groups, nil
}
