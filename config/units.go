package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"
)

// Duration is a time.Duration written in YAML as a Go duration ("90s",
// "1h30m") or as whole days, optionally followed by a Go duration ("7d",
// "1d12h"). A bare number other than 0 is rejected: it has no unit.
type Duration time.Duration

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil {
		return err // the decoder adds the line
	}
	*d = Duration(v)
	return nil
}

// parseDuration parses a Go duration with an optional leading "<N>d" for
// whole days.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("invalid duration: empty; use e.g. 90s, 72h or 7d")
	}
	neg := false
	rest := s
	if rest[0] == '-' || rest[0] == '+' {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	var days time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		n, err := strconv.ParseUint(rest[:i], 10, 64)
		if err != nil || i == 0 {
			return 0, errors.New("invalid duration: days must be a whole number, e.g. 7d or 1d12h")
		}
		if n > math.MaxInt64/uint64(24*time.Hour) {
			return 0, errors.New("invalid duration: too large")
		}
		days = time.Duration(n) * 24 * time.Hour
		rest = rest[i+1:]
	}
	var d time.Duration
	if rest != "" || days == 0 {
		var err error
		d, err = time.ParseDuration(rest)
		if err != nil {
			if _, numErr := strconv.ParseFloat(rest, 64); numErr == nil {
				return 0, errors.New("invalid duration: missing unit; use e.g. 300s, 72h or 7d")
			}
			return 0, errors.New("invalid duration; use e.g. 90s, 72h or 7d")
		}
		if d < 0 && days > 0 {
			return 0, errors.New("invalid duration; use e.g. 90s, 72h or 7d")
		}
	}
	total := days + d
	if total < days {
		return 0, errors.New("invalid duration: too large")
	}
	if neg {
		total = -total
	}
	return total, nil
}

// ByteSize is a size in bytes written in YAML as a plain number of bytes
// ("1048576", "1024B") or with a unit: KiB, MiB, GiB (powers of 1024) or
// KB, MB, GB (powers of 1000). Units are case-insensitive; fractions are
// allowed ("1.5MiB") and rounded down to whole bytes.
type ByteSize int64

// String formats b with the largest binary unit that divides it exactly.
func (b ByteSize) String() string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && int64(b)%u.size == 0 {
			return strconv.FormatInt(int64(b)/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseByteSize(n.Value)
	if err != nil {
		return err // the decoder adds the line
	}
	*b = ByteSize(v)
	return nil
}

var byteUnits = map[string]float64{
	"":    1,
	"b":   1,
	"kb":  1e3,
	"mb":  1e6,
	"gb":  1e9,
	"kib": 1 << 10,
	"mib": 1 << 20,
	"gib": 1 << 30,
}

// parseByteSize parses "5MiB", "512KiB", "1MB", "1024" and the like.
func parseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' && r != '-' && r != '+' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	mult, ok := byteUnits[strings.ToLower(unit)]
	if !ok {
		return 0, errors.New("invalid size: unknown unit; use bytes or KiB, MiB, GiB, KB, MB, GB (e.g. 5MiB)")
	}
	if num == "" {
		return 0, errors.New("invalid size: missing number; use e.g. 512KiB or 5MiB")
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil && mult == 1 {
		return n, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("invalid size; use bytes or a number with a unit, e.g. 5MiB")
	}
	v := f * mult
	if v >= math.MaxInt64 || v <= math.MinInt64 {
		return 0, errors.New("invalid size: too large")
	}
	return int64(v), nil
}
