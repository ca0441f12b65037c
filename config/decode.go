package config

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// noLimit is the upper bound of sizes that have none.
const noLimit = math.MaxInt64

// decoder turns attribute expressions into values, collecting a
// diagnostic for every problem rather than stopping at the first.
type decoder struct {
	file  string
	diags []Diagnostic
	at    map[string]hcl.Range // where each field was set in the file
	bad   map[string]bool      // fields whose value was rejected
	skip  map[string]bool      // relays left out of checks across fields
	host  Host                 // what the kernel will allow (WithHost); zero: unknown
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, at: map[string]hcl.Range{}, bad: map[string]bool{}}
}

// hcl records HCL's own diagnostics.
func (d *decoder) hcl(hd hcl.Diagnostics) {
	d.diags = append(d.diags, fromHCL(hd, d.file)...)
}

func (d *decoder) errorf(rng hcl.Range, field, format string, args ...any) {
	if rng.Filename == "" {
		rng.Filename = d.file
	}
	d.diags = append(d.diags, Diagnostic{
		File:    rng.Filename,
		Line:    rng.Start.Line,
		Column:  rng.Start.Column,
		Field:   field,
		Message: fmt.Sprintf(format, args...),
	})
}

// reject reports a bad value; checks that span fields then skip field.
func (d *decoder) reject(rng hcl.Range, field, format string, args ...any) {
	d.bad[field] = true
	d.errorf(rng, field, format, args...)
}

// value evaluates an attribute. It reports false when the attribute is
// unset (absent or null) or could not be evaluated (reported).
func (d *decoder) value(expr hcl.Expression, field string) (cty.Value, bool) {
	if expr == nil {
		return cty.NilVal, false
	}
	v, hd := expr.Value(nil)
	if hd.HasErrors() || !v.IsWhollyKnown() {
		d.bad[field] = true
		for _, diag := range fromHCL(hd, d.file) {
			diag.Field = field
			d.diags = append(d.diags, diag)
		}
		return cty.NilVal, false
	}
	if v.IsNull() {
		return v, false
	}
	d.at[field] = expr.Range()
	return v, true
}

// describe names the type of v, and its value when that is short, for
// "got ..." in messages.
func describe(v cty.Value) string {
	ty := v.Type()
	switch {
	case v.IsNull():
		return "null"
	case ty == cty.String:
		return fmt.Sprintf("string %q", v.AsString())
	case ty == cty.Number:
		return "number " + numberText(v.AsBigFloat())
	case ty == cty.Bool:
		return fmt.Sprintf("bool %t", v.True())
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		return "a list"
	case ty.IsObjectType() || ty.IsMapType():
		return "an object"
	}
	return ty.FriendlyName()
}

func (d *decoder) str(expr hcl.Expression, field, def string) string {
	v, ok := d.value(expr, field)
	if !ok {
		return def
	}
	if v.Type() != cty.String {
		d.reject(expr.Range(), field, "must be a string, got %s", describe(v))
		return def
	}
	return v.AsString()
}

// enum decodes a string that must be one of allowed.
func (d *decoder) enum(expr hcl.Expression, field, def string, allowed ...string) string {
	s := d.str(expr, field, def)
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	d.reject(expr.Range(), field, "%q is not allowed; use one of %s", s, strings.Join(allowed, ", "))
	return def
}

func (d *decoder) boolean(expr hcl.Expression, field string, def bool) bool {
	v, ok := d.value(expr, field)
	if !ok {
		return def
	}
	if v.Type() != cty.Bool {
		d.reject(expr.Range(), field, "must be true or false, got %s", describe(v))
		return def
	}
	return v.True()
}

// count decodes a whole number from min to max.
func (d *decoder) count(expr hcl.Expression, field string, min, max, def int64) int64 {
	v, ok := d.value(expr, field)
	if !ok {
		return def
	}
	if v.Type() == cty.Number {
		n, acc := v.AsBigFloat().Int64()
		if acc == big.Exact && n >= min && n <= max {
			return n
		}
	}
	d.reject(expr.Range(), field, "must be a whole number from %d to %d, got %s", min, max, describe(v))
	return def
}

// size decodes a size in bytes from min to max: a number of bytes or a
// string that ParseSize accepts.
func (d *decoder) size(expr hcl.Expression, field string, min, max, def int64) int64 {
	v, ok := d.value(expr, field)
	if !ok {
		return def
	}
	n, err := sizeValue(v)
	if err == nil {
		err = sizeRange(n, min, max)
	}
	if err != nil {
		d.reject(expr.Range(), field, "%v", err)
		return def
	}
	return n
}

func sizeValue(v cty.Value) (int64, error) {
	switch v.Type() {
	case cty.String:
		return ParseSize(v.AsString())
	case cty.Number:
		return numberBytes(v.AsBigFloat())
	}
	return 0, fmt.Errorf("got %s; %w", describe(v), errSizeSyntax)
}

// numberBytes converts an HCL number to a whole number of bytes.
func numberBytes(f *big.Float) (int64, error) {
	s := numberText(f)
	switch {
	case f.Sign() < 0:
		return 0, fmt.Errorf("%s: must not be negative", s)
	case f.IsInf() || f.Cmp(maxBytes) > 0:
		return 0, fmt.Errorf("%s: too large; at most %d bytes", s, int64(noLimit))
	case !f.IsInt():
		return 0, fmt.Errorf("%s: must be a whole number of bytes", s)
	}
	n, _ := f.Int64()
	return n, nil
}

var maxBytes = new(big.Float).SetInt64(noLimit)

// numberText formats f for a message. Formatting a huge exponent in
// decimal takes seconds, so such numbers are only described.
func numberText(f *big.Float) string {
	switch e := f.MantExp(nil); {
	case e > 128:
		return "a huge number"
	case e < -128:
		return "a number close to zero"
	}
	return f.Text('g', -1)
}

func sizeRange(n, min, max int64) error {
	switch {
	case n < min && max == noLimit:
		return fmt.Errorf("%s is too small; at least %s", FormatSize(n), FormatSize(min))
	case n < min:
		return fmt.Errorf("%s is too small; allowed %s to %s", FormatSize(n), FormatSize(min), FormatSize(max))
	case n > max:
		return fmt.Errorf("%s is too large; allowed %s to %s", FormatSize(n), FormatSize(min), FormatSize(max))
	}
	return nil
}

// duration decodes a positive Go duration string such as "5s".
func (d *decoder) duration(expr hcl.Expression, field string, def time.Duration) time.Duration {
	v, ok := d.value(expr, field)
	if !ok {
		return def
	}
	if v.Type() != cty.String {
		d.reject(expr.Range(), field, "must be a duration string such as \"5s\", got %s", describe(v))
		return def
	}
	t, err := time.ParseDuration(v.AsString())
	switch {
	case err != nil:
		d.reject(expr.Range(), field, "%q is not a duration; want a number and a unit (ms, s, m, h) such as \"5s\" or \"1m30s\"", v.AsString())
	case t <= 0:
		d.reject(expr.Range(), field, "%q must be positive", v.AsString())
	default:
		return t
	}
	return def
}

// millis decodes a duration of whole milliseconds from 1ms to max, as the
// kernel's path timers take them; unset is zero.
func (d *decoder) millis(expr hcl.Expression, field string, max time.Duration) time.Duration {
	t := d.within(expr, field, time.Millisecond, max)
	if t%time.Millisecond != 0 {
		d.reject(expr.Range(), field, "%s is not a whole number of milliseconds; the kernel counts these timers in ms", t)
		return 0
	}
	return t
}

// within decodes a duration from min to max; unset is zero.
func (d *decoder) within(expr hcl.Expression, field string, min, max time.Duration) time.Duration {
	t := d.duration(expr, field, 0)
	switch {
	case t == 0:
	case t > max:
		d.reject(expr.Range(), field, "%s is too long; allowed %s to %s", shortDuration(t), shortDuration(min), shortDuration(max))
	case t < min:
		d.reject(expr.Range(), field, "%s is too short; allowed %s to %s", shortDuration(t), shortDuration(min), shortDuration(max))
	default:
		return t
	}
	return 0
}
