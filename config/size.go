package config

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// Binary size units, as accepted in sizes.
const (
	KiB = 1 << 10
	MiB = 1 << 20
	GiB = 1 << 30
)

var units = []struct {
	name string
	size int64
}{{"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", 1}}

// sizeSyntax is a non-negative decimal number and an optional unit.
var sizeSyntax = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?) *([A-Za-z]*)$`)

// errSizeSyntax describes what a size looks like.
var errSizeSyntax = errors.New("want a number of bytes or a number and a unit (B, KiB, MiB, GiB), such as \"1MiB\"")

// ParseSize parses a size such as "1MiB", "1.5 GiB", "512KiB", "100B" or
// "4096" (bytes). Units are binary and case-sensitive: B, KiB, MiB, GiB.
// Decimal units (KB, MB, GB) are refused, since memory budgets are easy
// to get wrong by 5% when KB may mean 1000 or 1024. A fraction is allowed
// when the result is a whole number of bytes ("0.5KiB" is 512).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("%q: must not be negative", s)
	}
	m := sizeSyntax.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q: %w", s, errSizeSyntax)
	}
	unit, err := unitSize(m[2])
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	n, ok := new(big.Rat).SetString(m[1])
	if !ok {
		return 0, fmt.Errorf("%q: %w", s, errSizeSyntax)
	}
	n.Mul(n, new(big.Rat).SetInt64(unit))
	return ratBytes(strconv.Quote(s), n)
}

// ratBytes converts n to a whole number of bytes.
func ratBytes(s string, n *big.Rat) (int64, error) {
	if !n.IsInt() {
		return 0, fmt.Errorf("%s: must be a whole number of bytes", s)
	}
	if !n.Num().IsInt64() {
		return 0, fmt.Errorf("%s: too large; at most %d bytes", s, int64(math.MaxInt64))
	}
	return n.Num().Int64(), nil
}

// unitSize returns the number of bytes in a unit, with a hint when the
// unit is misspelt or decimal.
func unitSize(unit string) (int64, error) {
	if unit == "" {
		return 1, nil
	}
	for _, u := range units {
		if unit == u.name {
			return u.size, nil
		}
	}
	for _, u := range units {
		if strings.EqualFold(unit, u.name) {
			return 0, fmt.Errorf("unknown unit %q; did you mean %q?", unit, u.name)
		}
	}
	switch strings.ToUpper(unit) {
	case "K", "KB", "M", "MB", "G", "GB":
		bin := strings.ToUpper(unit[:1]) + "iB"
		return 0, fmt.Errorf("unit %q is ambiguous (1000 or 1024?); use %q, a binary unit", unit, bin)
	}
	return 0, fmt.Errorf("unknown unit %q; use B, KiB, MiB or GiB", unit)
}

// FormatSize formats n bytes with the largest unit that divides it
// exactly: 1048576 is "1MiB", 1536 is "1536B". ParseSize reads it back.
func FormatSize(n int64) string {
	for _, u := range units {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
