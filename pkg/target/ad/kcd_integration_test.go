package ad

// Whether a shadow is what it is for: an identity that Kerberos
// constrained delegation can act as, the way Microsoft Entra application
// proxy's connector does (S4U2Self for the user found by its UPN, then
// S4U2Proxy to the back-end app's SPN); and, once disabled, one it cannot.
// Against Samba's KDC, which .ci/testservers starts with the DC, with
// MIT's kinit, kvno and klist as the client.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/mappings"
	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/mapping"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
)

// uacTrustedToAuthForDelegation (MS-ADTS 2.2.16) makes the tickets an
// account gets through S4U2Self forwardable, so that it can pass them on
// with S4U2Proxy: "protocol transition", which the connector needs, since
// the users it acts for signed in to Entra ID, not to the KDC.
const uacTrustedToAuthForDelegation = 0x1000000

// needKDC returns the address of the test Samba's KDC (host:port) and
// its realm. Without one it skips, except under CI=true, where it fails.
func needKDC(t *testing.T) (kdc, realm string) {
	t.Helper()
	kdc, realm = os.Getenv("GUESTSYNC_TEST_SAMBA_KDC"), os.Getenv("GUESTSYNC_TEST_SAMBA_REALM")
	if kdc == "" {
		how := "GUESTSYNC_TEST_SAMBA_KDC is not set: the Samba in use runs without its KDC " +
			"(started by an older .ci/testservers? stop and start it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(how + " (CI=true: the real-server tests may not be skipped)")
		}
		t.Skip(how)
	}
	require.NotEmpty(t, realm, "GUESTSYNC_TEST_SAMBA_REALM must be set with GUESTSYNC_TEST_SAMBA_KDC (is .ci/testservers outdated?)")
	for _, tool := range []string{"kinit", "kvno", "klist"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "%s (MIT Kerberos, Debian's krb5-user) is needed with GUESTSYNC_TEST_SAMBA_KDC; .ci/testservers installs it", tool)
	}
	return kdc, realm
}

// kerberos is an MIT Kerberos client of the test's own: its krb5.conf and
// credential caches are in a temporary folder, so neither the host's
// configuration nor the caller's tickets play a part.
type kerberos struct {
	t      *testing.T
	dir    string
	realm  string
	caches int
}

func newKerberos(t *testing.T, kdc, realm string) *kerberos {
	t.Helper()
	dir := t.TempDir()
	conf := fmt.Sprintf("[libdefaults]\n\tdefault_realm = %s\n\tdns_lookup_kdc = false\n\tdns_lookup_realm = false\n"+
		"\trdns = false\n\n[realms]\n\t%s = {\n\t\tkdc = %s\n\t}\n", realm, realm, kdc)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "krb5.conf"), []byte(conf), 0o600))
	return &kerberos{t: t, dir: dir, realm: realm}
}

// session is one credential cache.
type session struct {
	k     *kerberos
	cache string
}

// login runs `kinit -f principal` into a new credential cache, the
// password on standard input: forwardable, as S4U2Proxy requires of the
// service's ticket (without -f Samba answers "constrained delegation
// failed").
func (k *kerberos) login(principal, password string) *session {
	k.t.Helper()
	k.caches++
	s := &session{k: k, cache: "FILE:" + filepath.Join(k.dir, fmt.Sprintf("ccache%d", k.caches))}
	r := s.run(password+"\n", "kinit", "-f", principal)
	require.NoError(k.t, r.err, "kinit as the front-end service failed:\n%s", r)
	return s
}

// krbRun is one command's outcome, with what a failure report needs: the
// command line with its Kerberos environment, the exit status, stderr
// and stdout. Passwords go to standard input only, never into it.
type krbRun struct {
	command        string
	stdout, stderr string
	err            error
}

func (r krbRun) String() string {
	status := "exit status 0"
	if r.err != nil {
		status = r.err.Error()
	}
	return fmt.Sprintf("$ %s\n%s\nstderr: %s\nstdout: %s", r.command, status,
		strings.TrimSpace(r.stderr), strings.TrimSpace(r.stdout))
}

func (s *session) run(stdin string, name string, args ...string) krbRun {
	s.k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	conf := filepath.Join(s.k.dir, "krb5.conf")
	env := []string{"KRB5_CONFIG=" + conf, "KRB5CCNAME=" + s.cache, "LC_ALL=C"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KRB5") && !strings.HasPrefix(kv, "LC_ALL=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	quoted := make([]string, 0, len(args)+1)
	for _, a := range append([]string{name}, args...) {
		if strings.ContainsAny(a, "#@ \\'") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		quoted = append(quoted, a)
	}
	command := fmt.Sprintf("KRB5_CONFIG=%s KRB5CCNAME=%s %s", conf, s.cache, strings.Join(quoted, " "))
	return krbRun{command: command, stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// delegate runs what application proxy's connector does for a user:
// `kvno -U upn -P spn`, a ticket to spn for the user found by that UPN
// (an enterprise name), through S4U2Self then S4U2Proxy.
func (s *session) delegate(upn, spn string) krbRun {
	s.k.t.Helper()
	return s.run("", "kvno", "-U", upn, "-P", spn)
}

// klistClient matches the line under a ticket that names the client it
// was issued for, as MIT's klist prints it.
var klistClient = regexp.MustCompile(`^\s+for client (.+?)(?:, renew until .*)?$`)

// ticketsFor runs klist and returns, for each service ticket in the cache,
// the client it was issued for ("" for the service's own), by service
// principal.
func (s *session) ticketsFor() (map[string]string, krbRun) {
	s.k.t.Helper()
	r := s.run("", "klist")
	require.NoError(s.k.t, r.err, "klist failed:\n%s", r)
	tickets := map[string]string{}
	service := ""
	for _, line := range strings.Split(r.stdout, "\n") {
		if m := klistClient.FindStringSubmatch(line); m != nil && service != "" {
			tickets[service] = m[1]
			continue
		}
		fields := strings.Fields(line)
		// A ticket's line: its start, its end, then the service.
		if len(fields) > 2 && line[0] != ' ' && line[0] != '\t' && strings.Contains(fields[len(fields)-1], "@") &&
			!strings.HasPrefix(line, "Default principal:") && !strings.HasPrefix(line, "Ticket cache:") {
			service = fields[len(fields)-1]
			tickets[service] = ""
		}
	}
	return tickets, r
}

// addServiceAccount adds a user at dn with a password and the SPN, plus
// the attributes given, over the admin's connection.
func addServiceAccount(t *testing.T, admin *goldap.Conn, dn, sam, spn string, uac int, extra map[string][]string) string {
	t.Helper()
	pw, err := NewPassword()
	require.NoError(t, err)
	add := goldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	add.Attribute("sAMAccountName", []string{sam})
	add.Attribute("servicePrincipalName", []string{spn})
	add.Attribute("unicodePwd", []string{EncodePassword(pw)})
	add.Attribute("userAccountControl", []string{fmt.Sprint(uac)})
	for name, values := range extra {
		add.Attribute(name, values)
	}
	require.NoError(t, admin.Add(add), "add %s", dn)
	return pw
}

// TestSambaKerberosConstrainedDelegation: a front-end service trusted to
// delegate to a back-end SPN with protocol transition (application
// proxy's connector) gets a ticket to that SPN on behalf of a shadow,
// found by the guest's cloud UPN, #EXT# and all, and none once the
// target has disabled the shadow.
func TestSambaKerberosConstrainedDelegation(t *testing.T) {
	needSamba(t)
	kdc, realm := needKDC(t)
	l := newLifecycle(t) // its OU, and everything below, is deleted at the end
	suffix := l.ou.suffix

	// The back-end app's account holds the SPN the connector asks a ticket
	// for; the front-end (the connector's computer account in Entra's
	// setup) may delegate to it for any user, with protocol transition.
	backend := "http/intranet-" + suffix + ".example.test"
	addServiceAccount(t, l.admin, "CN=web-"+suffix+","+l.ou.dn, "web-"+suffix, backend, uacNormalAccount, nil)
	frontend := "svcapp-" + suffix
	frontendPassword := addServiceAccount(t, l.admin, "CN="+frontend+","+l.ou.dn, frontend,
		"http/app-"+suffix+".example.test", uacNormalAccount|uacTrustedToAuthForDelegation,
		map[string][]string{"msDS-AllowedToDelegateTo": {backend}})

	// The shadow, as the shipped mapping makes it from a Graph guest.
	data, err := mappings.Files.ReadFile(mappings.Shadow)
	require.NoError(t, err)
	m, err := mapping.Parse(mappings.Shadow, data)
	require.NoError(t, err)
	id := randomWord(t) + "-" + suffix[:4] + "-4c4e-9a52-" + suffix + "0013"
	upn := "ann." + suffix + "_fabrikam.com#EXT#@contoso.onmicrosoft.com"
	mapped := m.Map(source.Entry{DN: id, Attributes: map[string][]string{
		"id": {id}, "userType": {"Guest"}, "accountEnabled": {"true"}, "userPrincipalName": {upn},
		"displayName": {"Ann Lee"}, "givenName": {"Ann"}, "surname": {"Lee"}, "mail": {"ann." + suffix + "@fabrikam.example"},
	}})
	require.True(t, mapped.InScope, mapped.Reason)
	require.NoError(t, mapped.Err)
	p, _ := l.plan([]account.Account{mapped.Account}, plan.Absence{}, plan.Policy{})
	require.Len(t, p.Actions, 1)
	require.Equal(t, plan.Create, p.Actions[0].Kind)
	shadow := l.apply(p)[0].ID
	e := l.find(shadow)
	require.Equal(t, upn, e.GetAttributeValue("userPrincipalName"))
	require.EqualValues(t, uacShadow, uacOf(t, e), "NORMAL_ACCOUNT | SMARTCARD_REQUIRED")

	// MIT's klist escapes the @ inside an enterprise name.
	client := strings.ReplaceAll(upn, "@", `\@`) + "@" + realm
	target := backend + "@" + realm

	t.Run("a UPN no shadow holds is not found", func(t *testing.T) {
		s := newKerberos(t, kdc, realm).login(frontend+"@"+realm, frontendPassword)
		r := s.delegate("nobody."+suffix+"_fabrikam.com#EXT#@contoso.onmicrosoft.com", backend)
		require.Error(t, r.err, "a ticket for a user who does not exist:\n%s", r)
		assert.Contains(t, r.stderr, "not found in Kerberos database", "%s", r)
	})

	t.Run("the service gets a ticket on behalf of the shadow", func(t *testing.T) {
		s := newKerberos(t, kdc, realm).login(frontend+"@"+realm, frontendPassword)
		r := s.delegate(upn, backend)
		require.NoError(t, r.err, "S4U2Self + S4U2Proxy for the shadow failed:\n%s", r)
		tickets, list := s.ticketsFor()
		require.Contains(t, tickets, target, "no ticket to the back-end in the cache:\n%s", list)
		assert.Equal(t, client, tickets[target], "the back-end's ticket is for the shadow's UPN:\n%s", list)
	})

	// Disabled as a guest that left the scope is: ACCOUNTDISABLE, moved to
	// the disabled OU, UPN unchanged.
	p, _ = l.plan(nil, plan.Absence{Full: true}, plan.Policy{})
	require.Len(t, p.Actions, 1)
	require.Equal(t, plan.Disable, p.Actions[0].Kind)
	l.apply(p)
	e = l.find(shadow)
	require.EqualValues(t, uacShadow|uacAccountDisable, uacOf(t, e), "ACCOUNTDISABLE added")
	require.Equal(t, upn, e.GetAttributeValue("userPrincipalName"))

	t.Run("a disabled shadow is refused", func(t *testing.T) {
		// A new cache: a ticket issued before the disable stays valid, in
		// the cache that holds it, until it expires.
		s := newKerberos(t, kdc, realm).login(frontend+"@"+realm, frontendPassword)
		r := s.delegate(upn, backend)
		require.Error(t, r.err, "the KDC issued a ticket for a disabled shadow:\n%s", r)
		// KDC_ERR_POLICY is Samba's answer; KDC_ERR_CLIENT_REVOKED is the
		// code RFC 4120 gives a disabled client, which AD may send.
		assert.Regexp(t, "KDC policy rejects request|Client's credentials have been revoked", r.stderr, "%s", r)
		tickets, list := s.ticketsFor()
		assert.NotContains(t, tickets, target, "a ticket to the back-end in the cache:\n%s", list)
	})
}
