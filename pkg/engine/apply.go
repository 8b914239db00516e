package engine

import (
	"context"

	"github.com/guestsync/guestsync/pkg/plan"
)

// applyChunk is how many actions the engine hands the target at a time,
// so that progress can be shown between chunks: large enough that the
// target's batching and concurrency stay busy (Graph: 20 per batch, 4
// batches in flight).
const applyChunk = 400

// apply is the apply step: it hands the actions to the target in chunks,
// reporting progress. Once ctx is cancelled (SIGINT or SIGTERM), no new
// chunk is handed over; the target lets the writes it has sent finish
// (see Apply in the Target interface).
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
