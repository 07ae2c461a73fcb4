package cli

import (
	"fmt"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
)

// SyncOptions are the flags of `surveyor sync`.
type SyncOptions struct {
	BatchSize int
	JSON      bool
}

// NewCmdSync returns `surveyor sync`.
func NewCmdSync(f *Factory) *cobra.Command {
	opts := &SyncOptions{}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Send waiting records to the server and fetch health IDs",
		Long: `Send every waiting record to the server in batches, retrying while the
network is bad, then fetch what the server learnt (health IDs, card status).
Safe to stop at any moment (Ctrl-C) and run again: nothing is lost or sent twice.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.BatchSize < 1 || opts.BatchSize > schema.MaxRecordsPerBatch {
				return usagef("--batch-size must be between 1 and %d", schema.MaxRecordsPerBatch)
			}
			return withStore(cmd.Context(), f, func(st *surveyor.Store) error {
				so := surveyor.SyncOptions{BatchSize: opts.BatchSize}
				if f.IO.ErrTerminal && !opts.JSON {
					var bar *progressbar.ProgressBar
					so.Progress = func(done, total int) {
						if bar == nil {
							bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(f.IO.ErrOut),
								progressbar.OptionSetDescription("sending"), progressbar.OptionShowCount(),
								progressbar.OptionClearOnFinish())
						}
						bar.ChangeMax(total)
						bar.Set(done)
					}
					defer func() {
						if bar != nil {
							bar.Finish()
						}
					}()
				}
				rep, err := f.Syncer(st).Sync(cmd.Context(), so)
				if opts.JSON {
					if jerr := writeJSON(f.IO.Out, rep); jerr != nil && err == nil {
						err = jerr
					}
					return err
				}
				sent := rep.Accepted + rep.Duplicate + rep.Stale + rep.Rejected
				if sent > 0 || err == nil {
					fmt.Fprintf(f.IO.Out, "sent %s: %d accepted, %d already there, %d stale, %d rejected; %s in %.1fs\n",
						plural(sent, "record"), rep.Accepted, rep.Duplicate, rep.Stale, rep.Rejected, kb(rep.BytesSent), rep.Seconds)
				}
				if err == nil {
					fmt.Fprintf(f.IO.Out, "received %s from the server\n", plural(rep.Changes, "update"))
				}
				if rep.Rejected > 0 {
					fmt.Fprintln(f.IO.Out, "see why with `surveyor list --rejected`, fix with `surveyor edit ID`, then sync again")
				}
				return err
			})
		},
	}
	cmd.Flags().IntVar(&opts.BatchSize, "batch-size", schema.DefaultBatchSize, "records per batch")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	return cmd
}

func kb(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f KB", float64(n)/1024)
}
