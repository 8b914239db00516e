// Package account defines the objects guestsync keeps in step, as the
// plan, the engine, the state and the reports see them in either
// direction: a desired account, mapped from a source entry, and a current
// account, read from the target. In the partners-to-guests direction an
// account is a Microsoft Graph guest user; in the guests-to-shadows one,
// an Active Directory user. What one target alone needs (Graph's
// invitations, its recycle bin, its property limits) stays with that
// target.
package account

import "slices"

// Account is one object of a target, reduced to what guestsync manages.
// Properties are keyed by the target's own attribute names (Graph's
// userPrincipalName, displayName, ...; AD's sAMAccountName, ...) and hold
// the value as text; a boolean property holds "true" or "false". The
// anchor is not among them (it is Anchor), nor is what the target sets on
// every account it creates (Graph's userType).
type Account struct {
	// ID is the target's id of the object (Graph's object id); empty for
	// an account that does not exist yet.
	ID string `json:"id,omitempty"`
	// Anchor is how a source entry and a target's account are matched
	// for life, whatever else changes (Graph: the onPremisesImmutableId,
	// base64 of the source object's binary GUID).
	Anchor string `json:"anchor"`
	// Source names the source entry this account was mapped from (its
	// DN), for people reading a plan.
	Source string `json:"source,omitempty"`
	// Owned marks a current account that carries guestsync's ownership
	// mark: only owned accounts are ever updated, disabled or deleted.
	Owned bool `json:"owned,omitempty"`
	// Deleted marks a current account that the target keeps deleted but
	// restorable (Graph's directory/deletedItems, for 30 days).
	Deleted    bool              `json:"deleted,omitempty"`
	Properties map[string]string `json:"properties"`
	// CreateOnly names the properties that are written when the account is
	// created and never updated afterwards (Entra's "only during object
	// creation").
	CreateOnly []string `json:"createOnly,omitempty"`
	// Redacted names the properties whose values plans, logs and reports
	// must not show (the mapping used Redact); the values still flow.
	Redacted []string `json:"redacted,omitempty"`
}

// IsCreateOnly reports whether property p is written only at creation.
func (a Account) IsCreateOnly(p string) bool { return slices.Contains(a.CreateOnly, p) }

// IsRedacted reports whether property p's value must not be shown.
func (a Account) IsRedacted(p string) bool { return slices.Contains(a.Redacted, p) }
