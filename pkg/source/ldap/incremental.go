package ldap

// Incremental reads: Read records a watermark, ReadChanges reads what
// changed since one.
//
// The watermark (watermark.go) is taken at the START of a read, so that
// a change made while the read runs is read again next time rather than
// lost; reading a change twice is harmless, the engine plans on the
// entry as it is. It names the mechanism that made it:
//
//   - dirsync (Active Directory, Samba AD): a DirSync cookie
//     (LDAP_SERVER_DIRSYNC_OID) per naming context holding a base, asked
//     with LDAP_DIRSYNC_OBJECT_SECURITY when the account lacks the
//     "Replicating Directory Changes" right, so that an ordinary account
//     works. See dirsync.go.
//   - usn (Active Directory when DirSync is refused): the domain
//     controller (dsServiceName, invocationId) and its
//     highestCommittedUSN. See usn.go.
//   - csn (other servers): the suffix's contextCSN, or the highest
//     entryCSN (else modifyTimestamp) in scope. See csn.go.
//
// ReadChanges never fails and never reads wrongly because of a watermark
// it cannot use (malformed, made by another mechanism than Incremental
// allows, a USN watermark of another domain controller, a server of
// another kind): it logs why and makes a full read instead, with
// Result.Incremental false and a new watermark.
//
// What an incremental read delivers:
//
//   - every object in scope that changed, as a complete entry (DirSync
//     answers carry only the changed attributes: the object is read
//     again);
//   - deletions as Entry{Deleted: true} with what the directory kept:
//     at least objectGUID (and mS-DS-ConsistencyGuid, objectSid when
//     kept and readable), when the account may see deleted objects (see
//     dirsync.go and usn.go);
//   - objects that left the scope while still existing (moved out of the
//     bases or into an excluded subtree, no longer matching the filter,
//     removed from the groups) as Entry{Deleted: true} too, with their
//     current attributes, logged at info level with the reason: for
//     guestsync they are gone. What each mechanism can see of these is
//     said in its file; what it cannot see waits for a full read.
//
// On servers other than Active Directory deletions are not visible: an
// entry that is gone has no entryCSN to compare. Incremental reads there
// report none, and a periodic full read (--full) finds removals by
// absence.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/source"
)

// Values of Config.Incremental.
const (
	IncrementalOff     = "off"
	IncrementalAuto    = "auto"
	IncrementalDirSync = mechDirSync
	IncrementalUSN     = mechUSN
	IncrementalCSN     = mechCSN
)

var _ source.ChangeReader = (*Reader)(nil)

// validateIncremental checks Incremental against the other settings.
func (cfg Config) validateIncremental(bad func(string, ...any)) {
	switch cfg.Incremental {
	case IncrementalOff:
		return
	case IncrementalAuto:
	case IncrementalDirSync, IncrementalUSN:
		if cfg.Directory == DirectoryLDAP {
			bad("incremental %s is Active Directory's, but directory is ldap", cfg.Incremental)
		}
	case IncrementalCSN:
		if cfg.Directory == DirectoryAD {
			bad("incremental csn is for servers other than Active Directory, but directory is ad: use auto, dirsync or usn")
		}
	default:
		bad("incremental must be auto, dirsync, usn, csn or off, not %q", cfg.Incremental)
		return
	}
	if cfg.FollowReferrals {
		// A watermark is one server's: the servers referrals lead to
		// keep their own.
		bad("incremental reads do not follow referrals: set incremental to off, or followReferrals to false")
	}
}

// allows reports whether Incremental lets mechanism mech be used.
func (r *Reader) allows(mech string) bool {
	return r.cfg.Incremental == IncrementalAuto || r.cfg.Incremental == mech
}

// rootDSE is what the reader needs of a server's RootDSE.
type rootDSE struct {
	kind           string // DirectoryAD or DirectoryLDAP
	namingContexts []string
	dsServiceName  string
	highestUSN     int64
}

var rootDSEAttributes = []string{"supportedCapabilities", "forestFunctionality", "namingContexts",
	"dsServiceName", "highestCommittedUSN"}

func readRootDSE(ctx context.Context, s *session) (rootDSE, error) {
	e, err := s.readEntry(ctx, "", rootDSEAttributes)
	if err == nil && e == nil {
		err = errors.New("no RootDSE returned")
	}
	if err != nil {
		return rootDSE{}, fmt.Errorf("read the RootDSE of %s: %w", s.url, err)
	}
	d := rootDSE{
		kind:           DirectoryLDAP,
		namingContexts: e.GetAttributeValues("namingContexts"),
		dsServiceName:  e.GetAttributeValue("dsServiceName"),
	}
	if slices.Contains(e.GetAttributeValues("supportedCapabilities"), adCapability) || len(e.GetAttributeValues("forestFunctionality")) > 0 {
		d.kind = DirectoryAD
	}
	if v := e.GetAttributeValue("highestCommittedUSN"); v != "" {
		d.highestUSN, _ = strconv.ParseInt(v, 10, 64)
	}
	return d, nil
}

// namingContextOf returns the naming context that holds dn: the longest
// of the server's naming contexts at or above it.
func (d rootDSE) namingContextOf(dn *goldap.DN) (string, bool) {
	best, depth := "", -1
	for _, nc := range d.namingContexts {
		p, err := goldap.ParseDN(nc)
		if err != nil || !atOrBelow(dn, p) {
			continue
		}
		if len(p.RDNs) > depth {
			best, depth = nc, len(p.RDNs)
		}
	}
	return best, depth >= 0
}

// baseNamingContexts returns the naming contexts that hold the bases, in
// the order of the bases, each once.
func (r *Reader) baseNamingContexts(d rootDSE) ([]string, error) {
	var ncs []string
	for _, b := range r.bases {
		nc, ok := d.namingContextOf(b.parsed)
		if !ok {
			return nil, fmt.Errorf("base %q is in none of the server's naming contexts (%s)", b.dn, strings.Join(d.namingContexts, "; "))
		}
		if !slices.ContainsFunc(ncs, func(s string) bool { return sameDN(s, nc) }) {
			ncs = append(ncs, nc)
		}
	}
	return ncs, nil
}

// sameDN compares two DNs as DNs, falling back to letter case only when
// one does not parse.
func sameDN(a, b string) bool {
	pa, errA := goldap.ParseDN(a)
	pb, errB := goldap.ParseDN(b)
	if errA != nil || errB != nil {
		return strings.EqualFold(a, b)
	}
	return pa.EqualFold(pb)
}

// startWatermark takes the watermark at the start of a full read. A
// server that gives none is not an error: the read goes on, logs why, and
// returns no watermark, so that the next read is full as well.
func (r *Reader) startWatermark(ctx context.Context, s *session) (*watermark, error) {
	if r.cfg.Incremental == IncrementalOff {
		return nil, nil
	}
	start := time.Now()
	wm, why, err := r.chooseWatermark(ctx, s)
	if err != nil {
		return nil, err
	}
	if wm == nil {
		r.log.Info("ldap: no watermark: the next read will be full as well", "url", s.url.String(), "reason", why)
		return nil, nil
	}
	r.log.Info("ldap watermark taken at the start of the read", "url", s.url.String(), "mechanism", wm.Mech,
		"detail", wm.describe(), "duration", time.Since(start))
	return wm, nil
}

func (r *Reader) chooseWatermark(ctx context.Context, s *session) (*watermark, string, error) {
	d, err := readRootDSE(ctx, s)
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", err
		}
		return nil, err.Error(), nil
	}
	mode := r.cfg.Incremental
	if d.kind != DirectoryAD {
		if mode != IncrementalAuto && mode != IncrementalCSN {
			return nil, fmt.Sprintf("incremental %s is Active Directory's, and %s is not Active Directory", mode, s.url), nil
		}
		return r.csnStart(ctx, s, d, nil)
	}
	switch mode {
	case IncrementalCSN:
		return nil, fmt.Sprintf("incremental csn is for servers other than Active Directory, and %s is Active Directory", s.url), nil
	case IncrementalUSN:
		return r.usnStart(ctx, s, d)
	}
	wm, refused, err := r.dirsyncStart(ctx, s, d)
	switch {
	case err != nil:
		return nil, "", err
	case refused == nil:
		return wm, "", nil
	case mode == IncrementalDirSync:
		return nil, "DirSync refused (incremental is dirsync, so no USN fallback): " + refused.Error(), nil
	}
	r.log.Info("ldap: DirSync refused; falling back to the USN watermark of this domain controller",
		"url", s.url.String(), "reason", refused.Error())
	return r.usnStart(ctx, s, d)
}

// describe says what a watermark holds, for logs.
func (w watermark) describe() string {
	switch w.Mech {
	case mechDirSync:
		ncs := make([]string, len(w.NCs))
		for i, nc := range w.NCs {
			ncs[i] = nc.DN
		}
		security := ""
		if w.ObjectSecurity {
			security = ", with object security"
		}
		return "cookies for " + strings.Join(ncs, "; ") + security
	case mechUSN:
		return fmt.Sprintf("highestCommittedUSN %d of %s (invocationId %s)", w.USN, w.DSA, w.InvocationID)
	case mechCSN:
		op := ">="
		if w.After {
			op = ">"
		}
		return fmt.Sprintf("%s%s%s (from %s)", w.Attr, op, w.Value, w.From)
	}
	return w.Mech
}

// ReadChanges streams the entries that changed, left the scope or were
// deleted since watermark (see the top of this file), or makes a full
// read when watermark cannot be used.
func (r *Reader) ReadChanges(ctx context.Context, watermark string, fn func(source.Entry) error) (source.Result, error) {
	if r.cfg.Incremental == IncrementalOff {
		return r.fullInstead(ctx, fn, "incremental reads are off")
	}
	wm, err := decodeWatermark(watermark)
	if err != nil {
		return r.fullInstead(ctx, fn, err.Error())
	}
	if !r.allows(wm.Mech) {
		return r.fullInstead(ctx, fn, fmt.Sprintf("the watermark was made by %s, and incremental is %s", wm.Mech, r.cfg.Incremental))
	}
	r.warnInsecure()
	start := time.Now()
	res, why, err := r.readChanges(ctx, wm, fn)
	if why != "" {
		return r.fullInstead(ctx, fn, why)
	}
	if err == nil {
		r.log.Info("ldap changes read", "mechanism", wm.Mech, "entries", res.Entries, "duration", time.Since(start))
	}
	return res, err
}

// fullInstead makes a full read in place of an incremental one.
func (r *Reader) fullInstead(ctx context.Context, fn func(source.Entry) error, why string) (source.Result, error) {
	r.log.Info("ldap: reading everything instead of the changes", "reason", why)
	return r.Read(ctx, fn)
}

// readChanges connects and reads the changes since wm. A non-empty why
// means that wm cannot be used here, found before anything was passed to
// fn: the caller then reads everything.
func (r *Reader) readChanges(ctx context.Context, wm watermark, fn func(source.Entry) error) (source.Result, string, error) {
	s, err := r.connect(ctx)
	if err != nil {
		return source.Result{}, "", err
	}
	rs := newReadState(r, fn)
	defer rs.close()
	rs.sessions[s.url.String()] = s
	d, err := readRootDSE(ctx, s)
	if err != nil {
		if ctx.Err() != nil {
			return source.Result{}, "", err
		}
		return source.Result{}, err.Error(), nil
	}
	if wm.Mech == mechCSN && d.kind == DirectoryAD {
		return source.Result{}, fmt.Sprintf("the watermark is for servers other than Active Directory, and %s is Active Directory", s.url), nil
	}
	if wm.Mech != mechCSN && d.kind != DirectoryAD {
		return source.Result{}, fmt.Sprintf("the watermark is Active Directory's (%s), and %s is not Active Directory", wm.Mech, s.url), nil
	}
	// Each mechanism applies Groups (rs.prepare) once it has the new
	// watermark, as a full read does: a membership that changes after
	// the watermark is read again next time.
	switch wm.Mech {
	case mechDirSync:
		return r.dirsyncChanges(ctx, rs, s, d, wm)
	case mechUSN:
		return r.usnChanges(ctx, rs, s, d, wm)
	default:
		return r.csnChanges(ctx, rs, s, d, wm)
	}
}

// placeOf says why dn is out of the bases or excluded, or "" when it is
// in scope by place (groups aside).
func (r *Reader) placeOf(dn *goldap.DN) string {
	if ex, ok := excludedBy(dn, r.excludes); ok {
		return "in the excluded subtree " + ex.dn
	}
	for _, b := range r.bases {
		switch b.scope {
		case goldap.ScopeWholeSubtree:
			if atOrBelow(dn, b.parsed) {
				return ""
			}
		case goldap.ScopeSingleLevel:
			if len(dn.RDNs) == len(b.parsed.RDNs)+1 && b.parsed.AncestorOfFold(dn) {
				return ""
			}
		default:
			if b.parsed.EqualFold(dn) {
				return ""
			}
		}
	}
	return "outside the bases"
}

// placeOfDN is placeOf for a DN string; one that does not parse is out.
func (r *Reader) placeOfDN(dn string) string {
	p, err := goldap.ParseDN(dn)
	if err != nil {
		return fmt.Sprintf("its DN %q does not parse", dn)
	}
	return r.placeOf(p)
}

// guidBase is the DN that names an object by its objectGUID, which still
// finds it after a move.
func guidBase(guid string) string { return "<GUID=" + hex.EncodeToString([]byte(guid)) + ">" }
