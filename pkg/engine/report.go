package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
)

// Summary holds the counts of a run's report. For a run that applied its
// plan they count what was done; for a plan-only run, what is planned.
type Summary struct {
	Create    int `json:"create"`
	Update    int `json:"update"`
	Adopt     int `json:"adopt"`
	Disable   int `json:"disable"`
	Delete    int `json:"delete"`
	Restore   int `json:"restore"`
	Unchanged int `json:"unchanged"`
	Skipped   int `json:"skipped"`
	Failed    int `json:"failed"`
	// MappingFailed counts the entries whose mapping failed (skipped, and
	// among Skipped): failed objects, as Failed actions are.
	MappingFailed int `json:"mappingFailed"`
}

// The outcomes of a run, in reports and metrics.
const (
	// OutcomeSucceeded: every action done (or planned), every entry mapped.
	OutcomeSucceeded = "succeeded"
	// OutcomeObjectsFailed: the run went through, but some actions failed
	// or some entries could not be mapped.
	OutcomeObjectsFailed = "objects_failed"
	// OutcomeRefused: the source read could not be trusted (incomplete,
	// or empty where entries were expected); nothing changed.
	OutcomeRefused = "refused"
	// OutcomeStopped: a safety rail or a reviewed plan that no longer
	// holds stopped the run; nothing changed.
	OutcomeStopped = "stopped"
	// OutcomeFailed: the run failed as a whole (a read error, a refused
	// lock, a state file that could not be saved).
	OutcomeFailed = "failed"
)

// outcomes lists every outcome, for metrics.
func outcomes() []string {
	return []string{OutcomeSucceeded, OutcomeObjectsFailed, OutcomeRefused, OutcomeStopped, OutcomeFailed}
}

// Outcome says how a run ended; runErr is the error Run returned, if any.
func Outcome(run *Run, runErr error) string {
	var refused *ReadRefusedError
	var rail *RemovalLimitError
	var stale *StalePlanError
	switch {
	case errors.As(runErr, &refused):
		return OutcomeRefused
	case errors.As(runErr, &rail), errors.As(runErr, &stale):
		return OutcomeStopped
	case runErr != nil:
		return OutcomeFailed
	case run.FailedObjects() > 0:
		return OutcomeObjectsFailed
	}
	return OutcomeSucceeded
}

// ReportAction is one action of the plan with what became of it.
type ReportAction struct {
	plan.Action
	// Status is planned (not applied), done, failed or skipped.
	Status  string        `json:"status"`
	Failure *plan.Failure `json:"failure,omitempty"`
}

// Report is the machine-readable record of a run (--report FILE).
type Report struct {
	Summary Summary        `json:"summary"`
	Applied bool           `json:"applied"`
	Started time.Time      `json:"started"`
	Ended   time.Time      `json:"ended"`
	Read    source.Result  `json:"read"`
	Actions []ReportAction `json:"actions"`
	// Outcome is how the run ended: one of the Outcome constants.
	Outcome string `json:"outcome"`
	// Error is why the run failed as a whole (a read error, a refused
	// lock or read), when it did.
	Error string `json:"error,omitempty"`
}

// NewReport summarises a run; runErr is the error Run returned, if any.
func NewReport(run *Run, runErr error) Report {
	r := Report{Applied: run.Applied, Started: run.Started, Ended: run.Ended, Read: run.Read, Actions: []ReportAction{},
		Outcome: Outcome(run, runErr)}
	if runErr != nil {
		r.Error = runErr.Error()
	}
	if run.Plan == nil {
		return r
	}
	r.Summary.Unchanged = run.Plan.Unchanged
	r.Summary.MappingFailed = run.MappingFailed
	// Targets return one result per non-skip action, in order; a result
	// is paired with its action only when they agree.
	outcome := map[int]plan.Result{}
	ri := 0
	for i, a := range run.Plan.Actions {
		if a.Kind == plan.Skip || ri >= len(run.Results) {
			continue
		}
		if res := run.Results[ri]; res.Action.Kind == a.Kind && res.Action.Anchor == a.Anchor {
			outcome[i] = res
			ri++
		}
	}
	for i, a := range run.Plan.Actions {
		ra := ReportAction{Action: a, Status: "planned"}
		switch res, applied := outcome[i]; {
		case a.Kind == plan.Skip:
			ra.Status = "skipped"
			r.Summary.Skipped++
		case run.Applied && applied && res.Failure != nil:
			ra.Status, ra.Failure = "failed", res.Failure
			r.Summary.Failed++
		default:
			if run.Applied && applied {
				ra.Status = "done"
				if res.ID != "" {
					ra.ID = res.ID
				}
			}
			r.Summary.count(a.Kind)
		}
		r.Actions = append(r.Actions, ra)
	}
	return r
}

func (s *Summary) count(k plan.Kind) {
	switch k {
	case plan.Create:
		s.Create++
	case plan.Update:
		s.Update++
	case plan.Adopt:
		s.Adopt++
	case plan.Disable:
		s.Disable++
	case plan.Delete:
		s.Delete++
	case plan.Restore:
		s.Restore++
	}
}

// JSON encodes the report.
func (r Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	return append(b, '\n'), nil
}
