package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/syncserver/store"
)

// NewCmdDevice builds `syncserver device` and its subcommands.
func NewCmdDevice(app *App) *cobra.Command {
	cmd := groupCommand("device", "Add, list and revoke survey laptops")
	cmd.AddCommand(newCmdDeviceAdd(app), newCmdDeviceRevoke(app), newCmdDeviceList(app))
	return cmd
}

type deviceAddOptions struct {
	name, area string
	json       bool
}

func newCmdDeviceAdd(app *App) *cobra.Command {
	opts := &deviceAddOptions{}
	cmd := &cobra.Command{
		Use:   "add --name NAME [--area AREA]",
		Short: "Add a laptop and print its one-time registration code",
		Long: `Add a laptop and print a one-time code for 'surveyor init --code'.
The code works once, within 7 days, and is not stored: note it now.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd.Flags(), "name"); err != nil {
				return err
			}
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				id, code, err := s.AddDevice(cmd.Context(), opts.name, opts.area)
				if err != nil {
					return err
				}
				if opts.json {
					return printJSON(app.Out, struct {
						DeviceID string `json:"device_id"`
						Code     string `json:"code"`
					}{id, code})
				}
				t := newTable(app.Out)
				fmt.Fprintf(t, "device\t%s\n", id)
				fmt.Fprintf(t, "code\t%s\t(works once, until %s)\n", code,
					time.Now().Add(store.CodeValidity).UTC().Format("2006-01-02 15:04 UTC"))
				if err := t.Flush(); err != nil {
					return err
				}
				_, err = fmt.Fprintf(app.Out, "On the laptop: surveyor init --server URL --code %s\n", code)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&opts.name, "name", "", "the laptop's name, e.g. its team")
	cmd.Flags().StringVar(&opts.area, "area", "", "survey area code, e.g. DL-NW-W05")
	cmd.Flags().BoolVar(&opts.json, "json", false, `print {"device_id","code"}`)
	return cmd
}

func newCmdDeviceRevoke(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Stop a laptop from syncing",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				if err := s.RevokeDevice(cmd.Context(), a[0]); err != nil {
					return err
				}
				_, err := fmt.Fprintf(app.Out, "revoked device %s\n", a[0])
				return err
			})
		},
	}
}

func newCmdDeviceList(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List laptops",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				devices, err := s.ListDevices(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(app.Out, map[string]any{"devices": devices})
				}
				t := newTable(app.Out)
				fmt.Fprintln(t, "ID\tNAME\tAREA\tSTATUS\tLAST SYNC")
				for _, d := range devices {
					fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\n", d.ID, d.Name, dash(d.Area), d.Status, when(d.LastSyncAt))
				}
				return t.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"devices":[…]}`)
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}
