package graphsim_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

func TestNewTLSCertificates(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		hosts   []string
		wantIPs []string
		wantDNS []string
	}{
		{"loopback only", nil, []string{"127.0.0.1", "::1"}, []string{"localhost"}},
		{"wildcard and loopback hosts add nothing", []string{"0.0.0.0", "::", "", "localhost", "127.0.0.1"},
			[]string{"127.0.0.1", "::1"}, []string{"localhost"}},
		{"a listen address and a name", []string{"192.0.2.7", "emulator.test"},
			[]string{"127.0.0.1", "::1", "192.0.2.7"}, []string{"localhost", "emulator.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			certs, err := graphsim.NewTLS(now, tt.hosts...)
			require.NoError(t, err)
			assert.NotContains(t, string(certs.CAPEM), "PRIVATE KEY")
			roots := x509.NewCertPool()
			require.True(t, roots.AppendCertsFromPEM(certs.CAPEM))

			chain := certs.Config.Certificates[0].Certificate
			leaf, err := x509.ParseCertificate(chain[0])
			require.NoError(t, err)
			var ips []string
			for _, ip := range leaf.IPAddresses {
				ips = append(ips, ip.String())
			}
			assert.Equal(t, tt.wantIPs, ips)
			assert.Equal(t, tt.wantDNS, leaf.DNSNames)
			assert.Equal(t, now.Add(graphsim.TLSLifetime), leaf.NotAfter)

			for _, name := range append(tt.wantIPs, tt.wantDNS...) {
				_, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: now,
					KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
				assert.NoError(t, err, "verifies for %s", name)
			}
			_, err = leaf.Verify(x509.VerifyOptions{DNSName: "127.0.0.1", Roots: roots, CurrentTime: now.Add(graphsim.TLSLifetime + time.Minute)})
			assert.Error(t, err, "expired after TLSLifetime")
			_, err = leaf.Verify(x509.VerifyOptions{DNSName: "graph.microsoft.com", Roots: roots, CurrentTime: now})
			assert.Error(t, err, "valid for the emulator's names only")
		})
	}
}

// TestLinksOverHTTPSAreHTTPS: the links the emulator writes carry the
// scheme the request came in on.
func TestLinksOverHTTPSAreHTTPS(t *testing.T) {
	t.Parallel()
	certs, err := graphsim.NewTLS(time.Now())
	require.NoError(t, err)
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}})
	srv := httptest.NewUnstartedServer(sim)
	srv.TLS = certs.Config
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(certs.CAPEM))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	_, port, err := net.SplitHostPort(strings.TrimPrefix(srv.URL, "https://"))
	require.NoError(t, err)
	base := "https://localhost:" + port + "/v1.0"

	for _, upn := range []string{"ada", "grace", "hedy"} {
		body := `{"accountEnabled":true,"displayName":"` + upn + `","mailNickname":"` + upn + `","userPrincipalName":"` + upn +
			`@partners.contoso.com","passwordProfile":{"password":"Xy7!kq2#Lm9$wp4"}}`
		req, err := http.NewRequest(http.MethodPost, base+"/users", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer t")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode)
	}
	tests := []struct{ name, path, prefer, link string }{
		{"list", "/users?$top=1", "", "@odata.nextLink"},
		{"delta page", "/users/delta", "odata.maxpagesize=1", "@odata.nextLink"},
		{"delta end", "/users/delta", "", "@odata.deltaLink"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, base+tt.path, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer t")
			if tt.prefer != "" {
				req.Header.Set("Prefer", tt.prefer)
			}
			resp, err := client.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var page map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
			link, _ := page[tt.link].(string)
			assert.True(t, strings.HasPrefix(link, base+"/users"), "%s %q starts with %s", tt.link, link, base)
		})
	}
}
