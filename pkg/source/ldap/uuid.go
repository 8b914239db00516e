package ldap

import (
	"encoding/hex"
	"fmt"
)

// EntryUUIDBytes converts an OpenLDAP entryUUID (RFC 4530), such as
// "e808097c-7bf9-1041-99b3-1532daeb033d", to its 16 bytes in textual order.
// Upper-case hex digits are accepted.
//
// This is not the byte order of Active Directory's objectGUID, whose first
// three groups are little-endian in the binary value: an entryUUID's bytes
// and an objectGUID's bytes are each only comparable with their own kind.
func EntryUUIDBytes(s string) ([]byte, error) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, fmt.Errorf("entryUUID %q: want 36 characters, 8-4-4-4-12 hex digits", s)
	}
	digits := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	b, err := hex.DecodeString(digits)
	if err != nil {
		return nil, fmt.Errorf("entryUUID %q: %w", s, err)
	}
	return b, nil
}
