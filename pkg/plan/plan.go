// Package plan computes what guestsync would change in the tenant: a pure
// function from the desired guests (mapped from the source), the current
// guests (read from Graph) and a policy to a Plan. A Plan is plain data with
// JSON tags: it can be printed, saved, compared in golden files and applied
// later. This package does no I/O.
package plan

import (
	"strings"
	"time"

	"github.com/guestsync/guestsync/pkg/guest"
)

// FormatVersion is the version of the serialised plan format.
const FormatVersion = 1

// Kind is what an action does.
type Kind string

const (
	Create Kind = "create"
	Update Kind = "update"
	// Adopt puts guestsync's ownership mark on an existing guest found by
	// soft match (mail or UPN), with the property changes of an update.
	Adopt Kind = "adopt"
	// Disable sets accountEnabled false on an owned guest.
	Disable Kind = "disable"
	// Delete soft-deletes an owned guest (30 days in deletedItems).
	Delete Kind = "delete"
	// Restore brings an owned guest back from deletedItems.
	Restore Kind = "restore"
	Skip    Kind = "skip"
)

// Change is one property's transition in an update.
type Change struct {
	Property string `json:"property"`
	Old      string `json:"old"`
	New      string `json:"new"`
	// Redacted: the mapping used Redact, so renderings hide both values.
	Redacted bool `json:"redacted,omitempty"`
}

// Action is one step of a plan.
type Action struct {
	Kind   Kind   `json:"action"`
	Anchor string `json:"anchor,omitempty"`
	// DN is the source entry the action comes from, when there is one.
	DN string `json:"dn,omitempty"`
	// ObjectID is the Graph id of the existing user an update acts on.
	ObjectID string `json:"objectId,omitempty"`
	// UserPrincipalName names the guest for people reading the plan.
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	// Guest is the full desired guest, for creates.
	Guest *guest.Guest `json:"guest,omitempty"`
	// Invite creates the guest by invitation (POST /invitations to its
	// mail) instead of as an internal guest with a UPN.
	Invite bool `json:"invite,omitempty"`
	// Changes are the property transitions, for updates.
	Changes []Change `json:"changes,omitempty"`
	// Reason says why, for skips.
	Reason string `json:"reason,omitempty"`
}

// Plan is the complete set of actions for one run.
type Plan struct {
	Version int      `json:"version"`
	Actions []Action `json:"actions"`
	// Unchanged counts the guests that already match their source.
	Unchanged int `json:"unchanged"`
	// OutOfScope counts the source entries the mapping's scope left out.
	// They are counted, not listed: in a directory of 50,000 accounts
	// with 500 partners, listing the rest would bury the plan.
	OutOfScope int `json:"outOfScope"`
	// Incremental is set when the source was read for its changes only:
	// Unchanged and OutOfScope then count the changed entries alone.
	Incremental bool `json:"incremental,omitempty"`
	// Matched counts the desired guests that matched a guest guestsync
	// owns: after a full read, none at all while it owns some means a
	// changed anchor, scope or owner rather than everyone leaving.
	Matched int `json:"matched"`
	// Waiting counts the removed guests that are disabled and waiting out
	// the grace period before they are deleted.
	Waiting int `json:"waiting,omitempty"`
	// GraceClocks are the grace clocks to keep once the plan is applied:
	// for each removed guest (by anchor), since when it has been gone and
	// disabled.
	GraceClocks map[string]time.Time `json:"graceClocks,omitempty"`
}

// Removals counts what the removal threshold limits: disables, deletes,
// and updates that set accountEnabled to false (a broken source attribute
// must not disable everyone through updates either).
func (p *Plan) Removals() int {
	n := p.Count(Disable) + p.Count(Delete)
	for _, a := range p.Actions {
		if a.Kind != Update && a.Kind != Adopt {
			continue
		}
		for _, c := range a.Changes {
			if c.Property == "accountEnabled" && strings.EqualFold(c.New, "false") {
				n++
				break
			}
		}
	}
	return n
}

// Count returns how many actions of kind k the plan holds.
func (p *Plan) Count(k Kind) int {
	n := 0
	for _, a := range p.Actions {
		if a.Kind == k {
			n++
		}
	}
	return n
}

// HasChanges reports whether applying the plan would write anything.
func (p *Plan) HasChanges() bool {
	for _, a := range p.Actions {
		if a.Kind != Skip {
			return true
		}
	}
	return false
}

// AddSkip records a source entry that produced no guest, with the reason.
func (p *Plan) AddSkip(dn, reason string) {
	p.Actions = append(p.Actions, Action{Kind: Skip, DN: dn, Reason: reason})
}
