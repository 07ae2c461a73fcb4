package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
)

// ExportOptions are the flags of `surveyor export`.
type ExportOptions struct {
	Out  string
	All  bool
	JSON bool
}

// NewCmdExport returns `surveyor export --out FILE`.
func NewCmdExport(f *Factory) *cobra.Command {
	opts := &ExportOptions{}
	cmd := &cobra.Command{
		Use:   "export --out FILE [--all]",
		Short: "Write waiting records to a file for `syncserver import`, where there is no network",
		Long: `Write the waiting records as the same batches a sync would send, one JSON
batch a line, for the server's ` + "`syncserver import FILE`" + `. The records stay
waiting until a network sync is acknowledged; sending them twice is harmless.
--all writes every record, not only the waiting ones.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Out == "" {
				return usagef("export needs --out FILE")
			}
			return withStore(cmd.Context(), f, func(st *surveyor.Store) error {
				rep, err := exportFile(cmd, st, opts)
				if err != nil {
					return err
				}
				if opts.JSON {
					return writeJSON(f.IO.Out, struct {
						surveyor.ExportReport
						File string `json:"file"`
					}{rep, opts.Out})
				}
				fmt.Fprintf(f.IO.Out, "wrote %s in %s to %s\n", plural(rep.Records, "record"), plural(rep.Batches, "batch"), opts.Out)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", "", "file to write")
	cmd.Flags().BoolVar(&opts.All, "all", false, "write every record, not only those waiting")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the summary as JSON")
	return cmd
}

// exportFile writes through a temporary file renamed into place, so a
// half-written export never sits under the name that will be carried away.
func exportFile(cmd *cobra.Command, st *surveyor.Store, opts *ExportOptions) (surveyor.ExportReport, error) {
	tmp, err := os.CreateTemp(filepath.Dir(opts.Out), ".export-*")
	if err != nil {
		return surveyor.ExportReport{}, fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	rep, err := st.Export(cmd.Context(), tmp, opts.All, schema.DefaultBatchSize)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), opts.Out)
	}
	if err != nil {
		return rep, fmt.Errorf("export: %w", err)
	}
	return rep, nil
}
