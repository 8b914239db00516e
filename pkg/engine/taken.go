package engine

import (
	"strings"

	"github.com/guestsync/guestsync/pkg/account"
)

// takenIndex answers SelectUniqueValue's question, "is this value free?",
// for the properties a mapping asks about: a value is taken when a current
// guest or a guest already mapped in this run, with another anchor, has
// it. Graph compares userPrincipalName and mailNickname case-insensitively,
// so the index does too.
type takenIndex map[string]map[string]string // property → lower(value) → anchor

func newTakenIndex(properties []string) takenIndex {
	t := takenIndex{}
	for _, p := range properties {
		t[p] = map[string]string{}
	}
	return t
}

// add records a guest's values, first come first served.
func (t takenIndex) add(g account.Account) {
	for p, values := range t {
		if v := g.Properties[p]; v != "" {
			k := strings.ToLower(v)
			if _, ok := values[k]; !ok {
				values[k] = g.Anchor
			}
		}
	}
}

func (t takenIndex) taken(anchor, property, value string) (bool, error) {
	owner, ok := t[property][strings.ToLower(value)]
	return ok && owner != anchor, nil
}
