package ldif

import (
	"fmt"
	"strconv"
	"strings"
)

// marks checks what ldapsearch writes around the entries that can prove
// an export whole, or prove it not:
//
//   - Without -LL, a header ("# LDAPv3", "# base <...>") before the
//     entries, and a trailer after them: "# numResponses: N", then
//     "# numEntries: N" when there were entries. An export with the header
//     must have the trailer, and the trailer's count must be the number of
//     entries read.
//   - Without -L, a search result record after the entries ("search: 2",
//     "result: 0 Success"): a result other than 0 (a size or time limit, a
//     referral) means the search stopped early.
//   - With paging (-E pr=N/noprompt), "pagedresults: cookie=..." after each
//     page (a comment with -L, -LL and -LLL; a line of the search result
//     without -L). A cookie that is not empty means more pages follow: the
//     last one must be empty.
//
// Other tools (slapcat, ldifde, guestsync's Writer) write none of these;
// ldapsearch writes them with the entries, so they are checked when seen.
type marks struct {
	name string
	// header is the line of an ldapsearch header not yet followed by
	// its trailer (0: none).
	header int
	// entries counts the entries read since the last trailer.
	entries int
	// trailer is the line of a "# numResponses" whose count of entries
	// is still to be checked (0: none); counted is how many entries were
	// read before it, want how many its "# numEntries" says.
	trailer, counted, want int
	// cookie is the last paging cookie and its line.
	cookie     string
	cookieLine int
	// problem is the first reason found why the export is not whole.
	problem string
}

func (m *marks) fail(line int, format string, args ...any) {
	if m.problem == "" {
		m.problem = fmt.Sprintf("%s:%d: %s", m.name, line, fmt.Sprintf(format, args...))
	}
}

// comment is told every comment line.
func (m *marks) comment(ln logicalLine) {
	text := strings.TrimSpace(strings.TrimPrefix(ln.text, "#"))
	name, value, ok := strings.Cut(text, ":")
	value = strings.TrimSpace(value)
	switch {
	case text == "LDAPv3":
		m.endTrailer()
		m.header = ln.no
	case ok && name == "pagedresults":
		m.pagedResults(ln.no, value)
	case ok && name == "numResponses":
		m.endTrailer()
		m.header = 0
		m.trailer, m.counted, m.want = ln.no, m.entries, 0
		m.entries = 0
	case ok && name == "numEntries" && m.trailer != 0:
		n, err := strconv.Atoi(value)
		if err != nil {
			m.fail(ln.no, "ldapsearch's count of entries %q is not a number", value)
			return
		}
		m.want = n
	}
}

// pagedResults is told ldapsearch's "pagedresults: cookie=..." line.
func (m *marks) pagedResults(line int, value string) {
	m.cookie, m.cookieLine = strings.TrimPrefix(value, "cookie="), line
}

// result is told the result of an ldapsearch search result record.
func (m *marks) result(line int, value string) {
	code, text, _ := strings.Cut(strings.TrimSpace(value), " ")
	if code != "0" {
		m.fail(line, "ldapsearch's search ended with \"result: %s\": the export holds only part of what was searched; remove the cause (a size or time limit, a base held elsewhere) and export again", strings.TrimSpace(code+" "+text))
	}
}

// entry is told every entry read.
func (m *marks) entry() {
	m.endTrailer()
	m.entries++
}

// endTrailer checks a trailer's count once nothing more can belong to it.
func (m *marks) endTrailer() {
	if m.trailer == 0 {
		return
	}
	if m.counted != m.want {
		m.fail(m.trailer, "ldapsearch counted %d entries (\"# numEntries\"), the file holds %d: it was cut short or edited; export it again", m.want, m.counted)
	}
	m.trailer = 0
}

// end checks what must hold at the end of the input, and returns the
// first problem found ("" when none).
func (m *marks) end() string {
	m.endTrailer()
	if m.header != 0 {
		m.fail(m.header, "the export is ldapsearch's (its header starts here) but ends before ldapsearch's closing \"# numResponses\" comment: truncated, or ldapsearch failed; export it again")
	}
	if m.cookie != "" {
		m.fail(m.cookieLine, "ldapsearch's paged search was not finished: the page that ends here has a cookie for another page, which the file does not hold; export it again with -E pr=N/noprompt")
	}
	return m.problem
}
