// Package cli is the `surveyor` command line: one cobra command per file,
// each a thin layer that reads flags or prompts, calls the store or the
// syncer, and prints text or --json.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
)

// IOStreams are the command's standard streams, injected so tests can
// script input and read output.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// ErrTerminal says ErrOut is a terminal: progress bars draw only there.
	ErrTerminal bool
	// InTerminal says In is a terminal, which echoes the worker's Enter;
	// otherwise prompts end their own lines so a transcript stays readable.
	InTerminal bool
}

// Factory carries what commands need from outside: streams, environment,
// network settings. main fills it from the process; tests fill it with
// buffers, a fake server's client and tiny backoffs.
type Factory struct {
	IO         IOStreams
	Getenv     func(string) string
	HTTPClient *http.Client         // nil: the syncer's default
	Retry      surveyor.RetryPolicy // zero: surveyor.DefaultRetryPolicy()

	dataDir string
	verbose bool
}

// OpenStore opens the store in the --data directory.
func (f *Factory) OpenStore(ctx context.Context) (*surveyor.Store, error) {
	return surveyor.Open(ctx, f.dataDir)
}

// Syncer returns a syncer over st with the factory's network settings.
func (f *Factory) Syncer(st *surveyor.Store) *surveyor.Syncer {
	s := surveyor.NewSyncer(st)
	s.HTTPClient = f.HTTPClient
	if f.Retry != (surveyor.RetryPolicy{}) {
		s.Retry = f.Retry
	}
	s.Logger = f.Logger()
	return s
}

// Logger writes warnings (and with --verbose, details) to standard error.
func (f *Factory) Logger() *slog.Logger {
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	// No timestamps: these lines are read by a person watching the screen.
	return slog.New(slog.NewTextHandler(f.IO.ErrOut, &slog.HandlerOptions{Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
}

// DefaultDataDir is $SURVEYOR_DATA, else the user's data directory
// ($XDG_DATA_HOME or ~/.local/share) plus doorstep-surveyor.
func DefaultDataDir(getenv func(string) string) string {
	if d := getenv("SURVEYOR_DATA"); d != "" {
		return d
	}
	base := getenv("XDG_DATA_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			if h, err := os.UserHomeDir(); err == nil {
				home = h
			}
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "doorstep-surveyor")
}

// NewCmdRoot returns the `surveyor` command with every subcommand.
func NewCmdRoot(f *Factory) *cobra.Command {
	if f.Getenv == nil {
		f.Getenv = os.Getenv
	}
	cmd := &cobra.Command{
		Use:   "surveyor",
		Short: "Enrol households door to door, offline, and sync them to the server",
		Long: `surveyor keeps the households you enrol on this laptop, safe even if the
power goes, and sends them to the sync server when there is a network.

Start with: surveyor init --server URL --code CODE`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
	}
	cmd.SetIn(f.IO.In)
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	cmd.PersistentFlags().StringVar(&f.dataDir, "data", DefaultDataDir(f.Getenv), "directory of this laptop's data (env SURVEYOR_DATA)")
	cmd.PersistentFlags().BoolVar(&f.verbose, "verbose", false, "log details to standard error")

	cmd.AddCommand(
		NewCmdInit(f),
		NewCmdHousehold(f),
		NewCmdImport(f),
		NewCmdList(f),
		NewCmdShow(f),
		NewCmdEdit(f),
		NewCmdStatus(f),
		NewCmdSync(f),
		NewCmdExport(f),
		NewCmdUI(f),
	)
	return cmd
}

// Run executes the command line and returns the process exit code: 0, 1
// on error (printed as "error: ..."), 2 on a usage mistake.
func Run(ctx context.Context, f *Factory, args []string) int {
	cmd := NewCmdRoot(f)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	printError(f.IO.ErrOut, err)
	if isUsage(err) {
		fmt.Fprintln(f.IO.ErrOut, "run `surveyor --help` for usage")
		return 2
	}
	return 1
}

// usageError marks a mistake in the command line itself.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func isUsage(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	// cobra's own words for a command line it cannot parse.
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "required flag") ||
		strings.HasPrefix(msg, "unknown flag") || strings.HasPrefix(msg, "unknown shorthand flag")
}

// exactArgs is cobra.ExactArgs with our usage error and words a survey
// worker can act on.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s needs %s (got %d arguments)", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))
	}
	return nil
}

// printError prints err for a person: every broken rule on its own line,
// with its field path.
func printError(w io.Writer, err error) {
	var ve schema.ValidationErrors
	if errors.As(err, &ve) {
		fmt.Fprintf(w, "error: the household was not saved; fix %s:\n", plural(len(ve), "rule"))
		for _, e := range ve {
			fmt.Fprintf(w, "  %s\n", describe(e))
		}
		return
	}
	fmt.Fprintf(w, "error: %v\n", err)
}

// describe writes one broken rule as "members[2].dob must not be in the
// future (not_future)".
func describe(e *schema.Error) string {
	s := e.Message
	if e.Field != "" {
		s = e.Field + " " + s
	}
	if e.Rule != "" {
		s += " (" + e.Rule + ")"
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "ch") || strings.HasSuffix(word, "s") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// withStore opens the store for one command and closes it after.
func withStore(ctx context.Context, f *Factory, fn func(st *surveyor.Store) error) error {
	st, err := f.OpenStore(ctx)
	if err != nil {
		return err
	}
	err = fn(st)
	if cerr := st.Close(); err == nil && cerr != nil {
		return fmt.Errorf("close store: %w", cerr)
	}
	return err
}

// readInput opens FILE, or standard input for "-".
func readInput(f *Factory, name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(f.IO.In), nil
	}
	file, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return file, nil
}

func localTime(rfc3339 string) string {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		return rfc3339
	}
	return t.Local().Format("2006-01-02 15:04")
}
