package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/syncserver/store"
)

// NewCmdStats builds `syncserver stats`.
func NewCmdStats(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Count households, residents, devices and batches",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				st, err := s.Stats(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(app.Out, st)
				}
				t := newTable(app.Out)
				fmt.Fprintf(t, "households\t%d\n", st.Households)
				fmt.Fprintf(t, "residents\t%d\n", st.Residents)
				fmt.Fprintf(t, "persons\t%d\n", st.Persons)
				fmt.Fprintf(t, "review open\t%d\n", st.ReviewOpen)
				fmt.Fprintf(t, "cards\tqueued %d, printed %d, dispatched %d, delivered %d, revoked %d\n",
					st.Cards.Queued, st.Cards.Printed, st.Cards.Dispatched, st.Cards.Delivered, st.Cards.Revoked)
				fmt.Fprintf(t, "devices\t%d\n", st.Devices)
				fmt.Fprintf(t, "batches\t%d\n", st.Batches)
				fmt.Fprintf(t, "records\taccepted %d, duplicate %d, stale %d, rejected %d\n",
					st.Records.Accepted, st.Records.Duplicate, st.Records.Stale, st.Records.Rejected)
				return t.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"households","residents","persons","review_open","cards":{…},…}`)
	return cmd
}
