package graphsim

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"iter"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// deltaToken is the state carried by $skiptoken (within a round) and
// $deltatoken (the start of the next round). Graph docs, "user: delta":
// "Microsoft Graph automatically encodes any specified parameters into the
// token portion of the nextLink or deltaLink URL", so the selection travels
// in the token and later $select options are ignored.
type deltaToken struct {
	Initial bool     `json:"i,omitempty"` // the first round: the full current state
	Since   uint64   `json:"t"`           // report changes after this change number
	Upto    uint64   `json:"s,omitempty"` // ... up to this one (fixed when the round starts)
	After   uint64   `json:"a,omitempty"` // paging cursor
	Select  []string `json:"sel,omitempty"`
	Issued  int64    `json:"iat,omitempty"` // deltaLink only: when it was issued (Unix nanoseconds)
	Epoch   uint64   `json:"e,omitempty"`   // deltaLink only: Server.deltaEpoch when it was issued
	// Kind is the collection the token pages: "" for users, "groups"
	// for groups/delta; a token is refused by the other collection.
	Kind string `json:"k,omitempty"`
	// Members: groups/delta tracks members@delta ($select=members, or no
	// $select). IDs: the ids of its $filter=id eq '...' (none: every group).
	Members bool     `json:"m,omitempty"`
	IDs     []string `json:"ids,omitempty"`
}

// deltaTokenLifetime is how long a deltaLink stays usable. Graph docs, "Use
// delta query to track changes in Microsoft Graph data", token duration:
// "Delta tokens are only valid for a specific period before the client
// application needs to run a full synchronization again. For directory
// objects, the limit is seven days." Options.DeltaTokenLifetime overrides
// it.
const deltaTokenLifetime = 7 * 24 * time.Hour

const deltaTokenPrefix = "graphsim-delta:"

// Graph's state tokens are opaque to the client (Graph docs, "Use delta
// query to track changes in Microsoft Graph data", state tokens: "These
// tokens are opaque to the client") and only the service that issued one
// knows its sync state. The emulator's tokens carry their state in the
// open, so each is signed: an HMAC-SHA256 over the tenant id and the
// payload, keyed by the instance's deltaKey, which lives in the state file.
// A token of another instance (another tenant, or the same tenant id
// started without its state) or an altered one then has no sync state
// here, and is answered as Graph answers a token whose sync state it no
// longer has: 400 syncStateNotFound (errSyncStateNotFound). A client that
// kept a link across a change of tenant starts over instead of reading
// "no changes" from a tenant that never saw its round.

// deltaMACSize is how much of the HMAC a token carries: 128 bits.
const deltaMACSize = 16

// deltaKeySize is the length of an instance's signing key.
const deltaKeySize = 32

func (s *Server) encodeToken(t deltaToken) string {
	raw, _ := json.Marshal(t) // plain data: cannot fail
	payload := base64.RawURLEncoding.EncodeToString(append([]byte(deltaTokenPrefix), raw...))
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.tokenMAC(payload))
}

// tokenMAC signs a token's payload for this instance and tenant.
func (s *Server) tokenMAC(payload string) []byte {
	s.mu.Lock()
	key, tenant := s.deltaKey, s.opts.TenantID
	s.mu.Unlock()
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(strings.ToLower(tenant)))
	mac.Write([]byte{0})
	mac.Write([]byte(payload))
	return mac.Sum(nil)[:deltaMACSize]
}

// parseDeltaToken decodes a token this emulator issued. One that does not
// decode at all is a malformed request: 400 Request_BadRequest (Graph does
// not document the message). One that decodes but that this instance did
// not sign is 400 syncStateNotFound (see encodeToken).
func (s *Server) parseDeltaToken(name, v string) (deltaToken, *graphError) {
	malformed := newError(http.StatusBadRequest, codeRequestBadRequest, "Invalid "+name+" value.")
	payload, sig, _ := strings.Cut(v, ".")
	var t deltaToken
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || !strings.HasPrefix(string(raw), deltaTokenPrefix) ||
		json.Unmarshal(raw[len(deltaTokenPrefix):], &t) != nil {
		return deltaToken{}, malformed
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.tokenMAC(payload)) {
		return deltaToken{}, errSyncStateNotFound()
	}
	return t, nil
}

// deltaPageSize is the page size without Prefer: odata.maxpagesize. Graph
// does not document the default for users; 100 matches GET /users.
const deltaPageSize = 100

// delta serves GET /users/delta(). Graph docs, "user: delta" and "Get
// incremental changes for users": the first round pages through every user
// with @odata.nextLink and ends with @odata.deltaLink; a later call with
// the deltaLink returns only users created, changed or removed since, the
// removed ones as {"id", "@removed": {"reason": "changed"}} when deleted
// (restorable) and "deleted" when deleted permanently. "The id property is
// always returned". Which properties an entry shows is renderDelta's rule.
func (s *Server) delta(c *call) *graphError {
	opts, err := queryOptions(c.r.URL, "$select", "$deltatoken", "$skiptoken", "$filter", "$expand", "$format")
	if err != nil {
		return err
	}
	if _, ok := opts["$expand"]; ok {
		return errNotEmulated("$expand on users/delta")
	}
	pageSize, err := deltaPageSizeOf(c, "users/delta")
	if err != nil {
		return err
	}
	_, hasSkip := opts["$skiptoken"]
	fromNow := syncFromNow(opts)
	tok, started, err := s.continueDelta(c, opts, "")
	if err != nil {
		return err
	}
	switch {
	case started:
		tok = deltaToken{Since: tok.Since, Select: tok.Select, IDs: tok.IDs}
	case hasSkip:
	default:
		tok.Initial = true
		if f, ok := opts["$filter"]; ok {
			if tok.IDs, err = deltaFilterIDs(f, "users/delta"); err != nil {
				return err
			}
		}
		selects, err := s.parseSelect(opts["$select"])
		if err != nil {
			return err
		}
		for _, p := range selects {
			tok.Select = append(tok.Select, p.name)
		}
	}
	selects, err := s.parseSelect(strings.Join(tok.Select, ","))
	if err != nil {
		return err
	}
	if fromNow {
		s.mu.Lock()
		since := s.roundUpto(c, 0)
		s.mu.Unlock()
		s.writeDeltaLinkOnly(c, selectContext(selects), deltaToken{Since: since, Select: tok.Select, IDs: tok.IDs})
		return nil
	}
	shown := selects
	if shown == nil {
		shown = s.schema.defaults
	}

	s.mu.Lock()
	if !hasSkip {
		tok.Upto = s.roundUpto(c, tok.Since)
	}
	page, more := s.deltaPage(c, tok, pageSize)
	values := make([]map[string]any, len(page))
	for i, e := range page {
		if e.user == nil {
			values[i] = map[string]any{"id": e.tomb.id, "@removed": map[string]any{"reason": e.tomb.reason}}
			continue
		}
		values[i] = renderDelta(e.user, shown, tok.Initial)
	}
	epoch := s.deltaEpoch
	s.mu.Unlock()

	resp := map[string]any{"@odata.context": selectContext(selects), "value": values}
	link := linkBase(c.r) + "?"
	if more {
		next := tok
		next.After = page[len(page)-1].key
		resp["@odata.nextLink"] = link + "$skiptoken=" + s.encodeToken(next)
	} else {
		next := deltaToken{Since: tok.Upto, Select: tok.Select, IDs: tok.IDs, Issued: c.now.UnixNano(), Epoch: epoch}
		resp["@odata.deltaLink"] = link + "$deltatoken=" + s.encodeToken(next)
	}
	c.writeJSON(http.StatusOK, resp)
	return nil
}

// deltaPageSizeOf reads the page size a delta request asks for with
// Prefer: odata.maxpagesize (Graph docs, "Use delta query to track changes
// in Microsoft Graph data", "Optional request header"), at most 999, and
// says so in Preference-Applied. Prefer: return=minimal is not emulated.
func deltaPageSizeOf(c *call, what string) (int, *graphError) {
	prefer := strings.ToLower(c.r.Header.Get("Prefer"))
	if strings.Contains(prefer, "return=minimal") {
		return 0, errNotEmulated("Prefer: return=minimal on " + what)
	}
	pageSize := deltaPageSize
	if i := strings.Index(prefer, "odata.maxpagesize="); i >= 0 {
		v := prefer[i+len("odata.maxpagesize="):]
		if j := strings.IndexAny(v, ",; "); j >= 0 {
			v = v[:j]
		}
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			pageSize = min(n, 999)
			c.w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(pageSize))
		}
	}
	return pageSize, nil
}

// syncFromNow recognises $deltatoken=latest and takes it out of opts, so
// that the request reads as a first one. Graph docs, "Use delta query to
// track changes in Microsoft Graph data": "Resources stored in Microsoft
// Entra ID (such as users and groups) support 'sync from now' scenarios
// ... append $deltaToken=latest to the delta function and the response
// will contain a deltaLink and no resource data."
func syncFromNow(opts map[string]string) bool {
	v, ok := opts["$deltatoken"]
	if !ok || !strings.EqualFold(v, "latest") {
		return false
	}
	delete(opts, "$deltatoken")
	return true
}

// writeDeltaLinkOnly answers a sync-from-now request: no objects, and a
// deltaLink that reports the changes after next.Since.
func (s *Server) writeDeltaLinkOnly(c *call, context string, next deltaToken) {
	s.mu.Lock()
	next.Issued, next.Epoch = c.now.UnixNano(), s.deltaEpoch
	s.mu.Unlock()
	c.writeJSON(http.StatusOK, map[string]any{
		"@odata.context":   context,
		"value":            []any{},
		"@odata.deltaLink": linkBase(c.r) + "?$deltatoken=" + s.encodeToken(next),
	})
}

// continueDelta decodes the state token of a delta request of collection
// kind ("" for users, "groups"): a $skiptoken (a round under way) or a
// $deltatoken (started: a new round from a deltaLink, refused once
// expired). Neither: the zero token, an initial round. A token issued for
// the other collection is malformed here.
func (s *Server) continueDelta(c *call, opts map[string]string, kind string) (tok deltaToken, started bool, err *graphError) {
	skip, hasSkip := opts["$skiptoken"]
	dtok, hasDelta := opts["$deltatoken"]
	switch {
	case hasSkip && hasDelta:
		return tok, false, newError(http.StatusBadRequest, codeRequestBadRequest, "Specify either $skiptoken or $deltatoken, not both.")
	case hasSkip:
		tok, err = s.parseDeltaToken("$skiptoken", skip)
	case hasDelta:
		if tok, err = s.parseDeltaToken("$deltatoken", dtok); err == nil && s.deltaLinkExpired(tok, c.now) {
			err = errSyncStateNotFound()
		}
		started = true
	default:
		return tok, false, nil
	}
	if err == nil && tok.Kind != kind {
		name := "$skiptoken"
		if hasDelta {
			name = "$deltatoken"
		}
		err = newError(http.StatusBadRequest, codeRequestBadRequest, "Invalid "+name+" value.")
	}
	return tok, started, err
}

// wants reports whether a round reports the object with id: every object,
// or one of the ids of the round's $filter.
func (t deltaToken) wants(id string) bool {
	return len(t.IDs) == 0 || slices.Contains(t.IDs, strings.ToLower(id))
}

// deltaLinkExpired reports whether the deltaLink that carried tok can no
// longer be used: it is older than the token lifetime (in emulated time), or
// than the last ExpireDeltaTokens. Only deltaLinks expire; the documented
// lifetime is theirs, and a $skiptoken continues a round already under way.
func (s *Server) deltaLinkExpired(tok deltaToken, now time.Time) bool {
	s.mu.Lock()
	epoch := s.deltaEpoch
	s.mu.Unlock()
	if tok.Epoch != epoch {
		return true
	}
	lifetime := s.opts.DeltaTokenLifetime
	switch {
	case lifetime < 0:
		return false
	case lifetime == 0:
		lifetime = deltaTokenLifetime
	}
	return now.Sub(time.Unix(0, tok.Issued)) > s.scaled(lifetime)
}

// ExpireDeltaTokens makes every users/delta and groups/delta deltaLink
// issued so far answer 400 syncStateNotFound, as if all of them had
// outlived their lifetime (deltaLinks issued afterwards work). POST /_graphsim/expire-delta-tokens
// does the same over HTTP.
func (s *Server) ExpireDeltaTokens() {
	s.mu.Lock()
	s.deltaEpoch++
	s.generation++
	s.mu.Unlock()
}

// roundUpto fixes the last change a round reports: the latest, but before
// any change still hidden by replication lag, so that the next round picks
// it up once it is visible. The caller holds s.mu.
func (s *Server) roundUpto(c *call, since uint64) uint64 {
	upto := s.changeSeq
	for _, u := range s.users.hiddenAt(c.now) {
		if u.changed > 0 {
			upto = min(upto, u.changed-1)
		}
	}
	return max(upto, since)
}

type deltaEntry struct {
	key  uint64 // creation number (initial round) or change number
	user *userRecord
	tomb tombstone
}

// deltaPage cuts the next page of the round after the cursor: up to size
// entries in cursor order, and whether more follow. The initial round lists
// the visible users in creation order (userStore.after); a later round the
// visible users and the tombstones whose change number lies in (Since,
// Upto], in change-number order (changeLog). Either way the page starts
// with a binary search and reads only as far as it reaches, skipping the
// users still hidden by replication lag and the log's stale entries. The
// caller holds s.mu.
func (s *Server) deltaPage(c *call, tok deltaToken, size int) ([]deltaEntry, bool) {
	var out []deltaEntry
	if tok.Initial {
		for u := range s.users.after(tok.After) {
			if !u.visible(c.now) || !tok.wants(u.id) {
				continue
			}
			if len(out) == size {
				return out, true
			}
			out = append(out, deltaEntry{key: u.seq, user: u})
		}
		return out, false
	}
	for e := range s.changes.after(max(tok.Since, tok.After)) {
		if e.seq > tok.Upto {
			break
		}
		d, live := s.current(e)
		if !live || (d.user != nil && !d.user.visible(c.now)) {
			continue
		}
		id := d.tomb.id
		if d.user != nil {
			id = d.user.id
		}
		if !tok.wants(id) {
			continue
		}
		if len(out) == size {
			return out, true
		}
		out = append(out, d)
	}
	return out, false
}

// changeLog lists the changes a later delta round reports, in
// change-number order: an entry for each user change (touch) and each
// removal (bury). A newer change of the same user or id makes the older
// entry stale; Server.current tells. Invariant: every active user with a
// change number has exactly one current entry, at its change number, and
// so has every tombstone; stale entries are dropped once they outnumber
// the current ones (Server.logChange). unsorted is set when an entry was
// appended out of order, which only a snapshot with inconsistent change
// numbers causes; the next read sorts.
type changeLog struct {
	entries  []changeEntry
	unsorted bool
}

type changeEntry struct {
	seq  uint64
	user *userRecord // the changed user, or nil for a removal
	tomb string      // a removal: the key of s.tombstones
}

func (l *changeLog) add(e changeEntry) {
	if n := len(l.entries); n > 0 && l.entries[n-1].seq > e.seq {
		l.unsorted = true
	}
	l.entries = append(l.entries, e)
}

// after yields the entries with a change number above seq, in order.
func (l *changeLog) after(seq uint64) iter.Seq[changeEntry] {
	if l.unsorted {
		slices.SortStableFunc(l.entries, func(a, b changeEntry) int { return cmp.Compare(a.seq, b.seq) })
		l.unsorted = false
	}
	start := sort.Search(len(l.entries), func(i int) bool { return l.entries[i].seq > seq })
	return func(yield func(changeEntry) bool) {
		for _, e := range l.entries[start:] {
			if !yield(e) {
				return
			}
		}
	}
}

// newChangeLog builds the log of a loaded tenant.
func newChangeLog(users *userStore, tombs map[string]tombstone) changeLog {
	var l changeLog
	for _, u := range users.byID {
		if u.changed > 0 {
			l.entries = append(l.entries, changeEntry{seq: u.changed, user: u})
		}
	}
	for key, t := range tombs {
		l.entries = append(l.entries, changeEntry{seq: t.seq, tomb: key})
	}
	l.unsorted = true
	return l
}

// current resolves a log entry to what delta reports, and whether it is
// still current: the user is active and has not changed since, the
// tombstone has not been replaced or restored away. The caller holds s.mu.
func (s *Server) current(e changeEntry) (deltaEntry, bool) {
	if e.user != nil {
		return deltaEntry{key: e.seq, user: e.user}, e.user.active && e.user.changed == e.seq
	}
	t, ok := s.tombstones[e.tomb]
	return deltaEntry{key: e.seq, tomb: t}, ok && t.seq == e.seq
}

// logChange appends e to the change log and drops the stale entries once
// they outnumber the current ones, which keeps the log's length within
// twice the number of users and tombstones. The caller holds s.mu.
func (s *Server) logChange(e changeEntry) {
	s.changes.add(e)
	if len(s.changes.entries) <= 2*(len(s.users.byID)+len(s.tombstones))+64 {
		return
	}
	kept := s.changes.entries[:0]
	for _, e := range s.changes.entries {
		if _, live := s.current(e); live {
			kept = append(kept, e)
		}
	}
	clear(s.changes.entries[len(kept):])
	s.changes.entries = kept
}

// renderDelta shows u's id and its selected properties that have a value.
// In a round that continues from a deltaLink (initial false) it also shows
// the selected properties that held a value once and were cleared since, as
// null (an empty collection as []). Graph docs, "user: delta", "Default:
// return the same properties as initial delta request": "If the property
// has changed, the new value is included in the response. This includes
// properties being set to null value." ... "If the property has never been
// set before it will not be included in the response at all."; "Use delta
// query to track changes in Microsoft Graph data", resource representation:
// "Updated instances are represented by their id with at least the
// properties that have been updated". The initial round, which a client
// starts from nothing, shows the current state and leaves every null
// property out.
func renderDelta(u *userRecord, props []*propDef, initial bool) map[string]any {
	out := map[string]any{"id": u.id}
	for _, p := range props {
		v := u.value(p)
		if !hasValue(v) && (initial || !u.wasCleared(p.name)) {
			continue
		}
		out[p.name] = v
	}
	return out
}

// linkBase is the absolute URL of the request without its query.
func linkBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}
