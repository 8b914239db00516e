package ad

import (
	"fmt"
	"strconv"

	"github.com/guestsync/guestsync/pkg/account"
	adsource "github.com/guestsync/guestsync/pkg/source/ad"
)

// Found is what one object of the domain is to the plan.
type Found struct {
	// Account is a shadow of this owner (Owned, ID its objectGUID) or
	// someone else's object with only its sAMAccountName and
	// userPrincipalName (ID its DN, for the plan's reason).
	Account account.Account
	// Object is the shadow as the steps of an action on it need it.
	Object Object
	// HalfMade: a shadow of this owner whose create stopped before its
	// final userAccountControl was set: still disabled, without
	// SMARTCARD_REQUIRED, as the add leaves it. Account is then not to be
	// returned. (A shadow an admin enabled without a smart card is not
	// half-made: it is left as it is.)
	HalfMade bool
	// Ignore: neither a shadow nor something with a name a shadow could
	// clash with.
	Ignore bool
}

// Find says what the object at dn is, given its attribute values (first
// value of each, as the server sent it; value looks names up without
// case). properties are the properties a shadow's account carries. The AD
// target reads objects over LDAP, the LDIF target from an export: both
// make the same accounts of them here.
func (l Layout) Find(dn string, value func(attr string) string, properties []string) (Found, error) {
	anchor, owned := l.anchorOf(value(l.MarkAttribute))
	if !owned {
		props := map[string]string{}
		for _, a := range []string{"sAMAccountName", "userPrincipalName"} {
			if v := value(a); v != "" {
				props[a] = v
			}
		}
		return Found{Account: account.Account{ID: dn, Properties: props}, Ignore: len(props) == 0}, nil
	}
	uac, err := strconv.ParseUint(value("userAccountControl"), 10, 32)
	if err != nil {
		return Found{}, fmt.Errorf("%s: userAccountControl %q: %w", dn, value("userAccountControl"), err)
	}
	obj := Object{DN: dn, UAC: uint32(uac)}
	if uac&uacSmartcardRequired == 0 && uac&uacAccountDisable != 0 {
		return Found{Account: account.Account{Anchor: anchor, Owned: true}, Object: obj, HalfMade: true}, nil
	}
	guid, err := adsource.GUIDString([]byte(value("objectGUID")))
	if err != nil {
		return Found{}, fmt.Errorf("%s: objectGUID: %w", dn, err)
	}
	props := make(map[string]string, len(properties)+1)
	for _, a := range properties {
		if v := value(a); v != "" {
			props[a] = v
		}
	}
	props[l.Enabled] = strconv.FormatBool(uac&uacAccountDisable == 0)
	return Found{Account: account.Account{ID: guid, Anchor: anchor, Owned: true, Properties: props}, Object: obj}, nil
}

// Properties are the properties a shadow's account carries: the usual
// ones and extra, without repeats (compared without case).
func Properties(extra []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range append(append([]string(nil), defaultAttributes...), extra...) {
		if k := lowerASCII(a); !seen[k] && a != EnabledProperty {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
