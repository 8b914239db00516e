package graphsim

import (
	"cmp"
	"iter"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// userRecord is one stored user. props holds the stored values by JSON name:
// string, bool, []string or map[string]any; an absent key is null.
type userRecord struct {
	seq       uint64 // creation order, the stable order of list results
	id        string
	props     map[string]any
	changed   uint64    // change number of the last create, update or restore (delta)
	visibleAt time.Time // replication lag: invisible to reads before this
	// everSet names the properties that have held a value at some time, so
	// that delta can tell a property cleared to null from one never set
	// (see renderDelta).
	everSet map[string]struct{}
	keys    userKeys // where userStore indexes u, while u is active
	active  bool     // in the userStore, not deleted
	inSeq   bool     // listed in userStore.bySeq
	inLag   bool     // listed in userStore.lagging
}

// noteValues adds the properties that hold a value now to u.everSet. It
// runs whenever a user's values are stored: create, invitation, update,
// restore (through touch) and loading a snapshot.
func (u *userRecord) noteValues() {
	if u.everSet == nil {
		u.everSet = make(map[string]struct{}, len(u.props))
	}
	for name, v := range u.props {
		if hasValue(v) {
			u.everSet[name] = struct{}{}
		}
	}
}

// hasValue reports whether a stored value is a value: not null and not an
// empty collection (Graph shows an unset collection as []).
func hasValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case []string:
		return len(x) > 0
	case []any:
		return len(x) > 0
	}
	return true
}

// wasCleared reports whether property name held a value once and holds
// none now.
func (u *userRecord) wasCleared(name string) bool {
	_, ever := u.everSet[name]
	return ever && !hasValue(u.props[name])
}

// visible reports whether reads at now see u (Faults.Lag).
func (u *userRecord) visible(now time.Time) bool {
	return !now.Before(u.visibleAt)
}

// deletedUser is a soft-deleted user in directory/deletedItems.
type deletedUser struct {
	u  *userRecord
	at time.Time // wall time of the deletion
}

// tombstone remembers a removal for delta: reason "changed" for a soft
// delete, "deleted" for a permanent one.
type tombstone struct {
	id     string
	seq    uint64
	reason string
}

func (u *userRecord) str(name string) string {
	s, _ := u.props[name].(string)
	return s
}

// userStore holds the tenant's active users and indexes them by every value
// a uniqueness check or an invitation looks up, so that creates, updates,
// invitations and restores cost the same in a tenant of any size. The
// Server's mutex guards it.
type userStore struct {
	byID        map[string]*userRecord // lower-cased id
	byUPN       map[string]*userRecord // lower-cased userPrincipalName
	byImmutable addrIndex              // onPremisesImmutableId
	byProxy     addrIndex              // each proxy address without "smtp:"
	byAddress   addrIndex              // what findInvitee matches: UPN, mail, proxy addresses, other mails
	nextSeq     uint64

	// bySeq lists the users in creation order, the order GET /users and
	// the initial delta round page in, so that a page starts with a binary
	// search instead of a sort of every user. Removing a user only marks
	// it inactive (readers skip it); compactSeq drops the inactive ones
	// once they outnumber the active ones. seqUnsorted is set when a user
	// was appended out of order (a restore after its entry was dropped, a
	// snapshot not in creation order); the next read sorts.
	bySeq       []*userRecord
	seqUnsorted bool
	// lagging holds every user added with a replication lag (visibleAt
	// set) that may still be inside it, so that delta finds the users a
	// read cannot see yet without a scan (see hiddenAt). lagPruned is the
	// latest time it was pruned at: every user dropped from it was visible
	// then.
	lagging   []*userRecord
	lagPruned time.Time
}

// userKeys are the index keys of one user, kept so that the user can be
// taken out of the indexes after its values changed.
type userKeys struct {
	upn       string   // byUPN: strings.ToLower(userPrincipalName)
	immutable string   // byImmutable: foldKey(onPremisesImmutableId); "" when unset
	proxies   []string // byProxy: distinct foldKeys of the proxy addresses
	addresses []string // byAddress: distinct non-empty foldKeys
}

// addrIndex maps a foldKey to the users holding a value with that key. The
// key only narrows the search: callers still compare the values the way
// Graph does (strings.EqualFold, or strings.ToLower equality), so a lookup
// answers exactly what a scan of every user would.
type addrIndex map[string][]*userRecord

func (ix addrIndex) add(key string, u *userRecord) {
	ix[key] = append(ix[key], u)
}

func (ix addrIndex) remove(key string, u *userRecord) {
	list := ix[key]
	if i := slices.Index(list, u); i >= 0 {
		list[i] = list[len(list)-1]
		list[len(list)-1] = nil
		list = list[:len(list)-1]
	}
	if len(list) == 0 {
		delete(ix, key)
		return
	}
	ix[key] = list
}

// foldKey maps s to a key shared by every string equal to s under
// strings.EqualFold and every string with the same strings.ToLower: each
// rune is lower-cased, then replaced by the smallest rune of its Unicode
// simple case-folding orbit (the runes EqualFold treats as equal). For ASCII
// that is the upper-case letter. TestFoldKey checks both properties for
// every rune.
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(unicode.ToLower(r)))
	}
	return b.String()
}

// foldRune is the smallest rune of r's case-folding orbit.
func foldRune(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}

// withoutSMTP is a proxy address (or other mail) in lower case without its
// "smtp:" prefix, as the address comparisons below use it.
func withoutSMTP(a string) string {
	return strings.TrimPrefix(strings.ToLower(a), "smtp:")
}

func newUserStore() *userStore {
	return &userStore{byID: map[string]*userRecord{}, byUPN: map[string]*userRecord{},
		byImmutable: addrIndex{}, byProxy: addrIndex{}, byAddress: addrIndex{}}
}

// lookup finds a user by id or by userPrincipalName (Graph docs, "Get user":
// GET /users/{id | userPrincipalName}); both compare case-insensitively.
func (st *userStore) lookup(key string) *userRecord {
	k := strings.ToLower(key)
	if u := st.byID[k]; u != nil {
		return u
	}
	return st.byUPN[k]
}

// add stores u; a new user (seq 0) gets the next creation number, a
// restored or loaded one keeps its own.
func (st *userStore) add(u *userRecord) {
	if u.seq == 0 {
		st.nextSeq++
		u.seq = st.nextSeq
	}
	st.nextSeq = max(st.nextSeq, u.seq)
	key := strings.ToLower(u.id)
	if old := st.byID[key]; old != nil && old != u {
		// Only a hand-made snapshot holding an id twice gets here: the
		// record replaced in byID is no longer listed.
		old.active = false
	}
	st.byID[key] = u
	st.index(u)
	u.active = true
	if !u.inSeq {
		if n := len(st.bySeq); n > 0 && st.bySeq[n-1].seq > u.seq {
			st.seqUnsorted = true
		}
		st.bySeq = append(st.bySeq, u)
		u.inSeq = true
	}
	if !u.visibleAt.IsZero() && !u.inLag {
		st.lagging = append(st.lagging, u)
		u.inLag = true
	}
}

func (st *userStore) remove(u *userRecord) {
	delete(st.byID, strings.ToLower(u.id))
	st.unindex(u)
	u.active = false
	if len(st.bySeq) > 2*len(st.byID)+64 {
		st.compactSeq()
	}
}

// compactSeq drops the removed users from bySeq.
func (st *userStore) compactSeq() {
	kept := st.bySeq[:0]
	for _, u := range st.bySeq {
		if u.active {
			kept = append(kept, u)
			continue
		}
		u.inSeq = false
	}
	clear(st.bySeq[len(kept):])
	st.bySeq = kept
}

// after yields the active users created after seq (all of them for 0),
// in creation order.
func (st *userStore) after(seq uint64) iter.Seq[*userRecord] {
	if st.seqUnsorted {
		slices.SortFunc(st.bySeq, func(a, b *userRecord) int { return cmp.Compare(a.seq, b.seq) })
		st.seqUnsorted = false
	}
	start := sort.Search(len(st.bySeq), func(i int) bool { return st.bySeq[i].seq > seq })
	return func(yield func(*userRecord) bool) {
		for _, u := range st.bySeq[start:] {
			if u.active && !yield(u) {
				return
			}
		}
	}
}

// hiddenAt returns the active users that a read at now does not see yet
// (userRecord.visible). While time only moves forward it looks at the
// lagging list alone, pruning the users visible at now; if now is before
// an earlier prune (a clock set back) it scans every user.
func (st *userStore) hiddenAt(now time.Time) []*userRecord {
	var hidden []*userRecord
	if now.Before(st.lagPruned) {
		for _, u := range st.byID {
			if !u.visible(now) {
				hidden = append(hidden, u)
			}
		}
		return hidden
	}
	kept := st.lagging[:0]
	for _, u := range st.lagging {
		if !u.active || u.visible(now) {
			u.inLag = false
			continue
		}
		kept = append(kept, u)
		hidden = append(hidden, u)
	}
	clear(st.lagging[len(kept):])
	st.lagging, st.lagPruned = kept, now
	return hidden
}

// reindex updates the indexes after u's values changed.
func (st *userStore) reindex(u *userRecord) {
	st.unindex(u)
	st.index(u)
}

func (st *userStore) index(u *userRecord) {
	k := userKeys{upn: strings.ToLower(u.str("userPrincipalName"))}
	st.byUPN[k.upn] = u
	if v := u.str("onPremisesImmutableId"); v != "" {
		k.immutable = foldKey(v)
		st.byImmutable.add(k.immutable, u)
	}
	addAddress := func(v string) {
		if key := foldKey(v); key != "" && !slices.Contains(k.addresses, key) {
			k.addresses = append(k.addresses, key)
		}
	}
	addAddress(u.str("userPrincipalName"))
	addAddress(u.str("mail"))
	proxies, _ := u.props["proxyAddresses"].([]string)
	for _, a := range proxies {
		if key := foldKey(withoutSMTP(a)); !slices.Contains(k.proxies, key) {
			k.proxies = append(k.proxies, key)
		}
		addAddress(withoutSMTP(a))
	}
	others, _ := u.props["otherMails"].([]string)
	for _, a := range others {
		addAddress(withoutSMTP(a))
	}
	for _, key := range k.proxies {
		st.byProxy.add(key, u)
	}
	for _, key := range k.addresses {
		st.byAddress.add(key, u)
	}
	u.keys = k
}

func (st *userStore) unindex(u *userRecord) {
	k := u.keys
	if st.byUPN[k.upn] == u {
		delete(st.byUPN, k.upn)
	}
	if k.immutable != "" {
		st.byImmutable.remove(k.immutable, u)
	}
	for _, key := range k.proxies {
		st.byProxy.remove(key, u)
	}
	for _, key := range k.addresses {
		st.byAddress.remove(key, u)
	}
	u.keys = userKeys{}
}

// ordered returns all users in creation order.
func (st *userStore) ordered() []*userRecord {
	return slices.AppendSeq(make([]*userRecord, 0, len(st.byID)), st.after(0))
}

// conflict returns the property and the other user that would clash with
// self if self took the values in props. Graph keeps userPrincipalName,
// onPremisesImmutableId and proxyAddresses unique across the directory
// (GRAPH.md; ADSyncTools docs: "onPremisesImmutableId must be unique across
// your Entra ID tenant"). mail becomes an SMTP proxy address, so a mail that
// is another object's proxy address is a proxyAddresses conflict
// (microsoft-graph-docs-contrib issue #8421). mailNickname is NOT unique for
// users (terraform-provider-azuread issue #1758: only the UPN has to be
// unique), so duplicates are accepted. The indexes find the candidates;
// the comparisons are case-insensitive (strings.EqualFold).
func (st *userStore) conflict(self *userRecord, props map[string]any) (string, *userRecord) {
	if upn, ok := props["userPrincipalName"].(string); ok {
		if other := st.byUPN[strings.ToLower(upn)]; other != nil && other != self {
			return "userPrincipalName", other
		}
	}
	if immutable, _ := props["onPremisesImmutableId"].(string); immutable != "" {
		for _, other := range st.byImmutable[foldKey(immutable)] {
			if other != self && strings.EqualFold(other.str("onPremisesImmutableId"), immutable) {
				return "onPremisesImmutableId", other
			}
		}
	}
	if mail, _ := props["mail"].(string); mail != "" {
		for _, other := range st.byProxy[foldKey(mail)] {
			if other == self {
				continue
			}
			addrs, _ := other.props["proxyAddresses"].([]string)
			for _, a := range addrs {
				if strings.EqualFold(withoutSMTP(a), mail) {
					return "proxyAddresses", other
				}
			}
		}
	}
	return "", nil
}

// proxyHolder returns an active user holding proxy address a (compared
// in lower case, without "smtp:"), or nil.
func (st *userStore) proxyHolder(a string) *userRecord {
	want := withoutSMTP(a)
	for _, other := range st.byProxy[foldKey(want)] {
		addrs, _ := other.props["proxyAddresses"].([]string)
		for _, b := range addrs {
			if strings.ToLower(withoutSMTP(b)) == want {
				return other
			}
		}
	}
	return nil
}

// invitee returns the first-created active user that answers to addr as
// its UPN, mail, a proxy address or another mail (case-insensitively; see
// findInvitee). addr is not empty: an invitation needs an address.
func (st *userStore) invitee(addr string) *userRecord {
	var first *userRecord
	for _, u := range st.byAddress[foldKey(addr)] {
		if (first == nil || u.seq < first.seq) && answersTo(u, addr) {
			first = u
		}
	}
	return first
}

func answersTo(u *userRecord, addr string) bool {
	if strings.EqualFold(u.str("userPrincipalName"), addr) || strings.EqualFold(u.str("mail"), addr) {
		return true
	}
	for _, name := range []string{"proxyAddresses", "otherMails"} {
		vs, _ := u.props[name].([]string)
		for _, v := range vs {
			if strings.EqualFold(withoutSMTP(v), addr) {
				return true
			}
		}
	}
	return false
}
