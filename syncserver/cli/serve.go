package cli

import (
	"context"
	"log/slog"
	"sync"

	"github.com/spf13/cobra"

	httpapi "github.com/doorstep-health/doorstep/syncserver/http"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

type serveOptions struct {
	addr string
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
			ctx := cmd.Context()
			logger := slog.New(slog.NewTextHandler(app.Err, nil))
			return app.withStore(ctx, func(s *store.Store) error {
				logger.Info("store open", "db", app.dbPath, "keys", s.KeysDir())
				// The matcher stops with the server, before the store closes.
				mctx, stop := context.WithCancel(ctx)
				var wg sync.WaitGroup
				wg.Go(func() { s.RunMatcher(mctx, logger.Info) })
				defer wg.Wait()
				defer stop()
				return httpapi.New(s, logger).ListenAndServe(ctx, opts.addr)
			})
		},
	}
	cmd.Flags().StringVar(&opts.addr, "addr", envOr(app.Getenv, "SYNCSERVER_ADDR", "127.0.0.1:8080"), "listen on `HOST:PORT` (env SYNCSERVER_ADDR)")
	return cmd
}
