package engine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/mapping"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
)

const uniqueMapping = `version: 1
anchor: {attributes: [entryUUID]}
flows:
  - target: userPrincipalName
    type: expression
    expression: >-
      SelectUniqueValue(Join("@", [uid], "partners.contoso.com"),
      Join("@", Join(".", [uid], [sn]), "partners.contoso.com"),
      Join("@", Join(".", [uid], [sn], "2"), "partners.contoso.com"))
  - {target: mailNickname, type: direct, source: entryUUID}
  - {target: displayName, type: direct, source: cn}
  - {target: accountEnabled, type: constant, value: "true"}
`

func TestSelectUniqueValueAgainstTheTenant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, err := mapping.Parse("unique.yaml", []byte(uniqueMapping))
	require.NoError(t, err)
	someoneElse := account.Account{ID: "other", Anchor: "b3RoZXI=", Properties: map[string]string{"userPrincipalName": "ANN@partners.contoso.com"}}
	tn := &tenant{guests: map[string]account.Account{someoneElse.Anchor: someoneElse}}
	ann := func(uuid, sn string) source.Entry {
		e := entry("ann", uuid, "Partner")
		e.Attributes["sn"] = []string{sn}
		return e
	}
	src := fakeSource{entries: []source.Entry{
		ann("11111111-1111-1111-1111-111111111111", "smith"),
		ann("22222222-2222-2222-2222-222222222222", "smith"), // same name: the third candidate
	}, result: source.Result{Entries: 2, Complete: true}}
	e := &Engine{Source: src, Mapping: m, Target: tn}

	run, err := e.Run(ctx, true)
	require.NoError(t, err)
	var upns []string
	for _, a := range run.Plan.Actions {
		require.Equal(t, plan.Create, a.Kind, a.Reason)
		upns = append(upns, a.Name)
	}
	assert.Equal(t, []string{"ann.smith@partners.contoso.com", "ann.smith.2@partners.contoso.com"}, upns,
		"ann@ is taken (case-insensitively) by a user with another anchor; the second Ann gets the next free candidate")

	// Re-run: each guest's own UPN is not "taken" by itself, so nothing
	// flips to another candidate.
	run, err = e.Run(ctx, true)
	require.NoError(t, err)
	assert.False(t, run.Plan.HasChanges(), "%+v", run.Plan.Actions)
	assert.Equal(t, 2, run.Plan.Unchanged)
}

func TestSelectUniqueValueWithEveryCandidateTaken(t *testing.T) {
	t.Parallel()
	m, err := mapping.Parse("unique.yaml", []byte(uniqueMapping))
	require.NoError(t, err)
	tn := &tenant{guests: map[string]account.Account{}}
	for i, upn := range []string{"ann@partners.contoso.com", "ann.smith@partners.contoso.com", "ann.smith.2@partners.contoso.com"} {
		a := string(rune('a' + i))
		tn.guests[a] = account.Account{ID: a, Anchor: a, Properties: map[string]string{"userPrincipalName": upn}}
	}
	e := entry("ann", "11111111-1111-1111-1111-111111111111", "Partner")
	e.Attributes["sn"] = []string{"smith"}
	run, err := (&Engine{Source: fakeSource{entries: []source.Entry{e}, result: source.Result{Entries: 1, Complete: true}}, Mapping: m, Target: tn}).Run(context.Background(), true)
	require.NoError(t, err)
	require.Len(t, run.Plan.Actions, 1)
	assert.Equal(t, plan.Skip, run.Plan.Actions[0].Kind)
	assert.Contains(t, run.Plan.Actions[0].Reason, "userPrincipalName")
	assert.Contains(t, run.Plan.Actions[0].Reason, "no unique value")
}
