package graph

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// watermarkVersion is the format of the watermark's JSON; another version
// is a watermark this reader cannot use, and it reads everything again.
const watermarkVersion = 1

// watermark is where the next incremental read starts. It travels as
// Result.Watermark, opaque text: base64url of its gzipped JSON (the
// member list makes it grow with the scope, and ids compress well).
type watermark struct {
	V int `json:"v"`
	// Users is the users/delta deltaLink.
	Users string `json:"users"`
	// Groups are the groups/delta rounds following the membership of the
	// groups that decide the scope (not for ScopeAll).
	Groups []groupRound `json:"groups,omitempty"`
	// Assigned is the application's assignments (scopeState.assigned).
	Assigned []string `json:"assigned,omitempty"`
	// Members are the ids in scope, sorted: every guest (ScopeAll, where
	// users/delta shows every user of the tenant and only guests matter),
	// or every user the groups or the assignments bring in, guest or not
	// (a member turned guest in a scoping group is then seen as one).
	Members []string `json:"members"`
}

func (w watermark) encode() string {
	w.V = watermarkVersion
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	if err := json.NewEncoder(z).Encode(w); err != nil {
		panic(err) // strings only: always encodes, and a bytes.Buffer does not fail
	}
	if err := z.Close(); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(buf.Bytes())
}

// maxWatermark bounds what a watermark may expand to (a watermark is read
// from a state file, which anyone with write access to it could replace).
const maxWatermark = 256 << 20 // 1,000,000 ids take some 40 MB

// decodeWatermark parses a watermark; every error means: read fully.
func decodeWatermark(s string) (watermark, error) {
	var w watermark
	if s == "" {
		return w, errors.New("no watermark")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return w, fmt.Errorf("not a watermark of this reader (not base64url): %w", err)
	}
	z, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return w, fmt.Errorf("not a watermark of this reader (not gzip): %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(z, maxWatermark))
	if err != nil {
		return w, fmt.Errorf("not a watermark of this reader: %w", err)
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return w, fmt.Errorf("not a watermark of this reader (not JSON): %w", err)
	}
	switch {
	case w.V != watermarkVersion:
		return w, fmt.Errorf("a watermark of format %d, this reader reads format %d", w.V, watermarkVersion)
	case w.Users == "":
		return w, errors.New("a watermark without a users/delta link")
	}
	for _, g := range w.Groups {
		if g.Link == "" || len(g.IDs) == 0 {
			return w, errors.New("a watermark with an empty groups/delta round")
		}
	}
	return w, nil
}
