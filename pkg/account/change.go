package account

import (
	"errors"
	"maps"
	"slices"
)

// ErrResync is what a target's change tracking returns when a position
// (a delta link) can no longer be used (Graph lets them expire): tracking
// must start again from an initial round.
var ErrResync = errors.New("the change-tracking link has expired; a full round is needed")

// Change is one object as a round of a target's change tracking reports
// it (Graph: users/delta). For an updated user Graph sends "at least the
// properties that have been updated" (Graph docs, "Use delta query to
// track changes in Microsoft Graph data"), so a Change says which ones it
// carried; the others keep their last known values.
type Change struct {
	// ID is the object's id.
	ID string `json:"id"`
	// Removed: the object was deleted (to the recycle bin or for good), or
	// is no longer one the target manages (a guest turned member).
	Removed bool `json:"removed,omitempty"`
	// InScope: the round says the object is one the target manages
	// (Graph: it carried userType, and it is Guest). A full representation
	// (a new user, an initial round) always says so; an update may not.
	InScope bool `json:"inScope,omitempty"`
	// Account holds the values the round carried: Properties has the
	// present properties that have a value; Present also names those sent
	// as null (cleared). Anchor counts when AnchorPresent, Owned when
	// OwnerPresent. In an initial round every object is whole and Present
	// is empty: use Account as it is.
	Account       Account  `json:"account"`
	Present       []string `json:"present,omitempty"`
	AnchorPresent bool     `json:"anchorPresent,omitempty"`
	OwnerPresent  bool     `json:"ownerPresent,omitempty"`
}

// ApplyTo returns prev (the last known state of the object; the zero
// Account when it was not known) with the change merged in. It does not modify
// prev.
func (c Change) ApplyTo(prev Account) Account {
	out := prev
	out.ID = c.ID
	out.Properties = maps.Clone(prev.Properties)
	if out.Properties == nil {
		out.Properties = map[string]string{}
	}
	for _, p := range c.Present {
		if v, ok := c.Account.Properties[p]; ok {
			out.Properties[p] = v
		} else {
			delete(out.Properties, p)
		}
	}
	if c.AnchorPresent {
		out.Anchor = c.Account.Anchor
	}
	if c.OwnerPresent {
		out.Owned = c.Account.Owned
	}
	out.CreateOnly, out.Redacted = slices.Clone(prev.CreateOnly), slices.Clone(prev.Redacted)
	return out
}
