package ad

import (
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSambaWriteOrder records what Samba accepts in the portable order
// (add disabled, set the password, enable with SMARTCARD_REQUIRED), and
// what else it lets through, in the test's log. Samba 4.17 (Debian 12):
// the add with userAccountControl 514 and no password is accepted;
// enabling (512) without a password is accepted too (Active Directory
// refuses it), which is why guestsync adds disabled and enables last;
// setting SMARTCARD_REQUIRED replaces the password by a random one (the
// old one no longer binds, msDS-KeyVersionNumber goes up) but leaves
// pwdLastSet as it was; unicodePwd is accepted over plain LDAP.
func TestSambaWriteOrder(t *testing.T) {
	env := needSamba(t)
	admin := env.admin(t)
	ou := env.makeOU(t, admin)
	dn := "CN=order," + ou.dn

	add := goldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	add.Attribute("sAMAccountName", []string{"order-" + ou.suffix})
	add.Attribute("userAccountControl", []string{uacString(uacAdded)})
	require.NoError(t, admin.Add(add), "add disabled, without a password, without PASSWD_NOTREQD")
	e := read(t, admin, dn, "userAccountControl", "pwdLastSet")
	t.Logf("after the add: userAccountControl %s, pwdLastSet %s", e.GetAttributeValue("userAccountControl"), e.GetAttributeValue("pwdLastSet"))

	enable := goldap.NewModifyRequest(dn, nil)
	enable.Replace("userAccountControl", []string{uacString(uacNormalAccount)})
	err := admin.Modify(enable)
	t.Logf("enable without a password: %v", err)

	pw, err := NewPassword()
	require.NoError(t, err)
	set := goldap.NewModifyRequest(dn, nil)
	set.Replace("unicodePwd", []string{EncodePassword(pw)})
	require.NoError(t, admin.Modify(set), "set the password")
	before := read(t, admin, dn, "userAccountControl", "pwdLastSet", "msDS-KeyVersionNumber")
	t.Logf("after the password: userAccountControl %s, pwdLastSet %s, kvno %s", before.GetAttributeValue("userAccountControl"), before.GetAttributeValue("pwdLastSet"), before.GetAttributeValue("msDS-KeyVersionNumber"))
	t.Logf("bind with the password, enabled without smart card: %v", env.bindAs(t, dn, pw))

	final := goldap.NewModifyRequest(dn, nil)
	final.Replace("userAccountControl", []string{uacString(uacShadow)})
	require.NoError(t, admin.Modify(final), "enable with SMARTCARD_REQUIRED")
	after := read(t, admin, dn, "userAccountControl", "pwdLastSet", "msDS-KeyVersionNumber")
	t.Logf("after 0x40200: userAccountControl %s, pwdLastSet %s, kvno %s", after.GetAttributeValue("userAccountControl"), after.GetAttributeValue("pwdLastSet"), after.GetAttributeValue("msDS-KeyVersionNumber"))
	t.Logf("bind with the password after SMARTCARD_REQUIRED: %v", env.bindAs(t, dn, pw))
	assert.EqualValues(t, uacShadow, uacOf(t, after))

	plain, err := goldap.DialURL(env.url)
	require.NoError(t, err)
	defer plain.Close()
	require.NoError(t, plain.Bind(env.adminDN, env.adminPassword))
	overPlain := goldap.NewModifyRequest(dn, nil)
	overPlain.Replace("unicodePwd", []string{EncodePassword(pw)})
	t.Logf("set the password over plain LDAP: %v", plain.Modify(overPlain))
	assert.NotEqual(t, "0", after.GetAttributeValue("pwdLastSet"))
}
