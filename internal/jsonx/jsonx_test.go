package jsonx

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// AppendString writes what encoding/json writes (less HTML escaping), so
// both decode to the same string.
func checkLikeEncodingJSON(t *testing.T, s string) {
	t.Helper()
	got := AppendString(nil, s)
	if !json.Valid(got) {
		t.Fatalf("AppendString(%q) = %s, not valid JSON", s, got)
	}
	want, _ := json.Marshal(s)
	var g, w string
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if g != w {
		t.Fatalf("AppendString(%q) decodes to %q, encoding/json's to %q", s, g, w)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"uo\te`, "tab\tnl\nnul\x00", "é", "\xff\xfe", "a\u2028b\u2029", "\x7f", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(checkLikeEncodingJSON)
}

// Short strings of random bytes, most of them invalid UTF-8.
func TestAppendStringRandomBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		checkLikeEncodingJSON(t, string(b))
	}
}

func TestAppendStringEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"plain":       `"plain"`,
		`a"b\c`:       `"a\"b\\c"`,
		"l1\nl2\r\t":  `"l1\nl2\r\t"`,
		"\x00\x1f":    `"\u0000\u001f"`,
		"caf\xc3\xa9": "\"caf\xc3\xa9\"",
		"bad\xffbyte": `"bad\ufffdbyte"`,
		"ls\u2028":    `"ls\u2028"`,
	} {
		if got := string(AppendString([]byte("x"), in)); got != "x"+want {
			t.Errorf("AppendString(%q) = %s, want %s", in, got[1:], want)
		}
	}
}
