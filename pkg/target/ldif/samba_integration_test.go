package ldif

// An integration test against the Samba AD DC that .ci/with-testservers
// starts: the change file is imported with OpenLDAP's ldapmodify, and the
// AD target then finds the shadows it made as its own. Without
// GUESTSYNC_TEST_SAMBA_URL it skips, except under CI=true.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/ldapconn"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/target/ad"
)

func TestSambaImportsTheChangeFile(t *testing.T) {
	env := map[string]string{}
	for _, name := range []string{"URL", "LDAPS_URL", "CAFILE", "ADMINDN", "ADMINPASSWORD", "BASEDN"} {
		env[name] = os.Getenv("GUESTSYNC_TEST_SAMBA_" + name)
	}
	if env["URL"] == "" {
		how := "GUESTSYNC_TEST_SAMBA_URL is not set: run the tests with .ci/with-testservers"
		if os.Getenv("CI") == "true" {
			t.Fatal(how + " (CI=true: the real-server tests may not be skipped)")
		}
		t.Skip(how)
	}
	tool, err := exec.LookPath("ldapmodify")
	require.NoError(t, err, "ldapmodify (Debian's ldap-utils)")

	// An OU and a group of the test's own.
	conn := ldapconn.Config{URL: env["LDAPS_URL"], CAFile: env["CAFILE"], BindDN: env["ADMINDN"], BindPassword: env["ADMINPASSWORD"], Timeout: 30 * time.Second}
	dir, errs := conn.Check()
	require.Empty(t, errs)
	admin, _, err := dir.Connect(context.Background(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() }) // after the clean-up below: cleanups run last first
	b := make([]byte, 4)
	_, err = rand.Read(b)
	require.NoError(t, err)
	suffix := hex.EncodeToString(b)
	ou := "OU=shadows-" + suffix + "," + env["BASEDN"]
	group := "CN=shadows-" + suffix + "," + ou
	add := goldap.NewAddRequest(ou, nil)
	add.Attribute("objectClass", []string{"top", "organizationalUnit"})
	require.NoError(t, admin.Add(add))
	add = goldap.NewAddRequest(group, nil)
	add.Attribute("objectClass", []string{"top", "group"})
	add.Attribute("sAMAccountName", []string{"shadows-" + suffix})
	require.NoError(t, admin.Add(add))
	t.Cleanup(func() {
		res, err := admin.Search(goldap.NewSearchRequest(ou, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
		if err != nil {
			return
		}
		slices.SortFunc(res.Entries, func(a, b *goldap.Entry) int { return len(b.DN) - len(a.DN) }) // children first
		for _, e := range res.Entries {
			admin.Del(goldap.NewDelRequest(e.DN, nil)) //nolint:errcheck // best effort
		}
	})

	layout := ad.Layout{OU: ou, Owner: "ldif-" + suffix, Groups: []string{group}}
	path := filepath.Join(t.TempDir(), "changes.ldif")
	target, err := New(Options{Path: path, Layout: layout})
	require.NoError(t, err)
	desired := []account.Account{
		guest("c3c3c3c3-"+suffix[:4]+"-4000-8000-000000000001", "cid"+suffix, "Cid Müller, #1 <"+suffix+">", "cid-"+suffix),
		guest("c3c3c3c3-"+suffix[:4]+"-4000-8000-000000000002", "dee"+suffix, "Dee "+suffix, "dee-"+suffix),
	}
	p := plan.Compute(target.Describe(), desired, nil, plan.Absence{}, plan.Policy{})
	for _, r := range target.Apply(context.Background(), p.Actions) {
		require.Nil(t, r.Failure)
	}

	pwFile := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pwFile, []byte(env["ADMINPASSWORD"]), 0o600))
	cmd := exec.Command(tool, "-H", env["LDAPS_URL"], "-x", "-D", env["ADMINDN"], "-y", pwFile, "-f", path)
	cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+env["CAFILE"])
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))

	// The AD target sees them as its shadows, with nothing to change
	// (Samba lets a user without a password be enabled; Active Directory
	// would want the password the file asks for first).
	adTarget, err := ad.New(ad.Options{Connection: conn, BaseDN: env["BASEDN"], OU: ou, Owner: layout.Owner})
	require.NoError(t, err)
	current, err := adTarget.Current(context.Background())
	require.NoError(t, err)
	again := plan.Compute(adTarget.Describe(), desired, current, plan.Absence{Full: true}, plan.Policy{})
	assert.Empty(t, again.Actions, "the imported shadows match the plan")
	assert.Equal(t, 2, again.Matched)
	res, err := admin.Search(goldap.NewSearchRequest(group, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"member"}, nil))
	require.NoError(t, err)
	assert.Len(t, res.Entries[0].GetAttributeValues("member"), 2)
}
