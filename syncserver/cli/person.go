package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/syncserver/store"
)

// NewCmdPerson builds `syncserver person` and its subcommands.
func NewCmdPerson(app *App) *cobra.Command {
	cmd := groupCommand("person", "Work on persons: the humans behind the residents")
	cmd.AddCommand(newCmdPersonUnmerge(app))
	return cmd
}

type personUnmergeOptions struct {
	by   string
	json bool
}

func newCmdPersonUnmerge(app *App) *cobra.Command {
	opts := &personUnmergeOptions{}
	cmd := &cobra.Command{
		Use:   "unmerge ID",
		Short: "Undo a link: restore a merged person, or take a resident out of its person",
		Long: `Undo a link the matcher or a supervisor made.

ID is a merged person, by its id or its health ID: its merge is undone
and it is active again with exactly the residents it brought. Or ID is a resident that joined its
person by a link: it leaves with a new person of its own.

Either way the residents on the two sides are remembered as different
people, so matching never joins them again on its own.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			by := decider(app, opts.by)
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				res, err := s.Unmerge(cmd.Context(), strings.TrimSpace(a[0]), by)
				if err != nil {
					return err
				}
				if opts.json {
					return printJSON(app.Out, res)
				}
				_, err = fmt.Fprintf(app.Out, "person %s restored with residents %s; person %s keeps the others\n",
					res.Restored, strings.Join(res.Residents, ", "), res.Survivor)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&opts.by, "by", "", "who undid the link, for the record (default $USER)")
	cmd.Flags().BoolVar(&opts.json, "json", false, `print {"survivor","restored","residents"}`)
	return cmd
}
