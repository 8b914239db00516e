package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/source"
)

// checkedSource is a source whose check fails.
type checkedSource struct {
	fakeSource
	err error
}

func (c checkedSource) Check(context.Context) error { return c.err }

// checkedTarget is a target whose check warns, or fails.
type checkedTarget struct {
	*fakeTarget
	warnings []string
	err      error
	saw      int // desired accounts checked
}

func (c *checkedTarget) Check(_ context.Context, desired []account.Account) ([]string, error) {
	c.saw = len(desired)
	return c.warnings, c.err
}

func TestChecksBeforeAnyWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	// A failed source check stops the run before anything is read.
	tgt := &fakeTarget{}
	e := newEngine(t, fakeSource{entries: entries, result: source.Result{Entries: 4, Complete: true}}, tgt)
	e.Source = checkedSource{fakeSource: fakeSource{entries: entries, result: source.Result{Entries: 4, Complete: true}}, err: errors.New("grant User.Read.All")}
	_, err := e.Run(ctx, true)
	var ce *CheckError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "source", ce.Of)
	assert.Contains(t, err.Error(), "grant User.Read.All")
	assert.Empty(t, tgt.applied)

	// A failed target check stops it before anything is written.
	ct := &checkedTarget{fakeTarget: &fakeTarget{}, err: errors.New("OU=Guests does not exist")}
	e = newEngine(t, fakeSource{entries: entries, result: source.Result{Entries: 4, Complete: true}}, ct.fakeTarget)
	e.Target = ct
	_, err = e.Run(ctx, true)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "target", ce.Of)
	assert.Empty(t, ct.applied)
	assert.Equal(t, 2, ct.saw, "the check sees the desired accounts")

	// Warnings go with the plan, and the run goes on.
	ct = &checkedTarget{fakeTarget: &fakeTarget{}, warnings: []string{"the forest lists no UPN suffix partners.contoso.com"}}
	e = newEngine(t, fakeSource{entries: entries, result: source.Result{Entries: 4, Complete: true}}, ct.fakeTarget)
	e.Target = ct
	run, err := e.Run(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, ct.warnings, run.Plan.Warnings)
	assert.NotEmpty(t, ct.applied)
}
