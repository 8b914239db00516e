package ldap

// Integration tests against the slapd that .ci/with-testservers starts:
//
//	.ci/with-testservers go test ./pkg/source/...
//
// Without GUESTSYNC_TEST_SLAPD_URL they skip, except under CI=true, where
// they fail: CI must never pass by skipping the real-server tests.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

// slapdEnv is what .ci/testservers writes to DIR/env, and the decoder
// the test reads with.
type slapdEnv struct {
	url, bindDN, password, baseDN string
	users                         int
	decoder                       string
}

func needSlapd(t testing.TB) slapdEnv {
	t.Helper()
	env := slapdEnv{
		url:      os.Getenv("GUESTSYNC_TEST_SLAPD_URL"),
		bindDN:   os.Getenv("GUESTSYNC_TEST_SLAPD_BINDDN"),
		password: os.Getenv("GUESTSYNC_TEST_SLAPD_PASSWORD"),
		baseDN:   os.Getenv("GUESTSYNC_TEST_SLAPD_BASEDN"),
	}
	needServer(t, "GUESTSYNC_TEST_SLAPD_URL")
	users, err := strconv.Atoi(os.Getenv("GUESTSYNC_TEST_SLAPD_USERS"))
	require.NoError(t, err, "GUESTSYNC_TEST_SLAPD_USERS")
	env.users = users
	return env
}

// needServer skips the test when the harness's variable is not set (go
// test run by hand), and fails it under CI, where the real-server tests
// may not be skipped.
func needServer(t testing.TB, variable string) {
	t.Helper()
	if os.Getenv(variable) != "" {
		return
	}
	how := variable + " is not set: run the tests with .ci/with-testservers"
	if os.Getenv("CI") == "true" {
		t.Fatal(how + " (CI=true: the real-server tests may not be skipped)")
	}
	t.Skip(how)
}

// eachDecoder runs test in parallel subtests, one for each Config.Decoder
// and named after it: the reads of a test that sets the decoder it is
// given in its env (env.decoder) are made both ways.
func eachDecoder(t *testing.T, test func(t *testing.T, decoder string)) {
	t.Parallel()
	for _, decoder := range decoders() {
		t.Run(decoder, func(t *testing.T) {
			t.Parallel()
			test(t, decoder)
		})
	}
}

// partners is the configuration the tests share: the Partners OU over the
// plain loopback URL of the test server.
func (env slapdEnv) partners() Config {
	return Config{
		URL:               env.url,
		BindDN:            env.bindDN,
		BindPassword:      env.password,
		AllowInsecureBind: true, // plain ldap:// on loopback, test only
		BaseDN:            "ou=Partners," + env.baseDN,
		Filter:            "(employeeType=Partner)",
		PageSize:          500,
		Timeout:           10 * time.Second,
		Decoder:           env.decoder,
	}
}

func debugLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestSlapdPagedReadOfAllPartners(t *testing.T) { eachDecoder(t, testSlapdPagedReadOfAllPartners) }

func testSlapdPagedReadOfAllPartners(t *testing.T, decoder string) {
	env := needSlapd(t)
	env.decoder = decoder
	var logs bytes.Buffer
	r, err := New(env.partners(), debugLogger(&logs))
	require.NoError(t, err)

	dns := make(map[string]bool, env.users)
	var zoe source.Entry
	start := time.Now()
	res, err := r.Read(context.Background(), func(e source.Entry) error {
		assert.False(t, dns[e.DN], "DN %s seen twice", e.DN)
		dns[e.DN] = true
		if e.DN == "uid=partner00001,ou=Partners,"+env.baseDN {
			zoe = e
		}
		return nil
	})
	t.Logf("read %d entries in %s", res.Entries, time.Since(start))
	require.NoError(t, err)
	assert.Equal(t, source.Result{Entries: env.users, Complete: true}, res)
	assert.Len(t, dns, env.users)
	assert.Contains(t, logs.String(), "pages=10", "5,000 entries in pages of 500")
	assert.Contains(t, logs.String(), "-E pr=500/noprompt '(employeeType=Partner)' '*' entryUUID")
	assert.NotContains(t, logs.String(), env.password)

	require.NotEmpty(t, zoe.DN, "the known user uid=partner00001")
	for attr, want := range map[string]string{
		"cn":           "Zoë Müller",
		"givenName":    "Zoë",
		"sn":           "Müller",
		"o":            "Société Générale de Test",
		"mail":         "zoe.mueller@sgt.example",
		"employeeType": "Partner",
		"jpegPhoto":    "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9",
	} {
		got, ok := zoe.First(attr)
		assert.True(t, ok, attr)
		assert.Equal(t, want, got, attr)
	}
	assert.Equal(t, []string{"top", "person", "organizationalPerson", "inetOrgPerson"}, zoe.Values("objectClass"))
	uuid, ok := zoe.First("entryUUID")
	require.True(t, ok, "entryUUID is requested with *")
	b, err := EntryUUIDBytes(uuid)
	require.NoError(t, err)
	assert.Len(t, b, 16)
}

func TestSlapdReadTwiceWithOneReader(t *testing.T) { eachDecoder(t, testSlapdReadTwiceWithOneReader) }

func testSlapdReadTwiceWithOneReader(t *testing.T, decoder string) {
	env := needSlapd(t)
	env.decoder = decoder
	cfg := env.partners()
	cfg.Scope = "one"
	cfg.Filter = "(objectClass=inetOrgPerson)" // the partners and 3 contractors
	cfg.Attributes = []string{"uid"}
	r, err := New(cfg, nil)
	require.NoError(t, err)
	for range 2 {
		res, err := r.Read(context.Background(), func(e source.Entry) error {
			if len(e.Attributes) != 1 || !e.Has("uid") {
				return errors.New("unexpected attributes in " + e.DN)
			}
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, source.Result{Entries: env.users + 3, Complete: true}, res)
	}
}

func TestSlapdSizeLimitWithoutPaging(t *testing.T) { eachDecoder(t, testSlapdSizeLimitWithoutPaging) }

func testSlapdSizeLimitWithoutPaging(t *testing.T, decoder string) {
	env := needSlapd(t)
	env.decoder = decoder
	cfg := env.partners()
	cfg.NoPaging = true
	r, err := New(cfg, nil)
	require.NoError(t, err)
	assert.NotContains(t, r.Command(), "-E pr=")

	res, err := r.Read(context.Background(), func(source.Entry) error { return nil })
	require.Error(t, err)
	assert.True(t, goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded), err.Error())
	assert.Contains(t, err.Error(), "size limit stopped the search after 500 entries; turn paging on")
	assert.Equal(t, source.Result{Entries: 500, Complete: false}, res, "the entries seen are counted, the read is not complete")
}

func TestSlapdRefusesInsecureBind(t *testing.T) {
	t.Parallel()
	env := needSlapd(t)
	cfg := env.partners()
	cfg.AllowInsecureBind = false
	r, err := New(cfg, nil)
	require.Error(t, err)
	assert.Nil(t, r)
	assert.Contains(t, err.Error(), "refusing to send the password of \""+env.bindDN+"\" unencrypted to "+env.url)
	assert.NotContains(t, err.Error(), env.password)
}

func TestSlapdWrongPassword(t *testing.T) { eachDecoder(t, testSlapdWrongPassword) }

func testSlapdWrongPassword(t *testing.T, decoder string) {
	env := needSlapd(t)
	env.decoder = decoder
	cfg := env.partners()
	cfg.BindPassword = "not-the-password"
	r, err := New(cfg, nil)
	require.NoError(t, err)
	called := false
	res, err := r.Read(context.Background(), func(source.Entry) error { called = true; return nil })
	require.Error(t, err)
	assert.True(t, goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials), err.Error())
	assert.Contains(t, err.Error(), "bind to "+env.url+" as \""+env.bindDN+"\": invalid credentials")
	assert.NotContains(t, err.Error(), "not-the-password")
	assert.False(t, res.Complete)
	assert.False(t, called)
}

func TestSlapdMissingBaseDN(t *testing.T) { eachDecoder(t, testSlapdMissingBaseDN) }

func testSlapdMissingBaseDN(t *testing.T, decoder string) {
	env := needSlapd(t)
	env.decoder = decoder
	cfg := env.partners()
	cfg.BaseDN = "ou=Nobody," + env.baseDN
	r, err := New(cfg, nil)
	require.NoError(t, err)
	res, err := r.Read(context.Background(), func(source.Entry) error { return nil })
	require.Error(t, err)
	assert.Contains(t, err.Error(), `base DN "ou=Nobody,`+env.baseDN+`" does not exist`)
	assert.False(t, res.Complete)
}

func TestSlapdCallbackErrorStopsTheRead(t *testing.T) {
	eachDecoder(t, testSlapdCallbackErrorStopsTheRead)
}

func testSlapdCallbackErrorStopsTheRead(t *testing.T, decoder string) {
	env := needSlapd(t)
	env.decoder = decoder
	r, err := New(env.partners(), nil)
	require.NoError(t, err)
	stop := errors.New("mapping failed")
	n := 0
	res, err := r.Read(context.Background(), func(source.Entry) error {
		if n++; n == 750 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	assert.Contains(t, err.Error(), `entry "uid=`)
	assert.Equal(t, source.Result{Entries: 749}, res)
}

func TestSlapdCancelMidRead(t *testing.T) { eachDecoder(t, testSlapdCancelMidRead) }

func testSlapdCancelMidRead(t *testing.T, decoder string) {
	env := needSlapd(t)
	env.decoder = decoder
	r, err := New(env.partners(), nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	res, err := r.Read(ctx, func(source.Entry) error {
		if n++; n == 1200 {
			cancel()
		}
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, res.Complete)
	assert.GreaterOrEqual(t, res.Entries, 1200)
	assert.Less(t, res.Entries, env.users)
}

// TestSlapdSlowConsumer checks that time spent in fn does not count as
// the server not answering, and that no entry is lost meanwhile.
func TestSlapdSlowConsumer(t *testing.T) { eachDecoder(t, testSlapdSlowConsumer) }

func testSlapdSlowConsumer(t *testing.T, decoder string) {
	env := needSlapd(t)
	env.decoder = decoder
	cfg := env.partners()
	// Timeout is short for a shared slapd under load, but leaves the
	// server's own waits room: fn sleeps past it, twice.
	cfg.Timeout = 1500 * time.Millisecond
	r, err := New(cfg, nil)
	require.NoError(t, err)
	n := 0
	res, err := r.Read(context.Background(), func(source.Entry) error {
		if n++; n == 1 || n == 2500 {
			time.Sleep(2 * time.Second)
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, source.Result{Entries: env.users, Complete: true}, res)
}

// TestDeadURL needs no server: nothing listens on the address.
func TestDeadURL(t *testing.T) {
	t.Parallel()
	addr := deadAddr(t)
	cfg := validConfig()
	cfg.URL, cfg.AllowInsecureBind = "ldap://"+addr, true
	cfg.Timeout = 2 * time.Second
	r, err := New(cfg, nil)
	require.NoError(t, err)
	res, err := r.Read(context.Background(), func(source.Entry) error { return nil })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connect to ldap://"+addr+": dial tcp "+addr)
	assert.True(t, strings.Contains(err.Error(), "connection refused"), err.Error())
	assert.Equal(t, source.Result{}, res)
}

// TestSecondURLWhenFirstIsDead checks the fail-over between URLs.
func TestSlapdSecondURLWhenFirstIsDead(t *testing.T) {
	eachDecoder(t, testSlapdSecondURLWhenFirstIsDead)
}

func testSlapdSecondURLWhenFirstIsDead(t *testing.T, decoder string) {
	env := needSlapd(t)
	env.decoder = decoder
	cfg := env.partners()
	cfg.URL = "ldap://" + deadAddr(t) + " " + env.url
	cfg.Attributes = []string{"1.1"} // DNs only
	r, err := New(cfg, nil)
	require.NoError(t, err)
	res, err := r.Read(context.Background(), func(source.Entry) error { return nil })
	require.NoError(t, err)
	assert.Equal(t, source.Result{Entries: env.users, Complete: true}, res)
}

// BenchmarkSlapdRead reads the 5,000 partners with each decoder: go test
// -bench SlapdRead -benchmem under .ci/with-testservers.
func BenchmarkSlapdRead(b *testing.B) {
	env := needSlapd(b)
	for _, decoder := range decoders() {
		b.Run(decoder, func(b *testing.B) {
			env := env
			env.decoder = decoder
			r, err := New(env.partners(), nil)
			require.NoError(b, err)
			for b.Loop() {
				res, err := r.Read(context.Background(), func(source.Entry) error { return nil })
				if err != nil || !res.Complete {
					b.Fatalf("%+v, %v", res, err)
				}
			}
		})
	}
}

// TestSlapdConnectionDropMidRead puts a proxy between the reader and slapd
// that cuts the connection after some of the answer has gone through.
func TestSlapdConnectionDropMidRead(t *testing.T) { eachDecoder(t, testSlapdConnectionDropMidRead) }

func testSlapdConnectionDropMidRead(t *testing.T, decoder string) {
	env := needSlapd(t)
	env.decoder = decoder
	cfg := env.partners()
	cfg.URL = "ldap://" + cuttingProxy(t, strings.TrimPrefix(env.url, "ldap://"), 600_000)
	r, err := New(cfg, nil)
	require.NoError(t, err)
	res, err := r.Read(context.Background(), func(source.Entry) error { return nil })
	require.Error(t, err)
	t.Log(err)
	assert.Contains(t, err.Error(), "search "+cfg.URL+" for (employeeType=Partner)")
	assert.False(t, res.Complete)
	assert.Greater(t, res.Entries, 0)
	assert.Less(t, res.Entries, env.users)
}

// cuttingProxy forwards one connection to target and closes it after
// passing limit bytes from the server. It returns its own address.
func cuttingProxy(t *testing.T, target string, limit int64) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		client, err := l.Accept()
		if err != nil {
			return
		}
		defer client.Close()
		server, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		defer server.Close()
		go io.Copy(server, client)      //nolint:errcheck // ends when either side closes
		io.CopyN(client, server, limit) //nolint:errcheck // the cut is the point
	}()
	return l.Addr().String()
}
