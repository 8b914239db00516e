package source

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// jsonEntry is Entry's JSON shape. A value that is valid UTF-8 is a JSON
// string; any other value (objectGUID, objectSid, a photo) is an object
// {"base64": "..."}, because encoding/json would replace its bytes with
// U+FFFD and the value would be lost.
type jsonEntry struct {
	DN         string                       `json:"dn"`
	Attributes map[string][]json.RawMessage `json:"attributes"`
	Deleted    bool                         `json:"deleted,omitempty"`
}

type binaryValue struct {
	Base64 string `json:"base64"`
}

// MarshalJSON writes the entry losslessly; see jsonEntry.
func (e Entry) MarshalJSON() ([]byte, error) {
	out := jsonEntry{DN: e.DN, Deleted: e.Deleted, Attributes: make(map[string][]json.RawMessage, len(e.Attributes))}
	for name, values := range e.Attributes {
		raw := make([]json.RawMessage, len(values))
		for i, v := range values {
			var err error
			if utf8.ValidString(v) {
				raw[i], err = json.Marshal(v)
			} else {
				raw[i], err = json.Marshal(binaryValue{base64.StdEncoding.EncodeToString([]byte(v))})
			}
			if err != nil {
				return nil, err
			}
		}
		out.Attributes[name] = raw
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Entry) UnmarshalJSON(data []byte) error {
	var in jsonEntry
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	*e = Entry{DN: in.DN, Deleted: in.Deleted, Attributes: make(map[string][]string, len(in.Attributes))}
	for name, raw := range in.Attributes {
		values := make([]string, len(raw))
		for i, r := range raw {
			if err := json.Unmarshal(r, &values[i]); err == nil {
				continue
			}
			var b binaryValue
			if err := json.Unmarshal(r, &b); err != nil {
				return fmt.Errorf("entry %s: attribute %s: value %d is neither a string nor {\"base64\": ...}", in.DN, name, i+1)
			}
			dec, err := base64.StdEncoding.DecodeString(b.Base64)
			if err != nil {
				return fmt.Errorf("entry %s: attribute %s: value %d: %w", in.DN, name, i+1, err)
			}
			values[i] = string(dec)
		}
		e.Attributes[name] = values
	}
	return nil
}
