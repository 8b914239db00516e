package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Decode reads a plan saved by 'guestsync plan --out' from data, read
// from file: one JSON object of the current format version, with no key
// the format does not have (a hand edit's typo would otherwise be dropped
// in silence) and only known action kinds. Errors name the file, and the
// line and column where the JSON is wrong.
func Decode(file string, data []byte) (*Plan, error) {
	// The version first, read loosely: a plan of another format has keys
	// this one lacks, and "unknown field" would hide what is wrong.
	var head struct {
		Version int `json:"version"`
	}
	if json.Unmarshal(data, &head) == nil && head.Version != FormatVersion {
		return nil, fmt.Errorf("%s: the plan has format version %d; this build applies version %d (make a new plan)", file, head.Version, FormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s is not a plan saved by 'guestsync plan --out': %w", at(file, data, dec.InputOffset(), err), err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s is not a plan saved by 'guestsync plan --out': more than one JSON value",
			at(file, data, end+int64(len(data[end:])-len(bytes.TrimLeft(data[end:], " \t\r\n"))), nil))
	}
	if p.Version != FormatVersion {
		return nil, fmt.Errorf("%s: the plan has format version %d; this build applies version %d (make a new plan)", file, p.Version, FormatVersion)
	}
	for i, a := range p.Actions {
		switch a.Kind {
		case Create, Update, Adopt, Disable, Delete, Restore, Skip:
		default:
			return nil, fmt.Errorf("%s: action %d: unknown action %q (create, update, adopt, disable, delete, restore or skip)", file, i+1, a.Kind)
		}
		if a.Kind == Create && a.Account == nil {
			return nil, fmt.Errorf("%s: action %d: a create without its account", file, i+1)
		}
	}
	return &p, nil
}

// at is file:line:column of the byte offset where err happened in data
// (the error's own offset when it has one, else the decoder's: for an
// unknown key, the end of its value).
func at(file string, data []byte, offset int64, err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		offset = syntax.Offset - 1 // the offset is after the byte at fault
	case errors.As(err, &typ):
		offset = typ.Offset
	}
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return fmt.Sprintf("%s:%d:%d", file, line, col)
}
