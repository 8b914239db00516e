package engine

import (
	"context"
	"fmt"

	"github.com/guestsync/guestsync/pkg/account"
)

// SourceCheck is a source that can check, before a run reads it, that it
// can read what the config scopes: its permissions, and the objects the
// scope names (a Graph source: User.Read.All, the scoping groups).
type SourceCheck interface {
	Check(ctx context.Context) error
}

// TargetCheck is a target that can check, before a run writes anything,
// that it can write what the plan holds: that where it writes exists and
// may be written, and that the connection is fit for it (an AD target: the
// OU, the right to create users there, an encrypted connection).
// Warnings are what an admin should know but that does not stop a run
// (a UPN suffix the forest does not list); they are shown with the plan.
type TargetCheck interface {
	Check(ctx context.Context, desired []account.Account) (warnings []string, err error)
}

// CheckError is a run stopped before it wrote anything because a source
// or target check failed.
type CheckError struct {
	// Of is "source" or "target".
	Of  string
	Err error
}

func (e *CheckError) Error() string {
	return fmt.Sprintf("stopped before any change: the %s's check failed: %v", e.Of, e.Err)
}

func (e *CheckError) Unwrap() error { return e.Err }

// checkSource runs the source's check, if it has one.
func (e *Engine) checkSource(ctx context.Context) error {
	if c, ok := e.Source.(SourceCheck); ok {
		if err := c.Check(ctx); err != nil {
			return &CheckError{Of: "source", Err: err}
		}
	}
	return nil
}

// checkTarget runs the target's check on the desired accounts, if it has
// one, and logs its warnings.
func (e *Engine) checkTarget(ctx context.Context, desired []account.Account) ([]string, error) {
	c, ok := e.Target.(TargetCheck)
	if !ok {
		return nil, nil
	}
	warnings, err := c.Check(ctx, desired)
	for _, w := range warnings {
		e.log().Warn(w)
	}
	if err != nil {
		return warnings, &CheckError{Of: "target", Err: err}
	}
	return warnings, nil
}
