// Package state keeps what guestsync remembers between runs (source
// watermarks such as AD DirSync cookies, entry counts for the "the source
// suddenly shrank" guard) in one JSON file, written atomically so that a
// run killed at any moment leaves either the old file or the new one, never
// half of one; and it holds the lock that keeps two runs off the same state.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/atomicfile"
)

// FormatVersion is the state file format this build writes. It reads
// FormatVersion and 1, whose targets do not name their tenant (Target.Tenant
// is empty): the engine trusts none of what such a target remembers and
// starts it over with an initial round.
const FormatVersion = 2

// oldestVersion is the oldest format this build reads.
const oldestVersion = 1

// State is the content of the state file.
type State struct {
	Version int `json:"version"`
	// Sources is keyed by a source's identity (see source key functions):
	// a changed URL, base or filter starts from a full read.
	Sources map[string]Source `json:"sources,omitempty"`
	// Targets is keyed by a target's identity (its Graph root and owner):
	// the change-tracking position and the guests it describes, which
	// hold only for the tenant named by Target.Tenant.
	Targets map[string]Target `json:"targets,omitempty"`
	// LastSuccess is when a sync last finished with every action done.
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
}

// Source is what is remembered about one directory source.
type Source struct {
	// Watermark is the reader's opaque position for the next incremental
	// read (a DirSync cookie, a highest USN, an entryCSN).
	Watermark string `json:"watermark,omitempty"`
	// Entries is how many entries the last complete read returned.
	Entries int `json:"entries"`
	// FullReadAt is when the last complete full read finished.
	FullReadAt time.Time `json:"fullReadAt,omitzero"`
}

// Target is what is remembered about one target (a tenant): the link of
// its next change-tracking round (Graph's users/delta) and every account
// as of the round that gave it, so that a run reads only what changed
// since; and the grace clocks of removed accounts.
type Target struct {
	// Tenant is the id of the tenant that everything else here describes
	// (Graph's organization id). The same URL may lead to another tenant
	// on another day (a new app registration, an emulator started
	// afresh); a run that finds another tenant there forgets the rest.
	// Empty in a state of format 1.
	Tenant    string `json:"tenant,omitempty"`
	DeltaLink string `json:"deltaLink"`
	// Accounts are kept in a file of their own next to the state file
	// (AccountsFile: the "guestsFile" of every state format so far), read
	// and written one account at a time: 100,000 guests never sit in
	// memory as one encoded text, and a run whose round changed nothing
	// does not rewrite them.
	Accounts     []account.Account `json:"-"`
	AccountsFile string            `json:"guestsFile,omitempty"`
	// AccountsChanged marks Accounts as changed since they were loaded, so
	// that Save writes them to a new file.
	AccountsChanged bool `json:"-"`
	// FullReadAt is when the last initial round (every account) was read.
	FullReadAt time.Time `json:"fullReadAt,omitzero"`
	// Disabled are the grace clocks: since when each removed account (by
	// anchor) has been gone from the source and disabled.
	Disabled map[string]time.Time `json:"disabled,omitempty"`
}

// LastSuccess reads only when a sync last succeeded, from the state file
// alone (not the tenant's guests); the zero time when unknown.
func LastSuccess(path string) time.Time {
	data, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}
	}
	var s struct {
		LastSuccess time.Time `json:"lastSuccess"`
	}
	_ = json.Unmarshal(data, &s)
	return s.LastSuccess
}

// Load reads the state file; a missing file is an empty state (first run).
func Load(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Version: FormatVersion, Sources: map[string]Source{}, Targets: map[string]Target{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("state file %s is damaged (%v): move it aside to start with a full read", path, err)
	}
	if s.Version < oldestVersion || s.Version > FormatVersion {
		return nil, fmt.Errorf("state file %s has version %d; this build reads versions %d to %d", path, s.Version, oldestVersion, FormatVersion)
	}
	if s.Sources == nil {
		s.Sources = map[string]Source{}
	}
	if s.Targets == nil {
		s.Targets = map[string]Target{}
	}
	for key, t := range s.Targets {
		if t.AccountsFile == "" {
			continue
		}
		var guests []account.Account
		err := fmt.Errorf("guests file %q is not a file name", t.AccountsFile)
		if filepath.Base(t.AccountsFile) == t.AccountsFile && t.AccountsFile != "." && t.AccountsFile != ".." {
			// Only next to the state file, where Save writes them.
			guests, err = readGuests(filepath.Join(filepath.Dir(path), t.AccountsFile))
		}
		if err != nil {
			// Without its guests the delta link is no use: the next run
			// reads every guest again (an initial round). The grace
			// clocks stay.
			t.DeltaLink, t.AccountsFile, t.Accounts = "", "", nil
		} else {
			t.Accounts = guests
		}
		s.Targets[key] = t
	}
	return &s, nil
}

// Save writes the state atomically: a temporary file in the same folder,
// fsync, rename over the old file, fsync of the folder. The file is
// readable by its owner only: watermarks reveal directory structure.
//
// Changed guests go to a new guests file first; the state file, written
// next, names it; guests files no state names any more are removed last.
// A crash in between leaves the old state with its old guests file.
func (s *State) Save(path string) error {
	s.Version = FormatVersion
	for key, t := range s.Targets {
		if !t.AccountsChanged && (t.AccountsFile != "" || len(t.Accounts) == 0) {
			continue
		}
		name, err := writeGuests(path, t.Accounts)
		if err != nil {
			return fmt.Errorf("save the tenant's guests: %w", err)
		}
		t.AccountsFile, t.AccountsChanged = name, false
		s.Targets[key] = t
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := atomicfile.Write(path, append(data, '\n'), 0o600); err != nil {
		return err
	}
	s.removeStaleGuests(path)
	return nil
}

// removeStaleGuests removes the guests files of path that s does not name,
// and the temporary files of a save that was killed before its rename
// (atomicfile.TempOf knows them): a Save runs under the state's lock, so
// no other save of path is under way.
func (s *State) removeStaleGuests(path string) {
	keep := map[string]bool{}
	for _, t := range s.Targets {
		keep[t.AccountsFile] = true
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	base := filepath.Base(path)
	guests := base + ".guests-"
	for _, e := range entries {
		name := e.Name()
		target, isTemp := atomicfile.TempOf(name)
		stale := strings.HasPrefix(name, guests) && !keep[name] ||
			isTemp && (target == base || strings.HasPrefix(target, guests))
		if stale {
			os.Remove(filepath.Join(filepath.Dir(path), name))
		}
	}
}
