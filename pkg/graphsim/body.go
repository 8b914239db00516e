package graphsim

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
)

// Request size. Documented: Graph answers a request over its limit with 413
// (Graph docs, "Microsoft Graph error responses and resource types": "413
// Request Entity Too Large: The request size exceeds the maximum limit"),
// and Microsoft gives the limit as 4 MB per request, a $batch being one
// request (microsoftgraph/microsoft-graph-docs#85). Not documented, chosen:
// the error code and message are the ones reported from Graph for an
// oversized request, BadRequest "Maximum request length exceeded." (#85;
// ASP.NET's maxRequestLength message, whose 4096 KB default is why the
// limit is taken as 4 MiB); the limit applies to the bytes received and,
// for a gzip body, to the inflated bytes as well (a guard against a body
// that inflates without bound; Graph does not say how it counts).
const (
	maxBodyBytes = 4 << 20
	msgTooLarge  = "Maximum request length exceeded."
	// maxDrainBytes: the rest of an oversized body is read (up to this) so
	// that the client, still sending, gets the 413 rather than a reset.
	maxDrainBytes = 64 << 20
)

func errTooLarge() *graphError {
	return newError(http.StatusRequestEntityTooLarge, codeBadRequest, msgTooLarge)
}

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
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDrainBytes))
		return nil, errTooLarge()
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
		return nil, errTooLarge()
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
