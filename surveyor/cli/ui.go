package cli

import (
	"errors"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
	"github.com/doorstep-health/doorstep/surveyor/ui"
)

// UIOptions are the flags of `surveyor ui`.
type UIOptions struct {
	Addr string
}

// NewCmdUI returns `surveyor ui`: the survey form in this laptop's browser.
func NewCmdUI(f *Factory) *cobra.Command {
	opts := &UIOptions{}
	cmd := &cobra.Command{
		Use:   "ui [--addr 127.0.0.1:0]",
		Short: "Open the survey form in this laptop's browser",
		Long: `Serve the survey form on this laptop only (127.0.0.1), over the same
store, rules and sync as the other commands, and print its address. The
address holds a key made for this run: only a browser that opened it gets
in. Works with no network; "Sync now" sends when there is one. Runs until
Ctrl-C.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var bad *schema.Error
			if err := ui.CheckAddr(opts.Addr); errors.As(err, &bad) {
				return usagef("--addr %s", bad.Message)
			}
			return withStore(cmd.Context(), f, func(st *surveyor.Store) error {
				// The form saves households: a laptop that cannot should
				// say so before a worker types one.
				if _, err := st.Registration(cmd.Context()); err != nil {
					return err
				}
				ln, err := net.Listen("tcp", opts.Addr)
				if err != nil {
					return fmt.Errorf("listen on %s: %w", opts.Addr, err)
				}
				srv := ui.New(st, f.Syncer(st), ui.Options{Logger: f.Logger()})
				fmt.Fprintln(f.IO.Out, srv.URL(ln.Addr()))
				fmt.Fprintln(f.IO.ErrOut, "open the address above in the browser on this laptop; it works only here and only for this run. Ctrl-C stops the form.")
				return srv.Serve(cmd.Context(), ln)
			})
		},
	}
	cmd.Flags().StringVar(&opts.Addr, "addr", "127.0.0.1:0", "address to listen on, on this laptop only (port 0: a free one)")
	return cmd
}
