package ldif

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/guestsync/guestsync/pkg/source"
)

// record is one parsed entry and the line its dn: is on; result is set
// when it is not an entry but ldapsearch's search result ("search: 2",
// "result: 0 Success").
type record struct {
	entry  source.Entry
	line   int
	result bool
}

// attrLine is one "name: value" line after decoding.
type attrLine struct {
	name   string
	value  string
	base64 bool
}

// cutShort is the input ending inside a record or a line: a file cut
// short (a copy that ran out of space, an export that was stopped) ends
// so, and what was read of it cannot be trusted to be all there is.
type cutShort struct{ why string }

func (c *cutShort) Error() string { return c.why }

const reExport = "it looks cut short (a copy that ran out of space, an export that was stopped): export it again"

// cutInRecord is the input ending inside the record that starts at line.
func cutInRecord(lr *lineReader, line int, dn string) error {
	return &cutShort{fmt.Sprintf("%s:%d: the export ends inside the record for %q, with no empty line after it: %s; if the file is whole, end it with an empty line",
		lr.name, line, dn, reExport)}
}

// cutInResult is the input ending inside ldapsearch's search result
// record that starts at line.
func cutInResult(lr *lineReader, line int) error {
	return &cutShort{fmt.Sprintf("%s:%d: the export ends inside ldapsearch's search result, with no empty line after it: %s; if the file is whole, end it with an empty line",
		lr.name, line, reExport)}
}

// cutInLine is the input ending inside line, before a record has a DN.
func cutInLine(lr *lineReader, line int) error {
	return &cutShort{fmt.Sprintf("%s:%d: the export ends inside this line, with no newline after it: %s; if the file is whole, end it with a newline",
		lr.name, line, reExport)}
}

// readRecord returns the next record, or nil at the end of the input. A
// record ends with an empty line: one that ends at the end of the input
// is a *cutShort error. A
// record may be preceded by a "version: 1" line: at the start of the file,
// and where ldapsearch -L writes it again, after each page of a paged
// search.
func readRecord(lr *lineReader) (*record, error) {
	ln, err := nextContent(lr)
	if err != nil || ln.kind == lineEOF {
		return nil, err
	}
	a, err := parseAttr(lr, ln)
	if err != nil {
		return nil, orCut(lr, ln, err)
	}
	if strings.EqualFold(a.name, "version") {
		if ln.cut {
			return nil, cutInLine(lr, ln.no)
		}
		if strings.TrimSpace(a.value) != "1" {
			return nil, lr.errorf(ln.no, "unsupported LDIF version %q: only version 1 exists", a.value)
		}
		if ln, err = nextContent(lr); err != nil || ln.kind == lineEOF {
			return nil, err
		}
		if a, err = parseAttr(lr, ln); err != nil {
			return nil, orCut(lr, ln, err)
		}
	}
	if strings.EqualFold(a.name, "search") && !ln.cut {
		return readResult(lr, ln)
	}
	if !strings.EqualFold(a.name, "dn") {
		return nil, orCut(lr, ln, lr.errorf(ln.no, "record must start with \"dn:\", found %q", a.name+":"))
	}
	if ln.cut {
		return nil, cutInLine(lr, ln.no)
	}
	if a.base64 && !utf8.ValidString(a.value) {
		return nil, lr.errorf(ln.no, "dn is not valid UTF-8 after base64 decoding")
	}
	rec := &record{entry: source.Entry{DN: a.value, Attributes: map[string][]string{}}, line: ln.no}

	afterDN := true // changetype: and control: may only follow the dn:
	for {
		ln, err := lr.next()
		if err != nil {
			return nil, err
		}
		switch ln.kind {
		case lineEOF:
			return nil, cutInRecord(lr, rec.line, rec.entry.DN)
		case lineBlank:
			return rec, nil
		}
		if ln.cut {
			// A line cut in the middle (inside a base64 value, a UTF-8
			// sequence, a name) is often not valid either: the cut is
			// what an admin must hear about.
			return nil, cutInRecord(lr, rec.line, rec.entry.DN)
		}
		if ln.kind == lineComment {
			continue
		}
		a, err := parseAttr(lr, ln)
		if err != nil {
			return nil, err
		}
		wasAfterDN := afterDN
		afterDN = false
		switch {
		case wasAfterDN && strings.EqualFold(a.name, "control"):
			return nil, lr.errorf(ln.no, "control: lines are not supported (they belong to change records)")
		case wasAfterDN && strings.EqualFold(a.name, "changetype"):
			if err := checkChangeType(lr, ln, a.value); err != nil {
				return nil, err
			}
			continue
		case strings.EqualFold(a.name, "dn"):
			return nil, lr.errorf(ln.no, "second dn: in one record (is the blank line before it missing?)")
		}
		rec.entry.Add(a.name, a.value)
	}
}

// orCut returns err, unless ln, the first line of a record, is the end of
// a file cut short.
func orCut(lr *lineReader, ln logicalLine, err error) error {
	if ln.cut {
		return cutInLine(lr, ln.no)
	}
	return err
}

// readResult reads ldapsearch's search result record, whose first line
// ("search: N") is ln, and tells the marks what it says.
func readResult(lr *lineReader, first logicalLine) (*record, error) {
	rec := &record{line: first.no, result: true}
	results := 0
	for {
		ln, err := lr.next()
		if err != nil {
			return nil, err
		}
		switch ln.kind {
		case lineEOF:
			return nil, cutInResult(lr, rec.line)
		case lineBlank:
			if results == 0 {
				return nil, lr.errorf(rec.line, "ldapsearch's search result (\"search:\") has no \"result:\" line")
			}
			return rec, nil
		case lineComment:
			continue
		}
		if ln.cut {
			return nil, cutInResult(lr, rec.line)
		}
		a, err := parseAttr(lr, ln)
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(a.name) {
		case "result":
			results++
			lr.marks.result(ln.no, a.value)
		case "pagedresults":
			lr.marks.pagedResults(ln.no, a.value)
		}
	}
}

// nextContent skips blank lines and comments.
func nextContent(lr *lineReader) (logicalLine, error) {
	for {
		ln, err := lr.next()
		if err != nil || (ln.kind != lineBlank && ln.kind != lineComment) {
			return ln, err
		}
	}
}

// checkChangeType accepts "changetype: add", which ldifde -f writes before
// every entry, and refuses the change records that do not describe an entry.
func checkChangeType(lr *lineReader, ln logicalLine, value string) error {
	switch ct := strings.ToLower(strings.TrimSpace(value)); ct {
	case "add":
		return nil
	case "modify", "delete", "modrdn", "moddn":
		return lr.errorf(ln.no, "changetype: %s records are not supported: guestsync reads entries (content records or changetype: add), not changes", ct)
	default:
		return lr.errorf(ln.no, "unknown changetype %q", value)
	}
}

// parseAttr splits and decodes one "name: value", "name:: base64" line.
func parseAttr(lr *lineReader, ln logicalLine) (attrLine, error) {
	i := strings.IndexByte(ln.text, ':')
	if i < 0 {
		return attrLine{}, lr.errorf(ln.no, "expected \"attribute: value\", found %q", shorten(ln.text))
	}
	name, rest := ln.text[:i], ln.text[i+1:]
	if !validAttrName(name) {
		return attrLine{}, lr.errorf(ln.no, "invalid attribute name %q", shorten(name))
	}
	switch {
	case strings.HasPrefix(rest, ":"):
		b, err := base64.StdEncoding.DecodeString(strings.Trim(rest[1:], " "))
		if err != nil {
			return attrLine{}, lr.errorf(ln.no, "%s: invalid base64 value: %v", name, err)
		}
		return attrLine{name: name, value: string(b), base64: true}, nil
	case strings.HasPrefix(rest, "<"):
		return attrLine{}, lr.errorf(ln.no, "%s: values given by URL (%q) are not supported: put the value in the file, base64-encoded with \"%s::\" if it is binary", name, name+":<", name)
	default:
		v := strings.TrimLeft(rest, " ")
		if !utf8.ValidString(v) {
			return attrLine{}, lr.errorf(ln.no, "%s: value is not valid UTF-8: binary values must be base64-encoded (\"%s:: ...\")", name, name)
		}
		return attrLine{name: name, value: v}, nil
	}
}

// validAttrName accepts an attribute description: a name or OID with
// options, such as "member;range=0-1499" or "userCertificate;binary". AD's
// range options need '=' and '*', which RFC 4512 option names do not allow.
func validAttrName(s string) bool {
	if s == "" || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && !strings.ContainsRune("-;=.*_", rune(c)) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// shorten keeps messages readable when a whole line is quoted.
func shorten(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
