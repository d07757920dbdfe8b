package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// ListenError explains err, from listening on addr, the value of field
// (overridden by the variable env): for an address in use, which setting
// frees it, as processes of two roles on one host, started with one
// configuration file, both listen on its admin address.
func ListenError(field, env, addr string, err error) error {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s: %w", field, err)
	}
	set := env
	if host, port, err := net.SplitHostPort(addr); err == nil && field == "admin.listen" {
		if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65535 {
			set += "=" + net.JoinHostPort(host, strconv.Itoa(n+1))
		}
	}
	return fmt.Errorf("%s: %s is in use, by another hookd on this host (another role?) or another program; give this process its own with %s (or %s in its configuration file)",
		field, addr, set, field)
}
