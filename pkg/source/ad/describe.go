package ad

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/guestsync/guestsync/pkg/source"
)

// Note is one attribute value made readable, or the reason it could not be.
type Note struct {
	Attribute string `json:"attribute"`
	Text      string `json:"text,omitempty"`
	Problem   string `json:"problem,omitempty"`
}

// fileTimeAttributes hold AD FILETIME large integers.
var fileTimeAttributes = map[string]bool{
	"accountexpires": true, "pwdlastset": true, "lastlogontimestamp": true, "lastlogon": true,
	"badpasswordtime": true, "lockouttime": true,
}

// generalizedTimeAttributes hold GeneralizedTime (AD and OpenLDAP).
var generalizedTimeAttributes = map[string]bool{
	"whenchanged": true, "whencreated": true, "modifytimestamp": true, "createtimestamp": true,
}

// Describe decodes the entry's AD values an admin cannot read as stored
// (GUIDs, SIDs, userAccountControl, timestamps) and reports text values
// that are not valid UTF-8. Attributes come in the entry's Names order.
func Describe(e source.Entry) []Note {
	var notes []Note
	for _, name := range e.Names() {
		lower := strings.ToLower(name)
		for _, v := range e.Attributes[name] {
			n, ok := describe(lower, v)
			if !ok {
				continue
			}
			n.Attribute = name
			notes = append(notes, n)
		}
	}
	return notes
}

func describe(attr, v string) (Note, bool) {
	switch {
	case attr == "objectguid" || attr == "ms-ds-consistencyguid" || attr == "msexchmailboxguid":
		s, err := GUIDString([]byte(v))
		return noteOf("{"+s+"}", err), true
	case attr == "objectsid" || attr == "sidhistory" || attr == "msexchmasteraccountsid":
		s, err := SIDString([]byte(v))
		return noteOf(s, err), true
	case attr == "useraccountcontrol":
		u, err := ParseUAC(v)
		return noteOf(u.String(), err), true
	case fileTimeAttributes[attr]:
		t, never, err := FileTime(v)
		if never {
			return Note{Text: "never"}, true
		}
		return noteOf(t.Format(time.RFC3339Nano), err), true
	case generalizedTimeAttributes[attr]:
		t, err := GeneralizedTime(v)
		return noteOf(t.Format(time.RFC3339Nano), err), true
	case !binaryAttributes[attr] && !utf8.ValidString(v):
		return Note{Problem: fmt.Sprintf("value is not valid UTF-8 text: %q", v)}, true
	}
	return Note{}, false
}

func noteOf(text string, err error) Note {
	if err != nil {
		return Note{Problem: err.Error()}
	}
	return Note{Text: text}
}
