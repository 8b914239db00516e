// Package mappings ships guestsync's ready-made mapping files inside the
// binary, so that the demo and `guestsync validate` work without them on disk.
package mappings

import "embed"

// Files holds every *.yaml mapping in this folder.
//
//go:embed *.yaml
var Files embed.FS

// Default is the file name of the default partner-guest mapping.
const Default = "partner-guest.yaml"

// Shadow is the file name of the guest-shadow mapping: the tenant's guests
// as shadow accounts in Active Directory.
const Shadow = "guest-shadow.yaml"
