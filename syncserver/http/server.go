// Package httpapi serves the sync server's HTTP API (docs/sync-protocol.md):
// device registration, batch push, change pull and stats, over the store;
// and the supervisor's review tasks and unmerge.
// Handlers decode, call one store method and encode; errors become problem
// bodies in one place.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/console"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// Server is the HTTP API over one store.
type Server struct {
	// stopping is closed when Serve begins to shut down, so long polls
	// answer at once instead of holding the shutdown up.
	stopping        chan struct{}
	store           *store.Store
	logger          *slog.Logger
	echo            *echo.Echo
	shutdownTimeout time.Duration

	metrics     *metrics
	metricsOpen bool     // /metrics without a token (WithOpenMetrics)
	tokens      *limiter // requests per token; nil: no limit (WithRateLimit)
	clients     *limiter // requests per address on endpoints without a token
	console     console.Options
}

// Option changes how New sets up a Server.
type Option func(*Server)

// WithShutdownTimeout bounds how long a cancelled ListenAndServe waits for
// requests in flight (default 15s) before closing their connections.
func WithShutdownTimeout(d time.Duration) Option {
	return func(s *Server) { s.shutdownTimeout = d }
}

// WithConsoleSecureCookies marks the console's cookies Secure on every
// request, for a console served over HTTPS through a proxy that ends TLS
// (syncserver has no TLS of its own); a TLS request always gets them.
func WithConsoleSecureCookies(secure bool) Option {
	return func(s *Server) { s.console.SecureCookie = secure }
}

// New returns the API over st, logging requests to logger.
func New(st *store.Store, logger *slog.Logger, opts ...Option) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{store: st, logger: logger, echo: echo.New(), shutdownTimeout: 15 * time.Second, stopping: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	s.metrics = newMetrics(st, logger)
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	// The audit log records the address the connection came from; a
	// client-supplied X-Forwarded-For would let anyone write it.
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(s.countRequests, s.logRequests, recoverPanics, limitBodies, s.limitAnonymousInput)

	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz, s.limitClients) // it takes the write lock: not for anyone to hammer
	e.GET("/metrics", s.handleMetrics, s.metricsAuth())
	api := e.Group("/api/v1")
	api.POST("/devices/register", s.handleRegister)
	api.POST("/sync/batches", s.handlePushBatch, s.requireRole(schema.RoleDevice))
	api.GET("/sync/changes", s.handleChanges, s.requireRole(schema.RoleDevice))
	api.GET("/stats", s.handleStats, s.requireRole(schema.RoleAdmin, schema.RoleSupervisor))
	supervisor := s.requireRole(schema.RoleAdmin, schema.RoleSupervisor)
	api.GET("/review/tasks", s.handleReviewTasks, supervisor)
	api.GET("/review/tasks/:id", s.handleReviewTask, supervisor)
	api.POST("/review/tasks/:id/decision", s.handleDecideReview, supervisor)
	api.POST("/persons/:id/unmerge", s.handleUnmerge, supervisor)
	s.routeCards(e, api)
	s.routeHospital(api)
	s.routeFHIR(e)
	// The supervisor console (syncserver/console) takes no bearer token:
	// it checks its own session cookie, CSRF token and role on every page
	// and form, outside /api.
	consoleHandler := echo.WrapHandler(console.Handler(st, logger, s.console))
	e.GET(console.Prefix+"*", consoleHandler)
	e.POST(console.Prefix+"*", consoleHandler)
	return s
}

// Handler returns the API as an http.Handler, for httptest servers and for
// mounting behind another mux.
func (s *Server) Handler() http.Handler { return s.echo }

// ListenAndServe listens on addr and serves until ctx is cancelled, then
// shuts down gracefully. It logs the address it listens on, which tells
// the port chosen when addr asks for port 0.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is cancelled, then stops accepting and
// waits for requests in flight. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		// A 2 MiB batch over a slow field connection needs time to arrive.
		ReadTimeout:  2 * time.Minute,
		WriteTimeout: 2 * time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		// Requests in flight when ctx is cancelled finish their batch
		// rather than roll it back: Shutdown waits for them.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.logger.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	select {
	case <-s.stopping:
	default:
		close(s.stopping)
	}
	s.logger.Info("shutting down", "timeout", s.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
