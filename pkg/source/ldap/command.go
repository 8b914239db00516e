package ldap

import (
	"fmt"
	"strings"
)

// maskedPassword stands for the bind password in printed commands.
const maskedPassword = "****"

// Command returns OpenLDAP ldapsearch command lines equivalent to the
// searches Read makes, one line per base, with the password masked, so
// that a problem can be reproduced by hand. Read logs it at debug level.
//
// Some settings have no ldapsearch equivalent and are left out:
// ServerName; ExcludeDNs, group expansion on servers other than Active
// Directory, and the merging of entries reached twice, which Read does on
// the results; the following of referrals (ldapsearch -C differs). On
// Active Directory (Directory "ad"), Groups appear in the filter as the
// server evaluates them. ldapsearch has no NTLM bind: with BindMethod
// "ntlm" the line shows a simple bind as DOMAIN\name, which Active
// Directory also accepts, but over ldaps:// or StartTLS only, please.
func (r *Reader) Command() string {
	filter := r.cfg.Filter
	if r.cfg.Directory == DirectoryAD {
		filter = inChainFilter(filter, r.groups)
	}
	return r.command(filter)
}

// command renders the searches with filter.
func (r *Reader) command(filter string) string {
	lines := make([]string, len(r.bases))
	for i, b := range r.bases {
		lines[i] = r.searchCommand(b.dn, b.scope, filter, r.cfg.requestedAttributes(), !r.cfg.NoPaging)
	}
	return strings.Join(lines, "\n")
}

// searchCommand renders one search as an ldapsearch command line; ext are
// search extensions (-E), such as "!dirSync=..." or "showDeleted".
func (r *Reader) searchCommand(base string, scope int, filter string, attrs []string, paged bool, ext ...string) string {
	cfg := r.cfg
	var args []string
	if cfg.CAFile != "" {
		args = append(args, "LDAPTLS_CACERT="+shellQuote(cfg.CAFile))
	}
	if cfg.InsecureSkipVerify {
		args = append(args, "LDAPTLS_REQCERT=never")
	}
	urls := make([]string, len(r.urls))
	for i, u := range r.urls {
		urls[i] = u.String()
	}
	args = append(args, "ldapsearch", "-H", shellQuote(strings.Join(urls, " ")), "-x")
	if cfg.StartTLS {
		args = append(args, "-ZZ")
	}
	if cfg.BindDN != "" {
		who := cfg.BindDN
		if cfg.BindMethod == "ntlm" {
			who = cfg.ntlmUser()
		}
		args = append(args, "-D", alwaysQuote(who), "-w", alwaysQuote(maskedPassword))
	}
	args = append(args, "-b", alwaysQuote(base), "-s", scopeName(scope))
	for _, e := range ext {
		args = append(args, "-E", shellQuote(e))
	}
	if paged {
		args = append(args, "-E", fmt.Sprintf("pr=%d/noprompt", cfg.PageSize))
	}
	args = append(args, alwaysQuote(filter))
	for _, a := range attrs {
		args = append(args, shellQuote(a))
	}
	return strings.Join(args, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	unsafe := func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_@%+=:,./-", c))
	}
	if s != "" && strings.IndexFunc(s, unsafe) < 0 {
		return s
	}
	return alwaysQuote(s)
}

func alwaysQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
