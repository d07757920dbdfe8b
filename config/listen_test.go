package config

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
)

func TestListenError(t *testing.T) {
	t.Parallel()
	inUse := &net.OpError{Op: "listen", Net: "tcp", Err: fmt.Errorf("bind: %w", syscall.EADDRINUSE)}
	for _, tt := range []struct {
		field, env, addr string
		err              error
		want             string
	}{
		{"admin.listen", "HOOKD_ADMIN_LISTEN", "127.0.0.1:8081", inUse,
			"admin.listen: 127.0.0.1:8081 is in use, by another hookd on this host (another role?) or another program; give this process its own with HOOKD_ADMIN_LISTEN=127.0.0.1:8082 (or admin.listen in its configuration file)"},
		{"listen", "HOOKD_LISTEN", ":8080", inUse,
			"listen: :8080 is in use, by another hookd on this host (another role?) or another program; give this process its own with HOOKD_LISTEN (or listen in its configuration file)"},
		{"listen", "HOOKD_LISTEN", ":80", errors.New("permission denied"), "listen: permission denied"},
	} {
		if got := ListenError(tt.field, tt.env, tt.addr, tt.err).Error(); got != tt.want {
			t.Errorf("ListenError(%s, %v) =\n%s\nwant\n%s", tt.addr, tt.err, got, tt.want)
		}
	}
}
