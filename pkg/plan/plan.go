// Package plan computes what guestsync would change in a target: a pure
// function from the desired accounts (mapped from the source), the current
// accounts (read from the target), the target's description and a policy
// to a Plan. A Plan is plain data with JSON tags: it can be printed, saved,
// compared in golden files and applied later. This package does no I/O,
// and knows no target: what it must know of one, the target says in a
// Target.
package plan

import (
	"strings"
	"time"

	"github.com/guestsync/guestsync/pkg/account"
)

// FormatVersion is the version of the serialised plan format. Version 2
// names the target the plan is for ("target") and speaks of accounts:
// an action's "dn", "objectId", "userPrincipalName" and "guest" are its
// "source", "id", "name" and "account", and "invite" is the target's
// Create verb.
const FormatVersion = 2

// Target describes, in the target's own words, the accounts a plan acts
// on: what the plan needs to compare and remove them, and what a person
// reading it needs. The target gives it; a saved plan keeps it, so that a
// plan reviewed for one target (or one way of creating) is never applied
// to another.
type Target struct {
	// Kind names the target ("graph": Entra ID guests through Microsoft
	// Graph).
	Kind string `json:"kind"`
	// Noun is what one account is called ("guest").
	Noun string `json:"noun"`
	// Others is what the target calls an object it holds that guestsync
	// does not own, which a desired account may clash with ("object" in
	// Active Directory, where that is anyone's user); Noun when empty.
	Others string `json:"others,omitempty"`
	// Anchor is the property that holds the anchor in the target
	// ("onPremisesImmutableId"); an adoption writes it.
	Anchor string `json:"anchor"`
	// Name is the property that names an account for people
	// ("userPrincipalName"; "mail" for guests created by invitation).
	Name string `json:"name"`
	// Create is the verb of a create ("create"; "invite").
	Create string `json:"create"`
	// Unique are the properties no two accounts may share, compared
	// without case ("userPrincipalName", "mailNickname").
	Unique []string `json:"unique"`
	// Enabled is the boolean property ("true" or "false", compared
	// without case) that a disable sets to "false" ("accountEnabled").
	Enabled string `json:"enabled"`
}

// Kind is what an action does.
type Kind string

const (
	Create Kind = "create"
	Update Kind = "update"
	// Adopt puts guestsync's ownership mark on an existing account found
	// by soft match, with the property changes of an update.
	Adopt Kind = "adopt"
	// Disable sets the target's Enabled property false on an owned
	// account.
	Disable Kind = "disable"
	// Delete deletes an owned account (Graph: to deletedItems, for 30
	// days).
	Delete Kind = "delete"
	// Restore brings an owned account back from the target's deleted
	// objects.
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
	// Source names the source entry the action comes from (its DN), when
	// there is one.
	Source string `json:"source,omitempty"`
	// ID is the target's id of the existing account the action acts on.
	ID string `json:"id,omitempty"`
	// Name names the account for people reading the plan: its value of
	// the Target's Name property.
	Name string `json:"name,omitempty"`
	// Account is the full desired account, for creates.
	Account *account.Account `json:"account,omitempty"`
	// Changes are the property transitions, for updates.
	Changes []Change `json:"changes,omitempty"`
	// Reason says why, for skips.
	Reason string `json:"reason,omitempty"`
}

// Plan is the complete set of actions for one run.
type Plan struct {
	Version int `json:"version"`
	// Target is what the plan's actions act on.
	Target  Target   `json:"target"`
	Actions []Action `json:"actions"`
	// Unchanged counts the accounts that already match their source.
	Unchanged int `json:"unchanged"`
	// OutOfScope counts the source entries the mapping's scope left out.
	// They are counted, not listed: in a directory of 50,000 accounts
	// with 500 partners, listing the rest would bury the plan.
	OutOfScope int `json:"outOfScope"`
	// Incremental is set when the source was read for its changes only:
	// Unchanged and OutOfScope then count the changed entries alone.
	Incremental bool `json:"incremental,omitempty"`
	// Matched counts the desired accounts that matched an account
	// guestsync owns: after a full read, none at all while it owns some
	// means a changed anchor, scope or owner rather than everyone leaving.
	Matched int `json:"matched"`
	// Waiting counts the removed accounts that are disabled and waiting
	// out the grace period before they are deleted.
	Waiting int `json:"waiting,omitempty"`
	// Warnings are what the source's and the target's checks found worth
	// telling but not stopping for (an AD forest that does not list the
	// guests' UPN suffix).
	Warnings []string `json:"warnings,omitempty"`
	// GraceClocks are the grace clocks to keep once the plan is applied:
	// for each removed account (by anchor), since when it has been gone
	// and disabled.
	GraceClocks map[string]time.Time `json:"graceClocks,omitempty"`
}

// Removals counts what the removal threshold limits: disables, deletes,
// and updates that set the target's Enabled property to false (a broken
// source attribute must not disable everyone through updates either).
func (p *Plan) Removals() int {
	n := p.Count(Disable) + p.Count(Delete)
	for _, a := range p.Actions {
		if a.Kind != Update && a.Kind != Adopt {
			continue
		}
		for _, c := range a.Changes {
			if c.Property == p.Target.Enabled && strings.EqualFold(c.New, "false") {
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

// AddSkip records a source entry that produced no account, with the
// reason.
func (p *Plan) AddSkip(entry, reason string) {
	p.Actions = append(p.Actions, Action{Kind: Skip, Source: entry, Reason: reason})
}
