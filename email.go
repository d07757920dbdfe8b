package hookd

import (
	"net/mail"
	"strings"
)

// ValidEmail reports whether s is a single bare address such as
// "ada@example.com": no display name, a local part and a dotted domain,
// at most 254 bytes (RFC 5321's limit).
func ValidEmail(s string) bool {
	if len(s) == 0 || len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasSuffix(domain, ".")
}
