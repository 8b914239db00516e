package ad

import (
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/ldapconn"
	"github.com/guestsync/guestsync/pkg/plan"
)

var testLayout = Layout{OU: "OU=Shadows,DC=example,DC=test", DisabledOU: "OU=Disabled,OU=Shadows,DC=example,DC=test",
	MarkAttribute: "adminDescription", Owner: "prod", Groups: []string{"CN=KCD users,DC=example,DC=test"}, Enabled: "enabled"}

func TestEscapeRDNValue(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Ann Müller":      "Ann Müller",
		"Müller, Ann":     `Müller\, Ann`,
		`a+b"c;d<e>f\g=h`: `a\+b\"c\;d\<e\>f\\g\=h`,
		"#1 guest":        `\#1 guest`,
		"x#1":             "x#1",
		" padded ":        `\ padded\ `,
		"tab\there":       `tab\09here`,
	} {
		assert.Equal(t, want, EscapeRDNValue(in), in)
	}
}

func TestCreateSteps(t *testing.T) {
	t.Parallel()
	acc := account.Account{Anchor: "g1", Properties: map[string]string{"cn": "Müller, Ann", "sAMAccountName": "ann",
		"userPrincipalName": "ann_f.com#EXT#@c.onmicrosoft.com", "mail": "", "enabled": "true"}}
	steps, err := testLayout.Steps(plan.Action{Kind: plan.Create, Anchor: "g1", Account: &acc}, Object{})
	require.NoError(t, err)
	require.Len(t, steps, 4)
	dn := `CN=Müller\, Ann,OU=Shadows,DC=example,DC=test`
	assert.Equal(t, Step{Op: OpAdd, DN: dn, Why: steps[0].Why, Mods: []Mod{
		{Kind: "add", Attribute: "objectClass", Values: []string{"top", "person", "organizationalPerson", "user"}},
		{Kind: "add", Attribute: "sAMAccountName", Values: []string{"ann"}},
		{Kind: "add", Attribute: "userPrincipalName", Values: []string{"ann_f.com#EXT#@c.onmicrosoft.com"}},
		{Kind: "add", Attribute: "adminDescription", Values: []string{"User_guestsync:prod:g1"}},
		{Kind: "add", Attribute: "userAccountControl", Values: []string{"514"}},
	}}, steps[0], "disabled, marked, no empty value, no enabled, no cn besides the RDN")
	assert.True(t, steps[1].Password)
	assert.Empty(t, steps[1].Mods, "the password is made when it is sent")
	assert.Equal(t, Step{Op: OpModify, DN: "CN=KCD users,DC=example,DC=test", Member: true, Why: steps[2].Why,
		Mods: []Mod{{Kind: "add", Attribute: "member", Values: []string{dn}}}}, steps[2])
	assert.Equal(t, []Mod{{Kind: "replace", Attribute: "userAccountControl", Values: []string{"262656"}}}, steps[3].Mods,
		"enabled last: until then the shadow is half-made")
}

func TestUpdateSteps(t *testing.T) {
	t.Parallel()
	in := Object{DN: "CN=Ann,OU=Shadows,DC=example,DC=test", UAC: 0x40200}
	disabled := Object{DN: "CN=Ann,OU=Disabled,OU=Shadows,DC=example,DC=test", UAC: 0x40202}
	tests := []struct {
		name    string
		obj     Object
		changes []plan.Change
		want    []Step
	}{
		{"attributes only", in, []plan.Change{{Property: "displayName", New: "Ann B"}, {Property: "mail", Old: "a@x"}},
			[]Step{{Op: OpModify, DN: in.DN, Mods: []Mod{{Kind: "replace", Attribute: "displayName", Values: []string{"Ann B"}}, {Kind: "delete", Attribute: "mail"}}}}},
		{"rename", in, []plan.Change{{Property: "cn", Old: "Ann", New: "Ann, B"}},
			[]Step{{Op: OpModRDN, DN: in.DN, NewRDN: `CN=Ann\, B`}}},
		{"re-enable moves back", disabled, []plan.Change{{Property: "enabled", Old: "false", New: "true"}},
			[]Step{{Op: OpModRDN, DN: disabled.DN, NewRDN: "CN=Ann", NewSuperior: testLayout.OU},
				{Op: OpModify, DN: in.DN, Mods: []Mod{{Kind: "replace", Attribute: "userAccountControl", Values: []string{"262656"}}}}}},
		{"rename and disable", in, []plan.Change{{Property: "cn", New: "Bea"}, {Property: "enabled", Old: "true", New: "false"}},
			[]Step{{Op: OpModRDN, DN: in.DN, NewRDN: "CN=Bea", NewSuperior: testLayout.DisabledOU},
				{Op: OpModify, DN: "CN=Bea," + testLayout.DisabledOU, Mods: []Mod{{Kind: "replace", Attribute: "userAccountControl", Values: []string{"262658"}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps, err := testLayout.Steps(plan.Action{Kind: plan.Update, Changes: tt.changes}, tt.obj)
			require.NoError(t, err)
			for i := range steps {
				steps[i].Why = ""
			}
			assert.Equal(t, tt.want, steps)
		})
	}
	_, err := testLayout.Steps(plan.Action{Kind: plan.Update, Changes: []plan.Change{{Property: "adminDescription", New: "x"}}}, in)
	assert.ErrorContains(t, err, "holds guestsync's mark")
}

func TestDisableSteps(t *testing.T) {
	t.Parallel()
	steps, err := testLayout.Steps(plan.Action{Kind: plan.Disable}, Object{DN: "CN=Ann,OU=Shadows,DC=example,DC=test", UAC: 0x40200})
	require.NoError(t, err)
	require.Len(t, steps, 2)
	assert.Equal(t, Step{Op: OpModRDN, DN: "CN=Ann,OU=Shadows,DC=example,DC=test", NewRDN: "CN=Ann", NewSuperior: testLayout.DisabledOU, Why: steps[0].Why}, steps[0])
	assert.Equal(t, "CN=Ann,"+testLayout.DisabledOU, steps[1].DN)
	assert.Equal(t, []string{"262658"}, steps[1].Mods[0].Values)

	// Already in the disabled OU (a disable that stopped after its move):
	// only the disable.
	steps, err = testLayout.Steps(plan.Action{Kind: plan.Disable}, Object{DN: "CN=Ann," + testLayout.DisabledOU, UAC: 0x40200})
	require.NoError(t, err)
	require.Len(t, steps, 1)
	assert.Equal(t, OpModify, steps[0].Op)

	_, err = testLayout.Steps(plan.Action{Kind: plan.Adopt}, Object{})
	assert.ErrorContains(t, err, "not something the AD target does")
}

func TestNewPassword(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 50 {
		pw, err := NewPassword()
		require.NoError(t, err)
		assert.Len(t, pw, passwordLength)
		assert.True(t, strings.ContainsFunc(pw, unicode.IsLower) && strings.ContainsFunc(pw, unicode.IsUpper) &&
			strings.ContainsFunc(pw, unicode.IsDigit) && strings.ContainsAny(pw, "!#%*+-=?@^_~"), "all four classes")
		assert.False(t, seen[pw])
		seen[pw] = true
	}
	assert.Equal(t, "\"\x00a\x00\xe9\x00\"\x00", EncodePassword("aé"), "quoted, UTF-16LE")
}

func TestNewReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := New(Options{Connection: ldapconn.Config{URL: "ldaps://dc1"}, OU: "not a dn", Owner: "a b", DisabledOU: "OU=x"})
	require.Error(t, err)
	for _, w := range []string{"baseDN is required", `ou "not a dn"`, `owner "a b"`} {
		assert.Contains(t, err.Error(), w)
	}
}

func TestNewWantsTheOUsInsideBaseDN(t *testing.T) {
	t.Parallel()
	opts := Options{Connection: ldapconn.Config{URL: "ldaps://dc1"}, BaseDN: "DC=example,DC=test", Owner: "prod",
		OU: "ou=Shadows, dc=EXAMPLE,dc=test", DisabledOU: "OU=Disabled,OU=Shadows,DC=example,DC=test"}
	_, err := New(opts)
	require.NoError(t, err, "compared as DNs")
	opts.OU, opts.DisabledOU = "OU=Shadows,DC=other,DC=test", "OU=Disabled,DC=xexample,DC=test"
	_, err = New(opts)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ou OU=Shadows,DC=other,DC=test is not inside baseDN DC=example,DC=test, where shadows are looked for")
	assert.Contains(t, err.Error(), "disabledOU OU=Disabled,DC=xexample,DC=test is not inside baseDN")
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	assert.Equal(t, plan.Target{Kind: "ad", Noun: "shadow account", Others: "object", Anchor: "adminDescription", Name: "userPrincipalName",
		Create: "create", Unique: []string{"sAMAccountName", "userPrincipalName"}, Enabled: "enabled"}, Describe(""))
}

func TestSameDN(t *testing.T) {
	t.Parallel()
	assert.True(t, sameDN("OU=Disabled,OU=Shadows,DC=example,DC=test", "ou=disabled, ou=shadows, dc=EXAMPLE, dc=test"))
	assert.False(t, sameDN("OU=Disabled,DC=example,DC=test", "OU=Shadows,DC=example,DC=test"))
}
