package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/match"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// NewCmdReview builds `syncserver review` and its subcommands: the
// supervisor's queue of pairs the matcher was unsure of.
func NewCmdReview(app *App) *cobra.Command {
	cmd := groupCommand("review", "List, show and decide the matcher's review tasks")
	cmd.AddCommand(newCmdReviewList(app), newCmdReviewShow(app), newCmdReviewDecide(app))
	return cmd
}

type reviewListOptions struct {
	status string
	limit  int
	json   bool
}

func newCmdReviewList(app *App) *cobra.Command {
	opts := &reviewListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List review tasks, the most likely matches first",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.limit < 1 || opts.limit > 1000 {
				return usageErrorf("--limit must be from 1 to 1000, not %d", opts.limit)
			}
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				tasks, err := s.ReviewTasks(cmd.Context(), store.ReviewFilter{Status: opts.status, Limit: opts.limit})
				if err != nil {
					return err
				}
				if opts.json {
					return printJSON(app.Out, map[string]any{"tasks": tasks})
				}
				if len(tasks) == 0 {
					_, err := fmt.Fprintf(app.Out, "no %s review tasks\n", opts.status)
					return err
				}
				t := newTable(app.Out)
				fmt.Fprintln(t, "ID\tSTATUS\tPROBABILITY\tWEIGHT\tA\tB\tCREATED")
				for _, task := range tasks {
					fmt.Fprintf(t, "%d\t%s\t%.3f\t%.1f\t%s\t%s\t%s\n", task.ID, task.Status, task.Probability, task.Weight,
						sideSummary(task.A), sideSummary(task.B), task.CreatedAt)
				}
				return t.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&opts.status, "status", "open", "open, same, different or all")
	cmd.Flags().IntVar(&opts.limit, "limit", 100, "at most `N` tasks (up to 1000)")
	cmd.Flags().BoolVar(&opts.json, "json", false, `print {"tasks":[…]}`)
	return cmd
}

// sideSummary is one resident of a task on one line: name, sex, birth,
// locality.
func sideSummary(s store.ReviewSide) string {
	return fmt.Sprintf("%s, %s, %s, %s", s.Resident.Name, dash(s.Resident.Sex), dob(s.Resident), dash(s.Household.Address.Locality))
}

// dob writes a date of birth with how it is known.
func dob(r schema.Resident) string {
	switch {
	case r.DOB == "":
		return "-"
	case r.DOBPrecision == schema.PrecisionEstimated:
		return r.DOB + " (from age)"
	}
	return r.DOB
}

func newCmdReviewShow(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show both residents of a review task side by side, with the evidence",
		Long: `Show both residents of a review task field by field, then how each field
compared: its comparison level, both values and its weight (log2 of the
Bayes factor; positive says same person). The prior and the weights add
up to the total match weight, which gives the match probability.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			id, err := taskID(a[0])
			if err != nil {
				return err
			}
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				task, err := s.ReviewTask(cmd.Context(), id)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(app.Out, task)
				}
				return printReviewTask(app.Out, task)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print the task: {"id","status","probability","weight","a","b","comparison",…}`)
	return cmd
}

func taskID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usageErrorf("review task ID must be a positive whole number, not %q", s)
	}
	return id, nil
}

func printReviewTask(w io.Writer, task store.ReviewTask) error {
	status := task.Status
	if task.DecidedBy != "" {
		status += fmt.Sprintf(" (by %s at %s)", task.DecidedBy, task.DecidedAt)
	}
	fmt.Fprintf(w, "review task %d: %s, created %s\n\n", task.ID, status, task.CreatedAt)

	t := newTable(w)
	fmt.Fprintln(t, "\tA\tB")
	for _, row := range [][3]string{
		{"resident", task.A.Resident.ID, task.B.Resident.ID},
		{"person", dash(task.A.Person), dash(task.B.Person)},
		{"name", task.A.Resident.Name, task.B.Resident.Name},
		{"sex", dash(task.A.Resident.Sex), dash(task.B.Resident.Sex)},
		{"dob", dob(task.A.Resident), dob(task.B.Resident)},
		{"relation", dash(task.A.Resident.Relation), dash(task.B.Resident.Relation)},
		{"relative", relative(task.A.Resident), relative(task.B.Resident)},
		{"phone", dash(task.A.Resident.Phone), dash(task.B.Resident.Phone)},
		{"aadhaar", last4(task.A.Resident.AadhaarLast4), last4(task.B.Resident.AadhaarLast4)},
		{"documents", documents(task.A.Resident.Documents), documents(task.B.Resident.Documents)},
		{"address", dash(task.A.Household.Address.OneLine()), dash(task.B.Household.Address.OneLine())},
		{"household", dash(task.A.Household.ID), dash(task.B.Household.ID)},
		{"area", dash(task.A.Household.Area), dash(task.B.Household.Area)},
		{"visited", dash(task.A.Household.VisitedAt), dash(task.B.Household.VisitedAt)},
		{"device", dash(task.A.Device), dash(task.B.Device)},
	} {
		fmt.Fprintf(t, "%s\t%s\t%s\n", row[0], row[1], row[2])
	}
	if err := t.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if task.Comparison == nil {
		_, err := fmt.Fprintln(w, "no evidence recorded: the pair was set apart by an unmerge")
		return err
	}
	return printEvidence(w, task.Comparison)
}

// printEvidence writes a comparison as the supervisor reads it: one line
// per field, then the sum.
func printEvidence(w io.Writer, c *match.Comparison) error {
	t := newTable(w)
	fmt.Fprintln(t, "FIELD\tLEVEL\tA\tB\tWEIGHT")
	for _, e := range c.Evidence {
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%+.1f\n", e.Field, e.Level, dash(e.A), dash(e.B), e.Weight)
	}
	fmt.Fprintf(t, "prior\t\t\t\t%+.1f\n", c.Prior)
	fmt.Fprintf(t, "total\t\t\t\t%+.1f\n", c.Weight)
	fmt.Fprintf(t, "probability\t\t\t\t%.3f\n", c.Probability)
	if len(c.Blocks) > 0 {
		fmt.Fprintf(t, "never linked automatically\t%s\n", strings.Join(c.Blocks, ", "))
	}
	return t.Flush()
}

func relative(r schema.Resident) string {
	var parts []string
	if r.FatherName != "" {
		parts = append(parts, "father "+r.FatherName)
	}
	if r.SpouseName != "" {
		parts = append(parts, "spouse "+r.SpouseName)
	}
	return dash(strings.Join(parts, "; "))
}

func last4(s string) string {
	if s == "" {
		return "-"
	}
	return "XXXX XXXX " + s
}

func documents(ds []schema.Document) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, d.Type+" "+d.Number)
	}
	return dash(strings.Join(parts, "; "))
}

type reviewDecideOptions struct {
	by   string
	json bool
}

func newCmdReviewDecide(app *App) *cobra.Command {
	opts := &reviewDecideOptions{}
	cmd := &cobra.Command{
		Use:   "decide ID same|different",
		Short: "Decide whether a review task's two residents are one person",
		Long: `Decide a review task. "same" merges the two residents' persons (the
registered one survives; 'syncserver person unmerge' undoes it);
"different" keeps them apart. Either way the pair is never asked about
again, whatever the laptops send later.`,
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			id, err := taskID(a[0])
			if err != nil {
				return err
			}
			if a[1] != store.DecisionSame && a[1] != store.DecisionDifferent {
				return usageErrorf("decision must be same or different, not %q", a[1])
			}
			by := decider(app, opts.by)
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				task, err := s.DecideReview(cmd.Context(), id, a[1], by)
				if err != nil {
					return err
				}
				if opts.json {
					return printJSON(app.Out, task)
				}
				switch a[1] {
				case store.DecisionSame:
					_, err = fmt.Fprintf(app.Out, "review task %d: same person; %s and %s are now person %s\n",
						task.ID, task.A.Resident.ID, task.B.Resident.ID, task.B.Person)
				default:
					_, err = fmt.Fprintf(app.Out, "review task %d: different people; %s and %s stay apart\n",
						task.ID, task.A.Resident.ID, task.B.Resident.ID)
				}
				return err
			})
		},
	}
	cmd.Flags().StringVar(&opts.by, "by", "", "who decided, for the record (default $USER)")
	cmd.Flags().BoolVar(&opts.json, "json", false, `print the decided task`)
	return cmd
}

// decider is who an offline decision is recorded as: --by, or the user
// running the command.
func decider(app *App, by string) string {
	if by = strings.TrimSpace(by); by != "" {
		return by
	}
	return envOr(app.Getenv, "USER", "syncserver")
}
