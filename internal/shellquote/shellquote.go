// Package shellquote writes text for people at a terminal: quoted for a
// POSIX shell (sh, dash, bash, zsh), or with the characters that could
// drive the terminal escaped.
package shellquote

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Quote quotes s as one word.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Word is s as one word, quoted only when it needs to be.
func Word(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_./:=@,+%", r)))
	}) {
		return s
	}
	return Quote(s)
}

// Plain reports whether b is UTF-8 text without control characters:
// quoted by Quote, it is one line that a shell passes on unchanged.
func Plain(b []byte) bool {
	return utf8.Valid(b) && !strings.ContainsFunc(string(b), unicode.IsControl)
}

// Printf is a printf command that writes exactly b, on one line: control
// characters and bytes that are not UTF-8 become octal escapes, which
// POSIX printf understands (dash has no $'…').
func Printf(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == '\\' || r == '%':
			sb.WriteString(strings.Repeat(string(r), 2))
		case r == '-' && sb.Len() == 0: // not an option
			sb.WriteString(`\055`)
		case r == utf8.RuneError && n == 1 || unicode.IsControl(r):
			for _, c := range b[:n] {
				fmt.Fprintf(&sb, `\%03o`, c)
			}
		default:
			sb.Write(b[:n])
		}
		b = b[n:]
	}
	return "printf " + Quote(sb.String())
}

// Visible escapes the control characters of s but newlines and tabs, and
// bytes that are not UTF-8, so that printing s cannot drive a terminal.
func Visible(s string) string {
	var sb strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&sb, `\x%02x`, s[i])
		case unicode.IsControl(r) && r != '\n' && r != '\t':
			sb.WriteString(strings.Trim(strconv.QuoteRune(r), "'"))
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}
