package graphsim

import (
	cryptorand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Faults describes injected failures. Probabilities are per request (batch
// items draw their own status faults); the zero value injects nothing.
type Faults struct {
	InternalError  float64       // "500": 500 generalException, before the request runs
	Unavailable    float64       // "503": 503 serviceNotAvailable with Retry-After, before it runs
	GatewayTimeout float64       // "504": 504 after the request ran (its effect stays)
	Drop           float64       // "drop": the connection is closed without an answer
	Latency        time.Duration // "latency": added to every request (not time-scaled)
	// Lag is the replication lag after a create or an invitation ("lag"):
	// for that long (time-scaled) the new user answers 404 by id or UPN and
	// is missing from lists, $count and delta, as a read served by a replica
	// that has not seen the write yet would be. Uniqueness checks see it at
	// once, as the directory's write path does. A membership change is seen
	// as late by the advanced queries on member lists (ConsistencyLevel:
	// eventual "uses an index that might not be up-to-date with recent
	// changes", Graph docs, "List group transitive members"), while
	// groups/delta and the default member reads see it at once.
	Lag time.Duration
	// Seed makes the draws reproducible ("seed"); 0 picks a random seed.
	Seed uint64
}

// ParseFaults parses a comma-separated spec such as
// "500=0.01,503=0.02,504=0.01,drop=0.005,latency=20ms,lag=2s,seed=7".
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	seen := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, value, ok := strings.Cut(item, "=")
		key, value = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(value)
		if !ok || value == "" {
			return Faults{}, fmt.Errorf("fault %q: want key=value", item)
		}
		if seen[key] {
			return Faults{}, fmt.Errorf("fault %q given twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "500":
			f.InternalError, err = parseProbability(value)
		case "503":
			f.Unavailable, err = parseProbability(value)
		case "504":
			f.GatewayTimeout, err = parseProbability(value)
		case "drop":
			f.Drop, err = parseProbability(value)
		case "latency":
			f.Latency, err = parseDuration(value)
		case "lag":
			f.Lag, err = parseDuration(value)
		case "seed":
			f.Seed, err = strconv.ParseUint(value, 10, 64)
		default:
			return Faults{}, fmt.Errorf("unknown fault %q (want 500, 503, 504, drop, latency, lag or seed)", key)
		}
		if err != nil {
			return Faults{}, fmt.Errorf("fault %s=%s: %w", key, value, err)
		}
	}
	if sum := f.InternalError + f.Unavailable + f.GatewayTimeout; sum > 1 {
		return Faults{}, fmt.Errorf("fault probabilities 500+503+504 add up to %g, more than 1", sum)
	}
	return f, nil
}

func parseProbability(v string) (float64, error) {
	p, err := strconv.ParseFloat(v, 64)
	if err != nil || p < 0 || p > 1 {
		return 0, fmt.Errorf("want a probability between 0 and 1")
	}
	return p, nil
}

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a non-negative duration such as 20ms or 2s")
	}
	return d, nil
}

// String renders f in ParseFaults' syntax, keys sorted.
func (f Faults) String() string {
	var parts []string
	add := func(k string, set bool, v string) {
		if set {
			parts = append(parts, k+"="+v)
		}
	}
	p := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	add("500", f.InternalError > 0, p(f.InternalError))
	add("503", f.Unavailable > 0, p(f.Unavailable))
	add("504", f.GatewayTimeout > 0, p(f.GatewayTimeout))
	add("drop", f.Drop > 0, p(f.Drop))
	add("latency", f.Latency > 0, f.Latency.String())
	add("lag", f.Lag > 0, f.Lag.String())
	add("seed", f.Seed != 0, strconv.FormatUint(f.Seed, 10))
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// faultInjector draws faults from one seeded generator, so that a given
// seed and a given sequence of requests inject the same faults.
type faultInjector struct {
	f   Faults
	mu  sync.Mutex
	rng *rand.Rand
}

func newFaultInjector(f Faults) *faultInjector {
	seed := f.Seed
	if seed == 0 {
		var b [8]byte
		_, _ = cryptorand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	return &faultInjector{f: f, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (fi *faultInjector) draw() float64 {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.rng.Float64()
}

// unavailableRetryAfter is the emulated wait a faulted 503 asks for. Graph
// docs, "Microsoft Graph error responses": 503 "The service is temporarily
// unavailable ... You may repeat the request after a delay, the length of
// which may be specified in a Retry-After header." The length is the
// emulator's choice.
const unavailableRetryAfter = 5 * time.Second

// connection applies latency and dropped connections to a top-level
// request. It reports false when the request must not be answered.
func (fi *faultInjector) connection(w http.ResponseWriter, r *http.Request, s *Server) bool {
	if fi.f.Latency > 0 {
		t := time.NewTimer(fi.f.Latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return false
		}
	}
	if fi.f.Drop <= 0 || fi.draw() >= fi.f.Drop {
		return true
	}
	s.countFault()
	// A dropped connection: no status line at all, as when a load balancer
	// resets the connection. The client sees EOF or "connection reset".
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return false
		}
	}
	panic(http.ErrAbortHandler) // net/http closes the connection silently
}

// status injects 500, 503 or 504 around run, which answers the request.
func (fi *faultInjector) status(c *call, s *Server, run func(*call) *graphError) *graphError {
	f := fi.f
	if f.InternalError+f.Unavailable+f.GatewayTimeout <= 0 {
		return run(c)
	}
	u := fi.draw()
	switch {
	case u < f.InternalError:
		s.countFault()
		// Graph docs, "Microsoft Graph error responses", code property:
		// generalException "An unspecified error has occurred."
		return newError(http.StatusInternalServerError, "generalException", "An unspecified error has occurred.")
	case u < f.InternalError+f.Unavailable:
		s.countFault()
		// Graph docs, error responses: serviceNotAvailable "The service is
		// not available. Try the request again after a delay. There may be
		// a Retry-After header."
		e := newError(http.StatusServiceUnavailable, "serviceNotAvailable",
			"The service is not available. Try the request again after a delay. There may be a Retry-After header.")
		e.headers = map[string]string{"Retry-After": formatSeconds(s.scaled(unavailableRetryAfter).Seconds())}
		return e
	case u < f.InternalError+f.Unavailable+f.GatewayTimeout:
		s.countFault()
		// A gateway timeout: the directory did the work but the answer
		// never reached the client (HTTP 504 "did not receive a timely
		// response from the upstream server"). Graph documents no error
		// code for it; the client must not assume the write failed.
		inner := *c
		inner.w = newRecorder()
		_ = run(&inner) // the client never sees the real outcome
		return newError(http.StatusGatewayTimeout, "GatewayTimeout",
			"The gateway did not receive a timely response from the upstream server.")
	}
	return run(c)
}

func (s *Server) countFault() {
	s.mu.Lock()
	s.stats.Faults++
	s.mu.Unlock()
}
