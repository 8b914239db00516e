package ldap

import (
	"fmt"
	"strings"
)

// maskedPassword stands for the bind password in printed commands.
const maskedPassword = "****"

// Command returns an OpenLDAP ldapsearch command line equivalent to the
// search Read makes, with the password masked, so that a problem can be
// reproduced by hand. Read logs it at debug level. ServerName has no
// ldapsearch equivalent and is left out.
func (r *Reader) Command() string {
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
		args = append(args, "-D", alwaysQuote(cfg.BindDN), "-w", alwaysQuote(maskedPassword))
	}
	args = append(args, "-b", alwaysQuote(cfg.BaseDN), "-s", cfg.Scope)
	if !cfg.NoPaging {
		args = append(args, "-E", fmt.Sprintf("pr=%d/noprompt", cfg.PageSize))
	}
	args = append(args, alwaysQuote(cfg.Filter))
	for _, a := range cfg.requestedAttributes() {
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
