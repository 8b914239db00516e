package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

// shadowTenantDomain is the emulated tenant's initial domain: every
// guest's UPN ends with it, #EXT# before it, as B2B guests' do.
const shadowTenantDomain = "contoso.onmicrosoft.com"

// shadowWorld is one test's guests-to-shadows setup: an emulated tenant
// (graphsim behind a server of its own, changed only through Graph's
// documented admin calls), an OU of its own in the shared Samba AD DC
// with a child OU for disabled shadows (both removed when the test ends),
// an owner of its own, and a config file that syncs the one into the
// other through the CLI.
type shadowWorld struct {
	t     testing.TB
	samba map[string]string
	admin *goldap.Conn // the domain's Administrator, for the test's own reads and writes

	sim      *graphsim.Server
	srv      *httptest.Server
	graphURL string
	requests atomic.Int64 // every request the emulator got

	suffix       string // random, in every name the test makes
	owner        string
	ou, disabled string
	dir, cfg     string
	env          map[string]string
}

func newShadowWorld(t testing.TB) *shadowWorld {
	t.Helper()
	s := sambaEnv(t)
	w := &shadowWorld{t: t, samba: s, suffix: fmt.Sprintf("%08x", rand.Uint32()), dir: t.TempDir()}
	w.owner = "e2e-" + w.suffix
	w.sim = graphsim.New(graphsim.Options{VerifiedDomains: []string{shadowTenantDomain}})
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.requests.Add(1)
		w.sim.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.srv.Close)
	w.graphURL = w.srv.URL + "/v1.0"

	conn, err := goldap.DialURL(s["URL"])
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.Bind(s["ADMINDN"], s["ADMINPASSWORD"]))
	w.admin = conn
	w.ou = "OU=shadows-e2e-" + w.suffix + "," + s["BASEDN"]
	w.disabled = "OU=disabled," + w.ou
	for _, dn := range []string{w.ou, w.disabled} {
		req := goldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"organizationalUnit"})
		require.NoError(t, conn.Add(req), "add %s", dn)
	}
	t.Cleanup(func() {
		if err := conn.Del(goldap.NewDelRequest(w.ou, []goldap.Control{goldap.NewControlSubtreeDelete()})); err != nil {
			t.Errorf("remove %s: %v", w.ou, err)
		}
	})
	w.cfg = filepath.Join(w.dir, "guestsync.yaml")
	w.env = map[string]string{"GUESTSYNC_AD_BINDPASSWORD": s["ADMINPASSWORD"]}
	w.configure("{scope: all}", "")
	return w
}

// configure writes the config file: guests is the guests section (flow
// YAML), extra more top-level keys.
func (w *shadowWorld) configure(guests, extra string) {
	w.t.Helper()
	mappingFile, err := filepath.Abs(repoPath("mappings/guest-shadow.yaml"))
	require.NoError(w.t, err)
	s := w.samba
	cfg := fmt.Sprintf(`version: 1
direction: guests-to-shadows
source: {kind: graph}
guests: %s
graph: {url: %q, auth: emulator}
mapping: {file: %q}
target: {kind: ad}
ad:
  url: %q
  caFile: %q
  bindDN: %q
  baseDN: %q
  ou: %q
  disabledOU: %q
  owner: %q
state: {file: %q}
%s`, guests, w.graphURL, mappingFile, s["LDAPS_URL"], s["CAFILE"], s["ADMINDN"], s["BASEDN"], w.ou, w.disabled, w.owner,
		filepath.Join(w.dir, "state.json"), extra)
	require.NoError(w.t, os.WriteFile(w.cfg, []byte(cfg), 0o600))
}

// run runs guestsync in this process with the world's environment.
func (w *shadowWorld) run(args ...string) (int, string, string) {
	w.t.Helper()
	t, ok := w.t.(*testing.T)
	require.True(w.t, ok, "guestsync runs in-process only from tests")
	return guestsync(t, w.env, append(args, "--config", w.cfg, "--log-level", "warn")...)
}

// sync runs `guestsync sync` and requires that it succeeds.
func (w *shadowWorld) sync(args ...string) string {
	w.t.Helper()
	code, out, stderr := w.run(append([]string{"sync"}, args...)...)
	require.Equal(w.t, exitOK, code, "sync: stdout:\n%s\nstderr:\n%s", out, stderr)
	return out
}

// call sends an admin's Graph request to the emulator and returns the
// answer's JSON object (nil for 204).
func (w *shadowWorld) call(method, path string, body any) map[string]any {
	w.t.Helper()
	return graphCall(w.t, w.graphURL, method, path, body)
}

// graphCall sends an admin's Graph request to the emulator at root and
// returns the answer's JSON object (nil for 204); an answer of 300 or
// more fails the test.
func graphCall(t testing.TB, root, method, path string, body any) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, root+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+emulatorToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, path, b)
	if len(b) == 0 {
		return nil
	}
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// guest is a B2B guest as an admin creates it with POST /users.
type guest struct {
	local       string // the UPN's part before #EXT#, such as ann_fabrikam.com
	displayName string
	givenName   string
	surname     string
}

func (g guest) upn() string { return g.local + "#EXT#@" + shadowTenantDomain }

// addGuest creates g in the tenant and returns its object id.
func (w *shadowWorld) addGuest(g guest) string {
	w.t.Helper()
	props := map[string]any{
		"accountEnabled":    true,
		"displayName":       g.displayName,
		"mailNickname":      strings.NewReplacer("@", "_", "#", "_").Replace(g.local),
		"userPrincipalName": g.upn(),
		"userType":          "Guest",
		"passwordProfile":   map[string]any{"password": "Passw0rd!x", "forceChangePasswordNextSignIn": false},
	}
	if g.givenName != "" {
		props["givenName"] = g.givenName
	}
	if g.surname != "" {
		props["surname"] = g.surname
	}
	u := w.call(http.MethodPost, "/users", props)
	return u["id"].(string)
}

// plainGuests adds n guests with plain names and returns their ids.
func (w *shadowWorld) plainGuests(n int) []string {
	w.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = w.addGuest(guest{local: fmt.Sprintf("p%s%05d_fabrikam.com", w.suffix, i), displayName: fmt.Sprintf("Partner %05d", i)})
	}
	return ids
}

// group creates a security group with members and returns its id.
func (w *shadowWorld) group(members ...string) string {
	w.t.Helper()
	g := w.call(http.MethodPost, "/groups", map[string]any{
		"displayName": "KCD guests " + w.suffix, "mailEnabled": false, "mailNickname": "kcd" + w.suffix, "securityEnabled": true,
	})
	id := g["id"].(string)
	for _, m := range members {
		w.addMember(id, m)
	}
	return id
}

func (w *shadowWorld) addMember(group, member string) {
	w.t.Helper()
	w.call(http.MethodPost, "/groups/"+group+"/members/$ref", map[string]any{"@odata.id": w.graphURL + "/directoryObjects/" + member})
}

func (w *shadowWorld) removeMember(group, member string) {
	w.t.Helper()
	w.call(http.MethodDelete, "/groups/"+group+"/members/"+member+"/$ref", nil)
}

// mark is the ownership mark the shadow of the guest id carries.
func (w *shadowWorld) mark(id string) string { return "User_guestsync:" + w.owner + ":" + id }

// shadowAttributes are what the tests read of a shadow.
var shadowAttributes = []string{"objectGUID", "userPrincipalName", "sAMAccountName", "cn", "displayName", "givenName", "sn",
	"description", "userAccountControl", "pwdLastSet", "adminDescription", "uSNChanged"}

// search returns the objects under base (one level, or the whole subtree)
// that match filter.
func (w *shadowWorld) search(base string, scope int, filter string, attrs ...string) []*goldap.Entry {
	w.t.Helper()
	res, err := w.admin.SearchWithPaging(goldap.NewSearchRequest(base, scope, goldap.NeverDerefAliases, 0, 0, false,
		filter, attrs, nil), 500)
	require.NoError(w.t, err, "search %s for %s", base, filter)
	return res.Entries
}

// shadowsIn returns the users directly in ou, by their mark.
func (w *shadowWorld) shadowsIn(ou string) map[string]*goldap.Entry {
	w.t.Helper()
	out := map[string]*goldap.Entry{}
	for _, e := range w.search(ou, goldap.ScopeSingleLevel, "(objectClass=user)", shadowAttributes...) {
		mark := e.GetAttributeValue("adminDescription")
		require.NotContains(w.t, out, mark, "two objects carry the mark %q: %s", mark, e.DN)
		out[mark] = e
	}
	return out
}

// shadow returns the shadow of the guest id, wherever it is in the
// domain, or nil.
func (w *shadowWorld) shadow(id string) *goldap.Entry {
	w.t.Helper()
	found := w.search(w.samba["BASEDN"], goldap.ScopeWholeSubtree, "(adminDescription="+goldap.EscapeFilter(w.mark(id))+")", shadowAttributes...)
	require.LessOrEqual(w.t, len(found), 1, "shadows of %s", id)
	if len(found) == 0 {
		return nil
	}
	return found[0]
}

// highestUSN is the domain controller's highest committed USN: every
// write to the directory raises it, and the objects it wrote take it as
// their uSNChanged.
func (w *shadowWorld) highestUSN() uint64 {
	w.t.Helper()
	res, err := w.admin.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"highestCommittedUSN"}, nil))
	require.NoError(w.t, err)
	require.Len(w.t, res.Entries, 1)
	usn, err := strconv.ParseUint(res.Entries[0].GetAttributeValue("highestCommittedUSN"), 10, 64)
	require.NoError(w.t, err)
	return usn
}

// changedSince returns the DNs of the objects in the world's OU, and of
// this owner's shadows anywhere in the domain, written after the USN.
// Other tests write to the same Samba at the same time, so the server's
// USN alone cannot tell this test's writes from theirs; an object's
// uSNChanged can.
func (w *shadowWorld) changedSince(usn uint64) []string {
	w.t.Helper()
	after := fmt.Sprintf("(uSNChanged>=%d)", usn+1)
	var dns []string
	for _, e := range w.search(w.ou, goldap.ScopeWholeSubtree, after, "uSNChanged") {
		dns = append(dns, e.DN)
	}
	owned := "(adminDescription=" + goldap.EscapeFilter("User_guestsync:"+w.owner+":") + "*)"
	for _, e := range w.search(w.samba["BASEDN"], goldap.ScopeWholeSubtree, "(&"+owned+after+")", "uSNChanged") {
		if !strings.HasSuffix(strings.ToLower(e.DN), strings.ToLower(w.ou)) {
			dns = append(dns, e.DN)
		}
	}
	return dns
}

func uac(t testing.TB, e *goldap.Entry) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(e.GetAttributeValue("userAccountControl"), 10, 32)
	require.NoError(t, err, "userAccountControl of %s", e.DN)
	return v
}

// directlyIn says whether the object at dn is directly in the OU.
func directlyIn(t testing.TB, dn, ou string) bool {
	t.Helper()
	d, err := goldap.ParseDN(dn)
	require.NoError(t, err, dn)
	o, err := goldap.ParseDN(ou)
	require.NoError(t, err, ou)
	return len(d.RDNs) > 1 && (&goldap.DN{RDNs: d.RDNs[1:]}).EqualFold(o)
}

// deleteShadows deletes the users in the world's OUs one by one. Samba
// takes a tree delete of thousands of objects as one long transaction
// that holds up every other client of the shared server.
func (w *shadowWorld) deleteShadows() {
	w.t.Helper()
	for _, e := range w.search(w.ou, goldap.ScopeWholeSubtree, "(objectClass=user)", "1.1") {
		if err := w.admin.Del(goldap.NewDelRequest(e.DN, nil)); err != nil {
			w.t.Errorf("remove %s: %v", e.DN, err)
			return
		}
	}
}
