package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/surveyor"
)

// ShowOptions are the flags of `surveyor show`.
type ShowOptions struct {
	ID   string
	JSON bool
}

// NewCmdShow returns `surveyor show ID`.
func NewCmdShow(f *Factory) *cobra.Command {
	opts := &ShowOptions{}
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a household (or the household of a member id) with each member's status",
		Args:  exactArgs(1, "the id of a household or member"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			return withStore(cmd.Context(), f, func(st *surveyor.Store) error {
				v, err := st.Household(cmd.Context(), opts.ID)
				if err != nil {
					return err
				}
				if opts.JSON {
					return writeJSON(f.IO.Out, v)
				}
				return printHousehold(f, v)
			})
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON (the import format plus status fields)")
	return cmd
}

func printHousehold(f *Factory, v *surveyor.HouseholdView) error {
	w := f.IO.Out
	a := v.Address
	fmt.Fprintf(w, "household %s  (area %s, version %d, %s)\n", v.ID, v.Area, v.Version, v.SyncStatus)
	if v.Rejection != nil {
		fmt.Fprintf(w, "  rejected: %s\n", rejectionText(*v.Rejection))
	}
	fmt.Fprintf(w, "  address:  %s\n", a.OneLine())
	consent := "no consent"
	if v.Consent.Given {
		consent = "consent given " + localTime(v.Consent.At)
	}
	fmt.Fprintf(w, "  visited:  %s, %s, %s\n", localTime(v.VisitedAt), v.Outcome, consent)
	if len(v.Members) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var notes []string
	fmt.Fprintln(tw, "#\tNAME\tSEX\tBORN\tRELATION\tPHONE\tAADHAAR\tSYNC\tHEALTH ID\tCARD")
	for i, m := range v.Members {
		born := m.DOB
		if m.DOBPrecision == "estimated" {
			born += " (est.)"
		}
		aadhaar := "-"
		if m.AadhaarLast4 != "" {
			aadhaar = "****" + m.AadhaarLast4
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, m.Name, m.Sex, born, m.Relation,
			orDefault(m.Phone, "-"), aadhaar, m.SyncStatus, orDefault(m.HealthID, "-"), orDefault(m.CardStatus, "-"))
		if m.Rejection != nil {
			notes = append(notes, fmt.Sprintf("member %d rejected: %s", i+1, rejectionText(*m.Rejection)))
		}
		if m.ServerNote != "" {
			notes = append(notes, fmt.Sprintf("member %d: %s", i+1, m.ServerNote))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
	}
	for _, n := range notes {
		fmt.Fprintln(w, "  "+n)
	}
	return nil
}
