package httpapi

import (
	"log/slog"
	"net/http"
	"time"
)

// NewServer returns a server of h with limits on everything a client
// controls: how slowly it sends headers (slowloris) and the body, how long
// it keeps an idle connection, and how big its headers are. The server's
// own errors go to log at WARN.
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
