package guest

import (
	"errors"
	"maps"
	"slices"
)

// ErrResync is what a target's change tracking returns when a delta link
// can no longer be used (Graph lets them expire): tracking must start
// again from an initial round.
var ErrResync = errors.New("the change-tracking link has expired; a full round is needed")

// Change is one user as a round of Graph's change tracking (users/delta)
// reports it. For an updated user Graph sends "at least the properties
// that have been updated" (Graph docs, "Use delta query to track changes
// in Microsoft Graph data"), so a Change says which ones it carried; the
// others keep their last known values.
type Change struct {
	// ID is the user's object id.
	ID string `json:"id"`
	// Removed: the user was deleted (to the recycle bin or for good), or is
	// no longer a guest.
	Removed bool `json:"removed,omitempty"`
	// IsGuest: the round carried userType, and it is Guest. A full
	// representation (a new user, an initial round) always carries it; an
	// update may not.
	IsGuest bool `json:"isGuest,omitempty"`
	// Guest holds the values the round carried: Properties has the present
	// properties that have a value; Present also names those sent as null
	// (cleared). Anchor counts when AnchorPresent, Owned when OwnerPresent.
	// In an initial round every user is whole and Present is empty: use
	// Guest as it is.
	Guest         Guest    `json:"guest"`
	Present       []string `json:"present,omitempty"`
	AnchorPresent bool     `json:"anchorPresent,omitempty"`
	OwnerPresent  bool     `json:"ownerPresent,omitempty"`
}

// ApplyTo returns prev (the last known state of the user; the zero Guest
// when it was not known) with the change merged in. It does not modify
// prev.
func (c Change) ApplyTo(prev Guest) Guest {
	out := prev
	out.ID = c.ID
	out.Properties = maps.Clone(prev.Properties)
	if out.Properties == nil {
		out.Properties = map[string]string{}
	}
	for _, p := range c.Present {
		if v, ok := c.Guest.Properties[p]; ok {
			out.Properties[p] = v
		} else {
			delete(out.Properties, p)
		}
	}
	if c.AnchorPresent {
		out.Anchor = c.Guest.Anchor
	}
	if c.OwnerPresent {
		out.Owned = c.Guest.Owned
	}
	out.CreateOnly, out.Redacted = slices.Clone(prev.CreateOnly), slices.Clone(prev.Redacted)
	return out
}
