package cli

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/surveyor"
)

// ImportOptions are the flags of `surveyor import`.
type ImportOptions struct {
	File string
	JSON bool
}

// NewCmdImport returns `surveyor import FILE.jsonl`.
func NewCmdImport(f *Factory) *cobra.Command {
	opts := &ImportOptions{}
	cmd := &cobra.Command{
		Use:   "import FILE.jsonl",
		Short: "Import households, one JSON object a line",
		Long: `Import households in the import format, one JSON object a line (- reads
standard input). A line that breaks a rule is reported with its number, field
and rule, and skipped; the rest is imported. Safe to stop at any moment and
run again: lines already imported are skipped.`,
		Args: exactArgs(1, "the file to import"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			return withStore(cmd.Context(), f, func(st *surveyor.Store) error {
				return runImport(cmd, f, st, opts)
			})
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	return cmd
}

func runImport(cmd *cobra.Command, f *Factory, st *surveyor.Store, opts *ImportOptions) error {
	rc, err := readInput(f, opts.File)
	if err != nil {
		return err
	}
	defer rc.Close()

	var r io.Reader = rc
	var progress func(int)
	if f.IO.ErrTerminal && !opts.JSON {
		// The bar follows bytes read, so it knows the end in advance.
		size := int64(-1)
		if file, ok := rc.(*os.File); ok {
			if fi, err := file.Stat(); err == nil && fi.Mode().IsRegular() {
				size = fi.Size()
			}
		}
		bar := progressbar.NewOptions64(size, progressbar.OptionSetWriter(f.IO.ErrOut),
			progressbar.OptionSetDescription("importing"), progressbar.OptionShowBytes(true),
			progressbar.OptionClearOnFinish(), progressbar.OptionSetPredictTime(true))
		cr := &countingReader{r: rc}
		r = cr
		progress = func(int) { bar.Set64(cr.n.Load()) }
		defer bar.Finish()
	}
	rep, err := st.Import(cmd.Context(), r, progress)
	if opts.JSON {
		if jerr := writeJSON(f.IO.Out, rep); jerr != nil && err == nil {
			err = jerr
		}
		return err
	}
	w := f.IO.Out
	fmt.Fprintf(w, "imported %s, skipped %d already on this laptop, %s failed\n",
		plural(rep.Imported, "household"), rep.Skipped, plural(rep.Failed, "line"))
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "  %s\n", e)
	}
	if rep.MoreErrors > 0 {
		fmt.Fprintf(w, "  … and %d more (see --json)\n", rep.MoreErrors)
	}
	return err
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
