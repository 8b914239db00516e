package graph

import (
	"context"
	"sync"
	"time"
)

// pacer keeps Apply under Graph's per-application write budget (identity
// and access: 3,000 writes per 150 s, a token bucket) instead of bouncing
// off 429s. It is a token bucket with Graph's refill rate, started full as
// Graph's is, but inFlight tokens smaller (see newPacer). A write takes its
// token before it is sent and Graph charges it when it arrives, so Graph's
// bucket always holds at least the tokens of the writes on their way,
// unless someone else spends the budget (another app instance, an earlier
// run a moment ago): then Graph answers 429 and throttled empties the
// bucket and pauses every sender for the Retry-After, after which the
// bucket refills at the documented rate.
type pacer struct {
	capacity float64
	rate     float64 // tokens per second
	now      func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
	paused time.Time // no tokens before this (a 429's Retry-After)
}

// newPacer returns a pacer for budget writes per window, with at most
// inFlight writes sent and not yet answered at any time.
//
// Why the bucket is smaller than Graph's: while Graph's bucket is full it
// forgoes its refill, and a bucket of the same size here, charged earlier,
// does not; a write held up on its way (a loaded machine, a slow network)
// then finds Graph's bucket short by what it forwent, and a budget matched
// exactly drew 429s. With inFlight tokens fewer, this bucket plus the
// writes on their way never exceed Graph's capacity, so Graph's bucket is
// full only when it holds more than all of them, and every write arrives to
// at least its own token. (The bucket still holds one whole batch when the
// budget is too small for that margin.)
func newPacer(budget int, window time.Duration, inFlight int, now func() time.Time) *pacer {
	capacity := float64(max(budget-inFlight, min(budget, maxBatch)))
	return &pacer{capacity: capacity, rate: float64(budget) / window.Seconds(), now: now,
		tokens: capacity, last: now()}
}

// take waits until n tokens are available and takes them. A request needs
// at most the whole bucket.
func (p *pacer) take(ctx context.Context, n int) error {
	if n <= 0 {
		return nil
	}
	need := min(float64(n), p.capacity)
	for {
		p.mu.Lock()
		now := p.now()
		p.refill(now)
		var wait time.Duration
		switch {
		case now.Before(p.paused):
			wait = p.paused.Sub(now)
		case p.tokens >= need:
			p.tokens -= need
			p.mu.Unlock()
			return nil
		default:
			wait = time.Duration((need - p.tokens) / p.rate * float64(time.Second))
		}
		p.mu.Unlock()
		t := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (p *pacer) refill(now time.Time) {
	if el := now.Sub(p.last).Seconds(); el > 0 {
		if !now.Before(p.paused) {
			p.tokens = min(p.capacity, p.tokens+el*p.rate)
		}
		p.last = now
	}
}

// throttled records a 429: the budget is spent elsewhere too, so the bucket
// is emptied and nothing is sent before Retry-After.
func (p *pacer) throttled(retryAfter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.refill(now)
	p.tokens = 0
	if until := now.Add(retryAfter); until.After(p.paused) {
		p.paused = until
	}
}
