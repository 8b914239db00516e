package ldap

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

// Defaults applied by New to fields left at their zero value.
const (
	DefaultFilter        = "(objectClass=*)"
	DefaultScope         = "sub"
	DefaultPageSize      = 500
	DefaultTimeout       = 30 * time.Second
	DefaultMaxGroupDepth = 10
	DefaultBindMethod    = "simple"
	DefaultDecoder       = DecoderTap
)

// Values of Config.Decoder.
const (
	// DecoderTap: guestsync's entry tap decodes the entries of directory
	// reads under go-ldap's connection (tap.go), at the speed of
	// ldapsearch; go-ldap does the rest of the protocol.
	DecoderTap = "tap"
	// DecoderGoLDAP: go-ldap does everything, with its own decoding,
	// StartTLS and request timeout; slower, for a directory the tap
	// mishandles.
	DecoderGoLDAP = "go-ldap"
)

// Directory kinds for Config.Directory.
const (
	// DirectoryAD is Active Directory or Samba AD: group scoping uses the
	// server's LDAP_MATCHING_RULE_IN_CHAIN.
	DirectoryAD = "ad"
	// DirectoryLDAP is any other LDAP server: guestsync expands groups
	// itself.
	DirectoryLDAP = "ldap"
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
	// BindDN and BindPassword are the bind credentials; both empty means
	// an anonymous read. With BindMethod "ntlm", BindDN is the account
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
	// BaseDN and Scope are the one-base form of Bases. Use one form or
	// the other.
	BaseDN string
	// Filter is an RFC 4515 filter; DefaultFilter when empty.
	Filter string
	// Scope is "sub" (the default: the base and everything under it) or
	// "one" (the entries directly under the base).
	Scope string
	// Bases are the subtrees to read, each with its own scope. An entry
	// reached from two bases is delivered once.
	Bases []Base
	// ExcludeDNs are subtrees to leave out: an entry at or below any of
	// them is skipped. They are compared as DNs (RFC 4514): letter case,
	// spaces around separators and escaping do not matter.
	ExcludeDNs []string
	// Groups restricts the read to the members of any of these groups,
	// direct or through nested groups. Entries of nested groups that match
	// Filter are members too, as with Active Directory's in-chain rule.
	Groups []string
	// Directory is "ad" (Active Directory, Samba AD), "ldap" (any other
	// server) or empty: detected from the RootDSE when Groups needs it.
	// "ad" on a server whose RootDSE says otherwise is an error (the
	// in-chain rule would match nothing there); "ldap" on AD makes
	// guestsync expand the groups itself.
	Directory string
	// MaxGroupDepth bounds the nesting of groups that guestsync expands
	// itself (Directory "ldap"); DefaultMaxGroupDepth when 0. Deeper
	// nesting fails the read rather than leaving members out.
	MaxGroupDepth int
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
	// spent in the caller's fn does not count. With Decoder go-ldap it
	// bounds each request's whole answer instead (a bind, a page), as
	// go-ldap's request timeout does.
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
	// FollowReferrals follows continuation references (parts of the tree
	// held by another server) with the same credentials and TLS settings.
	// Off, they are skipped, counted and logged at debug level. A
	// referral that may not be followed (another host, a downgrade from
	// TLS to plain LDAP) then fails the read.
	FollowReferrals bool
	// ReferralHosts are the hosts besides those of URL that referrals may
	// lead to: exact host names, or "*.example.com" for any name under
	// example.com.
	ReferralHosts []string
	// Incremental says how Read records a watermark and ReadChanges reads
	// only what changed since (see incremental.go): "auto" (DirSync on
	// Active Directory, falling back to its USN when DirSync is refused;
	// contextCSN, entryCSN or modifyTimestamp elsewhere), one mechanism
	// forced ("dirsync", "usn", "csn"), or "off" (the default: no
	// watermark, every read is full). Not with FollowReferrals.
	Incremental string
	// Decoder is who decodes what the server sends: DecoderTap (the
	// default) or DecoderGoLDAP. With go-ldap each page is read whole
	// before the caller's fn sees its entries, so memory holds a page
	// (the whole result with NoPaging), and Timeout bounds whole answers.
	Decoder string
}

// Base is one subtree to read.
type Base struct {
	DN string
	// Scope is "sub" (the default) or "one".
	Scope string
}

// withDefaults returns cfg with zero values replaced by the defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Filter == "" {
		cfg.Filter = DefaultFilter
	}
	if cfg.Scope == "" && len(cfg.Bases) == 0 {
		cfg.Scope = DefaultScope
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxGroupDepth == 0 {
		cfg.MaxGroupDepth = DefaultMaxGroupDepth
	}
	if cfg.BindMethod == "" {
		cfg.BindMethod = DefaultBindMethod
	}
	if cfg.Incremental == "" {
		cfg.Incremental = IncrementalOff
	}
	if cfg.Decoder == "" {
		cfg.Decoder = DefaultDecoder
	}
	return cfg
}

// usesTLS reports whether the connection to u is encrypted before binding.
func (cfg Config) usesTLS(u *url.URL) bool {
	return u.Scheme == "ldaps" || cfg.StartTLS
}

// settings are what validate parses out of a Config, once.
type settings struct {
	urls     []*url.URL
	tls      *tls.Config
	bases    []base
	excludes []subtree
	groups   []string
}

// validate returns every problem in cfg (already defaulted) at once, and
// the parsed settings when there are none.
func (cfg Config) validate() (settings, error) {
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

	bases := cfg.validateBases(bad)
	if _, err := goldap.CompileFilter(cfg.Filter); err != nil {
		bad("filter %q: %v", cfg.Filter, err)
	}
	excludes := cfg.validateExcludes(bases, bad)
	groups := cfg.validateGroups(bad)
	for _, a := range cfg.Attributes {
		if a == "" || strings.ContainsAny(a, " \t,()") {
			bad("attributes: %q is not an attribute name", a)
		}
	}
	if cfg.Timeout < 0 {
		bad("timeout must be positive, not %s", cfg.Timeout)
	}
	if cfg.Decoder != DecoderTap && cfg.Decoder != DecoderGoLDAP {
		bad("decoder must be %s or %s, not %q", DecoderTap, DecoderGoLDAP, cfg.Decoder)
	}
	cfg.validateBind(urls, anyPlain, bad)
	cfg.validateReferrals(bad)
	cfg.validateIncremental(bad)

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
		return settings{}, err
	}
	return settings{urls: urls, tls: tlsConfig, bases: bases, excludes: excludes, groups: groups}, nil
}

// validateBind checks the credentials and the bind method.
func (cfg Config) validateBind(urls []*url.URL, anyPlain bool, bad func(string, ...any)) {
	switch cfg.BindMethod {
	case "simple":
		if cfg.NTLMDomain != "" {
			bad("ntlmDomain only applies to bindMethod ntlm")
		}
	case "ntlm":
		cfg.validateNTLM(bad)
		// The insecure-bind rule is about simple binds, which send the
		// password itself: an NTLM bind never does (see Reader.bind for
		// what it does risk without TLS).
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
			bad("refusing to send the password of %q unencrypted to %s: use ldaps://, or set startTLS; allowInsecureBind permits it (for tests)", cfg.BindDN, plainURLs(cfg, urls))
		}
	}
}

// parseURLs parses a space-separated list of LDAP URLs. A URL is echoed in
// its errors with its password redacted (net/url's URL.Redacted), and one
// that does not parse is not echoed at all when it holds user info: the
// part after the colon may be a password.
func parseURLs(s string) ([]*url.URL, []error) {
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
