package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/syncserver/match"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// NewCmdMatch builds `syncserver match` and its subcommands.
func NewCmdMatch(app *App) *cobra.Command {
	cmd := groupCommand("match", "Train and evaluate the matching model")
	cmd.AddCommand(newCmdMatchTrain(app), newCmdMatchEval(app))
	return cmd
}

type matchTrainOptions struct {
	seed        uint64
	randomPairs int
	json        bool
}

func newCmdMatchTrain(app *App) *cobra.Command {
	opts := &matchTrainOptions{}
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Estimate the model's m and u probabilities from the registry by EM",
		Long: `Estimate the matching model from the residents on this server, as Splink
does: u from random pairs of residents, m by expectation maximisation over
the pairs blocking finds, starting from the model in use. The new model is
stored and used for every resident matched from now on; residents already
matched keep their persons.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				res, err := s.TrainModel(cmd.Context(), match.TrainOptions{Seed: opts.seed, RandomPairs: opts.randomPairs})
				if err != nil {
					return err
				}
				if opts.json {
					return printJSON(app.Out, res)
				}
				return printTrainResult(app.Out, res)
			})
		},
	}
	cmd.Flags().Uint64Var(&opts.seed, "seed", 1, "seed for the random pairs")
	cmd.Flags().IntVar(&opts.randomPairs, "random-pairs", 0, "random pairs sampled for u (default 200,000)")
	cmd.Flags().BoolVar(&opts.json, "json", false, `print {"id","model","report"}`)
	return cmd
}

func printTrainResult(w io.Writer, res store.TrainResult) error {
	rep := res.Report
	t := newTable(w)
	fmt.Fprintf(t, "model\t%d (in use from now on)\n", res.ID)
	fmt.Fprintf(t, "records\t%d\n", rep.Records)
	fmt.Fprintf(t, "random pairs\t%d\n", rep.RandomPairs)
	fmt.Fprintf(t, "expected matches\t%.1f\n", rep.Matches)
	fmt.Fprintf(t, "duplicate rate\t%.4f\n", res.Model.DuplicateRate)
	if err := t.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t = newTable(w)
	fmt.Fprintln(t, "SESSION\tPAIRS\tITERATIONS\tLAMBDA\tMATCHES")
	for _, s := range rep.Sessions {
		fmt.Fprintf(t, "%s\t%d\t%d\t%.4f\t%.1f\n", s.Key, s.Pairs, s.Iterations, s.Lambda, s.Matches)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t = newTable(w)
	fmt.Fprintln(t, "FIELD\tLEVEL\tM\tU\tWEIGHT\tSOURCE")
	for _, f := range res.Model.Fields {
		for _, l := range f.Levels {
			fmt.Fprintf(t, "%s\t%s\t%.4g\t%.4g\t%+.1f\t%s\n", f.Field, l.Level, l.M, l.U, math.Log2(l.M/l.U), dash(l.Source))
		}
	}
	return t.Flush()
}

type matchEvalOptions struct {
	in   string
	json bool
}

// evalResult is `match eval --json`: the keys DESIGN.md §11 fixes
// (records, true_pairs, precision, recall, f1, review_tasks,
// records_per_second), a few more from match.Metrics, and which model
// was used.
type evalResult struct {
	match.Metrics
	Model string `json:"model"` // "default", or "trained" when the database has a trained model
}

func newCmdMatchEval(app *App) *cobra.Command {
	opts := &matchEvalOptions{}
	cmd := &cobra.Command{
		Use:   "eval --in FILE.jsonl",
		Short: "Measure matching on labelled households: precision, recall, F1",
		Long: `Run matching from an empty registry over households in the import format
(JSONL, one a line, as surveygen writes them) whose members carry a
"cluster" field, the ground truth: members of one cluster are one human.
Print pairwise precision, recall and F1 of the automatic links, the
number of review tasks matching would create, and records per second.

Records may lack fields (sex, phone, relatives): a missing field is
missing evidence, never disagreement. The model is the one the database
(--db) uses if the file exists, trained or default; otherwise the
documented defaults. The database is only read.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd.Flags(), "in"); err != nil {
				return err
			}
			data, err := match.LoadLabelledFile(opts.in, time.Now())
			if err != nil {
				return err
			}
			model, source, err := app.evalModel(cmd)
			if err != nil {
				return err
			}
			res := evalResult{Metrics: match.Evaluate(data, model, match.MatcherOptions{}), Model: source}
			if opts.json {
				return printJSON(app.Out, res)
			}
			m := res.Metrics
			t := newTable(app.Out)
			fmt.Fprintf(t, "records\t%d\n", m.Records)
			fmt.Fprintf(t, "persons\t%d\n", m.Persons)
			fmt.Fprintf(t, "true pairs\t%d\n", m.TruePairs)
			fmt.Fprintf(t, "linked pairs\t%d (%d correct)\n", m.LinkedPairs, m.CorrectPairs)
			fmt.Fprintf(t, "precision\t%.4f\n", m.Precision)
			fmt.Fprintf(t, "recall\t%.4f\n", m.Recall)
			fmt.Fprintf(t, "f1\t%.4f\n", m.F1)
			fmt.Fprintf(t, "review tasks\t%d (%d of them the same person)\n", m.ReviewTasks, m.ReviewTrue)
			fmt.Fprintf(t, "records/second\t%.0f\n", m.RecordsPerSecond)
			fmt.Fprintf(t, "model\t%s\n", res.Model)
			return t.Flush()
		},
	}
	cmd.Flags().StringVar(&opts.in, "in", "", "labelled households, JSONL (`FILE`)")
	cmd.Flags().BoolVar(&opts.json, "json", false, `print {"records","true_pairs","precision","recall","f1","review_tasks","records_per_second",…}`)
	return cmd
}

// evalModel is the model eval uses: the database's when it exists, so a
// trained model can be judged, else the defaults. A missing database is
// not created.
func (app *App) evalModel(cmd *cobra.Command) (*match.Model, string, error) {
	if !app.dbExists() {
		return match.DefaultModel(), "default", nil
	}
	var m *match.Model
	err := app.withStore(cmd.Context(), func(s *store.Store) error {
		m = s.Model()
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	a, _ := json.Marshal(m)
	b, _ := json.Marshal(match.DefaultModel())
	if bytes.Equal(a, b) {
		return m, "default", nil
	}
	return m, "trained", nil
}
