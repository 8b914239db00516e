package ldap

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/ldapconn"
)

// Every setting of the connection layer comes from the reader's Config
// field of the same name: a field added to ldapconn.Config and forgotten
// in Config.connection fails here.
func TestConnectionCopiesEverySetting(t *testing.T) {
	t.Parallel()
	var cfg Config
	cv := reflect.ValueOf(&cfg).Elem()
	want := reflect.ValueOf(&ldapconn.Config{}).Elem()
	for i := range want.NumField() {
		name := want.Type().Field(i).Name
		f := cv.FieldByName(name)
		require.True(t, f.IsValid(), "Config has no field %s", name)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x-" + name)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int64:
			f.SetInt(int64(i + 1))
		default:
			t.Fatalf("field %s: kind %s not handled", name, f.Kind())
		}
		want.Field(i).Set(f)
	}
	assert.Equal(t, want.Interface(), cfg.connection())
}
