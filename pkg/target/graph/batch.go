package graph

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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

// Request size. Graph answers a request bigger than it takes with 413
// (Graph docs, "Microsoft Graph error responses and resource types": "413
// Request Entity Too Large: The request size exceeds the maximum limit"),
// and the limit is 4 MB per request (Microsoft, microsoftgraph/
// microsoft-graph-docs#85: "when using the Microsoft Graph endpoint, there
// is a 4MB limit on the size of a request"; the answers reported there and
// in #11806 are "Maximum request length exceeded." and "The maximum request
// length supported is 4MB."). A $batch is one request: twenty small creates
// and one huge one share the limit, so batches are cut by size as well as
// by count, and an object too big for any batch fails alone before it is
// sent.
//
// The size measured is the size Graph receives: New turns the SDK's
// request compression off, so the body goes out as encoded here. Even
// compressed, the limit would have to be met uncompressed (after a 429 the
// SDK resends the plain body; a proxy may inflate it). maxBatchBytes stays
// a quarter below 4 MB whether Graph's MB is 10^6 or 2^20 bytes and
// whatever else it counts; real guest bodies are a few KB, so only values
// no directory should hold come near it.
const (
	maxBatchBytes = 3 << 20
	// batchEnvelope is {"requests":[]} around the items.
	batchEnvelope = len(`{"requests":[]}`)
)

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
	// lag: until then, a 404 is replication lag (a PATCH right after the
	// restore that made its user) and is tried again, backing off;
	// lagged counts those tries.
	lag    time.Time
	lagged int

	// size is the op's encoded share of a batch body (itemSize); alone
	// puts it in a batch of its own after Graph refused a batch holding
	// it as too large.
	size  int
	alone bool

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

// sendInBatches carries out ops in batches of up to 20 and maxBatchBytes,
// Concurrency batches in flight, each batch after the pacer allows its
// writes. An op too big for any batch fails at once (tooLarge). An op that
// is throttled or fails transiently goes back to the queue until its
// Retry-After (or backoff) has passed; every op ends with a status or a
// failure. done, when not nil, is called once for each op as soon as it
// has ended (from the goroutine that ended it), so that results can be
// told while the rest are still under way.
func (c *Client) sendInBatches(ctx context.Context, ops []*op, done func(*op)) {
	if done == nil {
		done = func(*op) {}
	}
	var (
		mu       sync.Mutex
		queue    = make([]*op, 0, len(ops))
		inflight int
		wg       sync.WaitGroup
		dropped  []*op // failed unsent when ctx ended
	)
	for _, o := range ops {
		o.size = itemSize(o)
		if batchEnvelope+o.size > maxBatchBytes {
			o.failure = tooLarge(o)
			c.log.Warn("request too large for Graph, not sent", "request", o.method+" "+o.url, "error", o.failure.Message)
			done(o)
			continue
		}
		queue = append(queue, o)
	}
	next := func() ([]*op, time.Duration, bool) {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil {
			for _, o := range queue {
				o.failure = &plan.Failure{Message: "not attempted: " + ctx.Err().Error()}
				if o.ambiguous {
					o.failure.Message = "interrupted (" + ctx.Err().Error() + ") after it was sent without a clear answer: " +
						"Graph may have carried it out; the next run reads the tenant and finds out"
				}
			}
			dropped = append(dropped, queue...)
			queue = nil
		}
		if len(queue) == 0 && inflight == 0 {
			return nil, 0, true
		}
		now := time.Now()
		var batch []*op
		rest := queue[:0]
		wait := 20 * time.Millisecond
		size, closed := batchEnvelope, false
		for _, o := range queue {
			fits := !closed && len(batch) < maxBatch && size+o.size <= maxBatchBytes && (!o.alone || len(batch) == 0)
			if fits && !o.due.After(now) {
				batch = append(batch, o)
				size += o.size
				closed = o.alone
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
				batch, wait, finished := next()
				if finished {
					return
				}
				if len(batch) == 0 {
					time.Sleep(max(wait, time.Millisecond))
					continue
				}
				retry := c.tryBatch(ctx, batch)
				requeue(retry)
				for _, o := range batch {
					if !slices.Contains(retry, o) {
						done(o)
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, o := range dropped {
		done(o)
	}
}

// tryBatch sends one batch once, after the pacer allows its writes, and
// records in each op that has ended its answer or its failure. It returns
// the ops to try again (throttled, failed transiently, met replication
// lag, or in a batch Graph refused as too large), which sendInBatches
// queues until they are due.
func (c *Client) tryBatch(ctx context.Context, batch []*op) []*op {
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
	// Sent is sent: an interrupt (a cancelled ctx) must not drop the
	// request, since Graph may carry it out all the same and the result
	// would say it failed. No new batch starts after it (see next in
	// sendInBatches, and the pacer above).
	sent, cancel := c.finishing(ctx)
	defer cancel()
	answers, err := c.postBatch(sent, items)
	if err != nil {
		f := failure(err)
		if refusedAsTooLarge(f) {
			if len(batch) > 1 {
				// Graph counts differently from itemSize: each op
				// goes again in a batch of its own, so that only
				// one too big for Graph fails.
				c.log.Debug("batch refused as too large, sending its requests one by one", "requests", len(batch), "error", f.Error())
				for _, o := range batch {
					o.alone = true
				}
				return batch
			}
			tl := *f
			tl.Message = fmt.Sprintf("Graph refused %s %s as too large (%s); %s", batch[0].method, batch[0].url, f.Message, largestProperty(batch[0]))
			batch[0].failure, batch[0].status = &tl, f.Status
			return nil
		}
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
		if !ok || a.Status < 200 || a.Status > 599 {
			o.ambiguous = true
			if c.again(o, &plan.Failure{Message: "the batch answer has no usable response for this request"}, 0) {
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
		if a.Status == http.StatusNotFound && !o.lag.IsZero() {
			if wait := c.backoff(o.lagged + 1); time.Now().Add(wait).Before(o.lag) {
				o.lagged++
				o.due = time.Now().Add(wait)
				retry = append(retry, o)
				continue
			}
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
	// or 504 out of sendInBatches' sight, which must know that a 504's
	// creates may have been carried out (op.ambiguous) and must take the
	// resend's tokens from the pacer. sendInBatches retries instead.
	ri.AddRequestOptions([]abs.RequestOption{&khttp.RetryHandlerOptions{ShouldRetry: noRetry}})
	raw, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue})
	if err != nil {
		return nil, err
	}
	b, _ := raw.([]byte)
	return decodeBatchAnswer(b)
}

// decodeBatchAnswer reads the body of a $batch answer: its responses by id.
func decodeBatchAnswer(b []byte) (map[string]batchAnswer, error) {
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

// itemSize is o's share of a batch body: its item as postBatch encodes it
// (with the longest id a batch gives, "20") and the comma before it.
func itemSize(o *op) int {
	item := batchItem{ID: strconv.Itoa(maxBatch), Method: o.method, URL: o.url, Body: o.body}
	if o.body != nil {
		item.Headers = map[string]string{"Content-Type": "application/json"}
	}
	b, err := json.Marshal(item)
	if err != nil {
		// A body that does not encode fails in postBatch, with its reason.
		return len(o.body) + len(o.url)
	}
	return len(b) + 1
}

// tooLarge is the failure of an op too big for any batch.
func tooLarge(o *op) *plan.Failure {
	return &plan.Failure{Message: fmt.Sprintf("%s %s is %s, over the %s guestsync sends in one request (Graph refuses requests over 4 MB); %s",
		o.method, o.url, megabytes(o.size), megabytes(maxBatchBytes), largestProperty(o))}
}

// largestProperty names the property that makes o's body big.
func largestProperty(o *op) string {
	var props map[string]json.RawMessage
	if json.Unmarshal(o.body, &props) != nil || len(props) == 0 {
		return fmt.Sprintf("its body is %d bytes", len(o.body))
	}
	name := ""
	for k, v := range props {
		if name == "" || len(v) > len(props[name]) || len(v) == len(props[name]) && k < name {
			name = k
		}
	}
	var s string
	if json.Unmarshal(props[name], &s) == nil {
		return fmt.Sprintf("its largest property is %s (%d characters)", name, utf8.RuneCountInString(s))
	}
	return fmt.Sprintf("its largest property is %s (%d bytes)", name, len(props[name]))
}

func megabytes(n int) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

// refusedAsTooLarge reports whether Graph refused a request for its size:
// 413, or the 400 "Maximum request length exceeded." reported from Graph
// (see maxBatchBytes).
func refusedAsTooLarge(f *plan.Failure) bool {
	return f.Status == http.StatusRequestEntityTooLarge ||
		f.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(f.Message), "request length")
}

// retryable: throttling, transient server failures, and no answer at all
// (dropped connection, timeout) are worth another attempt.
func retryable(status int, err error) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case 0:
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !untrusted(err)
	}
	return false
}

// untrusted reports a TLS certificate the client refused: it is refused
// the same way on every try, so retrying only delays the message that
// says which setting (graph.caFile) trusts it.
func untrusted(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		host      x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &authority) || errors.As(err, &host) || errors.As(err, &invalid)
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

// maxRetryAfter caps the wait an answer can ask for: the longest window of
// Graph's identity throttling is the tenant's 18,000 writes per 5 minutes
// (GRAPH.md, "Throttling"), so a longer Retry-After is a broken answer, not
// a reason to stall a nightly run for hours.
const maxRetryAfter = 5 * time.Minute

// retryAfter parses Retry-After seconds (Graph may send fractions); 0 when
// absent or not a positive number, at most maxRetryAfter.
func retryAfter(v string) time.Duration {
	s, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || !(s > 0) { // !(s > 0) is also true of NaN
		return 0
	}
	if s >= maxRetryAfter.Seconds() {
		return maxRetryAfter
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
		f.Code, f.RequestID = clipText(body.Error.Code), clipText(body.Error.InnerError.RequestID)
		if body.Error.Message != "" {
			f.Message = clipText(body.Error.Message)
		}
	}
	if f.RequestID == "" {
		f.RequestID = clipText(a.Headers["request-id"])
	}
	if f.Message == "" {
		f.Message = fmt.Sprintf("HTTP %d", a.Status)
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

// finishing is ctx for work already begun: an interrupt (ctx cancelled)
// does not stop it at once, but Options.FinishGrace later.
func (c *Client) finishing(ctx context.Context) (context.Context, context.CancelFunc) {
	out, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(c.opts.FinishGrace, cancel) })
	return out, func() { stop(); cancel() }
}
