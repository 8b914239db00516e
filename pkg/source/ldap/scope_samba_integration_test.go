package ldap

// Integration tests of scoping against the Samba AD DC of
// .ci/with-testservers (see write_samba_data in .ci/testservers for the
// data): Active Directory's in-chain rule, ranged retrieval, NTLM, an
// excluded OU. They only read. Without GUESTSYNC_TEST_SAMBA_URL they skip,
// except under CI=true, where they fail.

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

// adDC is the Samba AD DC of the test servers, as needSamba reads it
// (partners: employeeType Partner under OU=Partners, OU=Excluded included).
type adDC = sambaEnv

func needADDC(t *testing.T) adDC { return needSamba(t) }

// excludedPartners are the partners in OU=Excluded,OU=Partners.
const excludedPartners = 10

// partnersConfig reads the partners over LDAPS with the CA file.
func (env adDC) partnersConfig() Config {
	return Config{
		URL:          env.ldapsURL,
		CAFile:       env.caFile,
		BindDN:       env.bindDN,
		BindPassword: env.password,
		BaseDN:       "OU=Partners," + env.baseDN,
		Filter:       "(employeeType=Partner)",
		Attributes:   []string{"sAMAccountName"},
		Timeout:      20 * time.Second,
		Decoder:      env.decoder,
	}
}

func (env adDC) group(cn string) string { return "CN=" + cn + ",OU=Groups," + env.baseDN }

// accounts reads with cfg and returns the sAMAccountNames delivered, each
// checked to come once.
func accounts(t *testing.T, cfg Config, logs *bytes.Buffer) (map[string]bool, source.Result, error) {
	t.Helper()
	if logs == nil {
		logs = new(bytes.Buffer)
	}
	r, err := New(cfg, debugLogger(logs))
	require.NoError(t, err)
	got := map[string]bool{}
	res, err := r.Read(context.Background(), func(e source.Entry) error {
		name, _ := e.First("sAMAccountName")
		require.False(t, got[name], "%s delivered twice", e.DN)
		got[name] = true
		return nil
	})
	return got, res, err
}

func partnerNames(ids ...int) map[string]bool {
	out := map[string]bool{}
	for _, i := range ids {
		out[fmt.Sprintf("partner%05d", i)] = true
	}
	return out
}

// TestSambaGroupScopingInChain scopes by groups with the server's in-chain
// rule, and checks it against guestsync's own expansion of the same groups.
func TestSambaGroupScopingInChain(t *testing.T) { eachDecoder(t, testSambaGroupScopingInChain) }

func testSambaGroupScopingInChain(t *testing.T, decoder string) {
	env := needADDC(t)
	env.decoder = decoder
	companies := 12 // Fabrikam's partners are partner00002, 00014, ...
	fabrikam := []int{1}
	for i := 2; i <= 3000; i += companies {
		fabrikam = append(fabrikam, i)
	}
	tests := []struct {
		name   string
		groups []string
		want   map[string]bool
	}{
		{"nested", []string{env.group("Partner Access")}, partnerNames(fabrikam...)},
		{"a cycle", []string{env.group("Cycle A")}, partnerNames(4, 5)},
		{"two groups, odd spelling", []string{"cn=cycle b , ou=groups," + strings.ToLower(env.baseDN), env.group("Fabrikam Partners")},
			partnerNames(append(fabrikam[1:], 4, 5)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := env.partnersConfig()
			cfg.Groups = tt.groups
			var logs bytes.Buffer
			got, res, err := accounts(t, cfg, &logs)
			require.NoError(t, err)
			assert.Equal(t, source.Result{Entries: len(tt.want), Complete: true}, res)
			assert.Equal(t, tt.want, got)
			assert.Contains(t, logs.String(), "directory=ad")
			assert.Contains(t, logs.String(), "(memberOf:1.2.840.113556.1.4.1941:=")
			assert.NotContains(t, logs.String(), "ldap groups expanded")

			cfg.Directory = "ldap" // the same groups, expanded by guestsync
			logs.Reset()
			expanded, res, err := accounts(t, cfg, &logs)
			require.NoError(t, err)
			assert.Equal(t, source.Result{Entries: len(tt.want), Complete: true}, res)
			assert.Equal(t, got, expanded)
			assert.Contains(t, logs.String(), "ldap groups expanded")
		})
	}
}

func TestSambaGroupThatDoesNotExist(t *testing.T) {
	t.Parallel()
	env := needADDC(t)
	cfg := env.partnersConfig()
	cfg.Groups = []string{env.group("Nobody")}
	got, res, err := accounts(t, cfg, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `group "`+env.group("Nobody")+`" does not exist`)
	assert.Equal(t, source.Result{}, res)
	assert.Empty(t, got)
}

// TestSambaLargeGroupInFull reads CN=All Partners, whose 3,000 members are
// more than the 1,500 values Active Directory returns at once. Samba sends
// them all to a plain request, but honours explicit ranges: the second
// half is fetched the way AD's answer member;range=0-1499 makes guestsync
// fetch it.
func TestSambaLargeGroupInFull(t *testing.T) { eachDecoder(t, testSambaLargeGroupInFull) }

func testSambaLargeGroupInFull(t *testing.T, decoder string) {
	env := needADDC(t)
	env.decoder = decoder
	cfg := env.partnersConfig()
	r, err := New(cfg, nil)
	require.NoError(t, err)
	ctx := context.Background()
	s, err := r.connect(ctx)
	require.NoError(t, err)
	defer s.close()
	all := env.group("All Partners")

	members, err := readRanged(ctx, s, all, "member")
	require.NoError(t, err)
	assert.Len(t, members, 3000)

	first, err := s.readEntry(ctx, all, []string{"member;range=0-1499"})
	require.NoError(t, err)
	require.Len(t, first.Attributes, 1)
	assert.Equal(t, "member;range=0-1499", first.Attributes[0].Name)
	e := toEntry(first)
	require.NoError(t, completeRanges(ctx, aside{s}, &e, nil))
	assert.Equal(t, []string{"member"}, e.Names())
	assert.ElementsMatch(t, members, e.Values("member"))

	t.Run("as scope", func(t *testing.T) {
		t.Parallel()
		for _, directory := range []string{"ad", "ldap"} {
			cfg := env.partnersConfig()
			cfg.Groups, cfg.Directory = []string{all}, directory
			got, res, err := accounts(t, cfg, nil)
			require.NoError(t, err, directory)
			assert.Equal(t, source.Result{Entries: 3000, Complete: true}, res, directory)
			assert.Len(t, got, 3000)
		}
	})

	t.Run("streamed", func(t *testing.T) {
		t.Parallel()
		cfg := env.partnersConfig()
		cfg.BaseDN, cfg.Filter, cfg.Attributes = "OU=Groups,"+env.baseDN, "(cn=All Partners)", []string{"member"}
		r, err := New(cfg, nil)
		require.NoError(t, err)
		var got source.Entry
		res, err := r.Read(ctx, func(e source.Entry) error { got = e; return nil })
		require.NoError(t, err)
		assert.Equal(t, source.Result{Entries: 1, Complete: true}, res)
		assert.Len(t, got.Values("member"), 3000)
	})
}

func TestSambaExcludedOU(t *testing.T) { eachDecoder(t, testSambaExcludedOU) }

func testSambaExcludedOU(t *testing.T, decoder string) {
	env := needADDC(t)
	env.decoder = decoder
	cfg := env.partnersConfig()
	cfg.ExcludeDNs = []string{"ou = excluded , OU=PARTNERS," + strings.ToLower(env.baseDN)}
	var logs bytes.Buffer
	got, res, err := accounts(t, cfg, &logs)
	require.NoError(t, err)
	assert.Equal(t, source.Result{Entries: env.partners - excludedPartners, Complete: true}, res)
	for i := 1; i <= excludedPartners; i++ {
		assert.False(t, got[fmt.Sprintf("excluded%02d", i)])
	}
	assert.True(t, got["partner00001"])
	assert.Contains(t, logs.String(), fmt.Sprintf("excluded=%d", excludedPartners))
}

func TestSambaSeveralBases(t *testing.T) { eachDecoder(t, testSambaSeveralBases) }

func testSambaSeveralBases(t *testing.T, decoder string) {
	env := needADDC(t)
	env.decoder = decoder
	cfg := env.partnersConfig()
	cfg.BaseDN = ""
	cfg.Bases = []Base{
		{DN: "OU=Excluded,OU=Partners," + env.baseDN},
		{DN: "OU=Partners," + env.baseDN, Scope: "one"}, // the contractors only: no partners
		{DN: "OU=Fabrikam\\, Inc.,OU=Partners," + env.baseDN},
		{DN: "ou=fabrikam\\2c inc.,ou=partners," + env.baseDN}, // the same again
	}
	got, res, err := accounts(t, cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, source.Result{Entries: excludedPartners + 250, Complete: true}, res)
	assert.True(t, got["excluded01"])
	assert.True(t, got["partner00002"])
}

// TestSambaNTLMBind binds with NTLM. go-ldap's NTLM bind is Active
// Directory's "Sicily" bind, which Samba 4.17 does not implement (it drops
// the connection): the error must then say so rather than look like a
// network failure or a wrong password. A Samba that does implement it
// must let the read through.
func TestSambaNTLMBind(t *testing.T) {
	t.Parallel()
	env := needADDC(t)
	for _, tls := range []bool{true, false} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			t.Parallel()
			cfg := env.partnersConfig()
			cfg.BindMethod, cfg.BindDN, cfg.NTLMDomain = "ntlm", "guestsync-reader", "EXAMPLE"
			if !tls {
				// No allowInsecureBind needed: the password is not sent.
				cfg.URL, cfg.CAFile = env.url, ""
			}
			var logs bytes.Buffer
			got, res, err := accounts(t, cfg, &logs)
			if err != nil {
				t.Log(err)
				assert.Contains(t, err.Error(), `bind to `+cfg.URL+` as "guestsync-reader": the server does not seem to support NTLM binds`)
				assert.NotContains(t, err.Error(), env.password)
				assert.Equal(t, source.Result{}, res)
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, source.Result{Entries: env.partners, Complete: true}, res)
			assert.True(t, got["partner00001"])
			assert.Equal(t, !tls, strings.Contains(logs.String(), "NTLM bind without TLS"))
		})
	}

	cfg := env.partnersConfig()
	cfg.BindMethod, cfg.BindDN, cfg.NTLMDomain, cfg.BindPassword = "ntlm", "guestsync-reader", "EXAMPLE", "not-the-password"
	_, res, err := accounts(t, cfg, nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "not-the-password")
	assert.False(t, res.Complete)
}

// TestSambaFollowReferralsFromTheDomainRoot follows the referrals a search
// from the domain root gets (to the Configuration partition, under the
// realm's host name): by default they lead to a host that is not the
// configured one, which fails the read rather than skipping them.
func TestSambaFollowReferralsFromTheDomainRoot(t *testing.T) {
	eachDecoder(t, testSambaFollowReferralsFromTheDomainRoot)
}

func testSambaFollowReferralsFromTheDomainRoot(t *testing.T, decoder string) {
	env := needADDC(t)
	env.decoder = decoder
	cfg := env.partnersConfig()
	cfg.BaseDN, cfg.FollowReferrals = env.baseDN, true
	_, res, err := accounts(t, cfg, nil)
	require.Error(t, err, "the referrals lead to another host name")
	t.Log(err)
	assert.Contains(t, err.Error(), "follow referral ldaps://")
	assert.Contains(t, err.Error(), "is not one of url's hosts: add it to referralHosts")
	assert.Equal(t, source.Result{Entries: env.partners, Complete: false}, res)
}
