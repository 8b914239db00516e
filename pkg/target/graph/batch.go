package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/guestsync/guestsync/pkg/plan"
)

// JSON batching. The batch envelope is built by hand with encoding/json
// and sent through the SDK's request adapter (so authentication, telemetry
// and the SDK's retry of the whole request stay in place): the item bodies
// are SDK models serialised by the SDK, but msgraph-sdk-go-core's
// BatchRequest would parse the answers with the process-wide parse node
// registry this package deliberately leaves empty, and it gives no access
// to each item's Retry-After.

// maxBatch is Graph's limit of requests per $batch.
const maxBatch = 20

// Retry limits per request: throttling (429, waits Graph chose) may be
// retried many times; failures (500, 503, 504, dropped connections) ten
// times, backing off up to maxBackoff: an unattended nightly run should
// ride out a few minutes of trouble rather than record failures.
const (
	maxThrottled = 50
	maxFaults    = 10
	maxBackoff   = 30 * time.Second
)

// op is one Graph request of an Apply run.
type op struct {
	action int    // index of the action in Apply's argument
	method string // GET, POST, PATCH, DELETE
	url    string // relative to the version root
	body   json.RawMessage
	write  bool

	throttled, faults int
	// ambiguous: an earlier attempt may have run (504, dropped or failed
	// connection), so "already exists" or "not found" may be its effect.
	ambiguous bool
	due       time.Time

	status  int // final status; 0 when failed without an answer
	resp    json.RawMessage
	failure *plan.Failure

	// A create that clashed (lookUpClashes): found is the guest with its
	// anchor and the mark, update the PATCH that brought a guest an
	// earlier run made up to the plan.
	found  string
	update *op
}

type batchItem struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

type batchAnswer struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// run carries out ops in batches of up to 20, Concurrency batches in
// flight, each batch after the pacer allows its writes. An op that is
// throttled or fails transiently goes back to the queue until its
// Retry-After (or backoff) has passed; every op ends with a status or a
// failure.
func (c *Client) run(ctx context.Context, ops []*op) {
	var (
		mu       sync.Mutex
		queue    = append([]*op(nil), ops...)
		inflight int
		wg       sync.WaitGroup
	)
	next := func() ([]*op, time.Duration, bool) {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil {
			for _, o := range queue {
				o.failure = &plan.Failure{Message: "not attempted: " + ctx.Err().Error()}
			}
			queue = nil
		}
		if len(queue) == 0 && inflight == 0 {
			return nil, 0, true
		}
		now := time.Now()
		var batch []*op
		rest := queue[:0]
		wait := 20 * time.Millisecond
		for _, o := range queue {
			if len(batch) < maxBatch && !o.due.After(now) {
				batch = append(batch, o)
				continue
			}
			if !o.due.After(now) {
				wait = 0
			} else {
				wait = min(wait, o.due.Sub(now))
			}
			rest = append(rest, o)
		}
		queue = rest
		if len(batch) > 0 {
			inflight++
		}
		return batch, wait, false
	}
	requeue := func(retry []*op) {
		mu.Lock()
		queue = append(queue, retry...)
		inflight--
		mu.Unlock()
	}
	for range c.opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				batch, wait, done := next()
				if done {
					return
				}
				if len(batch) == 0 {
					time.Sleep(max(wait, time.Millisecond))
					continue
				}
				requeue(c.send(ctx, batch))
			}
		}()
	}
	wg.Wait()
}

// send posts one batch and returns the ops to try again.
func (c *Client) send(ctx context.Context, batch []*op) []*op {
	writes := 0
	items := make([]batchItem, len(batch))
	for i, o := range batch {
		if o.write {
			writes++
		}
		items[i] = batchItem{ID: strconv.Itoa(i + 1), Method: o.method, URL: o.url, Body: o.body}
		if o.body != nil {
			items[i].Headers = map[string]string{"Content-Type": "application/json"}
		}
	}
	if err := c.pace.take(ctx, writes); err != nil {
		for _, o := range batch {
			o.failure = &plan.Failure{Message: "not attempted: " + err.Error()}
		}
		return nil
	}
	answers, err := c.postBatch(ctx, items)
	if err != nil {
		f := failure(err)
		if !retryable(f.Status, err) {
			for _, o := range batch {
				o.failure = f
			}
			return nil
		}
		wait := retryAfter(headerOf(err, "Retry-After"))
		if f.Status == http.StatusTooManyRequests {
			c.pace.throttled(wait)
		}
		c.log.Debug("batch failed, retrying", "status", f.Status, "error", f.Error())
		var retry []*op
		for _, o := range batch {
			o.ambiguous = o.ambiguous || f.Status != http.StatusTooManyRequests && f.Status != http.StatusServiceUnavailable
			if c.again(o, f, wait) {
				retry = append(retry, o)
			}
		}
		return retry
	}
	var retry []*op
	for i, o := range batch {
		a, ok := answers[strconv.Itoa(i+1)]
		if !ok {
			o.ambiguous = true
			if c.again(o, &plan.Failure{Message: "the batch answer has no response for this request"}, 0) {
				retry = append(retry, o)
			}
			continue
		}
		switch a.Status {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			wait := retryAfter(a.Headers["Retry-After"])
			if a.Status == http.StatusTooManyRequests {
				c.pace.throttled(wait)
			}
			o.ambiguous = o.ambiguous || a.Status == http.StatusGatewayTimeout || a.Status == http.StatusInternalServerError
			if c.again(o, itemFailure(a), wait) {
				retry = append(retry, o)
			}
			continue
		}
		o.status, o.resp = a.Status, a.Body
		if a.Status >= 400 {
			o.failure = itemFailure(a)
		}
	}
	return retry
}

// again schedules another attempt of o after wait (0: exponential backoff)
// and reports whether there is one; if not, o fails with f.
func (c *Client) again(o *op, f *plan.Failure, wait time.Duration) bool {
	n := &o.faults
	limit := maxFaults
	if f.Status == http.StatusTooManyRequests {
		n, limit = &o.throttled, maxThrottled
	}
	*n++
	if *n > limit {
		o.failure = f
		o.status = f.Status
		return false
	}
	if wait <= 0 {
		wait = c.backoff(*n)
	}
	o.due = time.Now().Add(wait)
	return true
}

// backoff is RetryDelay doubled per attempt, capped, with ±20 % jitter so
// that the ops of one failed batch spread out.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.RetryDelay << min(attempt-1, 16)
	d = min(d, maxBackoff)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// postBatch sends one $batch request and returns its answers by id.
func (c *Client) postBatch(ctx context.Context, items []batchItem) (map[string]batchAnswer, error) {
	body, err := json.Marshal(map[string]any{"requests": items})
	if err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	ri := abs.NewRequestInformation()
	ri.Method = abs.POST
	ri.UrlTemplate = "{+baseurl}/$batch"
	ri.Headers.TryAdd("Accept", "application/json")
	ri.SetStreamContentAndContentType(body, "application/json")
	// Not the SDK's retries: its handler would resend a batch answered 503
	// or 504 out of run's sight, which must know that a 504's creates may
	// have been carried out (op.ambiguous) and must take the resend's
	// tokens from the pacer. run retries instead.
	ri.AddRequestOptions([]abs.RequestOption{&khttp.RetryHandlerOptions{ShouldRetry: noRetry}})
	raw, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue})
	if err != nil {
		return nil, err
	}
	b, _ := raw.([]byte)
	var reply struct {
		Responses []batchAnswer `json:"responses"`
	}
	if err := json.Unmarshal(b, &reply); err != nil {
		return nil, fmt.Errorf("decode batch answer: %w", err)
	}
	out := make(map[string]batchAnswer, len(reply.Responses))
	for _, a := range reply.Responses {
		out[a.ID] = a
	}
	return out, nil
}

// retryable: throttling, transient server failures, and no answer at all
// (dropped connection, timeout) are worth another attempt.
func retryable(status int, err error) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case 0:
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	return false
}

// headerOf returns a response header of an SDK error.
func headerOf(err error, name string) string {
	var api abs.ApiErrorable
	if errors.As(err, &api) && api.GetResponseHeaders() != nil {
		for _, k := range api.GetResponseHeaders().ListKeys() {
			if strings.EqualFold(k, name) {
				if v := api.GetResponseHeaders().Get(k); len(v) > 0 {
					return v[0]
				}
			}
		}
	}
	return ""
}

// retryAfter parses Retry-After seconds (Graph may send fractions); 0 when
// absent.
func retryAfter(v string) time.Duration {
	s, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || s <= 0 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// itemFailure reads Graph's error body of a batch item.
func itemFailure(a batchAnswer) *plan.Failure {
	f := &plan.Failure{Status: a.Status, Message: http.StatusText(a.Status)}
	var body struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
			Details []struct {
				Code string `json:"code"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(a.Body, &body) == nil && body.Error.Code != "" {
		f.Code, f.Message, f.RequestID = body.Error.Code, body.Error.Message, body.Error.InnerError.RequestID
	}
	if f.RequestID == "" {
		f.RequestID = a.Headers["request-id"]
	}
	return f
}

// conflict reports whether an item failure is Graph's "another object with
// the same value" (ObjectConflict).
func conflict(o *op) bool {
	return o.failure != nil && o.status == http.StatusBadRequest &&
		strings.Contains(o.failure.Message, "already exists")
}

func noRetry(time.Duration, int, *http.Request, *http.Response) bool { return false }
