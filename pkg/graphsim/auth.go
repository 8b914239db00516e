package graphsim

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
)

// wwwAuthenticate is the challenge Graph sends with a 401; the client_id is
// Microsoft Graph's own application id.
const wwwAuthenticate = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`

// authenticate checks the bearer token. Graph answers 401
// InvalidAuthenticationToken with "Access token is empty." when no token is
// sent, and "Access token validation failure. Invalid audience." when a token
// it cannot accept is sent (Graph docs, "Microsoft Graph error responses":
// 401 Unauthorized; messages as returned by the service).
func (s *Server) authenticate(r *http.Request) *graphError {
	header := strings.TrimSpace(r.Header.Get("Authorization"))
	if header == "" {
		return errUnauthenticated("Access token is empty.")
	}
	scheme, token, _ := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") {
		return errUnauthenticated("Access token validation failure. Invalid audience.")
	}
	if token == "" {
		return errUnauthenticated("Access token is empty.")
	}
	if s.opts.Token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.Token)) != 1 {
		return errUnauthenticated("Access token validation failure. Invalid audience.")
	}
	return nil
}

func errUnauthenticated(message string) *graphError {
	return newError(http.StatusUnauthorized, codeInvalidAuthToken, message)
}

// appID derives a stable application id from the bearer token, so that two
// tokens are two applications with their own throttling budgets. It has the
// shape of a GUID, as x-ms-throttle-scope's ApplicationId has.
func appID(r *http.Request) string {
	_, token, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
