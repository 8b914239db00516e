package ad

import (
	"context"
	"os"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/ldapconn"
)

// checkTarget is a target in ou, with its disabled OU and group, bound
// with conn.
func (env sambaEnv) checkTarget(t *testing.T, conn ldapconn.Config, ou testOU) *Target {
	t.Helper()
	target, err := New(Options{Connection: conn, BaseDN: env.baseDN, OU: ou.dn, DisabledOU: ou.disabled,
		Owner: "test-" + ou.suffix, Groups: []string{ou.group}})
	require.NoError(t, err)
	return target
}

// problems splits a check's error into its problems, one a line.
func problems(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

// The domain's Administrator, over LDAPS or StartTLS, passes every check;
// a shadow whose UPN ends with the domain's DNS name raises no warning.
func TestSambaCheckPasses(t *testing.T) {
	env := needSamba(t)
	ou := env.makeOU(t, env.admin(t))
	startTLS := env.connection()
	startTLS.URL, startTLS.StartTLS = env.url, true
	for name, conn := range map[string]ldapconn.Config{"ldaps": env.connection(), "startTLS": startTLS} {
		t.Run(name, func(t *testing.T) {
			warnings, err := env.checkTarget(t, conn, ou).Check(context.Background(), withUPN("ann@"+dnsOf(env.baseDN)))
			require.NoError(t, err)
			assert.Empty(t, warnings)
		})
	}
}

// Over plain LDAP the check fails for that alone: the rest is in order.
func TestSambaCheckPlainLDAP(t *testing.T) {
	env := needSamba(t)
	ou := env.makeOU(t, env.admin(t))
	conn := env.connection()
	conn.URL, conn.CAFile, conn.AllowInsecureBind = env.url, "", true
	_, err := env.checkTarget(t, conn, ou).Check(context.Background(), nil)
	require.Equal(t, []string{"the connection to " + env.url + " is not encrypted: every write would be refused, since shadows get a password, which only travels encrypted; use an ldaps:// URL or startTLS: true (allowInsecureBind does not apply to writes)"},
		problems(err))
}

// A missing OU, disabled OU or group, and a group that is not one, are
// each a problem naming the DN and the setting.
func TestSambaCheckMissingObjects(t *testing.T) {
	env := needSamba(t)
	ou := env.makeOU(t, env.admin(t))
	missingOU := "OU=missing-" + ou.suffix + "," + env.baseDN
	missingDisabled := "OU=gone," + ou.dn
	missingGroup := "CN=no-such-group," + ou.dn
	target, err := New(Options{Connection: env.connection(), BaseDN: env.baseDN, OU: missingOU, DisabledOU: missingDisabled,
		Owner: "test-" + ou.suffix, Groups: []string{ou.group, missingGroup, ou.disabled}})
	require.NoError(t, err)
	_, err = target.Check(context.Background(), nil)
	got := problems(err)
	require.Len(t, got, 4, "%v", err)
	assert.Equal(t, missingOU+" (ad.ou) does not exist (or "+env.adminDN+" cannot see it): create it (New-ADOrganizationalUnit, or Active Directory Users and Computers) or correct ad.ou", got[0])
	assert.Contains(t, got[1], missingDisabled+" (ad.disabledOU) does not exist")
	assert.Contains(t, got[1], "correct ad.disabledOU")
	assert.Equal(t, "group "+missingGroup+" (ad.groups) does not exist (or "+env.adminDN+" cannot see it): create it or correct ad.groups", got[2])
	assert.Contains(t, got[3], ou.disabled+" (ad.groups) is not a group (objectClass top, organizationalUnit)")
}

// TestSambaCheckRights: Samba computes allowedChildClassesEffective and
// allowedAttributesEffective for the bind account, as Active Directory
// does. guestsync-reader, a plain user, may neither create users nor
// change a group's members; a member of Account Operators may create
// users in an OU (organizationalUnit's default security descriptor grants
// it: (OA;;CCDC;<user>;;AO)) and change a group's members, but not create
// users in a container, whose default security descriptor does not.
func TestSambaCheckRights(t *testing.T) {
	env := needSamba(t)
	admin := env.admin(t)
	ou := env.makeOU(t, admin)

	t.Run("reader", func(t *testing.T) {
		readerDN, readerPassword := os.Getenv("GUESTSYNC_TEST_SAMBA_BINDDN"), os.Getenv("GUESTSYNC_TEST_SAMBA_PASSWORD")
		require.NotEmpty(t, readerDN, "GUESTSYNC_TEST_SAMBA_BINDDN")
		conn := env.connection()
		conn.BindDN, conn.BindPassword = readerDN, readerPassword
		_, err := env.checkTarget(t, conn, ou).Check(context.Background(), nil)
		got := problems(err)
		require.Len(t, got, 3, "%v", err)
		assert.Equal(t, readerDN+" cannot create users in "+ou.dn+" (ad.ou) (user is not in the allowedChildClassesEffective the server computes for it there), which it needs to create shadows: delegate it the task \"Create, delete, and manage user accounts\" on that OU (Active Directory Users and Computers, Delegate Control), or bind as an account that has it",
			got[0])
		assert.Contains(t, got[1], readerDN+" cannot create users in "+ou.disabled+" (ad.disabledOU) (")
		assert.Contains(t, got[1], "which it needs to move disabled shadows")
		assert.Equal(t, readerDN+" cannot change the members of group "+ou.group+" (member is not in the allowedAttributesEffective the server computes for it there), which every create does: grant it \"Write Members\" on the group (dsacls \""+ou.group+"\" /G \"<domain>\\<account>:WP;member\"), or remove the group from ad.groups",
			got[2])
	})

	t.Run("account operator", func(t *testing.T) {
		operatorDN, password := "CN=operator-"+ou.suffix+","+ou.dn, "Chk-"+randomWord(t)+"-Aa1!"
		addUser(t, admin, operatorDN, "op-"+ou.suffix, password)
		addMember(t, admin, "CN=Account Operators,CN=Builtin,"+env.baseDN, operatorDN)
		container := "CN=disabled-container," + ou.dn
		req := goldap.NewAddRequest(container, nil)
		req.Attribute("objectClass", []string{"top", "container"})
		require.NoError(t, admin.Add(req))

		conn := env.connection()
		conn.BindDN, conn.BindPassword = operatorDN, password
		target := env.checkTarget(t, conn, ou)
		_, err := target.Check(context.Background(), nil)
		require.NoError(t, err, "the OU, the disabled OU and the group")

		target, err = New(Options{Connection: conn, BaseDN: env.baseDN, OU: ou.dn, DisabledOU: container,
			Owner: "test-" + ou.suffix, Groups: []string{ou.group}})
		require.NoError(t, err)
		_, err = target.Check(context.Background(), nil)
		got := problems(err)
		require.Len(t, got, 1, "%v", err)
		assert.Contains(t, got[0], operatorDN+" cannot create users in "+container+" (ad.disabledOU) (")
	})
}

// TestSambaCheckSuffixes: a UPN suffix the forest lists neither as a
// domain nor in uPNSuffixes is a warning naming it and its count; once
// added to uPNSuffixes (as Set-ADForest -UPNSuffixes @{Add=...} does) it
// is not. The forest's uPNSuffixes get a value of the test's own, removed
// at the end.
func TestSambaCheckSuffixes(t *testing.T) {
	env := needSamba(t)
	admin := env.admin(t)
	ou := env.makeOU(t, admin)
	target := env.checkTarget(t, env.connection(), ou)
	domain := dnsOf(env.baseDN)
	own := "guestsync-" + ou.suffix + ".test"
	desired := withUPN(
		"ann_fabrikam.com#EXT#@contoso.onmicrosoft.com",
		"bob_fabrikam.com#EXT#@Contoso.onmicrosoft.com",
		"cy_x.org#EXT#@"+own,
		"dee@"+strings.ToUpper(domain),
	)

	warnings, err := target.Check(context.Background(), desired)
	require.NoError(t, err, "a suffix is a warning, not an error")
	require.Len(t, warnings, 2, "%q", warnings)
	assert.Contains(t, warnings[0], "UPN suffix contoso.onmicrosoft.com is not one of the forest's ("+domain)
	assert.Contains(t, warnings[0], "and 2 guests use it")
	assert.Contains(t, warnings[0], `Set-ADForest -Identity `+domain+` -UPNSuffixes @{Add="contoso.onmicrosoft.com"}`)
	assert.Contains(t, warnings[1], "UPN suffix "+own+" is not one of the forest's")
	assert.Contains(t, warnings[1], "and 1 guest uses it")

	partitions := "CN=Partitions,CN=Configuration," + env.baseDN
	add := goldap.NewModifyRequest(partitions, nil)
	add.Add("uPNSuffixes", []string{own})
	require.NoError(t, admin.Modify(add))
	t.Cleanup(func() {
		del := goldap.NewModifyRequest(partitions, nil)
		del.Delete("uPNSuffixes", []string{own})
		if err := admin.Modify(del); err != nil {
			t.Errorf("remove UPN suffix %s from %s: %v", own, partitions, err)
		}
	})
	warnings, err = target.Check(context.Background(), desired)
	require.NoError(t, err)
	require.Len(t, warnings, 1, "%q", warnings)
	assert.Contains(t, warnings[0], "UPN suffix contoso.onmicrosoft.com is not one of the forest's")
	assert.Contains(t, warnings[0], ", "+own+")", "the forest's suffixes are listed")
}

// dnsOf is the DNS name of a domain's DN: DC=example,DC=test is
// example.test.
func dnsOf(baseDN string) string {
	dn, err := goldap.ParseDN(baseDN)
	if err != nil {
		return ""
	}
	var labels []string
	for _, rdn := range dn.RDNs {
		labels = append(labels, rdn.Attributes[0].Value)
	}
	return strings.Join(labels, ".")
}

// addUser adds an enabled user with a password, deleted with its OU.
func addUser(t *testing.T, admin *goldap.Conn, dn, sam, password string) {
	t.Helper()
	req := goldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	req.Attribute("sAMAccountName", []string{sam})
	req.Attribute("unicodePwd", []string{EncodePassword(password)})
	req.Attribute("userAccountControl", []string{"512"})
	require.NoError(t, admin.Add(req), dn)
}

func addMember(t *testing.T, admin *goldap.Conn, group, member string) {
	t.Helper()
	req := goldap.NewModifyRequest(group, nil)
	req.Add("member", []string{member})
	require.NoError(t, admin.Modify(req), group)
}
