package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// importSummary totals an import. Rejections lists each rejected record
// with the line of its batch, so it can be traced back to a laptop.
type importSummary struct {
	Batches    int         `json:"batches"`
	Records    int         `json:"records"`
	Accepted   int         `json:"accepted"`
	Duplicate  int         `json:"duplicate"`
	Stale      int         `json:"stale"`
	Rejected   int         `json:"rejected"`
	Rejections []rejection `json:"rejections"`
	// Matching is what the matcher decided for the residents the file
	// brought, run before import returns.
	Matching store.MatchReport `json:"matching"`
}

type rejection struct {
	Line int `json:"line"`
	schema.RecordResult
}

// maxShownRejections bounds the human listing; --json lists them all.
const maxShownRejections = 20

// NewCmdImport builds `syncserver import`.
func NewCmdImport(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Apply batches exported by 'surveyor export' (JSONL; - for stdin)",
		Long: `Apply a file of batches, one schema.Batch of JSON a line, as 'surveyor
export' writes them from a laptop that cannot reach the server. Each line
is applied exactly as if the laptop had pushed it: its device must be
registered here and not revoked. Importing a file again changes nothing.
Lines are applied one at a time; if one fails, those before it stay
applied and the import can simply be run again.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			in := app.In
			if a[0] != "-" {
				f, err := os.Open(a[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				sum, err := importBatches(cmd, s, in)
				if err != nil {
					return fmt.Errorf("import %s: %w", a[0], err)
				}
				if sum.Matching, err = s.MatchAll(cmd.Context()); err != nil {
					return fmt.Errorf("import %s: records applied, matching will resume at the next import or serve: %w", a[0], err)
				}
				if asJSON {
					return printJSON(app.Out, sum)
				}
				return printImportSummary(app.Out, sum)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"batches","records","accepted","duplicate","stale","rejected","rejections"}`)
	return cmd
}

func importBatches(cmd *cobra.Command, s *store.Store, in io.Reader) (importSummary, error) {
	sum := importSummary{Rejections: []rejection{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 256<<10), schema.MaxBatchBytes+1)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var b schema.Batch
		if err := json.Unmarshal(text, &b); err != nil {
			return sum, fmt.Errorf("line %d is not a JSON batch: %w", line, err)
		}
		res, err := s.ApplyBatch(cmd.Context(), b.DeviceID, b, len(text))
		if err != nil {
			return sum, fmt.Errorf("line %d (lines before it are applied; importing again is safe): %w", line, err)
		}
		sum.Batches++
		sum.Records += len(res.Results)
		acc, dup, stale, rej := res.Counts()
		sum.Accepted, sum.Duplicate, sum.Stale, sum.Rejected = sum.Accepted+acc, sum.Duplicate+dup, sum.Stale+stale, sum.Rejected+rej
		for _, r := range res.Results {
			if r.Status == schema.StatusRejected {
				sum.Rejections = append(sum.Rejections, rejection{Line: line, RecordResult: r})
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return sum, fmt.Errorf("line %d is over %d bytes", line+1, schema.MaxBatchBytes)
		}
		return sum, err
	}
	return sum, nil
}

func printImportSummary(w io.Writer, sum importSummary) error {
	t := newTable(w)
	fmt.Fprintf(t, "batches\t%d\n", sum.Batches)
	fmt.Fprintf(t, "records\t%d\n", sum.Records)
	fmt.Fprintf(t, "accepted\t%d\n", sum.Accepted)
	fmt.Fprintf(t, "duplicate\t%d\n", sum.Duplicate)
	fmt.Fprintf(t, "stale\t%d\n", sum.Stale)
	fmt.Fprintf(t, "rejected\t%d\n", sum.Rejected)
	m := sum.Matching
	fmt.Fprintf(t, "matched\t%d: %d new persons, %d linked, %d to review\n", m.Residents, m.New, m.Linked, m.Review)
	if err := t.Flush(); err != nil {
		return err
	}
	for i, r := range sum.Rejections {
		if i == maxShownRejections {
			fmt.Fprintf(w, "… and %d more rejected (see --json)\n", len(sum.Rejections)-i)
			break
		}
		where := r.Message
		if r.Field != "" {
			where = r.Field + ": " + r.Message
		}
		fmt.Fprintf(w, "line %d: %s %s v%d rejected (%s) %s\n", r.Line, r.Kind, r.ID, r.Version, r.Code, where)
	}
	return nil
}
