// Package config loads guestsync's configuration: one YAML file with a
// `version: 1` key, found in the standard places, every key overridable by a
// GUESTSYNC_<SECTION>_<KEY> environment variable, secrets only from the
// environment or from a file named by a `...File` key. Loading reports every
// problem at once, each with its key path and, for the file, its line.
package config

import (
	"log/slog"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/guestsync/guestsync/pkg/yamlfile"
)

// FormatVersion is the config file format this build reads.
const FormatVersion = 1

// Config is the whole configuration.
type Config struct {
	Version int `yaml:"version" mapstructure:"version"`
	// Direction is what this config syncs: DirectionPartnersToGuests (the
	// default: directory entries to Entra ID guests) or
	// DirectionGuestsToShadows (the tenant's guests to AD shadow
	// accounts). One config file serves one direction.
	Direction string  `yaml:"direction" mapstructure:"direction"`
	Source    Source  `yaml:"source" mapstructure:"source"`
	LDIF      LDIF    `yaml:"ldif" mapstructure:"ldif"`
	LDAP      LDAP    `yaml:"ldap" mapstructure:"ldap"`
	Guests    Guests  `yaml:"guests" mapstructure:"guests"`
	Mapping   Mapping `yaml:"mapping" mapstructure:"mapping"`
	Graph     Graph   `yaml:"graph" mapstructure:"graph"`
	Target    Target  `yaml:"target" mapstructure:"target"`
	AD        AD      `yaml:"ad" mapstructure:"ad"`
	State     State   `yaml:"state" mapstructure:"state"`
	Policy    Policy  `yaml:"policy" mapstructure:"policy"`

	// File is the config file the values came from ("" for defaults only).
	File string `yaml:"-" mapstructure:"-"`
	// Warnings are what Load found worth telling but not refusing (a
	// secret file readable by others, the default owner while removals
	// are on); the caller logs them.
	Warnings yamlfile.Problems `yaml:"-" mapstructure:"-"`
	// doc is the file as parsed, so that problems found once the mapping
	// is loaded (CheckMapping) are shown at their line too.
	doc *yaml.Node
}

// Source chooses where entries are read from.
type Source struct {
	// Kind is "ldap" or "ldif" (partners to guests), or "graph" (guests
	// to shadows: the tenant's guests, scoped by the guests section).
	Kind string `yaml:"kind" mapstructure:"kind"`
	// FullReadEvery makes a run read the whole source, although a
	// watermark for an incremental read is stored, when the last full
	// read is older than this (168h: a week); 0 leaves it to --full.
	// Incremental reads do not see every deletion: OpenLDAP's entryCSN
	// sees none, nor accounts that left the filter; DirSync under an
	// ordinary account sees no deletions. A full read finds them.
	FullReadEvery time.Duration `yaml:"fullReadEvery" mapstructure:"fullreadevery"`
}

// LDIF is a file export (ldifde -f, ldapsearch -LLL) read instead of a
// live directory.
type LDIF struct {
	Path string `yaml:"path" mapstructure:"path"`
}

// LDAP is a live directory: Active Directory or any LDAP server.
type LDAP struct {
	URL              string `yaml:"url" mapstructure:"url"`
	BindDN           string `yaml:"bindDN" mapstructure:"binddn"`
	BindPassword     Secret `yaml:"bindPassword" mapstructure:"bindpassword"`
	BindPasswordFile string `yaml:"bindPasswordFile" mapstructure:"bindpasswordfile"`
	BindMethod       string `yaml:"bindMethod" mapstructure:"bindmethod"`
	NTLMDomain       string `yaml:"ntlmDomain" mapstructure:"ntlmdomain"`
	BaseDN           string `yaml:"baseDN" mapstructure:"basedn"`
	Filter           string `yaml:"filter" mapstructure:"filter"`
	Scope            string `yaml:"scope" mapstructure:"scope"`
	// Bases are several subtrees, each with its scope, instead of
	// baseDN and scope.
	Bases []LDAPBase `yaml:"bases" mapstructure:"bases"`
	// ExcludeDNs, Groups and ReferralHosts are lists; in environment
	// variables their items are separated by ";" (DNs contain commas).
	ExcludeDNs      []string `yaml:"excludeDNs" mapstructure:"excludedns"`
	Groups          []string `yaml:"groups" mapstructure:"groups"`
	Directory       string   `yaml:"directory" mapstructure:"directory"`
	MaxGroupDepth   int      `yaml:"maxGroupDepth" mapstructure:"maxgroupdepth"`
	FollowReferrals bool     `yaml:"followReferrals" mapstructure:"followreferrals"`
	// Incremental is how runs read only what changed: auto (the default:
	// DirSync, else uSNChanged on AD; entryCSN elsewhere), dirsync, usn,
	// csn, or off (every read is full).
	Incremental       string        `yaml:"incremental" mapstructure:"incremental"`
	ReferralHosts     []string      `yaml:"referralHosts" mapstructure:"referralhosts"`
	PageSize          uint32        `yaml:"pageSize" mapstructure:"pagesize"`
	Timeout           time.Duration `yaml:"timeout" mapstructure:"timeout"`
	StartTLS          bool          `yaml:"startTLS" mapstructure:"starttls"`
	CAFile            string        `yaml:"caFile" mapstructure:"cafile"`
	ServerName        string        `yaml:"serverName" mapstructure:"servername"`
	AllowInsecureBind bool          `yaml:"allowInsecureBind" mapstructure:"allowinsecurebind"`
	// Decoder is who decodes the directory's answers: tap (the default:
	// guestsync's own decoder, as fast as ldapsearch) or go-ldap (the
	// LDAP library alone, with its StartTLS and request timeout: slower,
	// for a directory the tap mishandles).
	Decoder string `yaml:"decoder" mapstructure:"decoder"`
}

// LDAPBase is one subtree to read.
type LDAPBase struct {
	DN    string `yaml:"dn" mapstructure:"dn"`
	Scope string `yaml:"scope" mapstructure:"scope"`
}

// Mapping names the mapping file.
type Mapping struct {
	File string `yaml:"file" mapstructure:"file"`
}

// Graph is the Microsoft Graph endpoint and how to authenticate to it.
type Graph struct {
	// Cloud is global (default), usgov, usgovdod or china: it chooses
	// the Graph and sign-in endpoints.
	Cloud string `yaml:"cloud" mapstructure:"cloud"`
	// URL is the Graph root including the version; by default the
	// cloud's (https://graph.microsoft.com/v1.0 for global). Set it to
	// point at guestsync's Graph emulator.
	URL string `yaml:"url" mapstructure:"url"`
	// Auth is how guestsync signs in: clientSecret, certificate (an app
	// registration's secret or certificate), default (azidentity's chain:
	// environment variables, workload identity, managed identity, Azure
	// CLI) or emulator (a fixed bearer token, accepted only for a loopback
	// URL: guestsync's own Graph emulator).
	Auth             string `yaml:"auth" mapstructure:"auth"`
	TenantID         string `yaml:"tenantID" mapstructure:"tenantid"`
	ClientID         string `yaml:"clientID" mapstructure:"clientid"`
	ClientSecret     Secret `yaml:"clientSecret" mapstructure:"clientsecret"`
	ClientSecretFile string `yaml:"clientSecretFile" mapstructure:"clientsecretfile"`
	// CertificateFile is a PEM (certificate and key) or PKCS#12 (.pfx)
	// file; CertificatePassword decrypts it if needed.
	CertificateFile         string `yaml:"certificateFile" mapstructure:"certificatefile" secret:"file"`
	CertificatePassword     Secret `yaml:"certificatePassword" mapstructure:"certificatepassword"`
	CertificatePasswordFile string `yaml:"certificatePasswordFile" mapstructure:"certificatepasswordfile"`
	// CAFile is a PEM file of CA certificates trusted for graph.url's TLS
	// certificate besides the system's (e.g. the CA guestsync
	// graph-emulator --https --ca-out writes); empty trusts the system's
	// alone.
	CAFile string `yaml:"caFile" mapstructure:"cafile"`
	// Owner names this guestsync instance: the guests it creates carry
	// the mark guestsync:<Owner> in OwnerAttribute, and it never changes
	// a guest without its own mark.
	Owner          string `yaml:"owner" mapstructure:"owner"`
	OwnerAttribute string `yaml:"ownerAttribute" mapstructure:"ownerattribute"`
	// Adopt allows taking over existing guests without the mark by soft
	// match: "" (never, the default), "mail" or "upn".
	Adopt string `yaml:"adopt" mapstructure:"adopt"`
	// Invitation settings, for mappings in invite mode.
	Invitation Invitation `yaml:"invitation" mapstructure:"invitation"`
	// WriteBudget writes per WriteWindow is the pace guestsync keeps to
	// stay under Graph's throttling: 3,000 writes per 150 s per app and
	// tenant, as documented. Lower it when other apps share the tenant's
	// budget.
	WriteBudget int           `yaml:"writeBudget" mapstructure:"writebudget"`
	WriteWindow time.Duration `yaml:"writeWindow" mapstructure:"writewindow"`
	// Concurrency is how many $batch requests are in flight at once.
	Concurrency int `yaml:"concurrency" mapstructure:"concurrency"`
}

// Invitation configures POST /invitations for mappings in invite mode.
type Invitation struct {
	// RedirectURL is where the guest lands after redeeming (required by
	// Graph). Unset, it is the tenant's My Apps,
	// https://myapplications.microsoft.com/?tenantid=<graph.tenantID>,
	// when tenantID is set; invite mode without either is refused.
	RedirectURL string `yaml:"redirectURL" mapstructure:"redirecturl"`
	// SendMessage makes Microsoft send the invitation e-mail (Graph's
	// default is false: the guest redeems through a link you send).
	SendMessage bool `yaml:"sendMessage" mapstructure:"sendmessage"`
}

// CloudGraphRoot returns a national cloud's Graph root ("National cloud
// deployments" in the Graph documentation) by guestsync's cloud name.
func CloudGraphRoot(cloud string) (string, bool) {
	switch cloud {
	case "global":
		return "https://graph.microsoft.com", true
	case "usgov":
		return "https://graph.microsoft.us", true
	case "usgovdod":
		return "https://dod-graph.microsoft.us", true
	case "china":
		return "https://microsoftgraph.chinacloudapi.cn", true
	}
	return "", false
}

// CloudNames lists the clouds CloudGraphRoot knows.
func CloudNames() []string { return []string{"global", "usgov", "usgovdod", "china"} }

// State is where guestsync keeps what it remembers between runs.
type State struct {
	// File is the state file; its lock is File + ".lock". Default:
	// $XDG_STATE_HOME/guestsync/state.json (~/.local/state/guestsync/state.json).
	File string `yaml:"file" mapstructure:"file"`
}

// Policy is what guestsync may do in the tenant besides creating and
// updating its guests, and the rails that stop it.
type Policy struct {
	// Mode is sync (create, update, remove), upsert-only (never remove) or
	// create-only (never update or remove).
	Mode string `yaml:"mode" mapstructure:"mode"`
	// Removal is what happens to a guest whose account left the source:
	// disable, delete (to the recycle bin, restorable 30 days) or none.
	Removal string `yaml:"removal" mapstructure:"removal"`
	// DeleteAfter: with removal disable, a disabled guest is deleted once
	// its account has been gone this long (a Go duration: 720h is 30
	// days); 0 never deletes.
	DeleteAfter time.Duration `yaml:"deleteAfter" mapstructure:"deleteafter"`
	// RemovalThreshold stops a run that would disable or delete more
	// guests than this (exit code 3) before it changes anything.
	RemovalThreshold int `yaml:"removalThreshold" mapstructure:"removalthreshold"`
	// RemovalThresholdPercent, when above 0, also stops a run that would
	// remove more than this share of guestsync's guests.
	RemovalThresholdPercent float64 `yaml:"removalThresholdPercent" mapstructure:"removalthresholdpercent"`
}

// Defaults returns the configuration used where neither the file nor the
// environment says otherwise.
func Defaults() Config {
	return Config{
		Version:   FormatVersion,
		Direction: DirectionPartnersToGuests,
		Source:    Source{Kind: "ldap", FullReadEvery: 7 * 24 * time.Hour},
		Guests:    Guests{Scope: "all"},
		Target:    Target{Kind: "graph"},
		AD: AD{BindMethod: "simple", Timeout: 30 * time.Second, PageSize: 500, MarkAttribute: "adminDescription",
			Owner: "default", Concurrency: 1},
		LDAP:    LDAP{PageSize: 500, Timeout: 30 * time.Second, Filter: "(objectClass=user)", BindMethod: "simple", Incremental: "auto", Decoder: "tap"},
		Mapping: Mapping{File: "/etc/guestsync/mappings/partner-guest.yaml"},
		Graph: Graph{Cloud: "global", Auth: "clientSecret", Owner: "default", OwnerAttribute: "extensionAttribute15",
			WriteBudget: 3000, WriteWindow: 150 * time.Second, Concurrency: 4},
		Policy: Policy{Mode: "sync", Removal: "disable", DeleteAfter: 30 * 24 * time.Hour, RemovalThreshold: 500},
	}
}

// Secret is a credential. It never prints, logs or serialises its value;
// call Reveal where the value is actually needed.
type Secret string

const redacted = "[redacted]"

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return s.String() }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps encoders from writing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }
