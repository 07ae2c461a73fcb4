package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/surveyor"
)

// StatusOptions are the flags of `surveyor status`.
type StatusOptions struct {
	JSON bool
}

// NewCmdStatus returns `surveyor status`: what this laptop holds and how
// much of it the server has.
func NewCmdStatus(f *Factory) *cobra.Command {
	opts := &StatusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show how many households are stored, waiting, sent and rejected",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd.Context(), f, func(st *surveyor.Store) error {
				s, err := st.Status(cmd.Context())
				if err != nil {
					return err
				}
				if opts.JSON {
					return writeJSON(f.IO.Out, s)
				}
				w := f.IO.Out
				fmt.Fprintf(w, "households:  %d (%d members)\n", s.Households, s.Residents)
				fmt.Fprintf(w, "waiting:     %d records to send\n", s.Pending)
				fmt.Fprintf(w, "sent:        %d records\n", s.Synced)
				fmt.Fprintf(w, "rejected:    %d records", s.Rejected)
				if s.Rejected > 0 {
					fmt.Fprint(w, " (see `surveyor list --rejected`)")
				}
				fmt.Fprintln(w)
				last := "never"
				if s.LastSync != nil {
					last = localTime(*s.LastSync)
				}
				fmt.Fprintf(w, "last sync:   %s\n", last)
				if s.Server == "" {
					fmt.Fprintln(w, "server:      not registered (run `surveyor init`)")
				} else {
					fmt.Fprintf(w, "server:      %s (device %s)\n", s.Server, s.DeviceID)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}
