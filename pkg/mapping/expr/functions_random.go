package expr

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// The character classes of RandomString: those of Windows' "password must
// meet complexity requirements" policy, which the documentation points to,
// limited to ASCII.
const (
	randomDigits  = "0123456789"
	randomUpper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	randomLower   = "abcdefghijklmnopqrstuvwxyz"
	randomSpecial = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/"
	maxRandomLen  = 256
)

func randomFunctions() []*function {
	return []*function{{
		// RandomString(Length, MinimumNumbers, MinimumSpecialCharacters,
		// MinimumCapital, MinimumLowerCase, CharactersToAvoid): Length
		// characters (at most 256) with at least the minimum of each class;
		// the rest are drawn from all four classes, then the whole string is
		// shuffled. The documentation asks Length to cover three of the
		// minimums; it must cover all four, or the string cannot exist.
		// Characters to avoid are removed from every class. Randomness comes
		// from the Evaluator's Rand, unbiased.
		name: "RandomString",
		params: []param{
			{name: "Length"}, {name: "MinimumNumbers"}, {name: "MinimumSpecialCharacters"},
			{name: "MinimumCapital"}, {name: "MinimumLowerCase"}, {name: "CharactersToAvoid", optional: true},
		},
		eval: evalRandomString,
	}}
}

func evalRandomString(x evalCtx, c *call) (Value, error) {
	var n [5]int64
	for i := range n {
		v, err := intArg(x, c, i)
		if err != nil {
			return Value{}, err
		}
		if v < 0 {
			return Value{}, fmt.Errorf("%s must not be negative, got %d", c.fn.params[i].name, v)
		}
		if v > maxRandomLen { // before summing, which could overflow
			return Value{}, fmt.Errorf("%s must be at most %d, got %d", c.fn.params[i].name, maxRandomLen, v)
		}
		n[i] = v
	}
	length := n[0]
	if sum := n[1] + n[2] + n[3] + n[4]; sum > length {
		return Value{}, fmt.Errorf("Length %d is less than the sum of the minimums, %d", length, sum)
	}
	avoid, err := x.arg(c, 5)
	if err != nil {
		return Value{}, err
	}
	keep := func(class string) string {
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(text(avoid), r) {
				return -1
			}
			return r
		}, class)
	}
	classes := [4]string{keep(randomDigits), keep(randomSpecial), keep(randomUpper), keep(randomLower)}
	names := [4]string{"numbers", "special characters", "capital letters", "lower-case letters"}
	r := randomSource{x: x, off: len(randomSource{}.buf)}
	out := make([]byte, 0, length)
	for i, class := range classes {
		if n[i+1] > 0 && class == "" {
			return Value{}, fmt.Errorf("CharactersToAvoid leaves no %s", names[i])
		}
		for range n[i+1] {
			k, err := r.intn(len(class))
			if err != nil {
				return Value{}, err
			}
			out = append(out, class[k])
		}
	}
	all := strings.Join(classes[:], "")
	if int64(len(out)) < length && all == "" {
		return Value{}, fmt.Errorf("CharactersToAvoid leaves no characters")
	}
	for int64(len(out)) < length {
		k, err := r.intn(len(all))
		if err != nil {
			return Value{}, err
		}
		out = append(out, all[k])
	}
	for i := len(out) - 1; i > 0; i-- { // Fisher-Yates
		j, err := r.intn(i + 1)
		if err != nil {
			return Value{}, err
		}
		out[i], out[j] = out[j], out[i]
	}
	return String(string(out)), nil
}

// randomSource draws unbiased small integers from the Evaluator's Rand,
// reading it in blocks.
type randomSource struct {
	x   evalCtx
	buf [64]byte
	off int // next unread byte of buf; len(buf) when empty
}

func (r *randomSource) intn(n int) (int, error) {
	limit := 1<<16 - (1<<16)%n // reject the values that would bias the result
	for {
		if r.off >= len(r.buf) {
			if err := r.x.random(r.buf[:]); err != nil {
				return 0, fmt.Errorf("read random bytes: %w", err)
			}
			r.off = 0
		}
		v := int(binary.LittleEndian.Uint16(r.buf[r.off:]))
		r.off += 2
		if v < limit {
			return v % n, nil
		}
	}
}
