package graph

import (
	"testing"

	"github.com/guestsync/guestsync/pkg/config"
	"github.com/guestsync/guestsync/pkg/config/configtest"
)

// Every setting of the guests section reaches the reader, so that a
// setting added to config.Guests and forgotten here fails this test.
func TestOptionsFromCarriesEverySetting(t *testing.T) {
	t.Parallel()
	configtest.Carried(t, func(g config.Guests) Options { return OptionsFrom(g, nil) }, nil, nil)
}
