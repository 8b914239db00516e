package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPreview(t *testing.T) {
	t.Parallel()
	cfg, sim := emulatorConfig(t)

	code, out, stderr := guestsync(t, nil, "preview", "zlefevre", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	for _, want := range []string{
		"1. Import: CN=Zoë Lefèvre,OU=Fabrikam,OU=Partners,DC=corp,DC=contoso,DC=com",
		"objectGUID: {f3c95789-ace1-4954-ac5d-6baed2eac902}",
		"2. Scope: in scope",
		"3. Mapping: anchor iVfJ8+GsVEmsXWuu0urJAg==",
		"4. Match: no guest has this anchor",
		"+ create guest zoe.lefevre@partners.contoso.com",
	} {
		assert.Contains(t, out, want)
	}
	assert.Equal(t, 0, sim.Stats().Writes, "preview without --apply writes nothing")

	code, out, stderr = guestsync(t, nil, "preview", "ZOE.LEFEVRE@fabrikam.com", "--config", cfg, "--apply")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Applied create: done")
	assert.Equal(t, 1, sim.Stats().Users, "only this account")

	code, out, _ = guestsync(t, nil, "preview", "zlefevre", "--config", cfg)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "owned by guestsync")
	assert.Contains(t, out, "No changes")

	code, out, _ = guestsync(t, nil, "preview", "mjedrzejczyk", "--config", cfg)
	require.Equal(t, 0, code)
	assert.Contains(t, out, `2. Scope: out of scope: partners: employeeType EQUALS "Partner" is false (value "Employee")`)

	code, _, stderr = guestsync(t, nil, "preview", "nobody", "--config", cfg)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `no entry in the source has the DN, sAMAccountName, uid, userPrincipalName or mail "nobody" (28 entries read)`)
}
