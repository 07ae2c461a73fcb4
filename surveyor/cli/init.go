package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/surveyor"
)

// InitOptions are the flags of `surveyor init`.
type InitOptions struct {
	Server string
	Code   string
	JSON   bool
}

// NewCmdInit returns `surveyor init`: register this laptop with the server.
func NewCmdInit(f *Factory) *cobra.Command {
	opts := &InitOptions{}
	cmd := &cobra.Command{
		Use:   "init --server URL --code CODE",
		Short: "Register this laptop with the sync server",
		Long: `Register this laptop with the sync server, using the one-time code your
supervisor created with ` + "`syncserver device add`" + `. Needs the network once;
after that, enrolment works offline.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Server == "" || opts.Code == "" {
				return usagef("init needs --server URL and --code CODE")
			}
			return withStore(cmd.Context(), f, func(st *surveyor.Store) error {
				reg, err := f.Syncer(st).Register(cmd.Context(), opts.Server, opts.Code)
				if err != nil {
					return err
				}
				if opts.JSON {
					return writeJSON(f.IO.Out, map[string]string{"device_id": reg.DeviceID, "name": reg.Name, "area": reg.Area, "data": st.Path()})
				}
				fmt.Fprintf(f.IO.Out, "registered as %s (%s)", reg.Name, reg.DeviceID)
				if reg.Area != "" {
					fmt.Fprintf(f.IO.Out, " for area %s", reg.Area)
				}
				fmt.Fprintf(f.IO.Out, "\ndata is kept in %s\n", st.Path())
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&opts.Server, "server", "", "address of the sync server, like https://sync.example.org")
	cmd.Flags().StringVar(&opts.Code, "code", "", "one-time registration code from your supervisor")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the registration as JSON")
	return cmd
}
