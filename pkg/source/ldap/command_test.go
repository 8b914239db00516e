package ldap

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

func TestCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{
			name: "defaults",
			cfg:  validConfig(),
			want: `ldapsearch -H ldaps://dc1.example.test -x -D 'cn=guestsync,ou=Services,dc=example,dc=test' -w '****' -b 'ou=Partners,dc=example,dc=test' -s sub -E pr=500/noprompt '(objectClass=*)' '*' entryUUID`,
		},
		{
			name: "starttls, filter, attributes, one level",
			cfg: Config{
				URL: "ldap://dc1.example.test:389", StartTLS: true,
				BindDN: "CN=svc guestsync,OU=Service Accounts,DC=example,DC=test", BindPassword: "pw",
				BaseDN: "OU=Partners,DC=example,DC=test", Scope: "one", PageSize: 1000,
				Filter:     "(&(objectClass=user)(employeeType=Partner))",
				Attributes: []string{"mail", "objectGUID", "member;range=0-1499"},
			},
			want: `ldapsearch -H ldap://dc1.example.test:389 -x -ZZ -D 'CN=svc guestsync,OU=Service Accounts,DC=example,DC=test' -w '****' -b 'OU=Partners,DC=example,DC=test' -s one -E pr=1000/noprompt '(&(objectClass=user)(employeeType=Partner))' mail objectGUID 'member;range=0-1499'`,
		},
		{
			name: "anonymous, no paging, quotes in values, CA file, two urls",
			cfg: Config{
				URL:    "ldaps://dc1 ldaps://dc2",
				BaseDN: "ou=O'Brien & Co,dc=example,dc=test", Filter: "(sn=O'Brien)", NoPaging: true,
				CAFile: "CAFILE", InsecureSkipVerify: true,
			},
			want: `LDAPTLS_CACERT='CAFILE' LDAPTLS_REQCERT=never ldapsearch -H 'ldaps://dc1 ldaps://dc2' -x -b 'ou=O'\''Brien & Co,dc=example,dc=test' -s sub '(sn=O'\''Brien)' '*' entryUUID`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := tt.want
			if tt.cfg.CAFile != "" {
				// A real file, its name with a space to need quoting.
				tt.cfg.CAFile = filepath.Join(t.TempDir(), "ad ca.pem")
				require.NoError(t, os.WriteFile(tt.cfg.CAFile, selfSignedPEM(t), 0o600))
				want = strings.Replace(want, "CAFILE", tt.cfg.CAFile, 1)
			}
			r, err := New(tt.cfg, nil)
			require.NoError(t, err)
			got := r.Command()
			assert.Equal(t, want, got)
			assert.NotContains(t, got, "pw'")
		})
	}
}

// TestReadLogsCommandWithoutPassword reads from a URL where nothing
// listens: the debug log still shows the command, and never the password.
func TestReadLogsCommandWithoutPassword(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := validConfig()
	cfg.URL, cfg.AllowInsecureBind = "ldap://"+deadAddr(t), true
	r, err := New(cfg, log)
	require.NoError(t, err)
	res, err := r.Read(context.Background(), func(source.Entry) error { return nil })
	require.Error(t, err)
	assert.False(t, res.Complete)
	assert.Contains(t, logs.String(), `-w '****'`)
	assert.Contains(t, logs.String(), "level=WARN msg=\"the bind password is sent unencrypted")
	assert.NotContains(t, logs.String(), cfg.BindPassword)
	assert.NotContains(t, err.Error(), cfg.BindPassword)
}
