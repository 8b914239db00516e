package mapping

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/schema"
	"github.com/guestsync/guestsync/pkg/source"
)

func loadGuestShadow(t *testing.T) *Mapping {
	t.Helper()
	m, err := Load(filepath.Join("..", "..", "mappings", "guest-shadow.yaml"))
	require.NoError(t, err)
	require.Equal(t, TargetAD, m.Target)
	return m
}

// takenFirst is an Options.Taken that says the first n distinct values it
// is asked about, per property, are taken: each call of Map then goes one
// candidate further down SelectUniqueValue's list.
func takenFirst(n int) func(anchor, property, value string) (bool, error) {
	asked := map[string][]string{}
	return func(_, property, value string) (bool, error) {
		for i, v := range asked[property] {
			if strings.EqualFold(v, value) {
				return i < n, nil
			}
		}
		asked[property] = append(asked[property], value)
		return len(asked[property]) <= n, nil
	}
}

// TestGuestShadowEveryCandidateIsValid maps guests with awkward UPNs and
// display names, forcing each SelectUniqueValue candidate in turn: every
// value the mapping can hand out must be one AD accepts.
func TestGuestShadowEveryCandidateIsValid(t *testing.T) {
	t.Parallel()
	m := loadGuestShadow(t)
	sam, _ := schema.AD().Lookup("sAMAccountName")
	cn, _ := schema.AD().Lookup("cn")
	upns := []string{
		"ann_fabrikam.com#EXT#@contoso.onmicrosoft.com",
		"Zoë.Müller-Ørsted_fabrikam.de#EXT#@contoso.onmicrosoft.com",
		"'!^~#EXT#@contoso.onmicrosoft.com",
		`"[]:;|=+*?<>/\,#EXT#@contoso.onmicrosoft.com`,
		"...........#EXT#@contoso.onmicrosoft.com",
		"abcdefghij.klmnopqr..s_x.com#EXT#@contoso.onmicrosoft.com",
		"abcdefghij.#EXT#@contoso.onmicrosoft.com",
		strings.Repeat("x", 64) + "_fabrikam.com#EXT#@contoso.onmicrosoft.com",
		"Дмитрий_example.ru#EXT#@contoso.onmicrosoft.com",
		"山田_example.jp#EXT#@contoso.onmicrosoft.com",
		"#EXT#@contoso.onmicrosoft.com",
		"p.roux@contoso.com",
	}
	// And random ones, from an alphabet of what breaks names (a UPN has
	// one @ and no control character: the table refuses the others).
	alphabet := []rune(`aZ09._-'!^~#"[]:;|=+*?<>/\, éëøßŁıæ山Д`)
	controls := []rune("\t\n\x00\x7f\u0085")
	rng := rand.New(rand.NewSource(13))
	var displays []string
	for i := 0; i < 300; i++ {
		var upn, display strings.Builder
		for j := rng.Intn(80); j >= 0; j-- {
			r := alphabet[rng.Intn(len(alphabet))]
			upn.WriteRune(r)
			if rng.Intn(10) == 0 {
				r = controls[rng.Intn(len(controls))]
			}
			display.WriteRune(r)
		}
		upns = append(upns, upn.String()+"#EXT#@contoso.onmicrosoft.com")
		displays = append(displays, display.String())
	}
	for i, upn := range upns {
		id := fmt.Sprintf("%08x-1a2b-4c5d-8e9f-0a1b2c3d4e5f", i)
		display := strings.ReplaceAll(strings.Split(upn, "#")[0], "_", " ")
		if j := i - (len(upns) - len(displays)); j >= 0 {
			display = displays[j]
		}
		e := source.Entry{DN: id, Attributes: map[string][]string{
			"id": {id}, "userType": {"Guest"}, "userPrincipalName": {upn}, "displayName": {display},
		}}
		seen := map[string]bool{}
		for taken := 0; taken <= 2; taken++ {
			r := m.MapWith(e, Options{Taken: takenFirst(taken)})
			require.True(t, r.InScope)
			if taken == 2 && r.Err != nil && strings.Contains(r.Err.Error(), "no unique value") {
				break // a local part with nothing usable leaves only the two id candidates
			}
			require.NoError(t, r.Err, "UPN %q, %d candidates taken", upn, taken)
			v := r.Account.Properties["sAMAccountName"]
			assert.NoError(t, sam.Check(v), "UPN %q: %q", upn, v)
			assert.NotEmpty(t, v)
			assert.LessOrEqual(t, utf8.RuneCountInString(v), 20)
			assert.NoError(t, cn.Check(r.Account.Properties["cn"]), "display name %q", display)
			assert.Equal(t, upn, r.Account.Properties["userPrincipalName"], "the UPN is kept verbatim")
			seen[v] = true
		}
		assert.GreaterOrEqual(t, len(seen), 2, "UPN %q: a taken name has another candidate", upn)
	}
}

// TestGuestShadowTwoGuestsSameName runs the mapping as the engine does:
// values already handed out, with the anchor of their account, are taken
// for every other anchor.
func TestGuestShadowTwoGuestsSameName(t *testing.T) {
	t.Parallel()
	m := loadGuestShadow(t)
	index := map[string]string{} // property + lower(value) → anchor
	opts := Options{Taken: func(anchor, property, value string) (bool, error) {
		owner, ok := index[property+"\x00"+strings.ToLower(value)]
		return ok && owner != anchor, nil
	}}
	mapGuest := func(id, upn string) map[string]string {
		r := m.MapWith(source.Entry{DN: id, Attributes: map[string][]string{
			"id": {id}, "userType": {"Guest"}, "userPrincipalName": {upn}, "displayName": {"Ann Lee"},
		}}, opts)
		require.NoError(t, r.Err)
		for _, p := range m.UniqueTargets() {
			k := p + "\x00" + strings.ToLower(r.Account.Properties[p])
			if _, ok := index[k]; !ok {
				index[k] = r.Account.Anchor
			}
		}
		return r.Account.Properties
	}
	assert.ElementsMatch(t, []string{"sAMAccountName", "cn"}, m.UniqueTargets())
	first := mapGuest("0d3b9c2e-1a2b-4c5d-8e9f-0a1b2c3d4e5f", "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com")
	second := mapGuest("1f2e3d4c-5b6a-4798-8a6b-5c4d3e2f1a0b", "Ann_Fabrikam.com#EXT#@fabrikam2.onmicrosoft.com")
	assert.Equal(t, "ann_fabrikam.com", first["sAMAccountName"])
	assert.Equal(t, "ann_fabrika-1f2e3d4c", second["sAMAccountName"])
	assert.Equal(t, "Ann Lee", first["cn"])
	assert.Equal(t, "Ann Lee (1f2e3d4c)", second["cn"])
	again := mapGuest("0d3b9c2e-1a2b-4c5d-8e9f-0a1b2c3d4e5f", "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com")
	assert.Equal(t, first, again, "a guest's own values are never taken from it")
}

func TestShippedMappingsTargets(t *testing.T) {
	t.Parallel()
	for file, want := range map[string]string{
		"partner-guest.yaml":     TargetGraph,
		"partner-invite.yaml":    TargetGraph,
		"partner-subdomain.yaml": TargetGraph,
		"guest-shadow.yaml":      TargetAD,
	} {
		m, err := Load(filepath.Join("..", "..", "mappings", file))
		require.NoError(t, err, file)
		assert.Equal(t, want, m.Target, file)
	}
}

func TestGuestShadowLogonNames(t *testing.T) {
	t.Parallel()
	m := loadGuestShadow(t)
	const id = "0d3b9c2e-1a2b-4c5d-8e9f-0a1b2c3d4e5f"
	for upn, want := range map[string]string{
		"ann_fabrikam.com#EXT#@contoso.onmicrosoft.com": "ann_fabrikam.com",
		"ann_fabrikam.com#ext#@contoso.onmicrosoft.com": "ann_fabrikam.com",
		"a#b@contoso.com":                                     "ab",
		"#EXT#@contoso.onmicrosoft.com":                       "0d3b9c2e",
		"ÅSA.Östlund_example.se#EXT#@contoso.onmicrosoft.com": "asa.ostlund_example",
		"abcdefghijklmnopqrs.t@contoso.com":                   "abcdefghijklmnopqrs",
		"-._@contoso.com":                                     "-._",
	} {
		r := m.Map(source.Entry{DN: id, Attributes: map[string][]string{
			"id": {id}, "userType": {"Guest"}, "userPrincipalName": {upn}, "displayName": {"X"},
		}})
		require.NoError(t, r.Err, upn)
		assert.Equal(t, want, r.Account.Properties["sAMAccountName"], upn)
	}
}
