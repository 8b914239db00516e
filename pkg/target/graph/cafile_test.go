package graph

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

func TestCAFileTrustsTheServer(t *testing.T) {
	t.Parallel()
	certs, err := graphsim.NewTLS(time.Now())
	require.NoError(t, err)
	other, err := graphsim.NewTLS(time.Now())
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}}))
	srv.TLS = certs.Config
	srv.StartTLS()
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	ca := file("ca.pem", certs.CAPEM)
	otherCA := file("other.pem", other.CAPEM)
	notPEM := file("not.pem", []byte("not a certificate\n"))

	tests := []struct {
		name, caFile string
		newErr       string // from New
		readErr      []string
	}{
		{"the CA that signed it", ca, "", nil},
		{"system roots only", "", "", []string{"x509: certificate signed by unknown authority",
			"signed by none of the CAs guestsync trusts (the system's)", "set graph.caFile"}},
		{"another CA", otherCA, "", []string{"x509: certificate signed by unknown authority",
			"(the system's and those in " + otherCA + ")"}},
		{"not PEM", notPEM, "graph caFile " + notPEM + ": no PEM certificate found", nil},
		{"missing", filepath.Join(dir, "missing.pem"), "graph caFile: open " + filepath.Join(dir, "missing.pem"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := New(Options{URL: srv.URL + "/v1.0", Credential: StaticToken("t"), CAFile: tt.caFile})
			if tt.newErr != "" {
				assert.ErrorContains(t, err, tt.newErr)
				return
			}
			require.NoError(t, err)
			_, err = c.Current(context.Background())
			if tt.readErr == nil {
				assert.NoError(t, err)
				return
			}
			for _, want := range tt.readErr {
				assert.ErrorContains(t, err, want)
			}
		})
	}
}
