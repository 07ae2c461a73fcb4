package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/surveyor"
)

// ListOptions are the flags of `surveyor list`.
type ListOptions struct {
	Pending  bool
	Rejected bool
	JSON     bool
}

// NewCmdList returns `surveyor list`.
func NewCmdList(f *Factory) *cobra.Command {
	opts := &ListOptions{}
	cmd := &cobra.Command{
		Use:   "list [--pending|--rejected]",
		Short: "List households, with what the server rejected and why",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Pending && opts.Rejected {
				return usagef("--pending and --rejected cannot be used together")
			}
			return withStore(cmd.Context(), f, func(st *surveyor.Store) error {
				list, err := st.List(cmd.Context(), surveyor.ListFilter{Pending: opts.Pending, Rejected: opts.Rejected})
				if err != nil {
					return err
				}
				if opts.JSON {
					return writeJSON(f.IO.Out, list)
				}
				if len(list) == 0 {
					fmt.Fprintln(f.IO.ErrOut, "no households")
					return nil
				}
				tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tAREA\tHEAD\tMEMBERS\tSTATUS\tADDRESS")
				var reasons []string
				for _, h := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", h.ID, h.Area, orDefault(h.Head, "-"), h.Members, h.Status, h.Address)
					for _, r := range h.Rejections {
						reasons = append(reasons, h.ID+"  "+rejectionText(r))
					}
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if len(reasons) > 0 {
					fmt.Fprintln(f.IO.Out, "\nrejected by the server (fix with `surveyor edit ID`):")
					for _, r := range reasons {
						fmt.Fprintln(f.IO.Out, "  "+r)
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&opts.Pending, "pending", false, "only households with records not yet sent")
	cmd.Flags().BoolVar(&opts.Rejected, "rejected", false, "only households with records the server rejected")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

// rejectionText is the server's reason as a line: field, message, code.
func rejectionText(r surveyor.Rejection) string {
	s := r.Message
	if r.Field != "" {
		s = r.Field + " " + s
	}
	return s + " (" + r.Code + ")"
}
