// Package graphsim is an in-memory emulator of the parts of Microsoft Graph
// v1.0 that guestsync uses (users, invitations, deleted items, delta, JSON
// batching, organization, groups, applications and service principals), so
// that guestsync and its tests can run against "Graph" without a tenant or
// a network.
//
// Directory objects other than users, as an admin's script makes them and
// a reader of the tenant's guests reads them:
//   - groups: POST /groups, GET /groups (paging, $filter, $select, $count),
//     GET and DELETE /groups/{id}, GET /groups/$count;
//   - membership: POST /groups/{id}/members/$ref, DELETE
//     /groups/{id}/members/{id}/$ref (or /members/$ref?@id=); users and
//     groups as members, nested groups and cycles allowed;
//   - GET /groups/{id}/members and /transitiveMembers, with an OData cast
//     (/microsoft.graph.user, /graph.user), $select, $top, paging, $filter,
//     $count=true and the /$count segment, and the advanced query rules
//     (ConsistencyLevel: eventual plus $count=true) Microsoft documents for
//     them: transitiveMembers/microsoft.graph.user needs both;
//   - GET /groups/delta with members@delta ($select=members or the
//     default), membership additions and removals in later rounds, removed
//     groups, and $filter=id eq '...'; users/delta takes the same $filter;
//   - applications (POST, GET, list with $filter=appId eq), service
//     principals (POST with appId, GET by id or (appId='...'), list), and
//     POST, GET and DELETE /servicePrincipals/{id}/appRoleAssignedTo.
//
// Deleting a user ends its memberships as groups/delta and the member lists
// see them (restoring it brings them back) and hides its app role
// assignments. Group restores, PATCH of groups, owners, memberOf and
// $expand answer 501.
//
// It reproduces documented Graph behaviour rather than just accepting
// requests: authentication errors, Graph's error body and headers, gzip
// request bodies, user validation and uniqueness rules, $filter/$select/$top
// support and their documented rejections, absolute @odata.nextLink paging,
// soft delete with a 30-day recycle bin, delta links, JSON batching, the
// identity-and-access throttling budgets, and (on request) the failures a
// real tenant shows: 5xx answers, dropped connections, latency and
// replication lag. Each rule names the documentation it reproduces where it
// is implemented. Features of real Graph that are not emulated yet answer 501
// NotImplemented, never a fake success.
//
// Time scaling: Options.TimeScale compresses the emulated durations
// (throttling windows and Retry-After, replication lag, the 30-day purge of
// deleted items, the 503 Retry-After, the 7-day lifetime of delta links) by
// that factor so tests run in seconds.
// Timestamps shown in responses stay on the wall clock.
package graphsim

import (
	"crypto/rand"
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

// Options configures a Server. The zero value is a usable tenant without
// throttling, faults or replication lag.
type Options struct {
	// VerifiedDomains are the tenant's verified domains, accepted as UPN
	// domains (case-insensitively). The first is the default domain; the
	// first ending in ".onmicrosoft.com" is the initial one. Every real
	// tenant has an initial domain, so when none is listed
	// "<TenantName>.onmicrosoft.com" is added at the end. Empty means
	// "graphsim.onmicrosoft.com".
	VerifiedDomains []string
	// Token, if non-empty, must equal the bearer token exactly; if empty any
	// non-empty bearer token is accepted.
	Token string
	// Logger receives one debug record per request; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TenantID is the organization id; empty means a random GUID (or the
	// one in a loaded state file).
	TenantID string
	// TenantName is the organization's displayName; empty means "graphsim".
	TenantName string

	// Throttle selects the throttling model: ThrottleDocumented applies
	// Microsoft's identity-and-access budgets; ThrottleOff (and "") does not
	// throttle. The CLI defaults to documented.
	Throttle ThrottleMode
	// Budgets overrides the documented budgets; zero fields keep them.
	Budgets Budgets
	// TimeScale > 1 makes emulated time pass faster: budgets refill
	// TimeScale times faster and Retry-After values are TimeScale times
	// smaller; replication lag, the 503 Retry-After and the 30-day purge of
	// deleted items shrink the same way. 0 means 1.
	TimeScale float64
	// Faults injects failures; the zero value injects none.
	Faults Faults
	// DeltaTokenLifetime is how long a users/delta or groups/delta
	// deltaLink stays usable after it was issued, in emulated time
	// (time-scaled like the other durations); an older one answers 400
	// syncStateNotFound. 0 means the documented seven days for directory
	// objects; a negative value means deltaLinks never expire. Server.ExpireDeltaTokens expires every
	// deltaLink issued so far at once.
	DeltaTokenLifetime time.Duration
}

// Server is an emulated Graph tenant. It is safe for concurrent use.
type Server struct {
	opts        Options
	tenantFixed bool // Options.TenantID was given
	log         *slog.Logger
	now         func() time.Time
	scale       float64
	domains     []string
	initial     string // the initial .onmicrosoft.com domain
	schema      *schema
	types       schemas // the entity types other than user
	throttle    *throttler
	faults      *faultInjector

	mu         sync.Mutex
	users      *userStore
	dir        *directory              // groups, applications, service principals
	deleted    map[string]*deletedUser // lower-cased id → soft-deleted user
	tombstones map[string]tombstone    // lower-cased id → last removal, for delta
	changes    changeLog               // users' changes and removals in change-number order (delta)
	binOldest  deletedBound            // bounds the deletion times in deleted (purgeExpired)
	changeSeq  uint64                  // last change number handed out (delta)
	deltaEpoch uint64                  // bumped by ExpireDeltaTokens: older deltaLinks are expired
	deltaKey   []byte                  // signs the instance's delta tokens (encodeToken); kept in the state
	generation uint64                  // bumped by every state change (autosave)
	saved      uint64                  // generation last written by SaveStateIfChanged
	stats      Stats
}

// Stats counts what the server holds and what it has answered.
type Stats struct {
	Users             int // users currently in the tenant
	Groups            int // groups currently in the tenant
	Applications      int // applications (registrations)
	ServicePrincipals int // service principals
	DeletedUsers      int // soft-deleted users in directory/deletedItems
	Reads             int // successful GET requests (batch items included)
	Writes            int // successful POST, PATCH and DELETE requests (batch items included)
	Throttled         int // 429 answers, batch items included
	Faults            int // injected 500/503/504 answers and dropped connections
	Batches           int // $batch requests answered 200
	BatchItems        int // requests run inside batches
}

// New returns an empty tenant configured by opts.
func New(opts Options) *Server {
	s := &Server{
		opts: opts, log: opts.Logger, now: opts.Now, scale: opts.TimeScale,
		users: newUserStore(), schema: userSchema(), types: newSchemas(), dir: newDirectory(),
		deleted: map[string]*deletedUser{}, tombstones: map[string]tombstone{},
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.scale <= 0 {
		s.scale = 1
	}
	s.deltaKey = make([]byte, deltaKeySize)
	_, _ = rand.Read(s.deltaKey) // crypto/rand.Read never fails (Go 1.24+).
	s.tenantFixed = s.opts.TenantID != ""
	if !s.tenantFixed {
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
	for _, d := range s.domains {
		if strings.HasSuffix(strings.ToLower(d), ".onmicrosoft.com") {
			s.initial = d
			break
		}
	}
	if s.initial == "" {
		s.initial = initialDomainFor(s.opts.TenantName)
		s.domains = append(s.domains, s.initial)
	}
	s.throttle = newThrottler(opts.Throttle, opts.Budgets, s.scale)
	s.faults = newFaultInjector(opts.Faults)
	return s
}

// initialDomainFor derives "<name>.onmicrosoft.com" from a tenant name the
// way the Entra admin center suggests one: letters and digits only.
func initialDomainFor(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if isASCIIAlnum(r) {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		b.WriteString("graphsim")
	}
	return b.String() + ".onmicrosoft.com"
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Users = len(s.users.byID)
	st.DeletedUsers = len(s.deleted)
	st.Groups, st.Applications, st.ServicePrincipals = len(s.dir.groups), len(s.dir.apps), len(s.dir.sps)
	return st
}

// scaled converts an emulated duration to wall time under TimeScale.
func (s *Server) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.scale)
}

// call is one request being answered.
type call struct {
	w               http.ResponseWriter
	r               *http.Request
	now             time.Time
	requestID       string
	clientRequestID string
	status          int
	app             string // application id derived from the bearer token
	batchItem       bool   // run inside a $batch
	batchOuter      bool   // the $batch request itself
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
	h := c.w.Header()
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", wwwAuthenticate)
	}
	for k, v := range e.headers {
		h.Set(k, v)
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

// ServeHTTP answers requests for paths under /v1.0/, and the emulator's own
// GET /_graphsim/state.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	if !s.faults.connection(w, r, s) {
		return // the connection was dropped
	}
	s.serveGraph(w, r, false)
}

// newCall prepares the answer to r with Graph's standard headers.
func (s *Server) newCall(w http.ResponseWriter, r *http.Request) *call {
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
	return c
}

// serveGraph answers one Graph request, at top level or as a batch item.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request, batchItem bool) {
	c := s.newCall(w, r)
	c.batchItem = batchItem
	if err := s.serve(c); err != nil {
		c.writeError(err)
	}
	s.record(c)
}

func (s *Server) serve(c *call) *graphError {
	if err := s.authenticate(c.r); err != nil {
		return err
	}
	c.app = appID(c.r)
	s.purgeExpired(c.now)
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
	if len(segs) == 1 && strings.EqualFold(segs[0], "$batch") && !c.batchItem {
		c.batchOuter = true
		// Graph docs, "JSON batching": the batch itself is not charged;
		// "requests in a batch are evaluated individually against the
		// applicable throttling limits".
		return s.batch(c)
	}
	users, tenant := s.tenantInfo()
	if err := s.throttle.admit(c, costOf(c.r, segs), users, tenant); err != nil {
		return err
	}
	return s.faults.status(c, s, func(c *call) *graphError { return s.route(c, segs) })
}

// route dispatches a versioned request to its resource.
func (s *Server) route(c *call, segs []string) *graphError {
	if len(segs) == 0 {
		return errNotEmulated("the service document")
	}
	if appID, ok := appIDKey(segs[0]); ok {
		return s.routeServicePrincipals(c, append([]string{"appId=" + appID}, segs[1:]...))
	}
	// OData resource paths are matched case-insensitively by Graph.
	switch strings.ToLower(segs[0]) {
	case "users":
		return s.routeUsers(c, segs[1:])
	case "invitations":
		return s.routeInvitations(c, segs[1:])
	case "directory":
		return s.routeDirectory(c, segs[1:])
	case "organization":
		return s.routeOrganization(c, segs[1:])
	case "me":
		// Graph docs, "Get user": /me needs a signed-in user; with an app-only
		// token Graph answers 400 BadRequest with this message.
		return newError(http.StatusBadRequest, codeBadRequest, msgMeNeedsDelegatedFlow)
	case "$batch":
		// Graph docs, "JSON batching": "requests cannot contain a batch
		// request payload" (msgraph-sdk-design, BatchRequestContent).
		return newError(http.StatusBadRequest, codeBadRequest, "Nested batch requests are not supported.")
	case "groups":
		return s.routeGroups(c, segs[1:])
	case "applications":
		return s.routeApplications(c, segs[1:])
	case "serviceprincipals":
		return s.routeServicePrincipals(c, segs[1:])
	case "domains", "subscribedskus", "$metadata":
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

// record updates the counters and logs the request. The $batch request
// itself is counted as a batch, its items as reads and writes.
func (s *Server) record(c *call) {
	ok := c.status >= 200 && c.status < 300
	s.mu.Lock()
	switch {
	case c.batchOuter:
		if ok {
			s.stats.Batches++
		}
	case c.r.Method == http.MethodGet:
		if ok {
			s.stats.Reads++
		}
	case c.r.Method == http.MethodPost, c.r.Method == http.MethodPatch, c.r.Method == http.MethodDelete:
		if ok {
			s.stats.Writes++
		}
	}
	if c.batchItem {
		s.stats.BatchItems++
	}
	if c.status == http.StatusTooManyRequests {
		s.stats.Throttled++
	}
	s.mu.Unlock()
	s.log.Debug("graphsim request", "method", c.r.Method, "path", c.r.URL.Path, "status", c.status,
		"request-id", c.requestID, "batch-item", c.batchItem)
}

// resourceUnits sets x-ms-resource-unit, the cost Graph charges the request
// against the identity-and-access throttling budget (Graph docs, "Microsoft
// Graph service-specific throttling limits", identity and access: "Indicates
// the resource unit used for this request").
func resourceUnits(c *call, units int) {
	c.w.Header().Set("x-ms-resource-unit", strconv.Itoa(units))
}

// touch records a change of the tenant: a new change number for delta and a
// new generation for autosave; for a changed user, also which of its
// properties now hold a value (userRecord.everSet). The caller holds s.mu.
func (s *Server) touch(u *userRecord) {
	s.changeSeq++
	s.generation++
	if u != nil {
		u.changed = s.changeSeq
		u.noteValues()
		s.logChange(changeEntry{seq: u.changed, user: u})
	}
}

// tenantInfo returns the number of users, which selects the resource-unit
// budget, and the tenant id.
func (s *Server) tenantInfo() (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users.byID), s.opts.TenantID
}
