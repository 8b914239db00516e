package ldap

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

// TestNTLMBindDroppedIsExplained binds with NTLM to a server that drops
// the connection on the bind, as Samba does: the error names the likely
// cause, not only the EOF.
func TestNTLMBindDroppedIsExplained(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 512)
			c.Read(buf) //nolint:errcheck // the bind request, whatever it holds
			c.Close()
		}
	}()
	var logs bytes.Buffer
	r, err := New(Config{
		URL: "ldap://" + l.Addr().String(), BaseDN: "dc=example,dc=test", Timeout: 5 * time.Second,
		BindMethod: "ntlm", BindDN: "svc-guestsync", NTLMDomain: "EXAMPLE", BindPassword: "s3cret-do-not-print",
	}, debugLogger(&logs))
	require.NoError(t, err)
	res, err := r.Read(context.Background(), func(source.Entry) error { return nil })
	require.Error(t, err)
	assert.Contains(t, err.Error(), `bind to ldap://`+l.Addr().String()+` as "svc-guestsync": the server does not seem to support NTLM binds`)
	assert.Equal(t, source.Result{}, res)
	assert.NotContains(t, err.Error(), "s3cret")
	assert.Contains(t, logs.String(), "level=WARN msg=\"NTLM bind without TLS")
	assert.NotContains(t, logs.String(), "s3cret")
}
