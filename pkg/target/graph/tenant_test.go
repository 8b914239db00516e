package graph

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

func TestTenant(t *testing.T) {
	t.Parallel()
	const tenantID = "0b1f0000-aaaa-4bbb-8ccc-000000000001"
	jwt := "eyJhbGciOiJub25lIn0." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"tid":"0b1f0000-aaaa-4bbb-8ccc-000000000002"}`)) + ".sig"
	tests := []struct {
		name      string
		forbidden bool // the app may not read /organization
		token     string
		want      string
		wantErr   string
	}{
		{name: "organization", token: "t0ken", want: tenantID},
		{name: "403, tid of the token", forbidden: true, token: jwt, want: "0b1f0000-aaaa-4bbb-8ccc-000000000002"},
		{name: "403, token without tid", forbidden: true, token: "t0ken",
			wantErr: "GET /organization: Authorization_RequestDenied: Insufficient privileges to complete the operation. " +
				"(grant the application Organization.Read.All, or sign in with a token that names its tenant: the access token is not a JWT)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}, TenantID: tenantID})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.forbidden && strings.HasPrefix(r.URL.Path, "/v1.0/organization") {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusForbidden)
					_, _ = w.Write([]byte(`{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`))
					return
				}
				sim.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			c, err := New(Options{URL: srv.URL + "/v1.0", Credential: StaticToken(tt.token)})
			require.NoError(t, err)
			got, err := c.Tenant(context.Background())
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Equal(t, tt.wantErr, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
