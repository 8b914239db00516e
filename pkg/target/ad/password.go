package ad

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math/big"
	"unicode/utf16"
)

// Character classes of a shadow's password. Active Directory's complexity
// rule wants three of the four (Microsoft Learn, "Password must meet
// complexity requirements"); every password has all four.
const (
	lower   = "abcdefghijkmnopqrstuvwxyz"
	upper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	digits  = "23456789"
	symbols = "!#%*+-=?@^_~"
)

// passwordLength gives about 195 bits (69 characters to choose from), and
// is longer than the 14 characters a domain's policy can ask at most
// (unless RelaxMinimumPasswordLengthLimits lets it ask more).
const passwordLength = 32

// NewPassword returns a random password from crypto/rand. It is sent once,
// as unicodePwd, and never logged, stored or shown: a shadow signs in
// only through Kerberos delegation (it requires a smart card).
func NewPassword() (string, error) {
	classes := []string{lower, upper, digits, symbols}
	all := lower + upper + digits + symbols
	b := make([]byte, passwordLength)
	for i := range b {
		set := all
		if i < len(classes) {
			set = classes[i]
		}
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		b[i] = set[n.Int64()]
	}
	// Shuffle, so that the class-guaranteed characters are not first.
	for i := len(b) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		b[i], b[j.Int64()] = b[j.Int64()], b[i]
	}
	return string(b), nil
}

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
