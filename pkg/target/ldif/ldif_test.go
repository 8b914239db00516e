package ldif

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/target/ad"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var testLayout = ad.Layout{OU: "OU=Shadows,DC=example,DC=test", DisabledOU: "OU=Disabled,OU=Shadows,DC=example,DC=test",
	Owner: "demo", Groups: []string{"CN=App Proxy Users,OU=Groups,DC=example,DC=test"}}

func guest(anchor, name, cn, sam string) account.Account {
	return account.Account{Anchor: anchor, Source: anchor, Properties: map[string]string{
		"userPrincipalName": name + "_fabrikam.com#EXT#@contoso.onmicrosoft.com",
		"sAMAccountName":    sam,
		"cn":                cn,
		"displayName":       cn,
	}}
}

// changesFor plans desired against the export and writes the change file,
// returning its path and the plan.
func changesFor(t *testing.T, export string, desired []account.Account, policy plan.Policy) (string, *plan.Plan) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "changes.ldif")
	target, err := New(Options{Path: out, Export: export, Layout: testLayout})
	require.NoError(t, err)
	current, err := target.Current(context.Background())
	require.NoError(t, err)
	p := plan.Compute(target.Describe(), desired, current, plan.Absence{Full: true}, policy)
	// Two chunks, as the engine hands them over: one file.
	half := len(p.Actions) / 2
	results := append(target.Apply(context.Background(), p.Actions[:half]), target.Apply(context.Background(), p.Actions[half:])...)
	for _, r := range results {
		require.Nil(t, r.Failure, "%s %s", r.Action.Kind, r.Action.Name)
	}
	return out, p
}

// TestChangeFileGolden writes the changes of every kind of action, from
// an export of the domain, and compares them with the golden file.
func TestChangeFileGolden(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	ann := guest("a1a1a1a1-0000-4000-8000-000000000001", "ann", "Ann Müller, Fabrikam", "ann-fabrikam")
	bea := guest("b2b2b2b2-0000-4000-8000-000000000002", "bea", "Bea", "bea-fabrikam")
	cid := guest("c3c3c3c3-0000-4000-8000-000000000003", "cid", "Cid #1 <new>", "cid-new")
	clash := guest("f6f6f6f6-0000-4000-8000-000000000006", "fay", "Fay", "cid-fabrikam")
	policy := plan.Policy{Now: now, DeleteAfter: 30 * 24 * time.Hour, Disabled: map[string]time.Time{
		bea.Anchor:                             now.Add(-time.Hour),
		"e5e5e5e5-0000-4000-8000-000000000005": now.Add(-40 * 24 * time.Hour),
	}}
	out, p := changesFor(t, "testdata/export.ldif", []account.Account{ann, bea, cid, clash}, policy)
	kinds := map[plan.Kind]int{}
	for _, a := range p.Actions {
		kinds[a.Kind]++
	}
	assert.Equal(t, map[plan.Kind]int{plan.Create: 1, plan.Update: 2, plan.Disable: 1, plan.Delete: 1, plan.Skip: 1}, kinds)

	got, err := os.ReadFile(out)
	require.NoError(t, err)
	golden := "testdata/changes.golden.ldif"
	if *update {
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
	assert.NotContains(t, string(got), "unicodePwd:", "no password")
}

// TestChangeFileWithoutExport: with no export every guest is new.
func TestChangeFileWithoutExport(t *testing.T) {
	t.Parallel()
	out, p := changesFor(t, "", []account.Account{guest("c3c3c3c3-0000-4000-8000-000000000003", "cid", "Cid", "cid")}, plan.Policy{})
	require.Len(t, p.Actions, 1)
	assert.Equal(t, plan.Create, p.Actions[0].Kind)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(got), "dn: CN=Cid,OU=Shadows,DC=example,DC=test\nchangetype: add\n")
}

// TestUnknownShadowFails: an action on a shadow the export does not show
// cannot name its DN.
func TestUnknownShadowFails(t *testing.T) {
	t.Parallel()
	target, err := New(Options{Path: filepath.Join(t.TempDir(), "c.ldif"), Layout: testLayout})
	require.NoError(t, err)
	results := target.Apply(context.Background(), []plan.Action{{Kind: plan.Delete, ID: "0000", Name: "x"}})
	require.Len(t, results, 1)
	require.NotNil(t, results[0].Failure)
	assert.Contains(t, results[0].Failure.Message, "the export does not show the shadow with objectGUID 0000")
}

// TestLdapmodifyParsesTheGoldenFile: OpenLDAP's ldapmodify reads the
// change file (-n: parse and show, send nothing).
func TestLdapmodifyParsesTheGoldenFile(t *testing.T) {
	t.Parallel()
	tool, err := exec.LookPath("ldapmodify")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ldapmodify (Debian's ldap-utils) is needed under CI=true")
		}
		t.Skip("ldapmodify is not installed (Debian: ldap-utils)")
	}
	cmd := exec.Command(tool, "-n", "-v", "-H", "ldap://127.0.0.1:1", "-x", "-f", "testdata/changes.golden.ldif")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	for _, want := range []string{"!adding new entry", "replace userAccountControl:", "!modifying rdn of entry", "!deleting entry", "add member:"} {
		assert.Contains(t, string(out), want)
	}
}
