package cli

import (
	"github.com/spf13/cobra"
)

// NewCmdHousehold returns `surveyor household`, the group of commands that
// enrol one household.
func NewCmdHousehold(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "household",
		Short: "Enrol a household",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(NewCmdHouseholdAdd(f))
	return cmd
}
