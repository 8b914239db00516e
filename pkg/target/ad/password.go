package ad

import (
	"encoding/binary"
	"unicode/utf16"

	"github.com/guestsync/guestsync/pkg/password"
)

// passwordLength gives about 195 bits (69 characters to choose from), and
// is longer than the 14 characters a domain's policy can ask at most
// (unless RelaxMinimumPasswordLengthLimits lets it ask more).
const passwordLength = 32

// NewPassword returns a random password (see pkg/password). It is sent
// once, as unicodePwd, and never logged, stored or shown: a shadow signs
// in only through Kerberos delegation (it requires a smart card). Active
// Directory's complexity rule wants three of four classes (Microsoft
// Learn, "Password must meet complexity requirements").
func NewPassword() (string, error) { return password.New(passwordLength) }

// EncodePassword is unicodePwd's value for pw: the password in double
// quotes, in UTF-16LE (MS-ADTS 3.1.1.3.1.5.1, "unicodePwd").
func EncodePassword(pw string) string {
	units := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	return string(b)
}
