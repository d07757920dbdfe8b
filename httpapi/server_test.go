package httpapi_test

import (
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/hookd/hookd/httpapi"
)

// TestServerLimitsHeaders: headers beyond 64 KiB (and Go's slack) are
// refused before the handler sees them.
func TestServerLimitsHeaders(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), slog.New(slog.DiscardHandler))
	go srv.Serve(ln)
	defer srv.Close()
	for size, want := range map[int]int{1 << 10: http.StatusOK, 200 << 10: http.StatusRequestHeaderFieldsTooLarge} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
		req.Header.Set("X-Big", strings.Repeat("a", size))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%d-byte header: %d, want %d", size, resp.StatusCode, want)
		}
	}
}
