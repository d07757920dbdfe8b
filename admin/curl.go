package admin

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/shellquote"
)

// SignedCurl is a curl command line that sends body to target signed for
// svc at now, as "hookd sign" prints it: the exact bytes of the body, so
// that the stored event's idempotency key comes along and a re-send is a
// duplicate, not a second event. Schemes
// that sign the URL (Twilio) are signed for target as given.
func SignedCurl(svc *hookd.Service, body []byte, stored http.Header, target string, now time.Time) (string, error) {
	h, err := svc.Verifier.Sign(body, target, now)
	if err != nil {
		return "", err
	}
	// A key read from a header comes from the stored event, so that the
	// re-send carries the same key.
	for _, src := range svc.KeySources() {
		if src.From == "header" && h.Get(src.Name) == "" && stored.Get(src.Name) != "" {
			h.Set(src.Name, stored.Get(src.Name))
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
		if !json.Valid(body) {
			h.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	curl := []string{"curl", "-sS", "-i", "-X", "POST", shellquote.Quote(target)}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range h[k] {
			curl = append(curl, "-H", shellquote.Quote(k+": "+v))
		}
	}
	if shellquote.Plain(body) {
		return strings.Join(append(curl, "--data-binary", shellquote.Quote(string(body))), " "), nil
	}
	// Newlines and control characters: printf writes them from escapes.
	return shellquote.Printf(body) + " | " + strings.Join(append(curl, "--data-binary", "@-"), " "), nil
}
