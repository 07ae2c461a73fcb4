package cli

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
)

// EditOptions are the flags of `surveyor edit`.
type EditOptions struct {
	ID       string
	JSONFile string
}

// NewCmdEdit returns `surveyor edit ID`: change a stored household, for
// example to answer the server's rejection.
func NewCmdEdit(f *Factory) *cobra.Command {
	opts := &EditOptions{}
	cmd := &cobra.Command{
		Use:   "edit ID [--json FILE|-]",
		Short: "Change a household (or the household of a member id)",
		Long: `Change a stored household. Asks each field again with the current value in
brackets: Enter keeps it, - clears an optional one. With --json, replaces the
household by the one in FILE (members matched by id; a member left out is
removed). Every changed record gets a new version and is sent at the next
sync; a record the server rejected is sent again.`,
		Args: exactArgs(1, "the id of a household or member"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			return withStore(cmd.Context(), f, func(st *surveyor.Store) error {
				return runEdit(cmd.Context(), f, st, opts)
			})
		},
	}
	cmd.Flags().StringVar(&opts.JSONFile, "json", "", "replace the household by the one in `FILE` (- for standard input)")
	return cmd
}

func runEdit(ctx context.Context, f *Factory, st *surveyor.Store, opts *EditOptions) error {
	v, err := st.Household(ctx, opts.ID)
	if err != nil {
		return err
	}
	var h *schema.Household
	if opts.JSONFile != "" {
		if h, err = decodeHousehold(f, opts.JSONFile); err != nil {
			return err
		}
		if h.ID == "" {
			h.ID = v.ID
		}
		if h.ID != v.ID {
			return &schema.Error{Code: schema.EINVALID, Field: "id", Rule: "same_id",
				Message: fmt.Sprintf("is %s but you are editing household %s", h.ID, v.ID)}
		}
	} else {
		reg, err := st.Registration(ctx)
		if err != nil {
			return err
		}
		if h, err = editInteractive(ctx, f, v, reg.Area); err != nil {
			return err
		}
	}
	n, err := st.UpdateHousehold(ctx, h)
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintf(f.IO.ErrOut, "nothing changed in household %s\n", h.ID)
	} else {
		fmt.Fprintf(f.IO.ErrOut, "saved household %s: %s to send at the next sync\n", h.ID, plural(n, "changed record"))
	}
	fmt.Fprintln(f.IO.Out, h.ID)
	return nil
}

func editInteractive(ctx context.Context, f *Factory, v *surveyor.HouseholdView, area string) (*schema.Household, error) {
	fm := newForm(ctx, f.IO, time.Now(), true)
	h := v.Schema()
	fmt.Fprintf(fm.out, "editing household %s (Enter keeps the value in brackets; Ctrl-C stops without saving)\n", h.ID)
	if v.Rejection != nil {
		fmt.Fprintf(fm.out, "the server rejected it: %s\n", describe(&schema.Error{Field: v.Rejection.Field, Message: v.Rejection.Message, Rule: v.Rejection.Code}))
	}
	if err := fm.householdQuestions(h, area); err != nil {
		return nil, err
	}
	rejected := map[string]*surveyor.Rejection{}
	for _, m := range v.Members {
		rejected[m.ID] = m.Rejection
	}
	for i := 0; i < len(h.Members); i++ {
		m := h.Members[i]
		if r := rejected[m.ID]; r != nil {
			fmt.Fprintf(fm.out, "the server rejected member %d: %s\n", i+1, describe(&schema.Error{Field: r.Field, Message: r.Message, Rule: r.Code}))
		}
		for {
			a, err := fm.readLine(fmt.Sprintf("member %d: %s (%s): k to keep, e to edit, r to remove [k]: ", i+1, m.Name, m.Relation))
			if err != nil {
				return nil, err
			}
			switch a {
			case "", "k":
			case "e":
				err = fm.memberQuestions(h, i)
			case "r":
				h.Members = slices.Delete(h.Members, i, i+1)
				i--
			default:
				fmt.Fprintln(fm.out, "  ! answer k, e or r")
				continue
			}
			if err != nil {
				return nil, err
			}
			break
		}
	}
	if h.Outcome == schema.OutcomeEnrolled {
		fm.edit = false
		if err := fm.addMembers(h); err != nil {
			return nil, err
		}
		fm.edit = true
	}
	if err := fm.fix(h, area); err != nil {
		return nil, err
	}
	return h, nil
}
