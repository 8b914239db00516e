package engine

import (
	"time"

	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
)

// Run is the record of one run.
type Run struct {
	Read    source.Result `json:"read"`
	Plan    *plan.Plan    `json:"plan"`
	Applied bool          `json:"applied"`
	Results []plan.Result `json:"results,omitempty"`
	Started time.Time     `json:"started"`
	Ended   time.Time     `json:"ended"`
	// LastSuccess is when a sync last succeeded: this run's end if it
	// applied everything, else the time the state file remembers.
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	// Owned counts the guests guestsync owned when the plan was made (the
	// base of policy.removalThresholdPercent).
	Owned int `json:"ownedGuests"`
	// MappingFailed counts the entries skipped because their mapping
	// failed: failed objects, as failed actions are.
	MappingFailed int `json:"mappingFailed"`
	// Timings split the run's time by phase.
	Timings Timings `json:"timings"`
}

// Timings is where a run's time went. The source is read and mapped
// together, entry by entry: Read is the read without the mapping.
type Timings struct {
	List  time.Duration `json:"list"` // reading the tenant
	Read  time.Duration `json:"read"`
	Map   time.Duration `json:"map"`
	Plan  time.Duration `json:"plan"`
	Apply time.Duration `json:"apply"`
	// State is loading and saving the state file (with the tenant's
	// remembered guests).
	State time.Duration `json:"state"`
}

// Failed counts the actions that failed.
func (r *Run) Failed() int {
	n := 0
	for _, res := range r.Results {
		if res.Failure != nil {
			n++
		}
	}
	return n
}

// FailedObjects counts the objects that failed: actions that failed and
// entries whose mapping failed.
func (r *Run) FailedObjects() int {
	return r.Failed() + r.MappingFailed
}

// Attempted counts the results of kind k, failed or not.
func (r *Run) Attempted(k plan.Kind) int {
	n := 0
	for _, res := range r.Results {
		if res.Action.Kind == k {
			n++
		}
	}
	return n
}

// Succeeded counts the actions of kind k that succeeded.
func (r *Run) Succeeded(k plan.Kind) int {
	n := 0
	for _, res := range r.Results {
		if res.Failure == nil && res.Action.Kind == k {
			n++
		}
	}
	return n
}
