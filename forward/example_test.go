package forward_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/forward"
)

func ExampleForwarder_Forward() {
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("received", r.Header.Get("X-Hookd-Event-Id"), r.Header.Get("X-GitHub-Event"))
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "maintenance")
	}))
	defer internal.Close()

	var f forward.Forwarder
	reply, err := f.Forward(context.Background(),
		&hookd.ForwardAction{URL: internal.URL, Timeout: 5 * time.Second, Headers: []string{"X-GitHub-Event"}},
		&hookd.Event{ID: "ev1", Service: "github", Body: []byte(`{}`), Header: http.Header{"X-Github-Event": {"push"}}},
	)
	fmt.Println("reply:", reply.Code, reply.Text)
	fmt.Println("retry:", err != nil && !hookd.IsPermanent(err))
	// Output:
	// received ev1 push
	// reply: 503 maintenance
	// retry: true
}
