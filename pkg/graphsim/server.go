// Package graphsim is an in-memory emulator of the parts of Microsoft Graph
// v1.0 that guestsync uses (users, organization), so that guestsync and its
// tests can run against "Graph" without a tenant or a network.
//
// It reproduces documented Graph behaviour rather than just accepting
// requests: authentication errors, Graph's error body and headers, gzip
// request bodies, user validation and uniqueness rules, $filter/$select/$top
// support and their documented rejections, and absolute @odata.nextLink
// paging. Each rule names the documentation it reproduces where it is
// implemented. Features of real Graph that are not emulated yet answer 501
// NotImplemented, never a fake success.
package graphsim

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a Server.
type Options struct {
	// VerifiedDomains are the tenant's verified domains, accepted as UPN
	// domains (case-insensitively). The first is the default domain; the
	// first ending in ".onmicrosoft.com" is the initial one. Empty means
	// "graphsim.onmicrosoft.com".
	VerifiedDomains []string
	// Token, if non-empty, must equal the bearer token exactly; if empty any
	// non-empty bearer token is accepted.
	Token string
	// Logger receives one debug record per request; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TenantID is the organization id; empty means a random GUID.
	TenantID string
	// TenantName is the organization's displayName; empty means "graphsim".
	TenantName string
}

// Server is an emulated Graph tenant. It is safe for concurrent use.
type Server struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	domains []string
	schema  *schema

	mu     sync.Mutex
	users  *userStore
	reads  int
	writes int
}

// Stats counts what the server holds and what it has answered.
type Stats struct {
	Users  int // users currently in the tenant
	Reads  int // successful GET requests
	Writes int // successful POST, PATCH and DELETE requests
}

// New returns an empty tenant configured by opts.
func New(opts Options) *Server {
	s := &Server{opts: opts, log: opts.Logger, now: opts.Now, users: newUserStore(), schema: userSchema()}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.opts.TenantID == "" {
		s.opts.TenantID = newGUID()
	}
	if s.opts.TenantName == "" {
		s.opts.TenantName = "graphsim"
	}
	for _, d := range opts.VerifiedDomains {
		if d = strings.TrimSpace(d); d != "" {
			s.domains = append(s.domains, d)
		}
	}
	if len(s.domains) == 0 {
		s.domains = []string{"graphsim.onmicrosoft.com"}
	}
	return s
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Users: len(s.users.byID), Reads: s.reads, Writes: s.writes}
}

// call is one request being answered.
type call struct {
	w               http.ResponseWriter
	r               *http.Request
	now             time.Time
	requestID       string
	clientRequestID string
	status          int
}

// jsonContentType is the Content-Type Graph sends with JSON responses.
const jsonContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

func (c *call) writeJSON(status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Everything the emulator marshals is plain data; this cannot happen.
		panic("graphsim: marshal response: " + err.Error())
	}
	h := c.w.Header()
	h.Set("Content-Type", jsonContentType)
	h.Set("OData-Version", "4.0")
	c.status = status
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}

func (c *call) writeNoContent() {
	c.status = http.StatusNoContent
	c.w.WriteHeader(http.StatusNoContent)
}

func (c *call) writeText(status int, text string) {
	c.w.Header().Set("Content-Type", "text/plain")
	c.status = status
	c.w.WriteHeader(status)
	_, _ = io.WriteString(c.w, text)
}

func (c *call) writeError(e *graphError) {
	if e.status == http.StatusUnauthorized {
		c.w.Header().Set("WWW-Authenticate", wwwAuthenticate)
	}
	c.writeJSON(e.status, errorBody{Error: errorPayload{
		Code:    e.code,
		Message: e.message,
		Details: e.details,
		InnerError: innerError{
			Date:            c.now.UTC().Format(innerErrorDateLayout),
			RequestID:       c.requestID,
			ClientRequestID: c.clientRequestID,
		},
	}})
}

// ServeHTTP answers requests for paths under /v1.0/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, now: s.now(), requestID: newGUID()}
	// Graph echoes client-request-id when the client sends one; otherwise it
	// reports its own request id there too (see innerError in Graph docs'
	// example error bodies).
	c.clientRequestID = r.Header.Get("client-request-id")
	if c.clientRequestID == "" {
		c.clientRequestID = c.requestID
	}
	h := w.Header()
	h.Set("request-id", c.requestID)
	h.Set("client-request-id", c.clientRequestID)
	h.Set("Date", c.now.UTC().Format(http.TimeFormat))
	h.Set("Cache-Control", "no-cache")

	if err := s.serve(c); err != nil {
		c.writeError(err)
	}
	s.record(c)
}

func (s *Server) serve(c *call) *graphError {
	if err := s.authenticate(c.r); err != nil {
		return err
	}
	segs, ok := pathSegments(c.r.URL)
	if !ok {
		return newError(http.StatusBadRequest, codeBadRequest, "Invalid request URL.")
	}
	// Graph answers a version it does not serve with 400 "Invalid version".
	if len(segs) == 0 || segs[0] != "v1.0" {
		version := ""
		if len(segs) > 0 {
			version = segs[0]
		}
		return newError(http.StatusBadRequest, codeBadRequest, "Invalid version: "+version)
	}
	segs = segs[1:]
	if len(segs) == 0 {
		return errNotEmulated("the service document")
	}
	// OData resource paths are matched case-insensitively by Graph.
	switch strings.ToLower(segs[0]) {
	case "users":
		return s.routeUsers(c, segs[1:])
	case "organization":
		return s.routeOrganization(c, segs[1:])
	case "me":
		// Graph docs, "Get user": /me needs a signed-in user; with an app-only
		// token Graph answers 400 BadRequest with this message.
		return newError(http.StatusBadRequest, codeBadRequest, msgMeNeedsDelegatedFlow)
	case "invitations", "$batch", "directory", "groups", "applications",
		"serviceprincipals", "domains", "subscribedskus", "$metadata":
		return errNotEmulated("/" + segs[0])
	default:
		return errSegmentNotFound(segs[0])
	}
}

// pathSegments splits the escaped path and unescapes each segment, so that an
// encoded "/" stays inside its segment and "%23" becomes "#" (GRAPH.md: a
// guest UPN's "#" is sent as %23).
func pathSegments(u *url.URL) ([]string, bool) {
	var segs []string
	for _, raw := range strings.Split(strings.Trim(u.EscapedPath(), "/"), "/") {
		if raw == "" {
			continue
		}
		seg, err := url.PathUnescape(raw)
		if err != nil {
			return nil, false
		}
		segs = append(segs, seg)
	}
	return segs, true
}

// record updates the counters and logs the request.
func (s *Server) record(c *call) {
	ok := c.status >= 200 && c.status < 300
	s.mu.Lock()
	switch c.r.Method {
	case http.MethodGet:
		if ok {
			s.reads++
		}
	case http.MethodPost, http.MethodPatch, http.MethodDelete:
		if ok {
			s.writes++
		}
	}
	s.mu.Unlock()
	s.log.Debug("graphsim request",
		"method", c.r.Method, "path", c.r.URL.Path, "status", c.status, "request-id", c.requestID)
}

// resourceUnits sets x-ms-resource-unit, the cost Graph charges the request
// against the identity-and-access throttling budget (GRAPH.md, "Throttling":
// GET users 2 units, 1 with $select; writes 1 unit).
func resourceUnits(c *call, units int) {
	c.w.Header().Set("x-ms-resource-unit", strconv.Itoa(units))
}
