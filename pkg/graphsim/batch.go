package graphsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// maxBatchRequests: Graph docs, "JSON batching", "Batch size limitations":
// "JSON batch requests are currently limited to 20 individual requests."
const maxBatchRequests = 20

// msgInvalidBatch is Graph's answer to a batch body it cannot use, such as
// one without requests (reported by Graph clients, e.g. the PHP SDK's
// batch helper: "When the batch is empty the API throws error: Invalid
// batch payload format.").
const msgInvalidBatch = "Invalid batch payload format."

type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// batch serves POST /$batch. Graph docs, "Combine multiple HTTP requests
// using JSON batching": the body is {"requests": [...]} with id (unique,
// not case-sensitive), method, url (relative to the version root), headers
// ("required when the body is specified": Content-Type) and body; "if the
// batch request itself is malformed, the status code is 400. If the batch
// request is parseable, the status code is 200" and each response carries
// its own id, status, headers and body. dependsOn sequences requests and
// "if an individual request fails, any request that depends on that request
// fails with status code 424 (Failed Dependency)". Items run through the
// same handlers as top-level requests, with the batch's Authorization, one
// after the other in dependsOn order (Graph may run independent items in
// parallel and answer in any order; the emulator answers in request order).
func (s *Server) batch(c *call) *graphError {
	if c.r.Method != http.MethodPost {
		return errMethodNotAllowed()
	}
	raw, gerr := readBody(c.r)
	if gerr != nil {
		return gerr
	}
	var payload struct {
		Requests []batchRequest `json:"requests"`
	}
	if err := json.Unmarshal(raw, &payload); err != nil || len(payload.Requests) == 0 {
		return newError(http.StatusBadRequest, codeBadRequest, msgInvalidBatch)
	}
	reqs := payload.Requests
	if len(reqs) > maxBatchRequests {
		// The limit is documented; the message text is the emulator's.
		return newError(http.StatusBadRequest, codeBadRequest, fmt.Sprintf(
			"The batch contains %d requests; JSON batch requests are limited to %d.", len(reqs), maxBatchRequests))
	}
	if err := checkBatch(reqs); err != nil {
		return err
	}

	statuses := map[string]int{}
	responses := make([]batchResponse, len(reqs))
	for _, i := range batchOrder(reqs) {
		br := reqs[i]
		failed := ""
		for _, dep := range br.DependsOn {
			if st := statuses[strings.ToLower(dep)]; st < 200 || st > 299 {
				failed = dep
				break
			}
		}
		if failed != "" {
			responses[i] = s.failedDependency(c, br.ID, failed)
		} else {
			responses[i] = s.runBatchItem(c, br)
		}
		statuses[strings.ToLower(br.ID)] = responses[i].Status
	}
	c.writeJSON(http.StatusOK, map[string]any{"responses": responses})
	return nil
}

// checkBatch rejects what makes the whole batch malformed.
func checkBatch(reqs []batchRequest) *graphError {
	bad := func(format string, args ...any) *graphError {
		return newError(http.StatusBadRequest, codeBadRequest, fmt.Sprintf(format, args...))
	}
	ids := map[string]bool{}
	for _, r := range reqs {
		if r.ID == "" || r.Method == "" || r.URL == "" {
			return bad(msgInvalidBatch)
		}
		// Duplicate ids: "Request Id 1 has to be unique in a batch." (the
		// answer Graph gives, as recorded by Graph client test fixtures).
		if ids[strings.ToLower(r.ID)] {
			return bad("Request Id %s has to be unique in a batch.", r.ID)
		}
		ids[strings.ToLower(r.ID)] = true
		if strings.Contains(r.URL, "://") {
			return bad("Request Id %s: the url must be relative to the version root, e.g. /users.", r.ID)
		}
		hasBody := len(r.Body) > 0 && string(r.Body) != "null"
		// Docs: "When a body is included with the request, the headers
		// object must contain a value for Content-Type"; a write must carry
		// both ("you must still specify the headers and body parameters
		// where only body can be an empty object"). Graph's message: "Write
		// request id : 1 does not contain Content-Type header or body."
		if (hasBody || isWrite(r.Method)) && (!hasBody || headerValue(r.Headers, "Content-Type") == "") {
			return bad("Write request id : %s does not contain Content-Type header or body.", r.ID)
		}
	}
	for _, r := range reqs {
		for _, dep := range r.DependsOn {
			if !ids[strings.ToLower(dep)] || strings.EqualFold(dep, r.ID) {
				return bad("Request Id %s depends on %q, which is not another request of the batch.", r.ID, dep)
			}
		}
	}
	if len(batchOrder(reqs)) != len(reqs) {
		return bad("The dependsOn references of the batch form a cycle.")
	}
	return nil
}

func isWrite(method string) bool {
	switch strings.ToUpper(method) {
	case http.MethodPost, http.MethodPatch, http.MethodPut:
		return true
	}
	return false
}

func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// batchOrder returns the indexes of reqs in execution order: each request
// after the ones it depends on, otherwise in request order. A cycle leaves
// requests out.
func batchOrder(reqs []batchRequest) []int {
	done := map[string]bool{}
	var order []int
	placed := make([]bool, len(reqs))
	for progress := true; progress; {
		progress = false
		for i, r := range reqs {
			if placed[i] {
				continue
			}
			ready := true
			for _, dep := range r.DependsOn {
				ready = ready && done[strings.ToLower(dep)]
			}
			if ready {
				placed[i], progress = true, true
				done[strings.ToLower(r.ID)] = true
				order = append(order, i)
			}
		}
	}
	return order
}

// failedDependency is the 424 answer for a request whose dependency failed.
// Graph documents the status; the error code and message are the
// emulator's.
func (s *Server) failedDependency(c *call, id, dep string) batchResponse {
	rec := newRecorder()
	item := s.newCall(rec, c.r)
	item.writeError(newError(http.StatusFailedDependency, "FailedDependency",
		fmt.Sprintf("The request could not run because request %s, which it depends on, failed.", dep)))
	return rec.response(id)
}

// runBatchItem runs one request of a batch through the normal handlers.
func (s *Server) runBatchItem(c *call, br batchRequest) batchResponse {
	target := "/v1.0/" + strings.TrimLeft(br.URL, "/")
	body := itemBody(br.Body)
	req, err := http.NewRequestWithContext(c.r.Context(), strings.ToUpper(br.Method), target, bytes.NewReader(body))
	rec := newRecorder()
	if err != nil {
		item := s.newCall(rec, c.r)
		item.writeError(newError(http.StatusBadRequest, codeBadRequest, "Invalid request URL."))
		return rec.response(br.ID)
	}
	req.Host, req.TLS, req.RemoteAddr = c.r.Host, c.r.TLS, c.r.RemoteAddr
	for k, v := range br.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Authorization", c.r.Header.Get("Authorization"))
	if id := c.r.Header.Get("client-request-id"); id != "" && req.Header.Get("client-request-id") == "" {
		req.Header.Set("client-request-id", id)
	}
	s.serveGraph(rec, req, true)
	return rec.response(br.ID)
}

// itemBody is the request body of a batch item: the JSON value itself, or
// the bytes of a base64 string (docs: the body "might be a JSON object or a
// base64 URL-encoded value").
func itemBody(raw json.RawMessage) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding} {
			if b, err := enc.DecodeString(str); err == nil {
				return b
			}
		}
		return []byte(str)
	}
	return raw
}

// recorder captures a response in memory: for batch items and for the
// work behind an injected 504.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// response turns the recording into a batch response. The item's headers
// are kept as Graph's example shows them (Cache-Control, Content-Type,
// x-ms-resource-unit, Retry-After ...), without the per-request
// bookkeeping headers of the outer response.
func (r *recorder) response(id string) batchResponse {
	out := batchResponse{ID: id, Status: r.status, Headers: map[string]string{}}
	if out.Status == 0 {
		out.Status = http.StatusOK
	}
	for k, vs := range r.header {
		switch strings.ToLower(k) {
		case "date", "request-id", "client-request-id":
			continue
		}
		out.Headers[graphHeaderName(k)] = strings.Join(vs, ", ")
	}
	if r.body.Len() > 0 {
		if strings.HasPrefix(r.header.Get("Content-Type"), "application/json") && json.Valid(r.body.Bytes()) {
			out.Body = json.RawMessage(r.body.Bytes())
		} else {
			out.Body, _ = json.Marshal(r.body.String())
		}
	}
	return out
}

// graphHeaderName spells a header as Graph's batch responses do:
// "x-ms-resource-unit", "OData-Version", otherwise canonical.
func graphHeaderName(k string) string {
	switch lower := strings.ToLower(k); {
	case strings.HasPrefix(lower, "x-ms-"):
		return lower
	case lower == "odata-version":
		return "OData-Version"
	}
	return http.CanonicalHeaderKey(k)
}
