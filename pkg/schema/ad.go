package schema

import (
	"fmt"
	"strings"
)

// AD returns the table of the Active Directory user attributes a shadow
// account mapping writes.
func AD() *Table { return ad }

// ad lists the user attributes a shadow mapping may write, by their LDAP
// names. The lengths are the attributes' rangeUpper in the AD schema, which
// for String(Unicode) counts characters (MS-ADA3 2.183 rangeUpper):
// userPrincipalName 1024 (MS-ADA3 2.349), cn 64 (MS-ADA1 2.110),
// displayName 256 (MS-ADA1 2.175), givenName 64 (MS-ADA1 2.273), sn 64
// (MS-ADA3 2.275), mail 256 (MS-ADA2, E-mail-Addresses), description 1024
// (MS-ADA1 2.153). sAMAccountName's rangeUpper is 256, but a user's is at
// most 20 characters ("SAM-Account-Name attribute" in the AD schema
// documentation; USER_INFO_0 in lmaccess.h).
//
// enabled is not an LDAP attribute: it is the target's view of
// userAccountControl's ACCOUNTDISABLE bit ("true" or "false"), which the
// target reads and writes; the rest of userAccountControl is the target's
// own.
//
// RequiredOnCreate: cn names the object (its RDN); sAMAccountName is the
// logon name every security principal needs (Windows generates an
// unreadable one when it is missing, Windows 2000 refuses the add);
// userPrincipalName is the name Kerberos constrained delegation finds the
// shadow by, the reason a shadow exists.
var ad = newTable("ad", "Active Directory", "AD attribute", "shadow account", []Property{
	{Name: "cn", MaxLength: 64, RequiredOnCreate: true, rule: checkCN},
	{Name: "description", MaxLength: 1024},
	{Name: "displayName", MaxLength: 256},
	{Name: "enabled", Kind: Bool},
	{Name: "givenName", MaxLength: 64},
	{Name: "mail", MaxLength: 256},
	{Name: "sAMAccountName", MaxLength: 20, RequiredOnCreate: true, rule: checkSAMAccountName},
	{Name: "sn", MaxLength: 64},
	{Name: "userPrincipalName", MaxLength: 1024, RequiredOnCreate: true, rule: checkADUPN},
})

// SAMAccountNameForbidden are the printable characters a user's
// sAMAccountName may not contain: the AD schema documentation's list
// (" / \ [ ] : ; | = , + * ? < >) and @, with which the name cannot be
// used to sign in (only the UPN can then).
const SAMAccountNameForbidden = `"/\[]:;|=,+*?<>@`

// checkSAMAccountName: USER_INFO_0 (lmaccess.h) adds to the schema page's
// characters that a user name cannot end with a period nor contain the
// non-printable characters 1 to 31.
func checkSAMAccountName(v, subject string) error {
	if i := strings.IndexAny(v, SAMAccountNameForbidden); i >= 0 {
		return fmt.Errorf("%s contains '%c', which Active Directory does not allow in a logon name (%s)",
			subject, v[i], strings.Join(strings.Split(SAMAccountNameForbidden, ""), " "))
	}
	if r, ok := controlCharacter(v); ok {
		return fmt.Errorf("%s contains the control character %U, which Active Directory does not allow in a logon name", subject, r)
	}
	if strings.HasSuffix(v, ".") {
		return fmt.Errorf("%s ends with '.', which Active Directory does not allow in a logon name", subject)
	}
	return nil
}

// checkCN: the target escapes the RDN as RFC 4514 requires, so any
// printable character may appear; control characters cannot be typed,
// shown or searched for sensibly, and no directory object should carry one
// in its name.
func checkCN(v, subject string) error {
	if r, ok := controlCharacter(v); ok {
		return fmt.Errorf("%s contains the control character %U, which guestsync does not put in an object's name", subject, r)
	}
	return nil
}

// checkADUPN: LDAP takes any string as a UPN, but Kerberos (and so
// application proxy's delegation) finds the shadow by it as name@suffix,
// so a value without exactly one @ with text on both sides could never be
// used.
func checkADUPN(v, subject string) error {
	name, suffix, ok := strings.Cut(v, "@")
	if !ok || name == "" || suffix == "" || strings.Contains(suffix, "@") {
		return fmt.Errorf("%s must be name@suffix with exactly one @", subject)
	}
	if r, ok := controlCharacter(v); ok {
		return fmt.Errorf("%s contains the control character %U", subject, r)
	}
	return nil
}
