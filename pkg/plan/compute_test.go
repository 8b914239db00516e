package plan

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
)

// graphGuests is how the Graph target describes its guests (as
// graph.Client's Describe does), for plans computed here.
var graphGuests = Target{Kind: "graph", Noun: "guest", Anchor: "onPremisesImmutableId", Name: "userPrincipalName",
	Create: "create", Unique: []string{"userPrincipalName", "mailNickname"}, Enabled: "accountEnabled"}

var update = flag.Bool("update", false, "rewrite golden files")

func g(anchor, upn string, props ...string) account.Account {
	p := map[string]string{"userPrincipalName": upn, "mailNickname": upn[:len(upn)-len("@partners.contoso.com")]}
	for i := 0; i+1 < len(props); i += 2 {
		p[props[i]] = props[i+1]
	}
	return account.Account{Anchor: anchor, Source: "CN=" + anchor + ",OU=Partners", Properties: p}
}

func withID(x account.Account, id string) account.Account {
	x.ID = id
	x.Source = ""
	x.Owned = true
	return x
}

func TestCompute(t *testing.T) {
	t.Parallel()
	createOnly := g("A", "a@partners.contoso.com", "usageLocation", "FR")
	createOnly.CreateOnly = []string{"usageLocation"}
	tests := []struct {
		name      string
		desired   []account.Account
		current   []account.Account
		kinds     map[Kind]int
		unchanged int
		changes   []Change // of the first update, when there is one
	}{
		{
			name:    "empty tenant: every desired guest is created",
			desired: []account.Account{g("A", "a@partners.contoso.com"), g("B", "b@partners.contoso.com")},
			kinds:   map[Kind]int{Create: 2},
		},
		{
			name:      "identical: nothing to do",
			desired:   []account.Account{g("A", "a@partners.contoso.com", "displayName", "Zoë")},
			current:   []account.Account{withID(g("A", "a@partners.contoso.com", "displayName", "Zoë"), "id-a")},
			kinds:     map[Kind]int{},
			unchanged: 1,
		},
		{
			name:    "renamed account is an update of the same anchor, not delete and create",
			desired: []account.Account{g("A", "zoe.martin@partners.contoso.com", "displayName", "Zoë Martin")},
			current: []account.Account{withID(g("A", "zoe.lefevre@partners.contoso.com", "displayName", "Zoë Lefèvre"), "id-a")},
			kinds:   map[Kind]int{Update: 1},
			changes: []Change{
				{Property: "displayName", Old: "Zoë Lefèvre", New: "Zoë Martin"},
				{Property: "mailNickname", Old: "zoe.lefevre", New: "zoe.martin"},
				{Property: "userPrincipalName", Old: "zoe.lefevre@partners.contoso.com", New: "zoe.martin@partners.contoso.com"},
			},
		},
		{
			name:      "create-only property is never updated",
			desired:   []account.Account{createOnly},
			current:   []account.Account{withID(g("A", "a@partners.contoso.com", "usageLocation", "DE"), "id-a")},
			kinds:     map[Kind]int{},
			unchanged: 1,
		},
		{
			name:      "booleans compare as booleans",
			desired:   []account.Account{g("A", "a@partners.contoso.com", "accountEnabled", "true")},
			current:   []account.Account{withID(g("A", "a@partners.contoso.com", "accountEnabled", "True"), "id-a")},
			kinds:     map[Kind]int{},
			unchanged: 1,
		},
		{
			name:    "a property the tenant lacks is set",
			desired: []account.Account{g("A", "a@partners.contoso.com", "jobTitle", "Auditor")},
			current: []account.Account{withID(g("A", "a@partners.contoso.com"), "id-a")},
			kinds:   map[Kind]int{Update: 1},
			changes: []Change{{Property: "jobTitle", Old: "", New: "Auditor"}},
		},
		{
			name:    "two entries with one anchor are both skipped, the rest goes on",
			desired: []account.Account{g("A", "a@partners.contoso.com"), g("A", "b@partners.contoso.com"), g("C", "c@partners.contoso.com")},
			kinds:   map[Kind]int{Skip: 2, Create: 1},
		},
		{
			name:    "UPN collision is case-insensitive",
			desired: []account.Account{g("A", "Ann@partners.contoso.com"), g("B", "ann@partners.contoso.com")},
			kinds:   map[Kind]int{Skip: 2},
		},
		{
			name:    "current guests without a source are left alone",
			desired: nil,
			current: []account.Account{withID(g("Z", "z@partners.contoso.com"), "id-z")},
			kinds:   map[Kind]int{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := Compute(graphGuests, tt.desired, tt.current, Absence{}, Policy{})
			got := map[Kind]int{}
			for _, a := range p.Actions {
				got[a.Kind]++
			}
			assert.Equal(t, tt.kinds, got)
			assert.Equal(t, tt.unchanged, p.Unchanged)
			if tt.changes != nil {
				for _, a := range p.Actions {
					if a.Kind == Update {
						assert.Equal(t, tt.changes, a.Changes)
						assert.Equal(t, "id-a", a.ID)
						break
					}
				}
			}
		})
	}
}

func TestComputeConflictReasonNamesTheOtherEntry(t *testing.T) {
	t.Parallel()
	p := Compute(graphGuests, []account.Account{g("A", "a@partners.contoso.com"), g("B", "a@partners.contoso.com")}, nil, Absence{}, Policy{})
	require.Len(t, p.Actions, 2)
	assert.Contains(t, p.Actions[0].Reason, "CN=B,OU=Partners")
	assert.Contains(t, p.Actions[1].Reason, "CN=A,OU=Partners")
	assert.False(t, p.HasChanges())
}

// TestComputeConflictReasonIsBounded: when many entries produce one
// value, each skip names three of the others and counts the rest.
func TestComputeConflictReasonIsBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int
		want string
	}{
		{2, `conflict: mailNickname "a" is also produced by CN=A1,OU=Partners, userPrincipalName "a@partners.contoso.com" is also produced by CN=A1,OU=Partners`},
		{4, `conflict: mailNickname "a" is also produced by CN=A1,OU=Partners; CN=A2,OU=Partners; CN=A3,OU=Partners, userPrincipalName "a@partners.contoso.com" is also produced by CN=A1,OU=Partners; CN=A2,OU=Partners; CN=A3,OU=Partners`},
		{5000, `conflict: mailNickname "a" is also produced by CN=A1,OU=Partners; CN=A2,OU=Partners; CN=A3,OU=Partners and 4996 more, userPrincipalName "a@partners.contoso.com" is also produced by CN=A1,OU=Partners; CN=A2,OU=Partners; CN=A3,OU=Partners and 4996 more`},
	}
	for _, tt := range tests {
		desired := make([]account.Account, tt.n)
		for i := range desired {
			desired[i] = g(fmt.Sprintf("A%d", i), "a@partners.contoso.com")
		}
		p := Compute(graphGuests, desired, nil, Absence{}, Policy{})
		require.Len(t, p.Actions, tt.n)
		assert.Equal(t, tt.want, p.Actions[0].Reason)
		for _, a := range p.Actions {
			assert.Less(t, len(a.Reason), 400)
		}
	}
}

// samplePlan has one of every action kind.
func samplePlan() *Plan {
	desired := []account.Account{
		g("bmV3", "zoe.lefevre@partners.contoso.com", "displayName", "Zoë Lefèvre (Fabrikam)", "accountEnabled", "true"),
		g("b2xk", "jurgen.muller@partners.contoso.com", "displayName", "Jürgen Müller", "jobTitle", "Architect"),
		g("c2Ft", "ana@partners.contoso.com"),
		g("YmFjaw==", "back@partners.contoso.com", "displayName", "Back Again (Fabrikam)", "accountEnabled", "false"),
	}
	recycled := withID(g("YmFjaw==", "back@partners.contoso.com", "displayName", "Back Again", "accountEnabled", "true"), "2b4c7d1e-0000-4000-8000-000000000005")
	recycled.Deleted = true
	current := []account.Account{
		withID(g("b2xk", "jurgen.muller@partners.contoso.com", "displayName", "Jurgen Muller", "jobTitle", "Architect"), "2b4c7d1e-0000-4000-8000-000000000001"),
		withID(g("c2Ft", "ana@partners.contoso.com"), "2b4c7d1e-0000-4000-8000-000000000002"),
		withID(g("bGVmdA==", "left@partners.contoso.com", "accountEnabled", "true"), "2b4c7d1e-0000-4000-8000-000000000003"),
		withID(g("b2xkZXI=", "older@partners.contoso.com", "accountEnabled", "false"), "2b4c7d1e-0000-4000-8000-000000000004"),
		recycled,
	}
	now := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	p := Compute(graphGuests, desired, current, Absence{Gone: []Gone{{Anchor: "bGVmdA==", DN: "CN=Left,OU=Partners", Reason: "deleted in the directory"}, {Anchor: "b2xkZXI=", Reason: "not in the source's complete read"}}},
		Policy{Now: now, DeleteAfter: 30 * 24 * time.Hour, Disabled: map[string]time.Time{"b2xkZXI=": now.AddDate(0, 0, -31)}})
	p.AddSkip("CN=Broken,OU=Partners", "mapping: userPrincipalName: no value")
	p.OutOfScope = 1
	return p
}

func TestPlanGolden(t *testing.T) {
	t.Parallel()
	p := samplePlan()
	js, err := json.MarshalIndent(p, "", "  ")
	require.NoError(t, err)
	golden(t, "plan.json", append(js, '\n'))

	var text bytes.Buffer
	require.NoError(t, p.Render(&text, RenderOptions{Skips: true}))
	golden(t, "plan.txt", text.Bytes())

	// A saved plan reads back to the same plan.
	var back Plan
	require.NoError(t, json.Unmarshal(js, &back))
	assert.Equal(t, *p, back)
	for _, k := range []Kind{Create, Update, Restore, Disable, Delete, Skip} {
		assert.Equal(t, 1, p.Count(k), "one %s in the sample", k)
	}
}

func TestRenderNoChanges(t *testing.T) {
	t.Parallel()
	p := Compute(graphGuests, []account.Account{g("A", "a@partners.contoso.com")}, []account.Account{withID(g("A", "a@partners.contoso.com"), "x")}, Absence{}, Policy{})
	var b bytes.Buffer
	require.NoError(t, p.Render(&b, RenderOptions{Color: true}))
	assert.Equal(t, "No changes: 1 guests up to date, 0 skipped, 0 out of scope.\n", b.String())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing: run go test ./pkg/plan -update")
	assert.Equal(t, string(want), string(got))
}

func TestRedactedValuesAreNotRendered(t *testing.T) {
	t.Parallel()
	d := g("A", "a@partners.contoso.com", "employeeId", "E-123456")
	d.Redacted = []string{"employeeId"}
	c := withID(g("A", "a@partners.contoso.com", "employeeId", "E-000001"), "id-a")
	n := g("B", "b@partners.contoso.com", "employeeId", "E-777777")
	n.Redacted = []string{"employeeId"}
	p := Compute(graphGuests, []account.Account{d, n}, []account.Account{c}, Absence{}, Policy{})
	var b bytes.Buffer
	require.NoError(t, p.Render(&b, RenderOptions{}))
	out := b.String()
	assert.Contains(t, out, `employeeId             [Redact] (changed)`)
	assert.Contains(t, out, `employeeId             [Redact]`+"\n")
	for _, secret := range []string{"E-123456", "E-000001", "E-777777"} {
		assert.NotContains(t, out, secret)
	}
	for _, a := range p.Actions {
		if a.Kind == Update {
			assert.Equal(t, "E-123456", a.Changes[0].New, "the value still flows")
		}
	}
}

// foreign is a current guest guestsync does not own.
func foreign(x account.Account, id string) account.Account {
	x = withID(x, id)
	x.Owned = false
	return x
}

func TestOwnership(t *testing.T) {
	t.Parallel()
	zoe := g("A", "zoe@partners.contoso.com", "mail", "zoe@fabrikam.com", "displayName", "Zoë")
	tests := []struct {
		name    string
		current []account.Account
		policy  Policy
		kind    Kind
		reason  string
	}{
		{"an unowned guest with the same anchor is never touched",
			[]account.Account{foreign(g("A", "other@partners.contoso.com"), "x1")}, Policy{}, Skip,
			"conflict: the anchor belongs to guest x1 (other@partners.contoso.com), which guestsync does not manage"},
		{"an unowned guest with the same UPN blocks the create",
			[]account.Account{foreign(g("", "ZOE@partners.contoso.com"), "x2")}, Policy{}, Skip,
			`conflict: userPrincipalName "zoe@partners.contoso.com" is used by guest x2, which guestsync does not manage`},
		{"without an adoption policy a soft match is not adopted",
			[]account.Account{foreign(g("", "zoe_fabrikam.com#EXT#@contoso.onmicrosoft.com", "mail", "zoe@fabrikam.com"), "x3")}, Policy{}, Create, ""},
		{"adopted by mail when the policy says so",
			[]account.Account{foreign(g("", "zoe_fabrikam.com#EXT#@contoso.onmicrosoft.com", "mail", "Zoe@Fabrikam.com"), "x4")}, Policy{Adopt: "mail"}, Adopt,
			"soft match on mail"},
		{"adopted by UPN",
			[]account.Account{foreign(g("", "zoe@partners.contoso.com"), "x5")}, Policy{Adopt: "userPrincipalName"}, Adopt, "soft match on userPrincipalName"},
		{"a soft match with another anchor is never adopted",
			[]account.Account{foreign(g("B", "zoe@partners.contoso.com"), "x6")}, Policy{Adopt: "userPrincipalName"}, Skip, "conflict: userPrincipalName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := Compute(graphGuests, []account.Account{zoe}, tt.current, Absence{}, tt.policy)
			require.Len(t, p.Actions, 1)
			a := p.Actions[0]
			assert.Equal(t, tt.kind, a.Kind, a.Reason)
			assert.Contains(t, a.Reason, tt.reason)
			if a.Kind == Adopt {
				assert.Equal(t, tt.current[0].ID, a.ID)
				assert.Contains(t, a.Changes, Change{Property: "onPremisesImmutableId", Old: "", New: "A"}, "the anchor is written")
			}
		})
	}
}

func TestReturningAccountIsRestored(t *testing.T) {
	t.Parallel()
	gone := withID(g("A", "zoe@partners.contoso.com"), "id-deleted")
	gone.Deleted = true
	foreignGone := foreign(g("B", "bob@partners.contoso.com"), "id-foreign")
	foreignGone.Deleted = true
	p := Compute(graphGuests, []account.Account{g("A", "zoe@partners.contoso.com"), g("B", "bob@partners.contoso.com")}, []account.Account{gone, foreignGone}, Absence{}, Policy{})
	require.Len(t, p.Actions, 2)
	assert.Equal(t, Restore, p.Actions[0].Kind)
	assert.Equal(t, "id-deleted", p.Actions[0].ID)
	assert.Equal(t, Create, p.Actions[1].Kind, "a deleted guest guestsync does not own is neither restored nor a conflict")
	var b bytes.Buffer
	require.NoError(t, p.Render(&b, RenderOptions{}))
	assert.Contains(t, b.String(), "↺ restore guest zoe@partners.contoso.com (id id-deleted)")
	assert.Contains(t, b.String(), "1 to restore")
}

// TestRestoreCarriesChanges: a restore brings the recycled guest (as it
// was deleted) to the desired one in the same run, with the changes an
// update of the live guest would carry.
func TestRestoreCarriesChanges(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	binned := func(props ...string) account.Account {
		x := withID(g("QkFDSw==", "back@partners.contoso.com", props...), "id-back")
		x.Deleted = true
		return x
	}
	back := func(props ...string) account.Account { return g("QkFDSw==", "back@partners.contoso.com", props...) }
	clocks := map[string]time.Time{"QkFDSw==": now.Add(-time.Hour)}
	tests := []struct {
		name    string
		desired account.Account
		current account.Account
		policy  Policy
		want    []Change
	}{
		{"unchanged meanwhile: a bare restore", back("displayName", "Zoë"), binned("displayName", "Zoë"), Policy{}, nil},
		{"account disabled and renamed meanwhile: both changes",
			back("displayName", "Zoë Martin", "accountEnabled", "false"), binned("displayName", "Zoë", "accountEnabled", "true"), Policy{},
			[]Change{{Property: "accountEnabled", Old: "true", New: "false"}, {Property: "displayName", Old: "Zoë", New: "Zoë Martin"}}},
		{"booleans compare as booleans", back("accountEnabled", "True"), binned("accountEnabled", "true"), Policy{}, nil},
		{"create-only properties are not changed", func() account.Account {
			x := back("usageLocation", "FR")
			x.CreateOnly = []string{"usageLocation"}
			return x
		}(), binned("usageLocation", "DE"), Policy{}, nil},
		{"disabled by guestsync (grace clock), mapping silent: enabled again",
			back(), binned("accountEnabled", "false"), Policy{Now: now, Disabled: clocks},
			[]Change{{Property: "accountEnabled", Old: "false", New: "true"}}},
		{"disabled, but not by guestsync (no clock): left disabled", back(), binned("accountEnabled", "false"), Policy{Now: now}, nil},
		{"disabled by guestsync, create-only: left disabled", back(), binned("accountEnabled", "false"),
			Policy{Now: now, Mode: ModeCreateOnly, Disabled: clocks}, nil},
		{"create-only: the mapped changes still come with the restore", back("displayName", "New"), binned("displayName", "Old"),
			Policy{Mode: ModeCreateOnly}, []Change{{Property: "displayName", Old: "Old", New: "New"}}},
		{"redacted values stay redacted", func() account.Account {
			x := back("employeeId", "E2")
			x.Redacted = []string{"employeeId"}
			return x
		}(), binned("employeeId", "E1"), Policy{}, []Change{{Property: "employeeId", Old: "E1", New: "E2", Redacted: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := Compute(graphGuests, []account.Account{tt.desired}, []account.Account{tt.current}, Absence{Full: true}, tt.policy)
			require.Len(t, p.Actions, 1)
			a := p.Actions[0]
			assert.Equal(t, Restore, a.Kind)
			assert.Equal(t, "id-back", a.ID)
			assert.Equal(t, tt.want, a.Changes)
		})
	}
}

func TestRemovals(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	stay := g("U1RBWQ==", "stay@partners.contoso.com")
	left := withID(g("TEVGVA==", "left@partners.contoso.com", "accountEnabled", "true"), "id-left")
	off := withID(g("T0ZG", "off@partners.contoso.com", "accountEnabled", "false"), "id-off")
	foreign := withID(g("Rk9S", "foreign@partners.contoso.com"), "id-foreign")
	foreign.Owned = false
	current := []account.Account{withID(stay, "id-stay"), left, off, foreign}
	desired := []account.Account{stay}
	full := Absence{Full: true}
	month := 30 * 24 * time.Hour
	type want struct {
		kinds   map[string]Kind // anchor → action
		waiting int
		clocks  map[string]time.Time
	}
	tests := []struct {
		name    string
		desired []account.Account
		absence Absence
		policy  Policy
		want    want
	}{
		{"a complete full read: the absent owned guests are disabled, never the foreign one", desired, full,
			Policy{Now: now, DeleteAfter: month},
			want{kinds: map[string]Kind{"TEVGVA==": Disable}, waiting: 1,
				clocks: map[string]time.Time{"TEVGVA==": now, "T0ZG": now}}},
		{"an incremental read removes only what the source reported gone", desired,
			Absence{Gone: []Gone{{Anchor: "TEVGVA==", DN: "CN=Left", Reason: "deleted in the directory"}, {Anchor: "Rk9S", Reason: "deleted in the directory"}}},
			Policy{Now: now},
			want{kinds: map[string]Kind{"TEVGVA==": Disable}, clocks: map[string]time.Time{"TEVGVA==": now}}},
		{"no absence, no removals", desired, Absence{}, Policy{Now: now}, want{}},
		{"kept anchors (mapping errors) stay", desired, Absence{Full: true, Keep: []string{"TEVGVA==", "T0ZG"}}, Policy{Now: now}, want{}},
		{"removal delete", desired, full, Policy{Now: now, Removal: RemoveDelete},
			want{kinds: map[string]Kind{"TEVGVA==": Delete, "T0ZG": Delete}}},
		{"removal none", desired, full, Policy{Now: now, Removal: RemoveNone}, want{}},
		{"past the grace period: deleted, its clock kept for the recycle bin", desired, full,
			Policy{Now: now, DeleteAfter: month, Disabled: map[string]time.Time{"T0ZG": now.Add(-month)}},
			want{kinds: map[string]Kind{"TEVGVA==": Disable, "T0ZG": Delete}, clocks: map[string]time.Time{"TEVGVA==": now, "T0ZG": now.Add(-month)}}},
		{"within the grace period: waiting, clock kept", desired, full,
			Policy{Now: now, DeleteAfter: month, Disabled: map[string]time.Time{"T0ZG": now.Add(-time.Hour)}},
			want{kinds: map[string]Kind{"TEVGVA==": Disable}, waiting: 1,
				clocks: map[string]time.Time{"TEVGVA==": now, "T0ZG": now.Add(-time.Hour)}}},
		{"no deleteAfter: never deleted", desired, full,
			Policy{Now: now, Disabled: map[string]time.Time{"T0ZG": now.AddDate(-1, 0, 0)}},
			want{kinds: map[string]Kind{"TEVGVA==": Disable}, waiting: 1,
				clocks: map[string]time.Time{"TEVGVA==": now, "T0ZG": now.AddDate(-1, 0, 0)}}},
		{"upsert-only never removes", desired, full, Policy{Now: now, Mode: ModeUpsertOnly}, want{}},
		{"create-only never removes", desired, full, Policy{Now: now, Mode: ModeCreateOnly}, want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := Compute(graphGuests, tt.desired, current, tt.absence, tt.policy)
			got := map[string]Kind{}
			for _, a := range p.Actions {
				got[a.Anchor] = a.Kind
				assert.NotEmpty(t, a.Reason)
				assert.NotEmpty(t, a.ID)
			}
			if tt.want.kinds == nil {
				tt.want.kinds = map[string]Kind{}
			}
			assert.Equal(t, tt.want.kinds, got)
			assert.Equal(t, tt.want.waiting, p.Waiting)
			assert.Equal(t, tt.want.clocks, p.GraceClocks)
			assert.Equal(t, 1, p.Unchanged, "the guest that stays is untouched")
			assert.Equal(t, len(tt.want.kinds), p.Removals())
		})
	}
}

func TestReturningAccountIsReEnabled(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	back := g("QkFDSw==", "back@partners.contoso.com")
	current := []account.Account{withID(g("QkFDSw==", "back@partners.contoso.com", "accountEnabled", "false"), "id-back")}
	clocks := map[string]time.Time{"QkFDSw==": now.Add(-time.Hour)}

	p := Compute(graphGuests, []account.Account{back}, current, Absence{Full: true}, Policy{Now: now, Disabled: clocks})
	require.Len(t, p.Actions, 1)
	assert.Equal(t, Update, p.Actions[0].Kind)
	assert.Equal(t, []Change{{Property: "accountEnabled", Old: "false", New: "true"}}, p.Actions[0].Changes)
	assert.Empty(t, p.GraceClocks, "its clock stops")

	p = Compute(graphGuests, []account.Account{back}, current, Absence{Full: true}, Policy{Now: now})
	assert.False(t, p.HasChanges(), "a guest disabled by someone else (no clock) stays disabled")

	mapped := g("QkFDSw==", "back@partners.contoso.com", "accountEnabled", "false")
	p = Compute(graphGuests, []account.Account{mapped}, current, Absence{Full: true}, Policy{Now: now, Disabled: clocks})
	assert.False(t, p.HasChanges(), "the mapping's accountEnabled wins")

	p = Compute(graphGuests, []account.Account{g("QkFDSw==", "back@partners.contoso.com", "displayName", "B")}, current, Absence{}, Policy{Mode: ModeCreateOnly})
	assert.False(t, p.HasChanges(), "create-only: no updates")
}

// TestGraceClocksSurviveIncrementalReads: a guest found gone stays gone
// through incremental reads (which report only changes): its clock runs on
// and ends in a delete; a clock whose guest is no longer guestsync's is
// dropped; modes without removals keep the clocks.
func TestGraceClocksSurviveIncrementalReads(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	month := 30 * 24 * time.Hour
	off := withID(g("T0ZG", "off@partners.contoso.com", "accountEnabled", "false"), "id-off")
	old := withID(g("T0xE", "old@partners.contoso.com", "accountEnabled", "false"), "id-old")
	changed := g("Q0hH", "chg@partners.contoso.com")
	current := []account.Account{off, old, withID(changed, "id-chg")}
	clocks := map[string]time.Time{"T0ZG": now.Add(-time.Hour), "T0xE": now.Add(-month), "R09ORQ==": now.Add(-time.Hour)}

	p := Compute(graphGuests, []account.Account{changed}, current, Absence{}, Policy{Now: now, DeleteAfter: month, Disabled: clocks})
	require.Len(t, p.Actions, 1, "%+v", p.Actions)
	assert.Equal(t, Delete, p.Actions[0].Kind)
	assert.Equal(t, "T0xE", p.Actions[0].Anchor)
	assert.Contains(t, p.Actions[0].Reason, "gone from the source since 2026-10-25T02:00:00Z")
	assert.Equal(t, map[string]time.Time{"T0ZG": now.Add(-time.Hour), "T0xE": now.Add(-month)}, p.GraceClocks,
		"the waiting and the deleted guests keep their clocks; the one no longer guestsync's loses it")
	assert.Equal(t, 1, p.Waiting)

	p = Compute(graphGuests, []account.Account{changed}, current, Absence{}, Policy{Now: now, Mode: ModeUpsertOnly, Disabled: clocks})
	assert.Equal(t, map[string]time.Time{"T0ZG": now.Add(-time.Hour), "T0xE": now.Add(-month)}, p.GraceClocks)
	assert.False(t, p.HasChanges())
}

// TestGraceClocksStopOnlyWhenTheGuestIsBack covers the review's cases: a
// clock stops when its guest is matched and enabled (or re-enabled by this
// plan, or the mapping sets accountEnabled), and runs on while the
// returning entry is skipped, under removal none, in create-only mode,
// and while the guest is in the recycle bin.
func TestGraceClocksStopOnlyWhenTheGuestIsBack(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	since := now.Add(-time.Hour)
	back := g("QkFDSw==", "back@partners.contoso.com")
	disabled := withID(g("QkFDSw==", "back@partners.contoso.com", "accountEnabled", "false"), "id-back")
	binned := disabled
	binned.Deleted = true
	clocks := map[string]time.Time{"QkFDSw==": since}
	kept := map[string]time.Time{"QkFDSw==": since}
	tests := []struct {
		name    string
		desired []account.Account
		current []account.Account
		absence Absence
		policy  Policy
		want    map[string]time.Time
		kinds   []Kind
	}{
		{"back: re-enabled, clock stops", []account.Account{back}, []account.Account{disabled}, Absence{Full: true},
			Policy{Now: now, Disabled: clocks}, nil, []Kind{Update}},
		{"back but its entry failed to map: clock runs on", nil, []account.Account{disabled},
			Absence{Full: true, Keep: []string{"QkFDSw=="}}, Policy{Now: now, Disabled: clocks}, kept, nil},
		{"removal none: clock runs on", nil, []account.Account{disabled}, Absence{Full: true},
			Policy{Now: now, Removal: RemoveNone, Disabled: clocks}, kept, nil},
		{"create-only: not re-enabled, clock runs on", []account.Account{back}, []account.Account{disabled}, Absence{Full: true},
			Policy{Now: now, Mode: ModeCreateOnly, Disabled: clocks}, kept, nil},
		{"in the recycle bin, back: restored and re-enabled, clock stops", []account.Account{back}, []account.Account{binned},
			Absence{Full: true}, Policy{Now: now, Disabled: clocks}, nil, []Kind{Restore}},
		{"in the recycle bin, back, create-only: restored, not re-enabled, clock runs on", []account.Account{back}, []account.Account{binned},
			Absence{Full: true}, Policy{Now: now, Mode: ModeCreateOnly, Disabled: clocks}, kept, []Kind{Restore}},
		{"the mapping sets accountEnabled: the mapping decides, clock stops",
			[]account.Account{g("QkFDSw==", "back@partners.contoso.com", "accountEnabled", "false")}, []account.Account{disabled},
			Absence{Full: true}, Policy{Now: now, Disabled: clocks}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := Compute(graphGuests, tt.desired, tt.current, tt.absence, tt.policy)
			var kinds []Kind
			for _, a := range p.Actions {
				kinds = append(kinds, a.Kind)
			}
			assert.Equal(t, tt.kinds, kinds)
			assert.Equal(t, tt.want, p.GraceClocks)
		})
	}
}

func TestRemovalsCountDisablingUpdates(t *testing.T) {
	t.Parallel()
	p := &Plan{Target: graphGuests, Actions: []Action{
		{Kind: Disable}, {Kind: Delete}, {Kind: Create},
		{Kind: Update, Changes: []Change{{Property: "displayName", New: "x"}, {Property: "accountEnabled", Old: "true", New: "False"}}},
		{Kind: Update, Changes: []Change{{Property: "accountEnabled", Old: "false", New: "true"}}},
	}}
	assert.Equal(t, 3, p.Removals())
}
