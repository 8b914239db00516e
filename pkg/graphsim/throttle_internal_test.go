package graphsim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResourceUnitsByTenantSize(t *testing.T) {
	t.Parallel()
	b := Budgets{}.withDefaults()
	tests := []struct {
		users, want int
	}{{0, 3500}, {49, 3500}, {50, 5000}, {500, 5000}, {501, 8000}, {100000, 8000}}
	for _, tt := range tests {
		assert.Equal(t, tt.want, b.resourceUnitsFor(tt.users), "%d users", tt.users)
	}
	assert.Equal(t, 7, Budgets{ResourceUnits: 7}.resourceUnitsFor(1000), "an explicit budget wins")
	assert.Equal(t, Budgets{ResourceUnitWindow: 10 * time.Second, AppWrites: 3000, AppWriteWindow: 150 * time.Second,
		TenantWrites: 18000, TenantWriteWindow: 5 * time.Minute, Invitations: 150, InvitationWindow: 5 * time.Second}, b)
}

func TestParseThrottleMode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]ThrottleMode{"documented": ThrottleDocumented, " OFF ": ThrottleOff} {
		got, err := ParseThrottleMode(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ParseThrottleMode("on")
	assert.EqualError(t, err, `throttle mode must be documented or off, not "on"`)
}

func TestFormatSeconds(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]string{50: "50", 0.5: "0.5", 1.0 / 3: "0.334", 0: "0.001", 2.0000001: "2.001"} {
		assert.Equal(t, want, formatSeconds(in), "%v", in)
	}
}
