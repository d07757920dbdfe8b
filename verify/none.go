package verify

import (
	"net/http"
	"time"

	"github.com/hookd/hookd"
)

// None accepts every request. New returns it only for scheme none with
// Config.IUnderstandThisIsUnsafe set: anyone who can reach the endpoint can
// then submit events.
type None struct{}

var _ hookd.Verifier = (*None)(nil)

// Verify accepts every request.
func (*None) Verify(*hookd.Request) error { return nil }

// Sign returns no headers: none are needed.
func (*None) Sign([]byte, string, time.Time) (http.Header, error) { return http.Header{}, nil }

// KeySources returns header Idempotency-Key, then JSON field idempotency_key.
func (*None) KeySources() []hookd.KeySource { return defaultKeySources() }
