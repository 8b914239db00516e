package graph

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/invitations"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/guestsync/guestsync/pkg/plan"
)

// assignedByInvitation are the properties Graph sets on an invited user
// (mail is the invited address; UPN and mailNickname are derived from it):
// the PATCH after the invitation leaves them out.
var assignedByInvitation = map[string]bool{"mail": true, "userPrincipalName": true, "mailNickname": true}

// invites carries out the invitation creates (indexes into actions),
// Concurrency at a time, writing their results.
func (c *Client) invites(ctx context.Context, actions []plan.Action, idx []int, results []plan.Result) {
	sem := make(chan struct{}, c.opts.Concurrency)
	var wg sync.WaitGroup
	for _, i := range idx {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = c.invite(ctx, actions[i])
		}()
	}
	wg.Wait()
}

// invite creates a guest by invitation: POST /invitations to the guest's
// mail, then PATCH of the invited user with the mapped properties, the
// anchor and the mark. Right after the invitation the user may not be
// readable or writable yet (replication lag): the PATCH retries 404 with
// backoff for up to LagTimeout. Re-inviting an address Graph already knows
// answers with the existing user, so a retried invitation creates no
// second guest.
func (c *Client) invite(ctx context.Context, a plan.Action) plan.Result {
	res := plan.Result{Action: a}
	if a.Account == nil || a.Account.Properties["mail"] == "" {
		res.Failure = &plan.Failure{Message: "an invitation needs the guest's mail"}
		return res
	}
	if ctx.Err() != nil {
		res.Failure = &plan.Failure{Message: "not attempted: " + ctx.Err().Error()}
		return res
	}
	// Once started, an invitation is carried through to its PATCH even
	// when the run is interrupted (within FinishGrace): a guest invited
	// but not yet marked would be nobody's, and the next run could not
	// take it back.
	ctx, cancel := c.finishing(ctx)
	defer cancel()
	props := map[string]string{}
	for k, v := range a.Account.Properties {
		if !assignedByInvitation[k] {
			props[k] = v
		}
	}
	u, err := toUser(props)
	if err != nil {
		res.Failure = &plan.Failure{Message: err.Error()}
		return res
	}
	anchor := a.Account.Anchor
	u.SetOnPremisesImmutableId(&anchor)
	c.owner.stamp(u)

	if c.opts.InviteRedirectURL == "" {
		// Graph requires inviteRedirectUrl; the config gives it (see
		// config's graph.invitation.redirectURL), so this is a caller's bug.
		res.Failure = &plan.Failure{Message: "no invitation redirect URL is configured (graph.invitation.redirectURL)"}
		return res
	}
	inv := models.NewInvitation()
	email, redirect, send := a.Account.Properties["mail"], c.opts.InviteRedirectURL, c.opts.SendInvitationMessage
	inv.SetInvitedUserEmailAddress(&email)
	inv.SetInviteRedirectUrl(&redirect)
	inv.SetSendInvitationMessage(&send)
	if dn := a.Account.Properties["displayName"]; dn != "" {
		inv.SetInvitedUserDisplayName(&dn)
	}
	builder := invitations.NewInvitationsRequestBuilderInternal(map[string]string{}, c.adapter)
	var created models.Invitationable
	err = c.retry(ctx, func() error {
		var err error
		created, err = builder.Post(ctx, inv, nil)
		return err
	}, nil)
	if err != nil {
		res.Failure = failure(err)
		c.log.Warn("invitation failed", "mail", email, "dn", a.Source, "error", res.Failure.Error())
		return res
	}
	if created.GetInvitedUser() == nil || created.GetInvitedUser().GetId() == nil {
		res.Failure = &plan.Failure{Message: "the invitation's answer names no invited user"}
		return res
	}
	res.ID = *created.GetInvitedUser().GetId()

	item := users.NewUserItemRequestBuilderInternal(map[string]string{"user%2Did": res.ID}, c.adapter)
	deadline := time.Now().Add(c.opts.LagTimeout)
	lagged := func(f *plan.Failure, attempt int) bool {
		return f.Status == http.StatusNotFound && time.Now().Add(c.backoff(attempt)).Before(deadline)
	}
	err = c.retry(ctx, func() error {
		if err := c.pace.take(ctx, 1); err != nil {
			return err
		}
		_, err := item.Patch(ctx, u, nil)
		return err
	}, lagged)
	if err != nil {
		res.Failure = failure(err)
		res.Failure.Message = fmt.Sprintf("invited %s as %s, but setting its properties failed: %s", email, res.ID, res.Failure.Message)
		c.log.Warn("invited guest not updated", "mail", email, "id", res.ID, "error", res.Failure.Error())
		return res
	}
	c.log.Info("invited guest", "mail", email, "id", res.ID)
	return res
}

// retry runs call until it succeeds, fails for good, or ctx ends. Besides
// the SDK's own retries of 429/503/504, it retries throttling, transient
// failures and lost connections (maxFaults times, backoff or Retry-After)
// and whatever also reports true for.
func (c *Client) retry(ctx context.Context, call func() error, also func(f *plan.Failure, attempt int) bool) error {
	for attempt := 1; ; attempt++ {
		err := call()
		if err == nil || ctx.Err() != nil {
			return err
		}
		f := failure(err)
		wait := retryAfter(headerOf(err, "Retry-After"))
		switch {
		case also != nil && also(f, attempt):
		case retryable(f.Status, err) && attempt <= maxFaults:
			if f.Status == http.StatusTooManyRequests {
				c.pace.throttled(wait)
			}
		default:
			return err
		}
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		c.log.Debug("retrying", "attempt", attempt, "wait", wait, "error", f.Error())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
