package ldap

import (
	"context"
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/source/ad"
)

// Active Directory objects as incremental reads handle them: what changed
// is known by objectGUID (from DirSync, or a USN search), and each object
// is then delivered complete, reported deleted, reported as having left
// the scope, or left out.

// anchorAttributes are the attributes a deleted or departed object is
// matched by, asked for even when Attributes does not list them.
var anchorAttributes = []string{"objectGUID", "mS-DS-ConsistencyGuid", "objectSid"}

// origin is why an object is looked at.
type origin int

const (
	// fromChanges: it changed while matching the filter.
	fromChanges origin = iota
	// fromLeavers: an attribute the filter tests changed, and it does
	// not match the filter (any more).
	fromLeavers
	// fromMembers: it was added to or removed from a scoping group.
	fromMembers
)

// changeRun delivers the objects of one incremental read of Active
// Directory.
type changeRun struct {
	r  *Reader
	rs *readState
	s  *session
	// er reads the rest of ranged values: the session's main connection,
	// or a second one while a search streams on it (see aside).
	er entryReader
	// done are the objectGUIDs handled, so that an object reached twice
	// (changed, and added to a group) is delivered once.
	done map[string]bool
	// looked are the keys of the DNs looked at as group members, and of
	// the groups expanded.
	looked map[string]bool
	// configured are the keys of Groups.
	configured map[string]bool

	changed, deleted, left, ignored int
}

func newChangeRun(r *Reader, rs *readState, s *session) *changeRun {
	c := &changeRun{r: r, rs: rs, s: s, er: s, done: map[string]bool{}, looked: map[string]bool{}, configured: map[string]bool{}}
	for _, g := range r.groups {
		if dn, err := goldap.ParseDN(g); err == nil {
			c.configured[dnKey(dn)] = true
		}
	}
	return c
}

// fullAttributes are the attributes read for an object delivered or
// reported: those requested, and the anchors.
func (r *Reader) fullAttributes() []string {
	attrs := slices.Clone(r.cfg.requestedAttributes())
	if slices.Contains(attrs, "*") {
		return attrs // the anchors are user attributes: "*" has them
	}
	for _, a := range anchorAttributes {
		if !containsFold(attrs, a) {
			attrs = append(attrs, a)
		}
	}
	return attrs
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(v string) bool { return strings.EqualFold(v, s) })
}

// keepRequested removes from e the attributes read only to identify it,
// so that an entry read incrementally looks like one read in full.
func (r *Reader) keepRequested(e *source.Entry) {
	requested := r.cfg.requestedAttributes()
	if slices.Contains(requested, "*") {
		return
	}
	for name := range e.Attributes {
		if !containsFold(requested, name) {
			delete(e.Attributes, name)
		}
	}
}

// guidOf returns the objectGUID of e, "" when it has none.
func guidOf(e *goldap.Entry) string {
	if v := e.GetRawAttributeValue("objectGUID"); len(v) == 16 {
		return string(v)
	}
	return ""
}

// plainDN removes the components of an extended DN
// ("<GUID=...>;<SID=...>;CN=x,DC=y", as DirSync writes DN values) and
// returns the DN itself.
func plainDN(s string) string {
	for strings.HasPrefix(s, "<") {
		i := strings.Index(s, ">;")
		if i < 0 {
			break
		}
		s = s[i+2:]
	}
	return s
}

// guidText is a GUID for logs.
func guidText(guid string) string {
	s, err := ad.GUIDString([]byte(guid))
	if err != nil {
		return fmt.Sprintf("%x", guid)
	}
	return s
}

// scopeOfEntry says why the object dn is out of scope, "" when it is in
// it; byPlace tells a place (bases, excluded subtrees) from the groups
// that guestsync expands itself. (With the in-chain rule, the groups are
// in the filter.)
func (c *changeRun) scopeOfEntry(dn string) (why string, byPlace bool) {
	p, err := goldap.ParseDN(dn)
	if err != nil {
		return fmt.Sprintf("its DN %q does not parse", dn), true
	}
	if why := c.r.placeOf(p); why != "" {
		return why, true
	}
	if c.rs.members != nil {
		if _, ok := c.rs.members[dnKey(p)]; !ok {
			return "not a member of the groups", false
		}
	}
	return "", false
}

// claim marks guid handled and reports whether it was not already.
func (c *changeRun) claim(guid string) bool {
	if guid == "" {
		return true
	}
	if c.done[guid] {
		return false
	}
	c.done[guid] = true
	return true
}

// deliver passes a complete entry, in scope, to fn.
func (c *changeRun) deliver(ctx context.Context, ge *goldap.Entry) error {
	e := toEntry(ge)
	if err := completeRanges(ctx, c.er, &e, c.r.cfg.requestedAttributes()); err != nil {
		return err
	}
	c.r.keepRequested(&e)
	c.r.reportUndecodable(e)
	if err := c.rs.fn(e); err != nil {
		return &callbackError{fmt.Errorf("entry %q: %w", e.DN, err)}
	}
	c.rs.stats.entries++
	c.changed++
	return nil
}

// leftScope reports an object that still exists but has left the scope,
// as deleted: for guestsync it is gone.
func (c *changeRun) leftScope(ge *goldap.Entry, why string) error {
	e := toEntry(ge)
	e.Deleted = true
	c.r.log.Info("ldap entry left the scope: reported as deleted", "dn", e.DN, "reason", why)
	if err := c.rs.fn(e); err != nil {
		return &callbackError{fmt.Errorf("entry %q: %w", e.DN, err)}
	}
	c.rs.stats.entries++
	c.left++
	return nil
}

// ignore notes an object that is not in scope and could not have been at
// the last read.
func (c *changeRun) ignore(dn, why string) {
	c.ignored++
	c.r.log.Debug("ldap changed entry not in scope", "dn", dn, "reason", why)
}

// reportDeleted passes a deleted object (a tombstone, or what DirSync
// says of one) to fn, unless it could not have been in scope: created
// since the watermark, or with a lastKnownParent outside the bases.
func (c *changeRun) reportDeleted(e source.Entry, guid string, created bool) error {
	if !c.claim(guid) {
		return nil
	}
	if created {
		c.ignore(e.DN, "created and deleted since the last read")
		return nil
	}
	if parent, ok := e.First("lastKnownParent"); ok && parent != "" {
		parent = plainDN(parent)
		if why := c.r.placeOfDN("CN=deleted," + parent); why != "" {
			c.ignore(e.DN, "deleted "+why+" (lastKnownParent "+parent+")")
			return nil
		}
	}
	if e.DN == "" {
		e.DN = guidBase(guid)
	}
	if !e.Has("objectGUID") {
		e.Add("objectGUID", guid)
	}
	e.Deleted = true
	c.r.log.Debug("ldap entry deleted", "dn", e.DN, "objectGUID", guidText(guid))
	if err := c.rs.fn(e); err != nil {
		return &callbackError{fmt.Errorf("entry %q: %w", e.DN, err)}
	}
	c.rs.stats.entries++
	c.deleted++
	return nil
}

// object looks at the object base names (a DN, or <GUID=...>) again,
// as it is now, and delivers it, reports that it left the scope, or
// leaves it out. renamed and created say what DirSync saw change (false
// when unknown).
func (c *changeRun) object(ctx context.Context, base string, o origin, renamed, created bool) error {
	r := c.r
	e, err := r.readWith(ctx, c.s.conn, base, c.rs.filter, r.fullAttributes())
	if err != nil {
		return fmt.Errorf("read %s: %w", base, err)
	}
	if e != nil {
		return c.matching(ctx, e, o, renamed, created)
	}
	e, err = r.readWith(ctx, c.s.conn, base, "(objectClass=*)", append(r.fullAttributes(), "objectClass"))
	if err != nil {
		return fmt.Errorf("read %s: %w", base, err)
	}
	if e == nil {
		// Deleted since (the next read reports it), or not readable.
		c.ignore(base, "no longer readable")
		return nil
	}
	if !c.claim(guidOf(e)) {
		return nil
	}
	if created {
		c.ignore(e.DN, "created since the last read, and not in scope")
		return nil
	}
	if why := r.placeOfDN(e.DN); why != "" {
		c.ignore(e.DN, why)
		return nil
	}
	inFilter := false
	if len(r.groups) > 0 && c.rs.members == nil {
		// The filter sent has the in-chain clauses: does the object
		// match the filter alone?
		m, err := r.readWith(ctx, c.s.conn, base, r.cfg.Filter, []string{"1.1"})
		if err != nil {
			return fmt.Errorf("read %s: %w", base, err)
		}
		inFilter = m != nil
	}
	switch {
	case o == fromMembers && inFilter:
		return c.leftScope(e, "no longer a member of the groups")
	case o == fromMembers:
		c.ignore(e.DN, "a group member that does not match the filter")
		return nil
	case inFilter:
		// Matches the filter, not the groups: leaving a group shows as a
		// change of the group's members.
		c.ignore(e.DN, "not a member of the groups")
		return nil
	}
	return c.leftScope(e, "no longer matches the filter")
}

// matching handles an object that matches the filter sent.
func (c *changeRun) matching(ctx context.Context, e *goldap.Entry, o origin, renamed, created bool) error {
	if !c.claim(guidOf(e)) {
		return nil
	}
	why, byPlace := c.scopeOfEntry(e.DN)
	switch {
	case why == "":
		return c.deliver(ctx, e)
	case o == fromChanges && byPlace && renamed && !created:
		return c.leftScope(e, "renamed or moved: now "+why)
	case o == fromMembers && !byPlace:
		return c.leftScope(e, "no longer a member of the groups")
	}
	c.ignore(e.DN, why)
	return nil
}

// member looks at dn, added to or removed from a scoping group: a group
// is expanded (its members joined or left with it), anything else is
// looked at as an object.
func (c *changeRun) member(ctx context.Context, dn string, depth int) error {
	p, err := goldap.ParseDN(dn)
	if err != nil {
		c.r.log.Warn("ldap group member is not a DN: skipped", "member", dn, "error", err)
		return nil
	}
	key := dnKey(p)
	if c.looked[key] {
		return nil
	}
	c.looked[key] = true
	e, err := c.r.readWith(ctx, c.s.conn, dn, "(objectClass=*)", []string{"objectClass"})
	if err != nil {
		return fmt.Errorf("read group member %q: %w", dn, err)
	}
	if e == nil || !containsFold(e.GetAttributeValues("objectClass"), "group") {
		return c.object(ctx, dn, fromMembers, false, false)
	}
	if depth >= c.r.cfg.MaxGroupDepth {
		return fmt.Errorf("groups are nested more than %d levels deep below a changed group (at %q): raise maxGroupDepth", c.r.cfg.MaxGroupDepth, dn)
	}
	members, err := readRanged(ctx, c.s, dn, "member")
	if err != nil {
		return err
	}
	for _, m := range members {
		if err := c.member(ctx, m, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// relevantGroup reports whether the group dn (objectGUID guid) scopes the
// read: one of Groups, or nested in one.
func (c *changeRun) relevantGroup(ctx context.Context, dn, guid string) (bool, error) {
	if len(c.r.groups) == 0 {
		return false, nil
	}
	p, err := goldap.ParseDN(dn)
	if err != nil {
		return false, nil
	}
	if c.configured[dnKey(p)] {
		return true, nil
	}
	if c.rs.members != nil {
		_, ok := c.rs.members[dnKey(p)]
		return ok, nil
	}
	e, err := c.r.readWith(ctx, c.s.conn, guidBase(guid), inChainClause(c.r.groups), []string{"1.1"})
	if err != nil {
		return false, fmt.Errorf("read group %q: %w", dn, err)
	}
	return e != nil, nil
}

// inChainClause matches the members, direct or nested, of any of groups.
func inChainClause(groups []string) string {
	var b strings.Builder
	if len(groups) > 1 {
		b.WriteString("(|")
	}
	for _, g := range groups {
		b.WriteString("(memberOf:" + inChainRule + ":=" + goldap.EscapeFilter(g) + ")")
	}
	if len(groups) > 1 {
		b.WriteString(")")
	}
	return b.String()
}

// summary logs what the run did.
func (c *changeRun) summary(mech string) {
	c.r.log.Info("ldap changes", "mechanism", mech, "changed", c.changed, "deleted", c.deleted,
		"leftScope", c.left, "notInScope", c.ignored)
}
