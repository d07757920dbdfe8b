package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "90s", want: 90 * time.Second},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "100ms", want: 100 * time.Millisecond},
		{in: "0", want: 0},
		{in: "7d", want: 7 * 24 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: " 2d ", want: 48 * time.Hour},
		{in: "-1s", want: -time.Second},
		{in: "-1d", want: -24 * time.Hour},
		{in: "300", wantErr: "missing unit"},
		{in: "", wantErr: "empty"},
		{in: "7x", wantErr: "invalid duration"},
		{in: "d", wantErr: "whole number"},
		{in: "1.5d", wantErr: "whole number"},
		{in: "7days", wantErr: "invalid duration"},
		{in: "1d-1h", wantErr: "invalid duration"},
		{in: "999999999999d", wantErr: "too large"},
	} {
		got, err := parseDuration(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseDuration(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in      string
		want    int64
		wantErr string
	}{
		{in: "1048576", want: 1 << 20},
		{in: "1024B", want: 1024},
		{in: "512KiB", want: 512 << 10},
		{in: "5MiB", want: 5 << 20},
		{in: "5mib", want: 5 << 20},
		{in: "1GiB", want: 1 << 30},
		{in: "1MB", want: 1_000_000},
		{in: "2KB", want: 2000},
		{in: "1.5MiB", want: 3 << 19},
		{in: "5 MiB", want: 5 << 20},
		{in: "-1", want: -1},
		{in: "5XB", wantErr: "unknown unit"},
		{in: "MiB", wantErr: "missing number"},
		{in: "", wantErr: "missing number"},
		{in: "1.2.3MiB", wantErr: "invalid size"},
		{in: "99999999999GiB", wantErr: "too large"},
	} {
		got, err := parseByteSize(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseByteSize(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseByteSize(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestByteSizeString(t *testing.T) {
	t.Parallel()
	for b, want := range map[ByteSize]string{0: "0B", 1000: "1000B", 1024: "1KiB", 5 << 20: "5MiB", 1 << 30: "1GiB", 1536: "1536B"} {
		if got := b.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(b), got, want)
		}
	}
	if got := Duration(72 * time.Hour).String(); got != "72h0m0s" {
		t.Errorf("Duration.String() = %q", got)
	}
}
