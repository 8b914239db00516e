package ldap

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Mechanisms that make watermarks, as recorded in them.
const (
	mechDirSync = "dirsync"
	mechUSN     = "usn"
	mechCSN     = "csn"
)

// watermarkVersion is the format of the watermark's JSON. Another version
// is a watermark this reader cannot use: it reads everything again.
const watermarkVersion = 1

// watermark records where the next incremental read starts and which
// mechanism made it. It travels as Result.Watermark, an opaque string:
// base64url of a small JSON object, so that it survives any state file.
type watermark struct {
	V    int    `json:"v"`
	Mech string `json:"m"`

	// dirsync: a cookie per naming context holding a base, and whether
	// the searches ask with LDAP_DIRSYNC_OBJECT_SECURITY.
	NCs            []ncCookies `json:"nc,omitempty"`
	ObjectSecurity bool        `json:"os,omitempty"`

	// usn: the domain controller (its NTDS Settings DN and invocationId,
	// which changes when it is restored from a backup) and the
	// highestCommittedUSN read at the start of the read.
	DSA          string `json:"dsa,omitempty"`
	InvocationID string `json:"inv,omitempty"`
	USN          int64  `json:"usn,omitempty"`

	// csn: the changes have Attr (entryCSN or modifyTimestamp) at or
	// after Value, or strictly after it when After is set.
	Attr  string `json:"attr,omitempty"`
	Value string `json:"val,omitempty"`
	After bool   `json:"after,omitempty"`
	// From says where Value came from: "contextCSN" or "probe" (the
	// highest value in scope at the start of the read).
	From string `json:"from,omitempty"`
}

// ncCookies are the DirSync cookies of one naming context: Changes for the
// objects that match the filter (and deletions), Leavers for those that
// do not (see dirsync.go). Leavers is empty when no such search is made.
type ncCookies struct {
	DN      string `json:"dn"`
	Changes []byte `json:"c"`
	Leavers []byte `json:"l,omitempty"`
}

func (w watermark) encode() string {
	w.V = watermarkVersion
	b, err := json.Marshal(w)
	if err != nil {
		// A struct of strings, numbers and byte slices always marshals.
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeWatermark parses a watermark and checks that it holds what its
// mechanism needs. Every error means: read everything again.
func decodeWatermark(s string) (watermark, error) {
	var w watermark
	if s == "" {
		return w, errors.New("no watermark")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return w, fmt.Errorf("not a watermark of this reader (not base64url): %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return w, fmt.Errorf("not a watermark of this reader: %w", err)
	}
	if w.V != watermarkVersion {
		return w, fmt.Errorf("watermark version %d, this reader knows %d", w.V, watermarkVersion)
	}
	switch w.Mech {
	case mechDirSync:
		if len(w.NCs) == 0 {
			return w, errors.New("dirsync watermark without naming contexts")
		}
		for _, nc := range w.NCs {
			if nc.DN == "" || len(nc.Changes) == 0 {
				return w, errors.New("dirsync watermark with an empty naming context or cookie")
			}
		}
	case mechUSN:
		if w.DSA == "" || w.USN <= 0 {
			return w, errors.New("usn watermark without its domain controller or USN")
		}
	case mechCSN:
		if w.Value == "" || (w.Attr != "entryCSN" && w.Attr != "modifyTimestamp") {
			return w, errors.New("csn watermark without entryCSN or modifyTimestamp value")
		}
		if strings.ContainsAny(w.Value, "()*\\\x00") {
			return w, fmt.Errorf("csn watermark value %q is not a time stamp", w.Value)
		}
	default:
		return w, fmt.Errorf("watermark made by %q, which this reader does not know", w.Mech)
	}
	return w, nil
}

// cookie returns the cookies stored for the naming context dn.
func (w watermark) cookie(dn string) (ncCookies, bool) {
	for _, nc := range w.NCs {
		if sameDN(nc.DN, dn) {
			return nc, true
		}
	}
	return ncCookies{}, false
}
