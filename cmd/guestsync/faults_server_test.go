package main

// The fault suite's directory-server scenarios (issue #11, point 9): a
// throwaway OpenLDAP of the test's own, behind a loopback proxy that
// forwards it LDAP message by LDAP message, killed with SIGKILL in the
// middle of a paged read and started again on the same database; guestsync
// killed while a page never comes; and a new tenant behind the same Graph
// URL. Each reuses the world of faults_test.go and its invariants.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ownSuffix = "dc=example,dc=test"

// ownSlapd is an OpenLDAP server of one test, configured as
// .ci/testservers configures the shared one (the same schemas, mdb with
// dbnosync, a reader account that is subject to the size limit), on a
// loopback port of its own, so that the test may kill it.
type ownSlapd struct {
	t        *testing.T
	dir      string
	addr     string
	readerDN string
	readerPW string

	mu  sync.Mutex
	cmd *osexec.Cmd
	// exited is closed when the running slapd has been reaped.
	exited chan struct{}
}

// startOwnSlapd loads ldif (the partners, under ou=Partners) into a new
// database and starts slapd on it. Without slapd the test is skipped, or
// failed under CI, where the server scenarios may not be skipped.
func startOwnSlapd(t *testing.T, ldif string) *ownSlapd {
	t.Helper()
	for _, bin := range []string{"slapd", "slapadd"} {
		if _, err := osexec.LookPath(bin); err != nil {
			if _, err := os.Stat("/usr/sbin/" + bin); err != nil {
				how := bin + " is not installed (Debian: apt-get install slapd)"
				if os.Getenv("CI") == "true" {
					t.Fatal(how)
				}
				t.Skip(how)
			}
		}
	}
	s := &ownSlapd{t: t, dir: t.TempDir(), readerDN: "cn=guestsync-reader,ou=Services," + ownSuffix, readerPW: randomHex(t)}
	require.NoError(t, os.Mkdir(filepath.Join(s.dir, "db"), 0o700))
	var conf strings.Builder
	for _, schema := range []string{"core", "cosine", "nis", "inetorgperson"} {
		fmt.Fprintf(&conf, "include /etc/ldap/schema/%s.schema\n", schema)
	}
	fmt.Fprintf(&conf, `pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
sizelimit size.soft=500 size.hard=unlimited size.prtotal=unlimited
access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
database mdb
dbnosync
maxsize 268435456
suffix "%[2]s"
rootdn "cn=admin,%[2]s"
rootpw %[3]s
directory %[1]s/db
index objectClass,employeeType,uid,mail eq
`, s.dir, ownSuffix, randomHex(t))
	require.NoError(t, os.WriteFile(s.conf(), []byte(conf.String()), 0o600))
	data := fmt.Sprintf(`dn: %[1]s
objectClass: dcObject
objectClass: organization
dc: example
o: Example Test

dn: ou=Services,%[1]s
objectClass: organizationalUnit
ou: Services

dn: %[2]s
objectClass: person
cn: guestsync-reader
sn: reader
userPassword: %[3]s

dn: ou=Partners,%[1]s
objectClass: organizationalUnit
ou: Partners

%[4]s`, ownSuffix, s.readerDN, s.readerPW, strings.TrimPrefix(ldif, "version: 1\n\n"))
	dataFile := filepath.Join(s.dir, "data.ldif")
	require.NoError(t, os.WriteFile(dataFile, []byte(data), 0o600))
	if out, err := command(slapBin("slapadd"), "-q", "-f", s.conf(), "-l", dataFile); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = ln.Addr().String()
	require.NoError(t, ln.Close())
	s.start()
	t.Cleanup(s.kill)
	return s
}

func slapBin(name string) string {
	if p, err := osexec.LookPath(name); err == nil {
		return p
	}
	return "/usr/sbin/" + name
}

func randomHex(t *testing.T) string {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func (s *ownSlapd) conf() string { return filepath.Join(s.dir, "slapd.conf") }

func (s *ownSlapd) url() string { return "ldap://" + s.addr }

// start runs slapd in the foreground (-d 0: it does not fork, so the test
// holds its pid) on the database and port it had, and waits until it
// answers a bind of the reader.
func (s *ownSlapd) start() {
	s.t.Helper()
	var lastErr error
	// The killed slapd's socket may linger a moment; a slapd that cannot
	// listen exits, and is started again.
	for range 100 {
		cmd := osexec.Command(slapBin("slapd"), "-d", "0", "-f", s.conf(), "-h", s.url()+"/")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(s.t, cmd.Start())
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		for {
			if conn, err := goldap.DialURL(s.url(), goldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second})); err == nil {
				err = conn.Bind(s.readerDN, s.readerPW)
				conn.Close()
				require.NoError(s.t, err, "bind as the reader")
				s.mu.Lock()
				s.cmd, s.exited = cmd, exited
				s.mu.Unlock()
				return
			}
			select {
			case <-exited:
				lastErr = fmt.Errorf("slapd exited: %s", out.String())
			case <-time.After(50 * time.Millisecond):
				continue
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("slapd did not start on %s: %v", s.addr, lastErr)
}

// kill sends SIGKILL to slapd, as a crash or the OOM killer does, and
// waits until it is gone.
func (s *ownSlapd) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// LDAP protocol operations (RFC 4511, section 4.2 on), as the tag of the
// protocolOp in an LDAPMessage.
const (
	opSearchRequest = 0x63
	opSearchEntry   = 0x64
	opSearchDone    = 0x65
)

// ldapProxy forwards every connection to a directory server, the server's
// answers LDAP message by LDAP message, and lets the test act before a
// message is forwarded: kill the server, or hold everything from then on.
// It listens on its own port, which stays the same while the server
// behind it is killed and started again.
type ldapProxy struct {
	t      *testing.T
	target string
	addr   string

	mu sync.Mutex
	// onMessage is called for each message from the server with the
	// counts of entries and page ends forwarded so far over every
	// connection; it returns what to do with the message.
	onMessage      func(op byte, entries, pages int) proxyAction
	entries, pages int
	conns          []net.Conn
}

type proxyAction int

const (
	proxyForward proxyAction = iota
	// proxyCut closes the client's connection in place of the message.
	proxyCut
	// proxyHold forwards nothing more on this connection, keeping it open.
	proxyHold
)

func newLDAPProxy(t *testing.T, target string) *ldapProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &ldapProxy{t: t, target: target, addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		p.closeAll()
	})
	return p
}

func (p *ldapProxy) url() string { return "ldap://" + p.addr }

func (p *ldapProxy) set(f func(op byte, entries, pages int) proxyAction) {
	p.mu.Lock()
	p.onMessage, p.entries, p.pages = f, 0, 0
	p.mu.Unlock()
}

// closeAll closes every connection the proxy holds.
func (p *ldapProxy) closeAll() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func (p *ldapProxy) serve(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.Close() // the server is down: the client sees its connection end
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, client, server)
	p.mu.Unlock()
	go func() {
		_, _ = io.Copy(server, client)
		_ = server.Close()
	}()
	defer client.Close()
	defer server.Close()
	in := bufio.NewReader(server)
	for {
		msg, err := readLDAPMessage(in)
		if err != nil {
			return
		}
		op := ldapOp(msg)
		p.mu.Lock()
		act := proxyForward
		if p.onMessage != nil {
			act = p.onMessage(op, p.entries, p.pages)
		}
		if act == proxyForward {
			switch op {
			case opSearchEntry:
				p.entries++
			case opSearchDone:
				p.pages++
			}
		}
		p.mu.Unlock()
		switch act {
		case proxyCut:
			return
		case proxyHold:
			// Read and drop what the server sends, until the test
			// closes the connections.
			_, _ = io.Copy(io.Discard, in)
			return
		}
		if _, err := client.Write(msg); err != nil {
			return
		}
	}
}

// readLDAPMessage reads one BER-encoded LDAPMessage (a SEQUENCE, definite
// length, as RFC 4511 section 5.1 requires).
func readLDAPMessage(in *bufio.Reader) ([]byte, error) {
	head := make([]byte, 2)
	if _, err := io.ReadFull(in, head); err != nil {
		return nil, err
	}
	if head[0] != 0x30 {
		return nil, errors.New("not an LDAPMessage")
	}
	n := int(head[1])
	if n&0x80 != 0 {
		lenBytes := make([]byte, n&0x7f)
		if _, err := io.ReadFull(in, lenBytes); err != nil {
			return nil, err
		}
		head = append(head, lenBytes...)
		n = 0
		for _, b := range lenBytes {
			n = n<<8 | int(b)
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(in, body); err != nil {
		return nil, err
	}
	return append(head, body...), nil
}

// ldapOp returns the protocolOp tag of a message: after the SEQUENCE's
// header and the messageID INTEGER.
func ldapOp(msg []byte) byte {
	i := 2
	if msg[1]&0x80 != 0 {
		i += int(msg[1] & 0x7f)
	}
	if i+1 >= len(msg) || msg[i] != 0x02 {
		return 0
	}
	i += 2 + int(msg[i+1])
	if i >= len(msg) {
		return 0
	}
	return msg[i]
}

// newSlapdWorld is a world of n accounts read from a slapd of its own
// through a proxy, in pages of 50, every read full (incremental off: a
// fault must land in a read that would remove what it missed).
func newSlapdWorld(t *testing.T, seed uint64, n int) (*world, *ownSlapd, *ldapProxy) {
	t.Helper()
	w := newWorld(t, seed, n, "")
	s := startOwnSlapd(t, w.ldifText())
	p := newLDAPProxy(t, s.addr)
	cfg, err := os.ReadFile(w.cfg)
	require.NoError(t, err)
	ldapSource := fmt.Sprintf(`source: {kind: ldap}
ldap:
  url: %q
  bindDN: %q
  allowInsecureBind: true
  baseDN: "ou=Partners,%s"
  filter: (objectClass=inetOrgPerson)
  pageSize: 50
  incremental: "off"
  timeout: 10m
`, p.url(), s.readerDN, ownSuffix)
	ldifSource := fmt.Sprintf("source: {kind: ldif}\nldif: {path: %q}\n", w.ldif)
	require.Contains(t, string(cfg), ldifSource)
	require.NoError(t, os.WriteFile(w.cfg, []byte(strings.Replace(string(cfg), ldifSource, ldapSource, 1)), 0o600))
	w.env["GUESTSYNC_LDAP_BINDPASSWORD"] = s.readerPW
	return w, s, p
}

// TestFaultsSlapdKilledMidRead kills the directory server with SIGKILL in
// the middle of a paged read of 300 partners (mid-page, between two pages,
// and with every entry read but the final result), runs against a server
// that is down before the run starts, and one whose page never comes.
// The run fails with exit 1 (the read ended with an error, not with a
// result that could be judged complete or not), removes nothing, and its
// metrics and report say it failed; slapd restarted on the same database
// and port, the next run converges.
func TestFaultsSlapdKilledMidRead(t *testing.T) {
	t.Parallel()
	base := seedFor(t, "GUESTSYNC_FAULTS_SEED")
	tests := []struct {
		name string
		// killAt reports whether to kill slapd in place of this message.
		killAt func(op byte, entries, pages int) bool
		// down: slapd is stopped before the run, which connects to it
		// directly (connection refused).
		down bool
		// stall holds the server's answers from the kill point on, the
		// connection open and slapd alive: only ldap.timeout ends the
		// wait.
		stall bool
	}{
		{"mid-page", func(op byte, entries, _ int) bool { return op == opSearchEntry && entries == 120 }, false, false},
		// Two pages whole, killed as the third is answered.
		{"between-pages", func(op byte, _, pages int) bool { return op == opSearchEntry && pages == 2 }, false, false},
		// Every entry came; the final result message (the last page's
		// SearchResultDone) did not.
		{"final-result-missing", func(op byte, _, pages int) bool { return op == opSearchDone && pages == 5 }, false, false},
		{"down-before-the-run", nil, true, false},
		{"page-never-comes", func(op byte, _, pages int) bool { return op == opSearchEntry && pages == 3 }, false, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seed := base + uint64(i)
			w, s, p := newSlapdWorld(t, seed, 300)
			w.baseline()
			w.tamper(2, 1, 0)
			killed := false
			if tt.down {
				s.kill()
				w.env["GUESTSYNC_LDAP_URL"] = s.url()
			} else {
				if tt.stall {
					// Long enough that a loaded machine never meets it
					// before the stall; the stall is the kill point.
					w.env["GUESTSYNC_LDAP_TIMEOUT"] = "5s"
				}
				p.set(func(op byte, entries, pages int) proxyAction {
					if killed || !tt.killAt(op, entries, pages) {
						return proxyForward
					}
					killed = true
					if tt.stall {
						return proxyHold
					}
					s.kill()
					return proxyCut
				})
			}
			before := w.tn.snapshot()
			writes := w.tn.current().Stats().Writes
			r := w.sync()
			p.set(nil)
			p.closeAll()
			delete(w.env, "GUESTSYNC_LDAP_URL")
			delete(w.env, "GUESTSYNC_LDAP_TIMEOUT")
			t.Logf("the run whose read was broken off: exit %d, stderr:\n%s", r.code, r.stderr)
			if !tt.down {
				require.True(t, killed, "seed %d: the kill point was reached\n%s", seed, r)
			}
			assert.Equal(t, exitFailed, r.code, "seed %d: a read the server broke off fails the run\n%s", seed, r)
			assert.NotContains(t, r.out, "Applied:", "seed %d: nothing is applied\n%s", seed, r)
			assert.NotContains(t, r.stderr+r.out, s.readerPW, "seed %d: the bind password is never echoed", seed)
			w.check(r, before, readBad)
			assert.Contains(t, r.report.Error, "read source", "seed %d: the report says the read failed", seed)
			assert.Equal(t, writes, w.tn.current().Stats().Writes, "seed %d: a broken read changes nothing\n%s", seed, r)
			assert.Equal(t, float64(0), r.metrics["guestsync_run_success"], "seed %d", seed)
			if !tt.stall {
				s.start()
			}
			w.converge()
		})
	}
}

// TestFaultsKill9DuringSourceRead runs sync as a process of its own,
// reading from the test's slapd through a proxy that holds every answer
// after the first page: the run waits for a page that never comes, and
// is killed with SIGKILL while it waits. The next run converges, with no
// guest twice and none removed.
func TestFaultsKill9DuringSourceRead(t *testing.T) {
	t.Parallel()
	seed := seedFor(t, "GUESTSYNC_FAULTS_SEED")
	w, _, p := newSlapdWorld(t, seed, 300)
	w.baseline()
	w.tamper(2, 2, 0)
	stateBefore, err := os.ReadFile(w.state)
	require.NoError(t, err)

	waiting := make(chan struct{})
	p.set(func(op byte, _, pages int) proxyAction {
		if pages < 1 {
			return proxyForward
		}
		// The client asked for the second page: the server's answer is
		// held, and the run waits for it.
		if waiting != nil {
			close(waiting)
			waiting = nil
		}
		return proxyHold
	})
	wait := waiting
	cmd := osexec.Command(os.Args[0], "sync", "--config", w.cfg, "--log-level", "warn")
	cmd.Env = childEnv("GUESTSYNC_LDAP_BINDPASSWORD=" + w.env["GUESTSYNC_LDAP_BINDPASSWORD"])
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	before := w.tn.snapshot()
	writes := w.tn.current().Stats().Writes
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-wait:
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		<-done
	case err := <-done:
		t.Fatalf("seed %d: the run ended (%v) before its second page came:\n%s", seed, err, output.String())
	case <-time.After(5 * time.Minute): // a hang guard, not a timing
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		t.Fatalf("seed %d: the run never asked for its second page:\n%s", seed, output.String())
	}
	p.set(nil)
	p.closeAll()
	// The Graph requests the process sent before it died finish in the
	// emulator: stop it to wait for them, then start it again.
	w.tn.stop()
	w.tn.start()
	w.check(&syncRun{args: []string{"killed during the source read"}, killed: true}, before, readBad)
	assert.Equal(t, writes, w.tn.current().Stats().Writes, "seed %d: a run killed in its read wrote nothing", seed)
	stateAfter, err := os.ReadFile(w.state)
	require.NoError(t, err)
	assert.Equal(t, string(stateBefore), string(stateAfter), "seed %d: the state is as the last run left it", seed)
	w.converge()
}

// TestFaultsNewTenantSameURL: after a baseline sync, the same Graph URL
// answers for another tenant (or the same tenant emptied, as an emulator
// restarted without its snapshot): the remembered guests and delta link
// are not this tenant's, so the next run creates every guest again,
// rather than finding "No changes", and converges.
func TestFaultsNewTenantSameURL(t *testing.T) {
	t.Parallel()
	base := seedFor(t, "GUESTSYNC_FAULTS_SEED")
	for i, tt := range []struct {
		name  string
		newID bool
	}{
		{"another-tenant", true},
		{"same-tenant-emptied", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seed := base + uint64(i)
			w := newWorld(t, seed, 60, "")
			w.baseline()
			w.tn.replace(tt.newID)
			w.unowned = map[string]string{}
			w.seedUnowned()
			before := w.tn.snapshot()
			r := w.sync()
			require.Equal(t, exitOK, r.code, "seed %d: %s", seed, r)
			assert.NotContains(t, r.out, "No changes", "seed %d: an empty tenant is not up to date\n%s", seed, r)
			want := 0
			for _, a := range w.accounts {
				if !a.former && !a.conflict {
					want++
				}
			}
			assert.Contains(t, r.out, fmt.Sprintf("Applied: %d created,", want), "seed %d: every guest is created again\n%s", seed, r)
			w.check(r, before, readGood)
			w.checkTenant()
			w.converge()
		})
	}
}

// replace puts an empty emulator behind the tenant's address: another
// tenant (a new id), or the same one with nothing in it.
func (tn *tenant) replace(newID bool) {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	if newID {
		tn.id = "0a1b2c3d-4e5f-4a6b-8c7d-" + randomHexN(6)
	}
	tn.sim = tn.newSim(faultSpec{})
}

func randomHexN(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
