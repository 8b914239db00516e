package graph

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

// Character classes for generated passwords. Graph requires three of four
// classes and 8 to 256 characters; every generated password has all four.
const (
	lower   = "abcdefghijkmnopqrstuvwxyz"
	upper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	digits  = "23456789"
	symbols = "!#%*+-=?@^_~"
)

// passwordLength gives about 150 bits of entropy.
const passwordLength = 28

// NewPassword returns a random password from crypto/rand. It is sent once
// in the create request and never logged or stored: guests authenticate
// with their own identity, or an admin resets the password.
func NewPassword() (string, error) {
	classes := []string{lower, upper, digits, symbols}
	all := lower + upper + digits + symbols
	b := make([]byte, passwordLength)
	for i := range b {
		set := all
		if i < len(classes) {
			set = classes[i]
		}
		c, err := pick(set)
		if err != nil {
			return "", err
		}
		b[i] = c
	}
	// Shuffle so the class-guaranteed characters are not always first.
	for i := len(b) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		b[i], b[j.Int64()] = b[j.Int64()], b[i]
	}
	return string(b), nil
}

func pick(set string) (byte, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
	if err != nil {
		return 0, fmt.Errorf("generate password: %w", err)
	}
	return set[n.Int64()], nil
}
