package graphsim

import (
	"crypto/subtle"
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
