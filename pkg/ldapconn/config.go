package ldapconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// DefaultTimeout bounds connecting (TCP, TLS, bind) when Config.Timeout is
// 0.
const DefaultTimeout = 30 * time.Second

// Config says how to reach a directory and bind to it. The directory
// reader and the AD writer each have a Config of their own, with these
// fields and more, and convert it with a method next to it.
type Config struct {
	// URL is ldap://host[:port] or ldaps://host[:port]. Several URLs
	// separated by spaces are tried in order until one accepts a
	// connection.
	URL string
	// BindDN and BindPassword are the bind credentials; both empty means
	// an anonymous bind. With BindMethod "ntlm", BindDN is the account
	// name (svc-guestsync, EXAMPLE\svc-guestsync or
	// svc-guestsync@example.test), not a DN.
	BindDN       string
	BindPassword string
	// BindMethod is "simple" (the default: an LDAP simple bind) or "ntlm"
	// (Active Directory's NTLM bind, which never sends the password).
	BindMethod string
	// NTLMDomain is the NetBIOS domain of BindDN for an NTLM bind, unless
	// BindDN already says it (DOMAIN\name, name@domain).
	NTLMDomain string
	// Timeout bounds connecting: TCP, TLS and the bind; DefaultTimeout
	// when 0.
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
	// is neither ldaps:// nor StartTLS.
	AllowInsecureBind bool
}

// UsesTLS reports whether the connection to u is encrypted before binding.
func (cfg Config) UsesTLS(u *url.URL) bool {
	return u.Scheme == "ldaps" || cfg.StartTLS
}

// NTLMUser is the user name for go-ldap's NTLM bind. go-ntlmssp takes the
// domain it authenticates against from a DOMAIN\name user name only (the
// domain argument of NTLMBind goes in the negotiate message, which names
// the client's domain), so a bare name is qualified with NTLMDomain.
func (cfg Config) NTLMUser() string {
	if strings.Contains(cfg.BindDN, `\`) || strings.Contains(cfg.BindDN, "@") {
		return cfg.BindDN
	}
	return cfg.NTLMDomain + `\` + cfg.BindDN
}

// Check returns a Directory for cfg, or every problem in cfg at once (the
// directory is then nil). Callers with settings of their own add the
// problems to theirs, so that a configuration's errors all come together.
func (cfg Config) Check() (*Directory, []error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if cfg.BindMethod == "" {
		cfg.BindMethod = "simple"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}

	urls, urlErrs := ParseURLs(cfg.URL)
	errs = append(errs, urlErrs...)
	anyTLS, anyPlain := false, false
	for _, u := range urls {
		switch {
		case u.Scheme == "ldaps" && cfg.StartTLS:
			bad("url %s: startTLS is for ldap:// URLs; ldaps:// is TLS already", u)
		case cfg.UsesTLS(u):
			anyTLS = true
		default:
			anyPlain = true
		}
	}
	if cfg.Timeout < 0 {
		bad("timeout must be positive, not %s", cfg.Timeout)
	}
	cfg.checkBind(urls, anyPlain, bad)

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
	if len(errs) > 0 {
		return nil, errs
	}
	return &Directory{cfg: cfg, urls: urls, tls: tlsConfig}, nil
}

// checkBind checks the credentials and the bind method.
func (cfg Config) checkBind(urls []*url.URL, anyPlain bool, bad func(string, ...any)) {
	switch cfg.BindMethod {
	case "simple":
		if cfg.NTLMDomain != "" {
			bad("ntlmDomain only applies to bindMethod ntlm")
		}
	case "ntlm":
		cfg.checkNTLM(bad)
		// The insecure-bind rule is about simple binds, which send the
		// password itself: an NTLM bind never does (see Directory.bind
		// for what it does risk without TLS).
		return
	default:
		bad("bindMethod must be simple or ntlm, not %q", cfg.BindMethod)
		return
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
			bad("refusing to send the password of %q unencrypted to %s: use ldaps://, or set startTLS; allowInsecureBind permits it (for tests)", cfg.BindDN, cfg.plainURLs(urls))
		}
	}
}

// checkNTLM checks the account of an NTLM bind.
func (cfg Config) checkNTLM(bad func(string, ...any)) {
	if cfg.BindDN == "" || cfg.BindPassword == "" {
		bad("bindDN (the account name) and bindPassword are required with bindMethod ntlm")
		return
	}
	if strings.Contains(cfg.BindDN, "=") {
		bad(`with bindMethod ntlm, bindDN is an account name (svc-guestsync, EXAMPLE\svc-guestsync or svc-guestsync@example.test), not the DN %q`, cfg.BindDN)
		return
	}
	domain, name, hasDomain := strings.Cut(cfg.BindDN, `\`)
	switch {
	case hasDomain && (domain == "" || name == ""):
		bad(`bindDN %q: write DOMAIN\name`, cfg.BindDN)
	case hasDomain && cfg.NTLMDomain != "" && !strings.EqualFold(domain, cfg.NTLMDomain):
		bad("ntlmDomain %q and the domain in bindDN %q disagree", cfg.NTLMDomain, cfg.BindDN)
	case !hasDomain && !strings.Contains(cfg.BindDN, "@") && cfg.NTLMDomain == "":
		bad(`ntlmDomain is required with bindMethod ntlm, unless bindDN is written DOMAIN\name or name@domain`)
	}
}

func (cfg Config) plainURLs(urls []*url.URL) string {
	var plain []string
	for _, u := range urls {
		if !cfg.UsesTLS(u) {
			plain = append(plain, u.String())
		}
	}
	return strings.Join(plain, ", ")
}

// ParseURLs parses a space-separated list of LDAP URLs. A URL is echoed in
// its errors with its password redacted (net/url's URL.Redacted), and one
// that does not parse is not echoed at all when it holds user info: the
// part after the colon may be a password.
func ParseURLs(s string) ([]*url.URL, []error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, []error{errors.New("url is required, like ldaps://dc1.example.com")}
	}
	var urls []*url.URL
	var errs []error
	for i, f := range fields {
		u, err := url.Parse(f)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // ue.Error() quotes the whole URL
			}
			shown := strconv.Quote(f)
			if strings.Contains(f, "@") {
				shown = fmt.Sprintf("number %d (not shown: it holds user info)", i+1)
			}
			errs = append(errs, fmt.Errorf("url %s: %w", shown, err))
			continue
		}
		shown := strconv.Quote(f)
		if u.User != nil {
			shown = strconv.Quote(u.Redacted())
		}
		switch {
		case u.Scheme != "ldap" && u.Scheme != "ldaps":
			errs = append(errs, fmt.Errorf("url %s: must start with ldap:// or ldaps://", shown))
			continue
		case u.Hostname() == "":
			errs = append(errs, fmt.Errorf("url %s: no host name", shown))
			continue
		case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil:
			errs = append(errs, fmt.Errorf("url %s: put the base DN, filter and bind DN in their own settings, not in the URL", shown))
			continue
		}
		u.Path = ""
		urls = append(urls, u)
	}
	return urls, errs
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
