// Package graph is guestsync's Microsoft Graph target: it reads the guest
// users guestsync manages and applies plan actions to them. Its Client is
// also the Graph client of the guest source (pkg/source/graph), which
// reads through GetPage and GetEach (read.go). It is the only
// package that imports msgraph-sdk-go, and it imports only the SDK's
// subpackages (models, users, core), never its root package, which costs
// minutes of compile time and 20 MB of binary for nothing we use.
package graph

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	azauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
)

// Options configures a Client.
type Options struct {
	// URL is the Graph root including the version, e.g.
	// https://graph.microsoft.com/v1.0 or an emulator's http://127.0.0.1:PORT/v1.0.
	URL string
	// Credential obtains tokens (azidentity, or StaticToken for the
	// emulator).
	Credential azcore.TokenCredential
	Logger     *slog.Logger
	// Owner is this instance's owner id (default "default"); the mark
	// guestsync:<Owner> is written to OwnerAttribute (default
	// extensionAttribute15) of every guest it creates.
	Owner          string
	OwnerAttribute string
	// Invite creates guests by invitation (POST /invitations to their
	// mail: B2B guests who sign in with their own identity) instead of as
	// internal guests with a UPN (POST /users); a mapping with mode:
	// invite asks for it. Plans then name a guest by its mail and call a
	// create an invitation (see Describe).
	Invite bool
	// InviteRedirectURL and SendInvitationMessage are sent with each
	// invitation. Graph requires a redirect URL: an invitation without
	// one fails (guestsync's config defaults it to the tenant's My Apps).
	InviteRedirectURL     string
	SendInvitationMessage bool

	// Concurrency is how many $batch requests (and invitations) are in
	// flight at once; 0 means 4.
	Concurrency int
	// WriteBudget writes per WriteWindow is the per-application write
	// budget Apply paces itself to; 0 means Graph's documented 3,000 per
	// 150 s. Tests scale both down with the emulator's TimeScale.
	WriteBudget int
	WriteWindow time.Duration
	// RetryDelay is the first wait before retrying a request that failed
	// without a Retry-After (500, 504, dropped connections) and before
	// retrying a PATCH that met replication lag; it doubles per attempt up
	// to 30 s. 0 means 500 ms.
	RetryDelay time.Duration
	// LagTimeout is how long a PATCH right after an invitation keeps
	// retrying 404 (replication lag); 0 means 30 s.
	LagTimeout time.Duration
	// FinishGrace is how long the work already begun (a batch in flight,
	// an invitation's PATCH, a restore's changes) may go on once the run
	// is interrupted; 0 means 20 s: long enough for a batch's answer,
	// short enough that the run saves its state well within systemd's
	// default stop timeout (90 s) and Kubernetes' default termination
	// grace period (30 s).
	FinishGrace time.Duration
	// CAFile is a PEM file of CA certificates trusted for the Graph URL's
	// TLS certificate besides the system's roots (e.g. the CA that
	// guestsync graph-emulator --https --ca-out writes); empty trusts the
	// system's roots alone.
	CAFile string
}

// Client talks to Microsoft Graph.
type Client struct {
	adapter *core.GraphRequestAdapterBase
	base    string
	scope   string // the token scope the client asks for
	log     *slog.Logger
	owner   owner
	opts    Options
	pace    *pacer

	mu    sync.Mutex
	known map[string]bool // lower-cased object id → owned, from the last listings
}

// New builds a client. The SDK's stock constructor sends no Authorization
// header to hosts other than Microsoft's, so the Graph URL's host is added
// to the valid hosts; plain http is accepted by the SDK only for loopback.
func New(opts Options) (*Client, error) {
	// The URL is never quoted: it may carry credentials (in places
	// url.Redacted does not know of), and url.Parse's error quotes it whole.
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, errors.New("graph url: not a URL (it does not parse)")
	}
	if u.Host == "" {
		return nil, errors.New("graph url: not a URL with a host, such as https://graph.microsoft.com/v1.0")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ownerID := opts.Owner
	if ownerID == "" {
		ownerID = "default"
	}
	own, err := newOwner(opts.OwnerAttribute, ownerID)
	if err != nil {
		return nil, err
	}
	scope := "https://graph.microsoft.com/.default"
	if !strings.HasSuffix(u.Hostname(), "graph.microsoft.com") {
		// National clouds and the emulator: the scope is the host's own.
		scope = u.Scheme + "://" + u.Host + "/.default"
	}
	auth, err := azauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(opts.Credential, []string{scope}, []string{u.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("graph auth: %w", err)
	}
	options := core.GraphClientOptions{GraphServiceVersion: "v1.0", GraphServiceLibraryVersion: "1.89.0"}
	// Request compression is off: after a 429 the SDK's retry resends a
	// plain body still labelled gzip, which real Graph and the emulator
	// must then guess at; small JSON bodies gain nothing from gzip.
	kiota, err := khttp.GetDefaultMiddlewaresWithOptions(khttp.NewCompressionOptionsReference(false))
	if err != nil {
		return nil, fmt.Errorf("graph middleware: %w", err)
	}
	middleware := append([]khttp.Middleware{core.NewGraphTelemetryHandler(&options)}, kiota...)
	transport, err := newTransport(opts.CAFile)
	if err != nil {
		return nil, err
	}
	httpClient := khttp.GetDefaultClient(middleware...)
	httpClient.Transport = khttp.NewCustomTransportWithParentTransport(transport, middleware...)
	httpClient.Timeout = 100 * time.Second
	// The SDK's root package registers JSON support in process-wide
	// registries; this client keeps its own, registering only JSON, the
	// one content type Graph's user endpoints speak.
	parsers := absser.NewParseNodeFactoryRegistry()
	parsers.ContentTypeAssociatedFactories["application/json"] = jsonser.NewJsonParseNodeFactory()
	writers := absser.NewSerializationWriterFactoryRegistry()
	writers.ContentTypeAssociatedFactories["application/json"] = jsonser.NewJsonSerializationWriterFactory()
	adapter, err := core.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, options, parsers, writers, httpClient)
	if err != nil {
		return nil, fmt.Errorf("graph adapter: %w", err)
	}
	base := strings.TrimRight(opts.URL, "/")
	adapter.SetBaseUrl(base)
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.WriteBudget <= 0 {
		opts.WriteBudget = 3000
	}
	if opts.WriteWindow <= 0 {
		opts.WriteWindow = 150 * time.Second
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = 500 * time.Millisecond
	}
	if opts.FinishGrace <= 0 {
		opts.FinishGrace = 20 * time.Second
	}
	if opts.LagTimeout <= 0 {
		opts.LagTimeout = 30 * time.Second
	}
	// Writes in flight: Concurrency batches and, beside them, Concurrency
	// invitations' PATCHes.
	return &Client{adapter: adapter, base: base, scope: scope, log: log, owner: own, opts: opts,
		pace: newPacer(opts.WriteBudget, opts.WriteWindow, opts.Concurrency*(maxBatch+1), time.Now), known: map[string]bool{}}, nil
}

// newTransport is the SDK's default transport, trusting the certificates in
// caFile as well as the system's roots.
func newTransport(caFile string) (http.RoundTripper, error) {
	transport, ok := khttp.GetDefaultTransport().(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("graph: the SDK's default transport is a %T, not an *http.Transport", khttp.GetDefaultTransport())
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		// No system roots (a minimal container): caFile alone, if any.
		roots = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("graph caFile: %w", err)
		}
		// SystemCertPool returns a copy: adding to it changes no other pool.
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("graph caFile %s: no PEM certificate found", caFile)
		}
	}
	transport.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &certHint{next: transport, caFile: caFile}, nil
}

// certHint adds to a certificate verification failure what to do about it:
// the error alone ("x509: certificate signed by unknown authority") does
// not say which setting makes guestsync trust a server.
type certHint struct {
	next   http.RoundTripper
	caFile string
}

func (h *certHint) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(r)
	var verify *tls.CertificateVerificationError
	if err != nil && errors.As(err, &verify) {
		trusted := "the system's"
		if h.caFile != "" {
			trusted += " and those in " + h.caFile
		}
		return resp, fmt.Errorf("%w: the certificate of %s is signed by none of the CAs guestsync trusts (%s); "+
			"set graph.caFile to a PEM file with the CA that signed it (for guestsync graph-emulator --https, the file its --ca-out wrote)",
			err, r.URL.Host, trusted)
	}
	return resp, err
}

// StaticToken is a credential that always returns the same bearer token:
// for guestsync's Graph emulator, which azidentity cannot reach (it refuses
// non-https authorities).
type StaticToken string

// GetToken implements azcore.TokenCredential.
func (t StaticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(t), ExpiresOn: time.Now().Add(time.Hour)}, nil
}
