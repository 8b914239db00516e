// Package password makes the random passwords guestsync sets and never
// shows: an internal guest's (Graph) and a shadow account's (Active
// Directory). Both services want three of four character classes; every
// password here has all four.
package password

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

// Character classes, without the look-alikes l, o, I, O, 0 and 1.
const (
	lower   = "abcdefghijkmnopqrstuvwxyz"
	upper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	digits  = "23456789"
	symbols = "!#%*+-=?@^_~"
)

// New returns a random password of length characters (at least 4) from
// crypto/rand, with at least one of each class, in random places.
func New(length int) (string, error) {
	if length < 4 {
		return "", fmt.Errorf("generate password: %d characters cannot hold the four classes", length)
	}
	classes := []string{lower, upper, digits, symbols}
	all := lower + upper + digits + symbols
	b := make([]byte, length)
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
