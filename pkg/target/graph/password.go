package graph

import "github.com/guestsync/guestsync/pkg/password"

// passwordLength gives about 150 bits of entropy; Graph takes 8 to 256
// characters of three of four classes.
const passwordLength = 28

// NewPassword returns a random password (see pkg/password). It is sent
// once in the create request and never logged or stored: guests
// authenticate with their own identity, or an admin resets the password.
func NewPassword() (string, error) { return password.New(passwordLength) }
