package graph

import (
	"context"
	"sync"
	"time"
)

// pacer keeps Apply under Graph's per-application write budget (identity
// and access: 3,000 writes per 150 s, a token bucket) instead of bouncing
// off 429s. It is a token bucket of the same size and refill rate, started
// full as Graph's is. A write takes its token before it is sent, so Graph's
// bucket, charged later, always holds at least as many tokens as this one,
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

func newPacer(budget int, window time.Duration, now func() time.Time) *pacer {
	return &pacer{capacity: float64(budget), rate: float64(budget) / window.Seconds(), now: now,
		tokens: float64(budget), last: now()}
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
