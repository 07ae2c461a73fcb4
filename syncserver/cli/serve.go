package cli

import (
	"context"
	"log/slog"
	"math"
	"sync"

	"github.com/spf13/cobra"

	httpapi "github.com/doorstep-health/doorstep/syncserver/http"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

type serveOptions struct {
	addr        string
	rateLimit   float64
	rateBurst   int
	metricsOpen bool
	secure      bool
	match       bool
}

// NewCmdServe builds `syncserver serve`.
func NewCmdServe(app *App) *cobra.Command {
	opts := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the sync API until interrupted",
		Long: `Serve the HTTP API laptops sync with. Logs go to standard error, the
first line naming the address listened on. SIGINT or SIGTERM stops
accepting requests and waits for those in flight.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !(opts.rateLimit >= 0) || math.IsInf(opts.rateLimit, 1) {
				return usageErrorf("--rate-limit must be 0 (no limit) or more requests a second, not %v", opts.rateLimit)
			}
			if opts.rateLimit > 0 && opts.rateBurst < 1 {
				return usageErrorf("--rate-burst must be 1 or more, not %d", opts.rateBurst)
			}
			ctx := cmd.Context()
			logger := slog.New(slog.NewTextHandler(app.Err, nil))
			return app.withStore(ctx, func(s *store.Store) error {
				logger.Info("store open", "db", app.dbName(), "keys", s.KeysDir(), "match", opts.match)
				// The matcher stops with the server, before the store closes.
				mctx, stop := context.WithCancel(ctx)
				var wg sync.WaitGroup
				if opts.match {
					wg.Go(func() { s.RunMatcher(mctx, logger.Info) })
				}
				defer wg.Wait()
				defer stop()
				return httpapi.New(s, logger,
					httpapi.WithRateLimit(opts.rateLimit, opts.rateBurst),
					httpapi.WithOpenMetrics(opts.metricsOpen),
					httpapi.WithConsoleSecureCookies(opts.secure),
				).ListenAndServe(ctx, opts.addr)
			})
		},
	}
	cmd.Flags().StringVar(&opts.addr, "addr", envOr(app.Getenv, "SYNCSERVER_ADDR", "127.0.0.1:8080"), "listen on `HOST:PORT` (env SYNCSERVER_ADDR)")
	cmd.Flags().Float64Var(&opts.rateLimit, "rate-limit", httpapi.DefaultRateLimit,
		"allow each token, and each address on endpoints without one, `N` requests a second on average (0: no limit)")
	cmd.Flags().IntVar(&opts.rateBurst, "rate-burst", httpapi.DefaultRateBurst, "let a token or address send up to `N` requests at once before --rate-limit paces it")
	cmd.Flags().BoolVar(&opts.metricsOpen, "metrics-open", false,
		"serve /metrics without a token, for a Prometheus scraper on a private network (default: an admin or supervisor token)")
	cmd.Flags().BoolVar(&opts.secure, "secure-cookies", app.Getenv("SYNCSERVER_SECURE_COOKIES") == "1",
		"mark the console's cookies Secure, for a console served over HTTPS through a proxy that ends TLS (env SYNCSERVER_SECURE_COOKIES=1)")
	cmd.Flags().BoolVar(&opts.match, "match", envOr(app.Getenv, "SYNCSERVER_MATCH", "1") != "0",
		"match residents into persons right behind ingest (env SYNCSERVER_MATCH=0 turns it off); of several servers on one PostgreSQL registry, one or two matching are enough, since matchers take turns")
	return cmd
}
