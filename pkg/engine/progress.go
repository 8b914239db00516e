package engine

import (
	"context"

	"github.com/guestsync/guestsync/pkg/plan"
)

// Progress receives how far a long phase has got: "read target" and "plan"
// (each reported once, as it starts, with 0 and 0), "read source" (total
// is the entry count of the last full read, or 0 when unknown) and "apply"
// (total is the number of actions). It is called often; the receiver
// decides how often to show it, and shows the last count again while a
// phase waits (a ticker), since a call may be minutes from the next.
type Progress func(phase string, done, total int)

func (e *Engine) progress(phase string, done, total int) {
	if e.Progress != nil {
		e.Progress(phase, done, total)
	}
}

// applyChunk is how many actions the engine hands the target at a time,
// so that progress can be shown between chunks: large enough that the
// target's batching and concurrency stay busy (Graph: 20 per batch, 4
// batches in flight).
const applyChunk = 400

// apply carries out the actions in chunks, reporting progress.
func (e *Engine) apply(ctx context.Context, actions []plan.Action) []plan.Result {
	todo := 0
	for _, a := range actions {
		if a.Kind != plan.Skip {
			todo++
		}
	}
	var results []plan.Result
	done := 0
	e.progress("apply", 0, todo)
	for start := 0; start < len(actions); start += applyChunk {
		chunk := actions[start:min(start+applyChunk, len(actions))]
		if err := ctx.Err(); err != nil {
			// Interrupted: what was not handed to the target failed, so
			// that the run does not count as a success (which would save
			// the source's watermark past these entries).
			for _, a := range actions[start:] {
				if a.Kind != plan.Skip {
					results = append(results, plan.Result{Action: a,
						Failure: &plan.Failure{Message: "not attempted: the run was interrupted (" + err.Error() + ")"}})
				}
			}
			break
		}
		results = append(results, e.Target.Apply(ctx, chunk)...)
		for _, a := range chunk {
			if a.Kind != plan.Skip {
				done++
			}
		}
		e.progress("apply", done, todo)
	}
	return results
}
