package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// Defaults applied by New to fields left at their zero value.
const (
	DefaultFilter   = "(objectClass=*)"
	DefaultScope    = "sub"
	DefaultPageSize = 500
	DefaultTimeout  = 30 * time.Second
)

// requestedAttributes is the attribute list sent with the search. When
// Config.Attributes is empty it is every user attribute ("*") plus the
// operational attributes guestsync uses as anchors, which a server only
// returns when asked by name. Active Directory's objectGUID is a user
// attribute and comes with "*"; AD ignores names it does not know, such as
// entryUUID.
func (cfg Config) requestedAttributes() []string {
	if len(cfg.Attributes) > 0 {
		return cfg.Attributes
	}
	return []string{"*", "entryUUID"}
}

// Config says which directory to read and how.
type Config struct {
	// URL is ldap://host[:port] or ldaps://host[:port]. Several URLs
	// separated by spaces are tried in order until one accepts a
	// connection.
	URL string
	// BindDN and BindPassword are the simple bind credentials; both empty
	// means an anonymous read.
	BindDN       string
	BindPassword string
	BaseDN       string
	// Filter is an RFC 4515 filter; DefaultFilter when empty.
	Filter string
	// Scope is "sub" (the default: the base and everything under it) or
	// "one" (the entries directly under the base).
	Scope string
	// Attributes to request. Empty means every user attribute ("*") plus
	// the operational attributes guestsync uses as anchors (entryUUID).
	Attributes []string
	// PageSize is the page size of the paged-results control (RFC 2696);
	// DefaultPageSize when 0. Active Directory caps it at 1,000.
	PageSize uint32
	// NoPaging sends the search without the paged-results control, for
	// servers that do not support it. A server size limit then ends the
	// read with an error (and Complete false) instead of truncating it.
	NoPaging bool
	// Timeout bounds connecting (TCP, TLS, bind) and every wait for the
	// server's next answer during the search; DefaultTimeout when 0. Time
	// spent in the caller's fn does not count.
	Timeout time.Duration
	// StartTLS upgrades an ldap:// connection to TLS before binding.
	StartTLS bool
	// CAFile is a PEM file of the CA certificates to trust instead of the
	// system's.
	CAFile string
	// ServerName is the name expected in the server certificate, when it
	// is not the URL's host name.
	ServerName string
	// InsecureSkipVerify accepts any server certificate. For tests only.
	InsecureSkipVerify bool
	// AllowInsecureBind allows sending BindPassword over a connection that
	// is neither ldaps:// nor StartTLS. Every read then logs a warning.
	AllowInsecureBind bool
}

// withDefaults returns cfg with zero values replaced by the defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Filter == "" {
		cfg.Filter = DefaultFilter
	}
	if cfg.Scope == "" {
		cfg.Scope = DefaultScope
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	return cfg
}

// usesTLS reports whether the connection to u is encrypted before binding.
func (cfg Config) usesTLS(u *url.URL) bool {
	return u.Scheme == "ldaps" || cfg.StartTLS
}

// validate returns every problem in cfg (already defaulted) at once, and
// the parsed URLs and TLS settings when there are none.
func (cfg Config) validate() ([]*url.URL, *tls.Config, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	urls, urlErrs := parseURLs(cfg.URL)
	errs = append(errs, urlErrs...)
	anyTLS, anyPlain := false, false
	for _, u := range urls {
		switch {
		case u.Scheme == "ldaps" && cfg.StartTLS:
			bad("url %s: startTLS is for ldap:// URLs; ldaps:// is TLS already", u)
		case cfg.usesTLS(u):
			anyTLS = true
		default:
			anyPlain = true
		}
	}

	if cfg.BaseDN == "" {
		bad("baseDN is required")
	} else if _, err := goldap.ParseDN(cfg.BaseDN); err != nil {
		bad("baseDN %q: %v", cfg.BaseDN, err)
	}
	if _, err := goldap.CompileFilter(cfg.Filter); err != nil {
		bad("filter %q: %v", cfg.Filter, err)
	}
	if cfg.Scope != "sub" && cfg.Scope != "one" {
		bad("scope must be sub or one, not %q", cfg.Scope)
	}
	for _, a := range cfg.Attributes {
		if a == "" || strings.ContainsAny(a, " \t,()") {
			bad("attributes: %q is not an attribute name", a)
		}
	}
	if cfg.Timeout < 0 {
		bad("timeout must be positive, not %s", cfg.Timeout)
	}

	switch {
	case cfg.BindDN != "" && cfg.BindPassword == "":
		bad("bindPassword is required with bindDN %q (a bind with an empty password is unauthenticated: servers accept it without checking anything)", cfg.BindDN)
	case cfg.BindDN == "" && cfg.BindPassword != "":
		bad("bindDN is required with bindPassword")
	case cfg.BindDN != "":
		if _, err := goldap.ParseDN(cfg.BindDN); err != nil && !strings.Contains(cfg.BindDN, "@") && !strings.Contains(cfg.BindDN, `\`) {
			// AD also accepts user@domain and DOMAIN\user.
			bad("bindDN %q: %v", cfg.BindDN, err)
		}
		if anyPlain && !cfg.AllowInsecureBind {
			bad("refusing to send the password of %q unencrypted to %s: use ldaps://, or set startTLS; allowInsecureBind permits it (for tests)", cfg.BindDN, plainURLs(cfg, urls))
		}
	}

	if !anyTLS && len(urls) > 0 && (cfg.CAFile != "" || cfg.ServerName != "" || cfg.InsecureSkipVerify) {
		bad("caFile, serverName and insecureSkipVerify only apply to ldaps:// URLs or with startTLS")
	}
	tlsConfig := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         cfg.ServerName,
		InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // opt-in, documented as for tests only
	}
	if cfg.CAFile != "" {
		pool, err := loadCAFile(cfg.CAFile)
		if err != nil {
			errs = append(errs, err)
		}
		tlsConfig.RootCAs = pool
	}

	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return urls, tlsConfig, nil
}

// parseURLs parses a space-separated list of LDAP URLs.
func parseURLs(s string) ([]*url.URL, []error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, []error{errors.New("url is required, like ldaps://dc1.example.com")}
	}
	var urls []*url.URL
	var errs []error
	for _, f := range fields {
		u, err := url.Parse(f)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("url %q: %w", f, err))
			continue
		case u.Scheme != "ldap" && u.Scheme != "ldaps":
			errs = append(errs, fmt.Errorf("url %q: must start with ldap:// or ldaps://", f))
			continue
		case u.Hostname() == "":
			errs = append(errs, fmt.Errorf("url %q: no host name", f))
			continue
		case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil:
			errs = append(errs, fmt.Errorf("url %q: put the base DN, filter and bind DN in their own settings, not in the URL", f))
			continue
		}
		u.Path = ""
		urls = append(urls, u)
	}
	return urls, errs
}

func plainURLs(cfg Config, urls []*url.URL) string {
	var plain []string
	for _, u := range urls {
		if !cfg.usesTLS(u) {
			plain = append(plain, u.String())
		}
	}
	return strings.Join(plain, ", ")
}

func loadCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("caFile: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("caFile %s: no PEM certificate found", path)
	}
	return pool, nil
}
