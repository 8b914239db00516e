package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/guestsync/guestsync/pkg/atomicfile"
	"github.com/guestsync/guestsync/pkg/graphsim"
)

// defaultDomains are the emulated tenant's verified domains unless
// --verified-domain says otherwise; they match the shipped demo.
var defaultDomains = []string{"contoso.onmicrosoft.com", "partners.contoso.com"}

// autosaveEvery is how often a changed tenant is written to --state.
const autosaveEvery = 2 * time.Second

// emulatorFlags are the graph-emulator command's flags.
type emulatorFlags struct {
	listen, token, throttle, faults, state string
	timeScale                              float64
	domains                                []string
	https                                  bool
	caOut                                  string
}

const emulatorLong = `Serves the parts of Microsoft Graph guestsync uses (users, invitations,
deleted items, delta, JSON batching, organization, groups with members and
transitive members, groups/delta, applications, service principals and
their appRoleAssignedTo), behaving as Microsoft documents: status codes,
error bodies, paging, validation and throttling. Groups, memberships,
applications, service principals and app role assignments are created with
the Graph calls an admin's script uses (POST /groups, POST
/groups/{id}/members/$ref, POST /applications, POST /servicePrincipals,
POST /servicePrincipals/{id}/appRoleAssignedTo).
Prints its base URL as the first line on stdout and serves until interrupted.

Throttling (--throttle documented, the default) applies the identity and
access budgets per application (one per bearer token) and tenant: 3,500 /
5,000 / 8,000 resource units per 10 s by tenant size, 3,000 writes per 150 s,
18,000 writes per 5 min for the tenant, and 150 invitations per 5 s.
--time-scale X makes emulated time pass X times faster: budgets refill X
times faster, Retry-After values, replication lag and the 30-day purge of
deleted users are X times shorter.

--faults injects failures, e.g. "500=0.01,503=0.02,504=0.01,drop=0.005,
latency=20ms,lag=2s,seed=7": probabilities of 500, 503 (with Retry-After)
and 504 (after the request ran) answers and of dropped connections, added
latency, replication lag after creates and invitations (404 by id, missing
from lists; membership changes reach ConsistencyLevel: eventual member
reads as late), and the random seed.

--state FILE loads the tenant from FILE when it exists, saves it every few
seconds after changes and on shutdown (atomically). GET /_graphsim/state
(same bearer token) dumps the tenant as JSON.

Without --token the emulator accepts any bearer token, so it listens on a
loopback address only: --listen on any other address (0.0.0.0, :8870, a
LAN address) is refused unless --token is set.

--https --ca-out FILE serves HTTPS, as Graph does, with a certificate made
at start: an ECDSA P-256 CA, written to FILE (the certificate only, PEM),
and a server certificate it signed for 127.0.0.1, ::1, localhost and the
--listen host, valid for 7 days. Point guestsync's graph.caFile (or another
client's trusted roots) at FILE. Every run makes a new CA.`

func (a *app) emulatorCommand() *cobra.Command {
	var f emulatorFlags
	cmd := &cobra.Command{
		Use:   "graph-emulator",
		Short: "Serve an emulated Microsoft Graph for tests and demos",
		Long:  emulatorLong,
		Example: "  guestsync graph-emulator --listen 127.0.0.1:8870 --verified-domain partners.contoso.com\n" +
			"  guestsync graph-emulator --time-scale 60 --faults 503=0.05,lag=2s,seed=1 --state tenant.json\n" +
			"  guestsync graph-emulator --https --ca-out emulator-ca.pem",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runEmulator(contextOf(cmd), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8870", "address to listen on")
	fl.StringSliceVar(&f.domains, "verified-domain", nil, "a verified domain of the emulated tenant (repeatable; default "+fmt.Sprint(defaultDomains)+")")
	fl.StringVar(&f.token, "token", "", "bearer token to require (default: accept any)")
	fl.StringVar(&f.throttle, "throttle", string(graphsim.ThrottleDocumented), "throttling model: documented or off")
	fl.Float64Var(&f.timeScale, "time-scale", 1, "make emulated time pass this many times faster (throttling, lag, purge)")
	fl.StringVar(&f.faults, "faults", "", "faults to inject, e.g. 500=0.01,503=0.02,504=0.01,drop=0.005,latency=20ms,lag=2s,seed=7")
	fl.StringVar(&f.state, "state", "", "load the tenant from this file if present and save it there")
	fl.BoolVar(&f.https, "https", false, "serve HTTPS with a certificate made at start (needs --ca-out)")
	fl.StringVar(&f.caOut, "ca-out", "", "with --https, write the CA certificate (PEM, no key) to this file")
	return cmd
}

// options validates the flags; every problem is a usage error.
func (f emulatorFlags) options(log *slog.Logger) (graphsim.Options, error) {
	var problems []error
	opts := graphsim.Options{VerifiedDomains: f.domains, Token: f.token, Logger: log, TimeScale: f.timeScale}
	if len(opts.VerifiedDomains) == 0 {
		opts.VerifiedDomains = defaultDomains
	}
	for _, d := range opts.VerifiedDomains {
		if d = strings.TrimSpace(d); d == "" || strings.ContainsAny(d, "@/ ") || !strings.Contains(d, ".") {
			problems = append(problems, fmt.Errorf("--verified-domain %q is not a domain name", d))
		}
	}
	var err error
	if opts.Throttle, err = graphsim.ParseThrottleMode(f.throttle); err != nil {
		problems = append(problems, fmt.Errorf("--throttle: %w", err))
	}
	if !(f.timeScale > 0) || math.IsInf(f.timeScale, 0) {
		problems = append(problems, fmt.Errorf("--time-scale must be a positive number, not %v", f.timeScale))
	}
	if opts.Faults, err = graphsim.ParseFaults(f.faults); err != nil {
		problems = append(problems, fmt.Errorf("--faults: %w", err))
	}
	switch {
	case f.https && f.caOut == "":
		problems = append(problems, errors.New("--https needs --ca-out FILE: clients trust the emulator's certificate through the CA written there"))
	case !f.https && f.caOut != "":
		problems = append(problems, errors.New("--ca-out is for --https: without it the emulator serves plain http and makes no CA"))
	}
	return opts, errors.Join(problems...)
}

func (a *app) runEmulator(ctx context.Context, f emulatorFlags) error {
	log := a.logger()
	opts, err := f.options(log)
	if err != nil {
		return withCode(exitUsage, err)
	}
	sim := graphsim.New(opts)
	if f.state != "" {
		if err := sim.LoadState(f.state); err != nil {
			return withCode(exitUsage, fmt.Errorf("--state: %w", err))
		}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("listen on %s: %w", f.listen, err))
	}
	// The check is on the address actually bound, so that a host name or
	// an empty host is judged by what it resolved to. Nothing has been
	// served yet when it refuses.
	remote := !isLoopback(ln.Addr())
	if remote && f.token == "" {
		ln.Close()
		return withCode(exitUsage, fmt.Errorf("--listen %s: refusing to serve beyond this machine (listening on %s) without --token: "+
			"the emulator then accepts any bearer token and anyone who can reach it could read and change its tenant; "+
			"set --token, or listen on a loopback address such as 127.0.0.1:8870", f.listen, ln.Addr()))
	}
	scheme := "http"
	if f.https {
		host, _, _ := net.SplitHostPort(f.listen)
		certs, err := graphsim.NewTLS(time.Now(), host)
		if err != nil {
			ln.Close()
			return withCode(exitFailed, err)
		}
		// The CA is public; written before the URL is printed, so that a
		// script that waits for the URL finds the file complete.
		if err := atomicfile.Write(f.caOut, certs.CAPEM, 0o644); err != nil {
			ln.Close()
			return withCode(exitUsage, fmt.Errorf("--ca-out: %w", err))
		}
		ln = tls.NewListener(ln, certs.Config)
		scheme = "https"
	}
	url := baseURL(scheme, ln.Addr())
	// The base URL is the first line on stdout, before any log line, so that
	// scripts can read it; flush in case stdout is buffered.
	fmt.Fprintln(a.out, url)
	if fl, ok := a.out.(interface{ Flush() error }); ok {
		_ = fl.Flush()
	}
	log.Info("graph emulator serving", "url", url, "listen", ln.Addr().String(), "domains", opts.VerifiedDomains,
		"throttle", opts.Throttle, "time-scale", f.timeScale, "faults", opts.Faults.String(), "state", f.state, "ca", f.caOut)
	if remote && !f.https {
		log.Warn("graph emulator reachable beyond this machine over plain http: the bearer token and the tenant's data cross the network unencrypted; --https encrypts them",
			"listen", ln.Addr().String())
	}

	stopSaving := func() {}
	if f.state != "" {
		stopSaving = autosave(ctx, sim, f.state, log)
	}
	// The server's own errors (a client that rejected the HTTPS
	// certificate, a malformed request) are warnings in the log.
	served := serveOn(ctx, ln, &http.Server{Handler: sim, ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog: slog.NewLogLogger(log.With("component", "graph emulator http").Handler(), slog.LevelWarn)})
	stopSaving()
	if f.state != "" {
		if err := sim.SaveState(f.state); err != nil {
			return withCode(exitFailed, err)
		}
		log.Info("graph emulator state saved", "state", f.state)
	}
	return served
}

// autosave writes the tenant to path every autosaveEvery when it changed;
// the returned function stops it and waits for it.
func autosave(ctx context.Context, sim *graphsim.Server, path string, log *slog.Logger) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(autosaveEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if _, err := sim.SaveStateIfChanged(path); err != nil {
					log.Error("graph emulator: save state", "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// baseURL is the emulator's Graph root for the address it listens on. A
// wildcard address (0.0.0.0, ::, or an empty host, which Go binds to both)
// is reached from this machine through 127.0.0.1, which it includes and
// the HTTPS certificate names. The emulator's nextLinks and deltaLinks are
// built from the Host a request was sent to, so a client that starts from
// this URL is sent back to it.
func baseURL(scheme string, addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String() + "/v1.0"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/v1.0"
}

// isLoopback reports whether a listener's address is reachable from this
// machine only.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// readHeaderTimeout bounds how long a client may take to send a request's
// headers.
const readHeaderTimeout = 10 * time.Second

// serve runs handler on ln until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, handler http.Handler) error {
	return serveOn(ctx, ln, &http.Server{Handler: handler, ReadHeaderTimeout: readHeaderTimeout})
}

// serveOn runs srv on ln until ctx ends, then shuts it down gracefully.
func serveOn(ctx context.Context, ln net.Listener, srv *http.Server) error {
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return withCode(exitFailed, err)
	case <-ctx.Done():
	}
	// Graceful shutdown waits for requests in flight. It also waits, up
	// to 5 s, for connections a client dialled but never used (an HTTP
	// client with several batches in flight opens some); after a short
	// grace those are just closed.
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			return withCode(exitFailed, err)
		}
		srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return withCode(exitFailed, err)
	}
	return nil
}
