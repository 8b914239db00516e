package graphsim

import (
	"sort"
	"strings"
	"time"
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

// userStore holds the tenant's users. The Server's mutex guards it.
type userStore struct {
	byID    map[string]*userRecord // lower-cased id
	byUPN   map[string]*userRecord // lower-cased userPrincipalName
	nextSeq uint64
}

func newUserStore() *userStore {
	return &userStore{byID: map[string]*userRecord{}, byUPN: map[string]*userRecord{}}
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
	st.byID[strings.ToLower(u.id)] = u
	st.byUPN[strings.ToLower(u.str("userPrincipalName"))] = u
}

func (st *userStore) remove(u *userRecord) {
	delete(st.byID, strings.ToLower(u.id))
	delete(st.byUPN, strings.ToLower(u.str("userPrincipalName")))
}

// rename re-indexes u after its userPrincipalName changed from old.
func (st *userStore) rename(u *userRecord, old string) {
	delete(st.byUPN, strings.ToLower(old))
	st.byUPN[strings.ToLower(u.str("userPrincipalName"))] = u
}

// ordered returns all users in creation order.
func (st *userStore) ordered() []*userRecord {
	all := make([]*userRecord, 0, len(st.byID))
	for _, u := range st.byID {
		all = append(all, u)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	return all
}

// conflict returns the property and the other user that would clash with
// self if self took the values in props. Graph keeps userPrincipalName,
// onPremisesImmutableId and proxyAddresses unique across the directory
// (GRAPH.md; ADSyncTools docs: "onPremisesImmutableId must be unique across
// your Entra ID tenant"). mail becomes an SMTP proxy address, so a mail that
// is another object's proxy address is a proxyAddresses conflict
// (microsoft-graph-docs-contrib issue #8421). mailNickname is NOT unique for
// users (terraform-provider-azuread issue #1758: only the UPN has to be
// unique), so duplicates are accepted.
func (st *userStore) conflict(self *userRecord, props map[string]any) (string, *userRecord) {
	if upn, ok := props["userPrincipalName"].(string); ok {
		if other := st.byUPN[strings.ToLower(upn)]; other != nil && other != self {
			return "userPrincipalName", other
		}
	}
	immutable, _ := props["onPremisesImmutableId"].(string)
	mail, _ := props["mail"].(string)
	if immutable == "" && mail == "" {
		return "", nil
	}
	for _, other := range st.byID {
		if other == self {
			continue
		}
		if immutable != "" && strings.EqualFold(other.str("onPremisesImmutableId"), immutable) {
			return "onPremisesImmutableId", other
		}
		if mail != "" {
			addrs, _ := other.props["proxyAddresses"].([]string)
			for _, a := range addrs {
				if strings.EqualFold(strings.TrimPrefix(strings.ToLower(a), "smtp:"), mail) {
					return "proxyAddresses", other
				}
			}
		}
	}
	return "", nil
}
