package ldif

import (
	"bufio"
	"encoding/base64"
	"io"
	"strings"

	"github.com/guestsync/guestsync/pkg/source"
)

// lineWidth is where Writer folds long lines, as ldapsearch does.
const lineWidth = 76

// Writer writes entries as LDIF (RFC 2849) that Parse, ldapadd and ldifde
// read back unchanged: values that are not SAFE-STRINGs (binary, non-ASCII,
// leading space, colon or "<", trailing space) are base64-encoded, and
// long lines are folded. Every record ends with an empty line, as
// ldapsearch and ldifde end them: Parse reads a file whose last record
// has none as cut short.
type Writer struct {
	w       *bufio.Writer
	written int
	// open: a record is written and its empty line is not.
	open bool
}

// NewWriter starts an LDIF stream with its version line.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriter(w)}
}

// Write writes one entry, attributes in a stable order.
func (lw *Writer) Write(e source.Entry) error {
	if lw.written == 0 {
		lw.w.WriteString("version: 1\n\n")
	}
	lw.end()
	lw.written++
	lw.open = true
	lw.line("dn", e.DN)
	for _, name := range e.Names() {
		for _, v := range e.Attributes[name] {
			lw.line(name, v)
		}
	}
	return nil
}

// Comment writes a comment line ("# text") into the current entry, as
// ldapsearch does; readers ignore it.
func (lw *Writer) Comment(text string) {
	lw.w.WriteString("# ")
	lw.w.WriteString(strings.ReplaceAll(text, "\n", " "))
	lw.w.WriteString("\n")
}

// Flush ends the last record with its empty line and writes what is
// buffered. Call it after the last entry: a Comment after Flush comes
// after the record it was meant for.
func (lw *Writer) Flush() error {
	lw.end()
	return lw.w.Flush()
}

// end writes the empty line that ends the open record, if there is one.
func (lw *Writer) end() {
	if lw.open {
		lw.w.WriteString("\n")
		lw.open = false
	}
}

func (lw *Writer) line(name, value string) {
	var l string
	if SafeString(value) {
		l = name + ": " + value
	} else {
		l = name + ":: " + base64.StdEncoding.EncodeToString([]byte(value))
	}
	for len(l) > lineWidth {
		lw.w.WriteString(l[:lineWidth])
		lw.w.WriteString("\n ")
		l = l[lineWidth:]
	}
	lw.w.WriteString(l)
	lw.w.WriteString("\n")
}

// SafeString reports whether v is an RFC 2849 SAFE-STRING that can be
// written as is (and ends without a space, which readers may strip); any
// other value is written base64-encoded ("name:: ...").
func SafeString(v string) bool {
	if v == "" {
		return true
	}
	if strings.ContainsAny(v[:1], " :<") || strings.HasSuffix(v, " ") {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == 0 || c == '\n' || c == '\r' || c > 0x7f {
			return false
		}
	}
	return true
}
