package graphsim

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
)

// maxBodyBytes is Graph's request size limit for JSON bodies (4 MB).
const maxBodyBytes = 4 << 20

// readBody returns the request body, decompressed when it is gzip.
//
// msgraph-sdk-go compresses request bodies and sends Content-Encoding: gzip;
// after a 429 its retry handler resends the already-decompressed body with the
// same header (GRAPH.md, "msgraph-sdk-go facts"). So the body is recognised by
// the gzip magic bytes (RFC 1952: 0x1f 0x8b), not by the header.
func readBody(r *http.Request) ([]byte, *graphError) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, errUnreadablePayload()
	}
	if len(raw) > maxBodyBytes {
		return nil, newError(http.StatusRequestEntityTooLarge, codeRequestTooLarge, "The request body is too large.")
	}
	if !isGzip(raw) {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, errUnreadablePayload()
	}
	defer zr.Close()
	plain, err := io.ReadAll(io.LimitReader(zr, maxBodyBytes+1))
	if err != nil {
		return nil, errUnreadablePayload()
	}
	if len(plain) > maxBodyBytes {
		return nil, newError(http.StatusRequestEntityTooLarge, codeRequestTooLarge, "The request body is too large.")
	}
	return plain, nil
}

func isGzip(b []byte) bool {
	return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b
}

// newGUID returns a random (version 4) GUID in Graph's lower-case form.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
