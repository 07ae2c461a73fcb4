package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
)

// HouseholdAddOptions are the flags of `surveyor household add`.
type HouseholdAddOptions struct {
	JSONFile string // one household in the import format; "-" for standard input
}

// NewCmdHouseholdAdd returns `surveyor household add`: enrol one household,
// by prompts or from a JSON file.
func NewCmdHouseholdAdd(f *Factory) *cobra.Command {
	opts := &HouseholdAddOptions{}
	cmd := &cobra.Command{
		Use:   "add [--json FILE|-]",
		Short: "Enrol one household, asking field by field",
		Long: `Enrol one household. Without --json, asks for each field and checks each
answer at once; a wrong answer shows the rule and asks again. Prints the new
household's id on standard output once it is safely saved.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd.Context(), f, func(st *surveyor.Store) error {
				if opts.JSONFile != "" {
					return addFromJSON(cmd.Context(), f, st, opts.JSONFile)
				}
				return addInteractive(cmd.Context(), f, st)
			})
		},
	}
	cmd.Flags().StringVar(&opts.JSONFile, "json", "", "read one household in the import format from `FILE` (- for standard input)")
	return cmd
}

func addFromJSON(ctx context.Context, f *Factory, st *surveyor.Store, name string) error {
	if _, err := st.Registration(ctx); err != nil {
		return err
	}
	h, err := decodeHousehold(f, name)
	if err != nil {
		return err
	}
	if err := st.SaveHousehold(ctx, h); err != nil {
		return err
	}
	fmt.Fprintln(f.IO.Out, h.ID)
	return nil
}

// decodeHousehold reads exactly one household as JSON.
func decodeHousehold(f *Factory, name string) (*schema.Household, error) {
	rc, err := readInput(f, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	var h schema.Household
	if err := dec.Decode(&h); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, &schema.Error{Code: schema.EINVALID, Field: te.Field, Rule: "json_type", Message: fmt.Sprintf("must not be a JSON %s", te.Value)}
		}
		return nil, &schema.Error{Code: schema.EMALFORMED, Message: fmt.Sprintf("%s is not one household as JSON: %v", name, err)}
	}
	if dec.More() {
		return nil, &schema.Error{Code: schema.EMALFORMED, Message: fmt.Sprintf("%s holds more than one household; use `surveyor import` for many", name)}
	}
	return &h, nil
}

func addInteractive(ctx context.Context, f *Factory, st *surveyor.Store) error {
	// Check registration first: a worker should not type a whole household
	// that cannot be saved.
	reg, err := st.Registration(ctx)
	if err != nil {
		return err
	}
	fm := newForm(ctx, f.IO, time.Now(), false)
	fmt.Fprintln(fm.out, "new household (Ctrl-C to stop without saving)")
	h := &schema.Household{}
	if err := fm.householdQuestions(h, reg.Area); err != nil {
		return err
	}
	if h.Outcome == schema.OutcomeEnrolled {
		if err := fm.addMembers(h); err != nil {
			return err
		}
	}
	if err := fm.fix(h, reg.Area); err != nil {
		return err
	}
	if err := st.SaveHousehold(ctx, h); err != nil {
		return err
	}
	fmt.Fprintf(fm.out, "saved household with %s; it goes to the server at the next sync\n", plural(len(h.Members), "member"))
	fmt.Fprintln(f.IO.Out, h.ID)
	return nil
}
