package ad

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/ldapconn"
	"github.com/guestsync/guestsync/pkg/plan"
)

// Over plain ldap:// every write is refused before the target connects:
// the listener standing in for the directory is never called.
func TestPlainLDAPWritesAreRefusedBeforeConnecting(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	target, err := New(Options{Connection: ldapconn.Config{URL: "ldap://" + l.Addr().String(), BindDN: "cn=admin,dc=x",
		BindPassword: "s3cret", AllowInsecureBind: true, Timeout: time.Second},
		BaseDN: "DC=x", OU: "OU=S,DC=x", Owner: "prod"})
	require.NoError(t, err)
	acc := account.Account{Anchor: "g1", Properties: map[string]string{"cn": "Ann"}}
	results := target.Apply(context.Background(), []plan.Action{
		{Kind: plan.Create, Anchor: "g1", Account: &acc},
		{Kind: plan.Skip, Anchor: "g2"},
		{Kind: plan.Delete, ID: "0000", Anchor: "g3"},
	})
	require.Len(t, results, 2, "one result per action but skips")
	for _, r := range results {
		require.NotNil(t, r.Failure)
		assert.Equal(t, "insecureConnection", r.Failure.Code)
		assert.NotContains(t, r.Failure.Message, "s3cret")
	}
	time.Sleep(50 * time.Millisecond)
	assert.Zero(t, accepted.Load(), "no connection")
}

// Once ctx is cancelled, nothing is started.
func TestCancelledApplyStartsNothing(t *testing.T) {
	t.Parallel()
	target, err := New(Options{Connection: ldapconn.Config{URL: "ldaps://127.0.0.1:1", Timeout: time.Second},
		BaseDN: "DC=x", OU: "OU=S,DC=x", Owner: "prod"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	results := target.Apply(ctx, []plan.Action{{Kind: plan.Delete, ID: "0000"}})
	require.Len(t, results, 1)
	assert.Contains(t, results[0].Failure.Message, "not attempted: the run was interrupted")
}
