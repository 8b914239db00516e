package graphsim

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ThrottleMode selects the throttling model.
type ThrottleMode string

const (
	// ThrottleOff never throttles (the zero value "" means the same).
	ThrottleOff ThrottleMode = "off"
	// ThrottleDocumented applies the identity-and-access budgets Microsoft
	// documents, and the invitation manager's.
	ThrottleDocumented ThrottleMode = "documented"
)

// ParseThrottleMode parses "documented" or "off".
func ParseThrottleMode(s string) (ThrottleMode, error) {
	switch m := ThrottleMode(strings.ToLower(strings.TrimSpace(s))); m {
	case ThrottleOff, ThrottleDocumented:
		return m, nil
	}
	return "", fmt.Errorf("throttle mode must be documented or off, not %q", s)
}

// Budgets are the throttling limits. Zero fields take the documented
// values (Graph docs, "Microsoft Graph service-specific throttling limits",
// "Identity and access service limits" and "Invitation manager service
// limits").
type Budgets struct {
	// ResourceUnits per application+tenant pair per ResourceUnitWindow;
	// 0 means by tenant size: 3,500 (under 50 users), 5,000 (50 to 500),
	// 8,000 (above 500).
	ResourceUnits      int
	ResourceUnitWindow time.Duration // 0: 10 s
	// AppWrites per application+tenant pair per AppWriteWindow; 0: 3,000.
	AppWrites      int
	AppWriteWindow time.Duration // 0: 2 min 30 s
	// TenantWrites for all applications of the tenant per
	// TenantWriteWindow; 0: 18,000.
	TenantWrites      int
	TenantWriteWindow time.Duration // 0: 5 min
	// Invitations per tenant for all applications per InvitationWindow on
	// /invitations; 0: 150.
	Invitations      int
	InvitationWindow time.Duration // 0: 5 s
}

func (b Budgets) withDefaults() Budgets {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur(&b.ResourceUnitWindow, 10*time.Second)
	def(&b.AppWrites, 3000)
	defDur(&b.AppWriteWindow, 150*time.Second)
	def(&b.TenantWrites, 18000)
	defDur(&b.TenantWriteWindow, 5*time.Minute)
	def(&b.Invitations, 150)
	defDur(&b.InvitationWindow, 5*time.Second)
	return b
}

// resourceUnitsFor is the application+tenant resource-unit quota: "S - under
// 50 users, M - between 50 and 500 users, and L - above 500 users".
func (b Budgets) resourceUnitsFor(users int) int {
	switch {
	case b.ResourceUnits > 0:
		return b.ResourceUnits
	case users < 50:
		return 3500
	case users <= 500:
		return 5000
	default:
		return 8000
	}
}

// service is the throttling family a request belongs to.
type service int

const (
	identityService service = iota
	invitationService
)

// cost is what a request charges against the budgets.
type cost struct {
	service service
	units   int // resource units
	writes  int
}

// costOf applies the documented request costs (Graph docs, throttling
// limits, identity and access, "base request costs"): GET users 2 units,
// GET applications 2, any other identity GET 1; POST, PATCH, PUT and
// DELETE 1 unit and 1 write. The emulator charges every GET of a
// collection of directory objects like GET users (2: /groups,
// /servicePrincipals, a group's members and transitiveMembers, an
// appRoleAssignedTo list), and a GET of one object or a delta page 1: the
// docs price only the most common requests, and a list is the expensive
// read for the directory.
// "Using $select decreases cost by 1; using $expand increases cost by 1;
// using $top with a value of less than 20 decreases cost by 1"; "a request
// cost can never be lower than 1". Requests on /invitations belong to the
// invitation manager service, which counts requests.
func costOf(r *http.Request, segs []string) cost {
	if len(segs) > 0 && strings.EqualFold(segs[0], "invitations") {
		return cost{service: invitationService, units: 1}
	}
	c := cost{units: 1}
	switch r.Method {
	case http.MethodGet:
		if isCollectionRead(segs) {
			c.units = 2
		}
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		c.writes = 1
	}
	values, _ := url.ParseQuery(r.URL.RawQuery)
	for name, vs := range values {
		switch strings.ToLower(name) {
		case "$select":
			c.units--
		case "$expand":
			c.units++
		case "$top":
			if n, err := strconv.Atoi(vs[0]); err == nil && n < 20 {
				c.units--
			}
		}
	}
	c.units = max(c.units, 1)
	return c
}

// isCollectionRead tells a GET of a collection of directory objects:
// /users, /groups, /applications, /servicePrincipals, or a relationship
// of one object (/groups/{id}/members, ...).
func isCollectionRead(segs []string) bool {
	if len(segs) == 0 {
		return false
	}
	switch strings.ToLower(segs[0]) {
	case "users", "groups", "applications", "serviceprincipals":
	default:
		return false
	}
	switch len(segs) {
	case 1:
		return true
	case 2:
		return false // one object, or a delta round (priced as any other GET)
	}
	switch strings.ToLower(segs[2]) {
	case "members", "transitivemembers", "approleassignedto":
		return !strings.EqualFold(segs[len(segs)-1], "$count")
	}
	return false
}

// bucket is a token bucket that refills continuously to its capacity over
// its window ("Throttling is based on a token bucket algorithm").
type bucket struct {
	tokens float64
	last   time.Time
	primed bool
}

// level refills the bucket up to now and returns its tokens. elapsed wall
// time counts scale times.
func (b *bucket) level(now time.Time, capacity float64, window time.Duration, scale float64) float64 {
	if !b.primed {
		b.tokens, b.last, b.primed = capacity, now, true
	}
	if elapsed := now.Sub(b.last).Seconds() * scale; elapsed > 0 {
		b.tokens += elapsed * capacity / window.Seconds()
		b.last = now
	}
	b.tokens = min(b.tokens, capacity)
	return b.tokens
}

type throttler struct {
	on    bool
	b     Budgets
	scale float64

	mu           sync.Mutex
	units        map[string]*bucket // per application (this tenant)
	appWrites    map[string]*bucket // per application (this tenant)
	tenantWrites bucket
	invitations  bucket
}

func newThrottler(mode ThrottleMode, b Budgets, scale float64) *throttler {
	return &throttler{on: mode == ThrottleDocumented, b: b.withDefaults(), scale: scale,
		units: map[string]*bucket{}, appWrites: map[string]*bucket{}}
}

// limit is one budget a request is checked against.
type limit struct {
	b        *bucket
	capacity float64
	window   time.Duration
	need     float64
	scope    string // x-ms-throttle-scope's <Scope>/<Limit>
	info     string // x-ms-throttle-information
}

func (t *throttler) limits(c *call, k cost, users int) []limit {
	if k.service == invitationService {
		return []limit{{&t.invitations, float64(t.b.Invitations), t.b.InvitationWindow, 1,
			"Tenant/ReadWrite", "RequestLimitExceeded"}}
	}
	ls := []limit{{bucketOf(t.units, c.app), float64(t.b.resourceUnitsFor(users)), t.b.ResourceUnitWindow,
		float64(k.units), "Tenant_Application/ReadWrite", "ResourceUnitLimitExceeded"}}
	if k.writes > 0 {
		ls = append(ls,
			limit{bucketOf(t.appWrites, c.app), float64(t.b.AppWrites), t.b.AppWriteWindow, float64(k.writes),
				"Tenant_Application/Write", "WriteLimitExceeded"},
			limit{&t.tenantWrites, float64(t.b.TenantWrites), t.b.TenantWriteWindow, float64(k.writes),
				"Tenant/Write", "WriteLimitExceeded"})
	}
	return ls
}

func bucketOf(m map[string]*bucket, key string) *bucket {
	b := m[key]
	if b == nil {
		b = &bucket{}
		m[key] = b
	}
	return b
}

// admit charges the request or answers 429. Graph docs, throttling limits,
// identity and access: "Only the requests exceeding the limits will be
// throttled" (a throttled request is not charged); responses carry
// x-ms-resource-unit; x-ms-throttle-limit-percentage is "returned only when
// the application consumed more than 0.8 of its limit" (0.8 to 1.8); a
// throttled response carries x-ms-throttle-scope
// "<Scope>/<Limit>/<ApplicationId>/<TenantId>" and x-ms-throttle-information;
// GRAPH.md: 429 TooManyRequests "Please retry again later." with
// Retry-After in seconds, possibly fractional, here the time until the
// bucket holds enough for this request.
func (t *throttler) admit(c *call, k cost, users int, tenant string) *graphError {
	if k.service == identityService {
		resourceUnits(c, k.units)
	}
	if !t.on {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ls := t.limits(c, k, users)
	var worst *limit
	wait, usage := 0.0, 0.0
	for i := range ls {
		l := &ls[i]
		level := l.b.level(c.now, l.capacity, l.window, t.scale)
		need := min(l.need, l.capacity)
		usage = max(usage, (l.capacity-level+need)/l.capacity)
		if level >= need {
			continue
		}
		if w := (need - level) / (l.capacity / l.window.Seconds()) / t.scale; worst == nil || w > wait {
			worst, wait = l, w
		}
	}
	if worst != nil {
		e := newError(http.StatusTooManyRequests, codeTooManyRequests, msgRetryLater)
		e.headers = map[string]string{
			"Retry-After":                    formatSeconds(wait),
			"x-ms-throttle-scope":            worst.scope + "/" + c.app + "/" + tenant,
			"x-ms-throttle-information":      worst.info,
			"x-ms-throttle-limit-percentage": formatUsage(usage),
		}
		return e
	}
	for _, l := range ls {
		l.b.tokens -= min(l.need, l.capacity)
	}
	if usage > 0.8 {
		c.w.Header().Set("x-ms-throttle-limit-percentage", formatUsage(usage))
	}
	return nil
}

// formatSeconds renders a Retry-After value: seconds rounded up to the
// millisecond, at least 0.001.
func formatSeconds(s float64) string {
	s = max(math.Ceil(s*1000)/1000, 0.001)
	return strconv.FormatFloat(s, 'f', -1, 64)
}

func formatUsage(u float64) string {
	return strconv.FormatFloat(min(max(u, 0.8), 1.8), 'f', 2, 64)
}
