package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShadowKilledFirstSyncConverges is the acceptance: a first
// sync of 1,000 guests into Samba, killed with SIGKILL once the OU holds
// more than a third of the shadows (a create is several requests: the
// kill may leave one half-made), then sync again: exactly 1,000 shadows,
// one per guest, every one whole (NORMAL_ACCOUNT | SMARTCARD_REQUIRED, a
// password set), nothing failed; and a third sync has nothing to do.
func TestShadowKilledFirstSyncConverges(t *testing.T) {
	t.Parallel()
	const n = 1000
	w := newShadowWorld(t)
	ids := w.plainGuests(n)
	inOU := func() int {
		return len(w.search(w.ou, goldap.ScopeSingleLevel, "(objectClass=user)", "1.1"))
	}

	cmd := exec.Command(os.Args[0], "sync", "--config", w.cfg, "--log-level", "warn")
	cmd.Env = childEnv("GUESTSYNC_AD_BINDPASSWORD=" + w.samba["ADMINPASSWORD"])
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(3 * time.Minute)
wait:
	for inOU() <= n/3 {
		select {
		case err := <-exited:
			t.Fatalf("guestsync ended before it was killed (%v):\n%s", err, output.String())
		case <-deadline:
			break wait
		case <-time.After(50 * time.Millisecond):
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	<-exited
	// Samba still carries out the requests the process sent before it
	// died: count once the OU stands still.
	before := inOU()
	for {
		time.Sleep(200 * time.Millisecond)
		now := inOU()
		if now == before {
			break
		}
		before = now
	}
	t.Logf("killed with %d of %d objects in the OU", before, n)
	require.Less(t, before, n, "the kill came before the end")
	require.Greater(t, before, n/3)

	whole := 0
	for _, e := range w.search(w.ou, goldap.ScopeSingleLevel, "(objectClass=user)", "userAccountControl") {
		if uac(t, e) == 0x40200 {
			whole++
		}
	}
	t.Logf("%d whole, %d half-made", whole, before-whole)

	// The half-made ones are made anew: created again, like the missing.
	out := w.sync()
	assert.Contains(t, out, fmt.Sprintf("Applied: %d created, 0 updated, 0 failed", n-whole))
	shadows := w.shadowsIn(w.ou) // fails on two objects with one mark
	require.Len(t, shadows, n, "exactly one shadow per guest")
	for _, id := range ids {
		e := shadows[w.mark(id)]
		if !assert.NotNil(t, e, "the shadow of %s", id) {
			continue
		}
		assert.EqualValues(t, 0x40200, uac(t, e), "%s is whole", e.DN)
		assert.NotContains(t, []string{"", "0"}, e.GetAttributeValue("pwdLastSet"), "%s: a password was set", e.DN)
	}
	assert.Empty(t, w.search(w.disabled, goldap.ScopeSingleLevel, "(objectClass=user)", "1.1"), "nothing disabled")

	out = w.sync("--full")
	assert.Contains(t, out, "No changes: 1000 shadow accounts up to date, 0 skipped, 0 out of scope.")
}
