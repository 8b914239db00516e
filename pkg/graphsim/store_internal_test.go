package graphsim

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFoldKey checks, for every rune, what makes foldKey a sound index key:
// runes that strings.EqualFold treats as equal (one case-folding orbit)
// share a key, and so do a rune and its lower case (strings.ToLower
// equality, which reconcileProxies uses).
func TestFoldKey(t *testing.T) {
	t.Parallel()
	for r := rune(0); r <= unicode.MaxRune; r++ {
		key := foldKey(string(r))
		if got := foldKey(strings.ToLower(string(r))); got != key {
			t.Fatalf("U+%04X: foldKey %q, of its lower case %q", r, key, got)
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if got := foldKey(string(f)); got != key {
				t.Fatalf("U+%04X and U+%04X fold together but have keys %q and %q", r, f, key, got)
			}
		}
	}
	for c := 0; c < 0x80; c++ {
		s := string(rune(c))
		var slow strings.Builder
		slow.WriteRune(foldRune(unicode.ToLower(rune(c))))
		assert.Equal(t, slow.String(), foldKey(s), "ASCII fast path for %q", s)
	}
	assert.Equal(t, foldKey("ſmtp:KELVIN"), foldKey("SMTP:kelvin"), "long s and Kelvin sign")
}

// The scans the indexes replaced, kept as the reference behaviour.

func scanConflict(st *userStore, self *userRecord, props map[string]any) (string, *userRecord) {
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

func scanInvitee(st *userStore, addr string) *userRecord {
	for _, u := range st.ordered() {
		if strings.EqualFold(u.str("userPrincipalName"), addr) || strings.EqualFold(u.str("mail"), addr) {
			return u
		}
		for _, name := range []string{"proxyAddresses", "otherMails"} {
			vs, _ := u.props[name].([]string)
			for _, v := range vs {
				if strings.EqualFold(strings.TrimPrefix(strings.ToLower(v), "smtp:"), addr) {
					return u
				}
			}
		}
	}
	return nil
}

func scanProxyTaken(st *userStore, a string) bool {
	taken := map[string]bool{}
	for _, other := range st.byID {
		addrs, _ := other.props["proxyAddresses"].([]string)
		for _, b := range addrs {
			taken[strings.ToLower(strings.TrimPrefix(strings.ToLower(b), "smtp:"))] = true
		}
	}
	return taken[strings.TrimPrefix(strings.ToLower(a), "smtp:")]
}

// TestIndexesAnswerLikeScans drives a store through random adds, updates
// and removals with case-tricky values (long s, Kelvin sign, dotted I, sharp
// s, "smtp:" prefixes) and compares every indexed lookup with the scan it
// replaced.
func TestIndexesAnswerLikeScans(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	parts := []string{"s", "S", "ſ", "k", "K", "K", "i", "I", "İ", "ı", "ß", "ẞ", "a", "é", "É"}
	word := func() string {
		var b strings.Builder
		for range 1 + rng.IntN(2) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		return b.String()
	}
	addr := func() string {
		prefix := []string{"", "smtp:", "SMTP:", "ſmtp:"}[rng.IntN(4)]
		return prefix + word() + "@x"
	}
	randomProps := func() map[string]any {
		p := map[string]any{"userPrincipalName": word() + "@x"}
		if rng.IntN(3) > 0 {
			p["onPremisesImmutableId"] = word()
		}
		if rng.IntN(3) > 0 {
			p["mail"] = word() + "@x"
		}
		if rng.IntN(2) > 0 {
			p["proxyAddresses"] = []string{addr(), addr()}
		}
		if rng.IntN(2) > 0 {
			p["otherMails"] = []string{addr()}
		}
		return p
	}

	st := newUserStore()
	var users []*userRecord
	hits := map[string]int{}
	for step := range 4000 {
		switch op := rng.IntN(10); {
		case op < 4 || len(users) == 0:
			u := &userRecord{id: newGUID(), props: randomProps()}
			st.add(u)
			users = append(users, u)
		case op < 7:
			u := users[rng.IntN(len(users))]
			for k, v := range randomProps() {
				if rng.IntN(2) == 0 {
					u.props[k] = v
				}
			}
			if rng.IntN(4) == 0 {
				delete(u.props, "onPremisesImmutableId")
			}
			st.reindex(u)
		default:
			i := rng.IntN(len(users))
			st.remove(users[i])
			users = append(users[:i], users[i+1:]...)
		}

		if len(users) == 0 {
			continue
		}
		probe := randomProps()
		var self *userRecord
		if rng.IntN(2) == 0 {
			self = users[rng.IntN(len(users))]
		}
		wantName, _ := scanConflict(st, self, probe)
		gotName, gotOther := st.conflict(self, probe)
		require.Equal(t, wantName != "", gotName != "", "step %d: conflict(%v)", step, probe)
		if gotOther != nil {
			hits[gotName]++
			// Several users may clash; the scan answers any one of them
			// (map order), so check that this one does.
			require.NotSame(t, self, gotOther)
			only := &userStore{byID: map[string]*userRecord{"x": gotOther}, byUPN: map[string]*userRecord{}}
			if gotName == "userPrincipalName" {
				only.byUPN[strings.ToLower(gotOther.str("userPrincipalName"))] = gotOther
			}
			name, _ := scanConflict(only, self, probe)
			require.NotEmpty(t, name, "step %d: %s clash with %v", step, gotName, gotOther.props)
		}

		a := word() + "@x"
		if m := users[rng.IntN(len(users))].str("mail"); m != "" && rng.IntN(2) == 0 {
			a = strings.ToUpper(m) // an invitation's address is never empty
		}
		invitee := st.invitee(a)
		require.Same(t, scanInvitee(st, a), invitee, "step %d: invitee(%q)", step, a)
		p := addr()
		holder := st.proxyHolder(p)
		require.Equal(t, scanProxyTaken(st, p), holder != nil, "step %d: proxyHolder(%q)", step, p)
		if invitee != nil {
			hits["invitee"]++
		}
		if holder != nil {
			hits["proxy holder"]++
		}
	}
	for _, k := range []string{"userPrincipalName", "onPremisesImmutableId", "proxyAddresses", "invitee", "proxy holder"} {
		assert.Greater(t, hits[k], 100, "the random walk finds enough %s matches: %v", k, hits)
	}
}
