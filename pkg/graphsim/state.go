package graphsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// adminPrefix is where the emulator's own endpoints live, outside Graph's
// URL space so that no Graph client can reach them by accident.
const adminPrefix = "/_graphsim/"

// snapshotVersion is the format version of Snapshot's JSON.
const snapshotVersion = 1

// snapshot is the emulated tenant as JSON: the users, the recycle bin,
// what delta needs to continue from saved deltaLinks, and the groups,
// applications and service principals (directorySnapshot). Passwords are never
// written (Graph never returns them either).
type snapshot struct {
	Version         int      `json:"version"`
	TenantID        string   `json:"tenantId"`
	TenantName      string   `json:"tenantName"`
	VerifiedDomains []string `json:"verifiedDomains"`
	ChangeSeq       uint64   `json:"changeSeq"`
	DeltaEpoch      uint64   `json:"deltaEpoch,omitempty"` // ExpireDeltaTokens calls so far
	// DeltaKey signs the delta tokens the instance issues (encodeToken),
	// so that a restart with this state accepts them and another
	// instance does not. A snapshot without one (an older emulator's)
	// gets a new key: the links it issued are refused, and a client
	// starts over with an initial round.
	DeltaKey     []byte            `json:"deltaKey,omitempty"`
	Users        []snapshotUser    `json:"users"`
	DeletedUsers []snapshotUser    `json:"deletedUsers"`
	Removed      []snapshotRemoval `json:"removed"`
	directorySnapshot
}

type snapshotUser struct {
	ID         string         `json:"id"`
	Seq        uint64         `json:"seq"`
	Changed    uint64         `json:"changed"`
	DeletedAt  *time.Time     `json:"deletedAt,omitempty"`
	Properties map[string]any `json:"properties"`
	// Cleared names the properties that held a value once and hold none
	// now, which delta shows as null (see renderDelta).
	Cleared []string `json:"cleared,omitempty"`
}

type snapshotRemoval struct {
	ID     string `json:"id"`
	Seq    uint64 `json:"seq"`
	Reason string `json:"reason"`
}

// Snapshot returns the tenant as indented JSON, users in creation order.
func (s *Server) Snapshot() ([]byte, error) {
	data, _, err := s.snapshot()
	return data, err
}

func (s *Server) snapshot() ([]byte, uint64, error) {
	s.mu.Lock()
	snap := snapshot{
		Version: snapshotVersion, TenantID: s.opts.TenantID, TenantName: s.opts.TenantName,
		VerifiedDomains: append([]string(nil), s.domains...), ChangeSeq: s.changeSeq, DeltaEpoch: s.deltaEpoch,
		DeltaKey: s.deltaKey,
		Users:    []snapshotUser{}, DeletedUsers: []snapshotUser{}, Removed: []snapshotRemoval{},
	}
	for _, u := range s.users.ordered() {
		snap.Users = append(snap.Users, snapUser(u, nil))
	}
	for _, d := range s.deleted {
		at := d.at.UTC()
		snap.DeletedUsers = append(snap.DeletedUsers, snapUser(d.u, &at))
	}
	for _, t := range s.tombstones {
		snap.Removed = append(snap.Removed, snapshotRemoval{ID: t.id, Seq: t.seq, Reason: t.reason})
	}
	snap.directorySnapshot = s.dir.snapshot()
	gen := s.generation
	s.mu.Unlock()
	sort.Slice(snap.DeletedUsers, func(i, j int) bool { return snap.DeletedUsers[i].Seq < snap.DeletedUsers[j].Seq })
	sort.Slice(snap.Removed, func(i, j int) bool { return snap.Removed[i].Seq < snap.Removed[j].Seq })
	data, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		return nil, 0, fmt.Errorf("graphsim: snapshot: %w", err)
	}
	return append(data, '\n'), gen, nil
}

func snapUser(u *userRecord, deletedAt *time.Time) snapshotUser {
	props := make(map[string]any, len(u.props))
	for k, v := range u.props {
		if k == "passwordProfile" {
			pp := map[string]any{}
			for f, x := range v.(map[string]any) {
				if f != "password" {
					pp[f] = x
				}
			}
			v = pp
		}
		props[k] = v
	}
	var cleared []string
	for name := range u.everSet {
		if u.wasCleared(name) {
			cleared = append(cleared, name)
		}
	}
	sort.Strings(cleared)
	return snapshotUser{ID: u.id, Seq: u.seq, Changed: u.changed, DeletedAt: deletedAt, Properties: props, Cleared: cleared}
}

// LoadSnapshot replaces the tenant's users, deleted users and delta state
// with a Snapshot. The tenant id is taken from the snapshot unless
// Options.TenantID names another tenant, which is an error. The verified
// domains stay those of Options. Call it before serving.
func (s *Server) LoadSnapshot(data []byte) error {
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("graphsim: read snapshot: %w", err)
	}
	if snap.Version != snapshotVersion {
		return fmt.Errorf("graphsim: snapshot version %d, want %d", snap.Version, snapshotVersion)
	}
	if snap.DeltaKey != nil && len(snap.DeltaKey) != deltaKeySize {
		return fmt.Errorf("graphsim: snapshot: deltaKey has %d bytes, want %d", len(snap.DeltaKey), deltaKeySize)
	}
	if s.tenantFixed && snap.TenantID != "" && !strings.EqualFold(snap.TenantID, s.opts.TenantID) {
		return fmt.Errorf("graphsim: snapshot of tenant %s, not %s", snap.TenantID, s.opts.TenantID)
	}
	users := newUserStore()
	for _, su := range snap.Users {
		u, err := s.schema.userFromSnapshot(su)
		if err != nil {
			return err
		}
		if users.lookup(u.id) != nil || users.byUPN[strings.ToLower(u.str("userPrincipalName"))] != nil {
			return fmt.Errorf("graphsim: snapshot: user %s is not unique", u.id)
		}
		users.add(u)
	}
	deleted := map[string]*deletedUser{}
	for _, su := range snap.DeletedUsers {
		u, err := s.schema.userFromSnapshot(su)
		if err != nil {
			return err
		}
		if su.DeletedAt == nil {
			return fmt.Errorf("graphsim: snapshot: deleted user %s has no deletedAt", u.id)
		}
		users.nextSeq = max(users.nextSeq, u.seq)
		deleted[strings.ToLower(u.id)] = &deletedUser{u: u, at: *su.DeletedAt}
	}
	dir, err := s.types.loadDirectory(snap.directorySnapshot)
	if err != nil {
		return err
	}
	tombs := map[string]tombstone{}
	for _, t := range snap.Removed {
		tombs[strings.ToLower(t.ID)] = tombstone{id: t.ID, seq: t.Seq, reason: t.Reason}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if snap.TenantID != "" {
		s.opts.TenantID = snap.TenantID
	}
	s.users, s.deleted, s.tombstones, s.changeSeq = users, deleted, tombs, snap.ChangeSeq
	s.dir = dir
	s.changes = newChangeLog(users, tombs)
	s.binOldest = deletedBound{}
	for _, d := range deleted {
		s.binOldest.note(d.at)
	}
	s.deltaEpoch = snap.DeltaEpoch
	if snap.DeltaKey != nil {
		s.deltaKey = snap.DeltaKey
	}
	s.generation++
	s.saved = s.generation
	return nil
}

// userFromSnapshot rebuilds a user, converting JSON arrays back to the
// stored []string form.
func (sc *schema) userFromSnapshot(su snapshotUser) (*userRecord, error) {
	if su.ID == "" || su.Seq == 0 {
		return nil, fmt.Errorf("graphsim: snapshot: a user without id or seq")
	}
	props := map[string]any{}
	for k, v := range su.Properties {
		p := sc.byName[k]
		if p == nil {
			return nil, fmt.Errorf("graphsim: snapshot: user %s: unknown property %q", su.ID, k)
		}
		if p.kind == kindStrings {
			list, _ := v.([]any)
			ss := make([]string, 0, len(list))
			for _, x := range list {
				str, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("graphsim: snapshot: user %s: %s must be a list of strings", su.ID, k)
				}
				ss = append(ss, str)
			}
			v = ss
		}
		props[k] = v
	}
	u := &userRecord{id: su.ID, seq: su.Seq, changed: su.Changed, props: props}
	u.noteValues()
	for _, k := range su.Cleared {
		if sc.byName[k] == nil {
			return nil, fmt.Errorf("graphsim: snapshot: user %s: unknown cleared property %q", su.ID, k)
		}
		u.everSet[k] = struct{}{}
	}
	return u, nil
}

// SaveState writes the Snapshot to path atomically: a temporary file in the
// same directory, synced, then renamed over path.
func (s *Server) SaveState(path string) error {
	data, gen, err := s.snapshot()
	if err != nil {
		return err
	}
	if err := writeAtomic(path, data); err != nil {
		return err
	}
	s.mu.Lock()
	s.saved = max(s.saved, gen)
	s.mu.Unlock()
	return nil
}

// SaveStateIfChanged saves when the tenant changed since the last save or
// load, and reports whether it did.
func (s *Server) SaveStateIfChanged(path string) (bool, error) {
	s.mu.Lock()
	unchanged := s.generation == s.saved
	s.mu.Unlock()
	if unchanged {
		return false, nil
	}
	return true, s.SaveState(path)
}

// LoadState loads a state file written by SaveState. A missing file is not
// an error: the tenant starts empty and SaveState creates it.
func (s *Server) LoadState(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("graphsim: load state: %w", err)
	}
	if err := s.LoadSnapshot(data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("graphsim: save state: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("graphsim: save state: %w", err)
	}
	return nil
}

// serveAdmin answers GET /_graphsim/state with the Snapshot, and POST
// /_graphsim/expire-delta-tokens with 204 after ExpireDeltaTokens. It asks
// for the same bearer token as the Graph endpoints (the state holds every
// user's data), is neither throttled nor faulted, and is not counted in
// Stats.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	c := s.newCall(w, r)
	if err := s.authenticate(r); err != nil {
		c.writeError(err)
		return
	}
	method := http.MethodGet
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case adminPrefix + "state":
	case adminPrefix + "expire-delta-tokens":
		method = http.MethodPost
	default:
		c.writeError(newError(http.StatusNotFound, codeResourceNotFound,
			"graphsim serves only GET /_graphsim/state and POST /_graphsim/expire-delta-tokens here."))
		return
	}
	if r.Method != method {
		c.writeError(errMethodNotAllowed())
		return
	}
	if method == http.MethodPost {
		s.ExpireDeltaTokens()
		c.writeNoContent()
		return
	}
	s.purgeExpired(c.now)
	data, err := s.Snapshot()
	if err != nil {
		c.writeError(newError(http.StatusInternalServerError, "generalException", err.Error()))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}
