// Package ad decodes the Active Directory attribute values that are not
// plain text: binary GUIDs and SIDs, userAccountControl flags, FILETIME
// timestamps (accountExpires, pwdLastSet, lastLogonTimestamp) and
// GeneralizedTime (whenChanged). Entries keep the raw bytes; these
// functions turn them into what an admin reads, and report values that do
// not decode instead of crashing.
package ad

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// binaryAttributes are AD attributes whose values are bytes, not text
// (octet strings in the AD schema), compared lower-case.
var binaryAttributes = map[string]bool{
	"objectguid": true, "objectsid": true, "ms-ds-consistencyguid": true, "sidhistory": true,
	"tokengroups": true, "msexchmailboxguid": true, "msexchmasteraccountsid": true,
	"thumbnailphoto": true, "jpegphoto": true, "usercertificate": true, "usersmimecertificate": true,
	"logonhours": true, "ntsecuritydescriptor": true, "msds-generationid": true,
}

// IsBinary reports whether values of the named attribute are bytes.
func IsBinary(attribute string) bool { return binaryAttributes[strings.ToLower(attribute)] }

// GUIDString formats a 16-byte objectGUID the way AD tools show it: the
// first three fields are little-endian ("Microsoft GUID" byte order), so
// the bytes 89 57 c9 f3 e1 ac 54 49 ... print as f3c95789-ace1-4954-....
func GUIDString(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("a GUID is 16 bytes, not %d", len(b))
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]), b[8:10], b[10:16]), nil
}

// SIDString formats a binary security identifier as S-R-I-S-S...: revision
// byte, sub-authority count, 48-bit big-endian identifier authority, then
// 32-bit little-endian sub-authorities ([MS-DTYP] 2.4.2.2).
func SIDString(b []byte) (string, error) {
	if len(b) < 8 {
		return "", fmt.Errorf("a SID is at least 8 bytes, not %d", len(b))
	}
	count := int(b[1])
	if len(b) != 8+4*count {
		return "", fmt.Errorf("a SID with %d sub-authorities is %d bytes, not %d", count, 8+4*count, len(b))
	}
	var auth uint64
	for _, x := range b[2:8] {
		auth = auth<<8 | uint64(x)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "S-%d-%d", b[0], auth)
	for i := 0; i < count; i++ {
		fmt.Fprintf(&s, "-%d", binary.LittleEndian.Uint32(b[8+4*i:]))
	}
	return s.String(), nil
}

// UAC is a userAccountControl value.
type UAC uint32

// userAccountControl flags, from Microsoft's "UserAccountControl property
// flags" documentation.
var uacFlags = []struct {
	bit  UAC
	name string
}{
	{0x0001, "SCRIPT"},
	{0x0002, "ACCOUNTDISABLE"},
	{0x0008, "HOMEDIR_REQUIRED"},
	{0x0010, "LOCKOUT"},
	{0x0020, "PASSWD_NOTREQD"},
	{0x0040, "PASSWD_CANT_CHANGE"},
	{0x0080, "ENCRYPTED_TEXT_PWD_ALLOWED"},
	{0x0100, "TEMP_DUPLICATE_ACCOUNT"},
	{0x0200, "NORMAL_ACCOUNT"},
	{0x0800, "INTERDOMAIN_TRUST_ACCOUNT"},
	{0x1000, "WORKSTATION_TRUST_ACCOUNT"},
	{0x2000, "SERVER_TRUST_ACCOUNT"},
	{0x10000, "DONT_EXPIRE_PASSWORD"},
	{0x20000, "MNS_LOGON_ACCOUNT"},
	{0x40000, "SMARTCARD_REQUIRED"},
	{0x80000, "TRUSTED_FOR_DELEGATION"},
	{0x100000, "NOT_DELEGATED"},
	{0x200000, "USE_DES_KEY_ONLY"},
	{0x400000, "DONT_REQ_PREAUTH"},
	{0x800000, "PASSWORD_EXPIRED"},
	{0x1000000, "TRUSTED_TO_AUTH_FOR_DELEGATION"},
	{0x4000000, "PARTIAL_SECRETS_ACCOUNT"},
}

// ParseUAC reads a userAccountControl value as AD writes it (a decimal
// 32-bit integer, sometimes negative when a tool printed it signed).
func ParseUAC(s string) (UAC, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < -(1<<31) || n > 1<<32-1 {
		return 0, fmt.Errorf("userAccountControl %q is not a 32-bit integer", s)
	}
	return UAC(uint32(n)), nil
}

// Disabled reports the ACCOUNTDISABLE flag.
func (u UAC) Disabled() bool { return u&0x2 != 0 }

// Locked reports the LOCKOUT flag. AD computes lockout on the fly
// (msDS-User-Account-Control-Computed); the stored flag can be stale.
func (u UAC) Locked() bool { return u&0x10 != 0 }

// Flags names the flags set, in bit order; unknown bits as hex.
func (u UAC) Flags() []string {
	var out []string
	rest := u
	for _, f := range uacFlags {
		if u&f.bit != 0 {
			out = append(out, f.name)
			rest &^= f.bit
		}
	}
	if rest != 0 {
		out = append(out, fmt.Sprintf("0x%x", uint32(rest)))
	}
	return out
}

// String is "514 (ACCOUNTDISABLE|NORMAL_ACCOUNT)".
func (u UAC) String() string {
	return fmt.Sprintf("%d (%s)", uint32(u), strings.Join(u.Flags(), "|"))
}

// unixFromFileTime is the number of seconds from 1601-01-01 UTC, where
// FILETIME counts 100 ns ticks from, to the Unix epoch.
const unixFromFileTime = 11644473600

// neverFileTime is what AD stores in accountExpires for "never".
const neverFileTime = 1<<63 - 1

// FileTime reads an AD large-integer timestamp (accountExpires, pwdLastSet,
// lastLogonTimestamp). never is true for 0 and 0x7FFFFFFFFFFFFFFF, which
// AD uses for "never expires" / "never set" ("Account-Expires attribute").
func FileTime(s string) (t time.Time, never bool, err error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%q is not an AD FILETIME (a 64-bit integer)", s)
	}
	if n == 0 || n == neverFileTime {
		return time.Time{}, true, nil
	}
	if n < 0 {
		return time.Time{}, false, fmt.Errorf("FILETIME %d is negative", n)
	}
	// Via Unix seconds: a time.Duration from 1601 would overflow.
	secs, rem := n/10_000_000, n%10_000_000
	return time.Unix(secs-unixFromFileTime, rem*100).UTC(), false, nil
}

// GeneralizedTime reads an LDAP GeneralizedTime (RFC 4517 3.3.13) as AD
// and OpenLDAP write it: 20261124013951.0Z, 20261124013951Z,
// 20261124013951.123456Z, or with a +hhmm offset.
func GeneralizedTime(s string) (time.Time, error) {
	for _, layout := range []string{"20060102150405Z0700", "20060102150405.0Z0700", "20060102150405.000000Z0700", "200601021504Z0700", "2006010215Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	// Any number of fraction digits.
	if i := strings.IndexAny(s, ".,"); i == 14 {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if t, err := time.Parse("20060102150405Z0700", s[:i]+s[j:]); err == nil {
			frac, _ := strconv.ParseFloat("0."+s[i+1:j], 64)
			return t.Add(time.Duration(frac * float64(time.Second))).UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a GeneralizedTime like 20261124013951.0Z", s)
}
