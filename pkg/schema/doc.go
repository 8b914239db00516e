// Package schema describes, for each kind of target, the properties a
// mapping may write and the limits the target's directory documents for
// each: Microsoft Graph's guest users ("graph") and Active Directory's
// shadow accounts ("ad"). The mapping compiler checks mapped values against
// a table and the targets check what they send against the same one, so
// that a value the directory would refuse fails its entry in plan and
// validate, never as a failed write.
//
// The tables are plain data: this package imports neither the Graph SDK
// nor an LDAP library, so the mapping and both targets can share it.
package schema
