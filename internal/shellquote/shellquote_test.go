package shellquote

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// sh runs line with /bin/sh and returns what it wrote.
func sh(t *testing.T, line string) []byte {
	t.Helper()
	out, err := exec.Command("sh", "-c", line).Output()
	if err != nil {
		t.Fatalf("sh -c %s: %v", line, err)
	}
	return out
}

func TestPrintfWritesEveryByte(t *testing.T) {
	var all []byte
	for b := 255; b >= 0; b-- { // starting with bytes that are not UTF-8
		all = append(all, byte(b))
	}
	for _, b := range [][]byte{all, []byte("-n\n"), []byte("%s %d \\n 'q' \"d\" $HOME `x` é\n\n"), []byte("\u0085\u200b\xe2\x82")} {
		line := Printf(b)
		if strings.ContainsAny(line, "\n\r") {
			t.Errorf("Printf(%q) spans lines: %q", b, line)
		}
		if got := sh(t, line); !bytes.Equal(got, b) {
			t.Errorf("sh -c %s wrote %q, want %q", line, got, b)
		}
	}
}

func TestQuoteAndWord(t *testing.T) {
	for _, s := range []string{"", "plain", "it's", "a b", "$HOME", "`x`", "--cursor=ZXZ0_-", "é\n"} {
		for _, q := range []string{Quote(s), Word(s)} {
			if got := sh(t, "printf %s "+q); string(got) != s {
				t.Errorf("%q quoted as %s: the shell gave %q", s, q, got)
			}
		}
	}
	if Word("ZXZ0XzAx-_") != "ZXZ0XzAx-_" {
		t.Errorf("Word quoted a safe word")
	}
}

func TestVisible(t *testing.T) {
	if got, want := Visible("a\tb\n\x1b[31m\x00\u0085\xff é\uFFFD"), "a\tb\n\\x1b[31m\\x00\\u0085\\xff é\uFFFD"; got != want {
		t.Errorf("Visible = %q, want %q", got, want)
	}
	if Plain([]byte("a\n")) || Plain([]byte("\xff")) || !Plain([]byte(`{"a":"é"}`)) {
		t.Error("Plain")
	}
}
