// Package configtest checks the conversions from a config section to a
// component's settings, so that a setting added to the config and not
// carried over fails a test instead of being silently ignored.
package configtest

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"testing"
)

// Carried checks convert, a conversion from a config section S to a
// component's settings D, by reflection over S. Fields are named by their
// Go path; a nested struct's fields by a dotted path
// ("Invitation.RedirectURL"), a slice as a whole.
//
// Every field of S must reach the field of D with the same path, or the
// path renamed gives it, holding the same values (a []LDAPBase and the
// []Base it becomes hold the same strings), unless notCarried lists it
// (path → why it is left out). The check is made with every field of S set
// at once to a distinct non-zero value, which catches two fields carried
// to one place, and with each field set alone, which catches a field
// carried from the wrong place (two bools swapped), a field carried to a
// second place too, and a notCarried entry the conversion does use. An entry of renamed or notCarried that names no field of S fails
// the test as well, so that the lists follow the config.
func Carried[S, D any](t testing.TB, convert func(S) D, renamed, notCarried map[string]string) {
	t.Helper()
	src := leaves(reflect.TypeFor[S]())
	dst := leaves(reflect.TypeFor[D]())
	for p := range renamed {
		if _, ok := src[p]; !ok {
			t.Errorf("renamed names %s, which %v does not have", p, reflect.TypeFor[S]())
		}
		if _, ok := notCarried[p]; ok {
			t.Errorf("%s is both renamed and not carried", p)
		}
	}
	for p := range notCarried {
		if _, ok := src[p]; !ok {
			t.Errorf("notCarried names %s, which %v does not have", p, reflect.TypeFor[S]())
		}
	}
	paths := slices.Sorted(maps.Keys(src))
	// target is where each carried field goes.
	target := map[string]string{}
	for _, p := range paths {
		if _, skip := notCarried[p]; skip {
			continue
		}
		to := p
		if r, ok := renamed[p]; ok {
			to = r
		}
		if _, ok := dst[to]; !ok {
			t.Errorf("%v.%s has no counterpart %v.%s: carry it over, or name its counterpart in renamed, or say in notCarried why it is left out",
				reflect.TypeFor[S](), p, reflect.TypeFor[D](), to)
			continue
		}
		target[p] = to
	}

	// Every field at once.
	var all S
	f := filler{t: t}
	for _, p := range paths {
		f.fill(field(&all, src[p]), p)
	}
	got := convert(all)
	dropped := map[string]bool{}
	for _, p := range paths {
		to, ok := target[p]
		if !ok {
			continue
		}
		want, have := values(field(&all, src[p])), values(field(&got, dst[to]))
		if !reflect.DeepEqual(want, have) {
			dropped[p] = true
			t.Errorf("%s is not carried to %s: set to %q, %s holds %q", p, to, want, to, have)
		}
	}

	// Each field alone.
	var zero S
	base := convert(zero)
	for _, p := range paths {
		var one S
		f.fill(field(&one, src[p]), p)
		got := convert(one)
		to, carried := target[p]
		if want, have := values(field(&one, src[p])), values(field(&got, dst[to])); carried && !dropped[p] && !reflect.DeepEqual(want, have) {
			t.Errorf("%s set alone is not carried to %s: set to %q, %s holds %q", p, to, want, to, have)
		}
		for _, q := range slices.Sorted(maps.Keys(dst)) {
			if carried && q == to {
				continue
			}
			if b, g := field(&base, dst[q]), field(&got, dst[q]); !reflect.DeepEqual(b.Interface(), g.Interface()) {
				_, skip := notCarried[p]
				switch {
				case skip:
					t.Errorf("%s is listed as not carried, but setting it changes %s", p, q)
				case carried:
					t.Errorf("%s is carried to %s, and also changes %s", p, to, q)
				default:
					t.Errorf("setting %s changes %s: if that is its counterpart, name it in renamed", p, q)
				}
			}
		}
	}
}

// leaves maps the path of every field of struct type rt to its index,
// descending into nested structs that have exported fields.
func leaves(rt reflect.Type) map[string][]int {
	out := map[string][]int{}
	var walk func(prefix string, rt reflect.Type, index []int)
	walk = func(prefix string, rt reflect.Type, index []int) {
		for i := range rt.NumField() {
			sf := rt.Field(i)
			if !sf.IsExported() {
				continue
			}
			idx := append(append([]int(nil), index...), i)
			if sf.Type.Kind() == reflect.Struct && hasExported(sf.Type) {
				walk(prefix+sf.Name+".", sf.Type, idx)
				continue
			}
			out[prefix+sf.Name] = idx
		}
	}
	walk("", rt, nil)
	return out
}

func hasExported(rt reflect.Type) bool {
	for i := range rt.NumField() {
		if rt.Field(i).IsExported() {
			return true
		}
	}
	return false
}

// field is the field at index of the struct *s points to.
func field[T any](s *T, index []int) reflect.Value {
	return reflect.ValueOf(s).Elem().FieldByIndex(index)
}

// filler sets values that are non-zero and distinct from every other value
// it has set: strings are their path, numbers count up.
type filler struct {
	t testing.TB
	n int
}

func (f *filler) fill(v reflect.Value, path string) {
	f.t.Helper()
	f.n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(f.n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(f.n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(f.n) + 0.5)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range s.Len() {
			f.fill(s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Struct:
		if !hasExported(v.Type()) {
			f.t.Fatalf("%s: cannot set a %v; teach configtest how", path, v.Type())
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				f.fill(v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem(), path)
		v.Set(p)
	default:
		f.t.Fatalf("%s: cannot set a %v; teach configtest how", path, v.Type())
	}
}

// values flattens v into the text of its scalar values, so that a field and
// its counterpart of another type (int and uint32, []LDAPBase and []Base,
// Secret and string) compare equal when they hold the same values.
func values(v reflect.Value) []string {
	switch v.Kind() {
	case reflect.String:
		return []string{v.String()} // a Secret's own value, not "[redacted]"
	case reflect.Bool:
		return []string{strconv.FormatBool(v.Bool())}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return []string{strconv.FormatInt(v.Int(), 10)}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return []string{strconv.FormatUint(v.Uint(), 10)}
	case reflect.Float32, reflect.Float64:
		return []string{strconv.FormatFloat(v.Float(), 'g', -1, 64)}
	case reflect.Slice, reflect.Array:
		var out []string
		for i := range v.Len() {
			out = append(out, values(v.Index(i))...)
		}
		return out
	case reflect.Struct:
		var out []string
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				out = append(out, values(v.Field(i))...)
			}
		}
		return out
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return values(v.Elem())
	}
	return []string{fmt.Sprint(v.Interface())}
}
