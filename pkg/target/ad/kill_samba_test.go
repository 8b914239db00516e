package ad

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/plan"
)

const killedShadows = 60

// killedDesired are the shadows of TestSambaKilledCreatesAreRepaired.
func killedDesired(suffix string) []account.Account {
	out := make([]account.Account, killedShadows)
	for i := range out {
		out[i] = shadowOf(fmt.Sprintf("%s-%02d", suffix, i), fmt.Sprintf("%s-anchor-%02d", suffix, i))
	}
	return out
}

// TestSambaKilledCreatesAreRepaired: a run creating shadows is killed
// (SIGKILL: nothing of it finishes) part-way; the next run ends with
// exactly one whole shadow per guest, none twice.
func TestSambaKilledCreatesAreRepaired(t *testing.T) {
	if ou := os.Getenv("GUESTSYNC_TEST_KILLED_OU"); ou != "" {
		t.Skip("the killed run itself: see killedRun")
	}
	l := newLifecycle(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSambaKilledRun$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GUESTSYNC_TEST_KILLED_OU="+l.ou.dn, "GUESTSYNC_TEST_KILLED_SUFFIX="+l.ou.suffix)
	require.NoError(t, cmd.Start())
	users := func() []*goldap.Entry {
		res, err := l.admin.Search(goldap.NewSearchRequest(l.ou.dn, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=user)", []string{"adminDescription", "userAccountControl"}, nil))
		require.NoError(t, err)
		return res.Entries
	}
	halfMade := func(entries []*goldap.Entry) int {
		n := 0
		for _, e := range entries {
			if uacOf(t, e)&uacSmartcardRequired == 0 {
				n++
			}
		}
		return n
	}
	// Kill while a create is in hand (one is half-made), a third of the
	// way in.
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if u := users(); len(u) >= killedShadows/3 && halfMade(u) > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	made := users()
	require.Less(t, len(made), killedShadows, "killed before the end")
	t.Logf("killed after %d adds, %d of them half-made", len(made), halfMade(made))

	p, _ := l.plan(killedDesired(l.ou.suffix), plan.Absence{Full: true}, plan.Policy{})
	l.apply(p)
	seen := map[string]bool{}
	for _, e := range users() {
		mark := e.GetAttributeValue("adminDescription")
		assert.False(t, seen[mark], "twice: %s", mark)
		seen[mark] = true
		assert.EqualValues(t, uacShadow, uacOf(t, e), e.DN)
	}
	assert.Len(t, seen, killedShadows)
	again, _ := l.plan(killedDesired(l.ou.suffix), plan.Absence{Full: true}, plan.Policy{})
	assert.Empty(t, again.Actions)
}

// TestSambaKilledRun is the run TestSambaKilledCreatesAreRepaired kills:
// it only runs as its child.
func TestSambaKilledRun(t *testing.T) {
	ou := os.Getenv("GUESTSYNC_TEST_KILLED_OU")
	if ou == "" {
		t.Skip("run by TestSambaKilledCreatesAreRepaired")
	}
	env := needSamba(t)
	suffix := os.Getenv("GUESTSYNC_TEST_KILLED_SUFFIX")
	target, err := New(Options{Connection: env.connection(), BaseDN: env.baseDN, OU: ou, Owner: "test-" + suffix,
		Groups: []string{"CN=shadows-" + suffix + "," + ou}})
	require.NoError(t, err)
	var actions []plan.Action
	for _, d := range killedDesired(suffix) {
		actions = append(actions, plan.Action{Kind: plan.Create, Anchor: d.Anchor, Account: &d})
	}
	target.Apply(context.Background(), actions)
	time.Sleep(time.Minute) // killed before
}
