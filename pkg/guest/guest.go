// Package guest defines the guest user as guestsync sees it on both sides of
// a plan: the desired guest produced by a mapping and the current guest read
// from Microsoft Graph, with the Graph user properties a mapping may write.
package guest

import "slices"

// Guest is a Microsoft Graph user of type Guest, reduced to what guestsync
// manages. Properties are keyed by the Graph property name
// (userPrincipalName, displayName, ...) and hold the value as text; a boolean
// property holds "true" or "false". userType and onPremisesImmutableId are not
// in Properties: userType is always Guest and the immutable id is Anchor.
type Guest struct {
	// ID is the Graph object id; empty for a guest that does not exist yet.
	ID string `json:"id,omitempty"`
	// Anchor is the onPremisesImmutableId: base64 of the source object's
	// binary GUID. It is how a source entry and a cloud user are matched.
	Anchor string `json:"anchor"`
	// SourceDN is the DN of the source entry this guest was mapped from.
	SourceDN string `json:"sourceDN,omitempty"`
	// Owned marks a current guest that carries guestsync's ownership
	// mark: only owned guests are ever updated, disabled or deleted.
	Owned bool `json:"owned,omitempty"`
	// Deleted marks a current guest that is in the tenant's recycle bin
	// (directory/deletedItems), restorable for 30 days.
	Deleted    bool              `json:"deleted,omitempty"`
	Properties map[string]string `json:"properties"`
	// CreateOnly names the properties that are written when the guest is
	// created and never updated afterwards (Entra's "only during object
	// creation").
	CreateOnly []string `json:"createOnly,omitempty"`
	// Redacted names the properties whose values plans, logs and reports
	// must not show (the mapping used Redact); the values still flow.
	Redacted []string `json:"redacted,omitempty"`
}

// IsCreateOnly reports whether property p is written only at creation.
func (g Guest) IsCreateOnly(p string) bool { return slices.Contains(g.CreateOnly, p) }

// IsRedacted reports whether property p's value must not be shown.
func (g Guest) IsRedacted(p string) bool { return slices.Contains(g.Redacted, p) }
