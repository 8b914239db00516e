package ldif

import (
	"encoding/base64"
	"io"
	"strings"

	"github.com/guestsync/guestsync/pkg/source/ldif"
	"github.com/guestsync/guestsync/pkg/target/ad"
)

// lineWidth is where long lines are folded, as ldapsearch folds them.
const lineWidth = 76

// changeWriter writes ad.Steps as RFC 2849 change records, each ended by
// an empty line. The first write error is kept and the rest skipped.
type changeWriter struct {
	w   io.Writer
	err error
}

func (cw *changeWriter) put(s string) {
	if cw.err == nil {
		_, cw.err = io.WriteString(cw.w, s)
	}
}

// comment writes "# text" lines; importers ignore them.
func (cw *changeWriter) comment(text string) {
	for _, l := range strings.Split(text, "\n") {
		cw.put("# " + l + "\n")
	}
}

// step writes one change record. The step that sets the password is a
// comment only: a password is never written to a file.
func (cw *changeWriter) step(s ad.Step) {
	if s.Password {
		cw.comment("Not written: " + s.Why + ".\n" +
			"A password is never written to a file. Before the record below that sets\n" +
			"userAccountControl, set a random one on\n" +
			s.DN + "\n" +
			"over LDAPS or StartTLS (Active Directory refuses to enable a user without one),\n" +
			"for example with Set-ADAccountPassword -Reset; nobody needs to know it.")
		cw.put("\n")
		return
	}
	cw.comment(s.Why)
	cw.line("dn", s.DN)
	cw.line("changetype", string(s.Op))
	switch s.Op {
	case ad.OpAdd:
		for _, m := range s.Mods {
			for _, v := range m.Values {
				cw.line(m.Attribute, v)
			}
		}
	case ad.OpModify:
		for _, m := range s.Mods {
			cw.line(m.Kind, m.Attribute)
			for _, v := range m.Values {
				cw.line(m.Attribute, v)
			}
			cw.put("-\n")
		}
	case ad.OpModRDN:
		cw.line("newrdn", s.NewRDN)
		cw.line("deleteoldrdn", "1")
		if s.NewSuperior != "" {
			cw.line("newsuperior", s.NewSuperior)
		}
	}
	cw.put("\n")
}

// line writes "name: value", or "name:: base64" for a value that is not
// an RFC 2849 SAFE-STRING, folded at lineWidth.
func (cw *changeWriter) line(name, value string) {
	l := name + ": " + value
	if !ldif.SafeString(value) {
		l = name + ":: " + base64.StdEncoding.EncodeToString([]byte(value))
	}
	for len(l) > lineWidth {
		cw.put(l[:lineWidth] + "\n ")
		l = l[lineWidth:]
	}
	cw.put(l + "\n")
}
