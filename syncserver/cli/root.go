// Package cli is the syncserver command line: serving the API and the
// offline administration commands (devices, tokens, import, stats), each
// a thin layer over the store.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/doorstep-health/doorstep/internal/pgdb"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// App is what every command needs from the process it runs in: streams,
// environment, and the global flags once parsed. Tests build one with
// buffers and a map for the environment.
type App struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	Getenv func(string) string

	dbPath  string
	keysDir string
}

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1 // the command failed
	ExitUsage = 2 // the command line was wrong
)

// Run executes the command line args and returns the process's exit code,
// having printed any error as "error: …" on app.Err.
func Run(ctx context.Context, args []string, app *App) int {
	root := NewCmdRoot(app)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(app.Err, "error: %s\n", err)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsageError(err) {
		fmt.Fprintf(app.Err, "Run 'syncserver --help' for usage.\n")
		return ExitUsage
	}
	return ExitError
}

// NewCmdRoot builds the syncserver command tree.
func NewCmdRoot(app *App) *cobra.Command {
	if app.Getenv == nil {
		app.Getenv = func(string) string { return "" }
	}
	root := &cobra.Command{
		Use:   "syncserver",
		Short: "Central server for door-to-door health enrolment",
		Long: `syncserver receives the households and residents that survey laptops
collect, and administers the laptops and API tokens that may reach it.

Every command works on one registry (--db): a SQLite file, the default,
with a directory of secret keys kept beside it (--keys); or a PostgreSQL
database shared by several servers, which then must name one keys
directory they share.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(app.In)
	root.SetOut(app.Out)
	root.SetErr(app.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	pf := root.PersistentFlags()
	pf.StringVar(&app.dbPath, "db", envOr(app.Getenv, "SYNCSERVER_DB", "syncserver.db"), "the registry: a SQLite `FILE`, or postgres://user@host/dbname (env SYNCSERVER_DB)")
	pf.StringVar(&app.keysDir, "keys", app.Getenv("SYNCSERVER_KEYS"), "secret keys `DIR` (env SYNCSERVER_KEYS; default <db minus extension>-keys; required with PostgreSQL, shared by its servers)")

	root.AddCommand(
		NewCmdServe(app),
		NewCmdDevice(app),
		NewCmdToken(app),
		NewCmdImport(app),
		NewCmdStats(app),
		NewCmdReview(app), NewCmdPerson(app), NewCmdMatch(app),
		NewCmdCards(app), NewCmdKeys(app), NewCmdVerify(app),
		NewCmdAudit(app), NewCmdFeed(app),
		NewCmdMigrateStore(app),
	)
	return root
}

// openStore opens the store the global flags name.
func (app *App) openStore(ctx context.Context) (*store.Store, error) {
	return store.Open(ctx, app.dbPath, store.WithKeysDir(app.keysDir))
}

// withStore runs fn with the store open and closes it afterwards, keeping
// fn's error first.
func (app *App) withStore(ctx context.Context, fn func(*store.Store) error) (err error) {
	s, err := app.openStore(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	}()
	return fn(s)
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// usageError marks a mistake on the command line: exit code 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// isCobraUsageError recognises the usage errors cobra makes itself, which
// are plain errors.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag") || strings.HasPrefix(msg, "required flag")
}

// args returns a cobra argument check whose failures are usage errors.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// requireFlags reports the first of names the user did not set.
func requireFlags(fs *pflag.FlagSet, names ...string) error {
	for _, n := range names {
		if f := fs.Lookup(n); f == nil || !f.Changed || strings.TrimSpace(f.Value.String()) == "" {
			return usageErrorf("--%s is required", n)
		}
	}
	return nil
}

// groupCommand returns a command that only holds subcommands: run alone
// or with an unknown subcommand, it is a usage error rather than help
// printed with success.
func groupCommand(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(cmd *cobra.Command, a []string) error {
			var subs []string
			for _, c := range cmd.Commands() {
				subs = append(subs, c.Name())
			}
			if len(a) > 0 {
				return usageErrorf("unknown command %q for %q (one of %s)", a[0], cmd.CommandPath(), strings.Join(subs, ", "))
			}
			return usageErrorf("%q needs a command: one of %s", cmd.CommandPath(), strings.Join(subs, ", "))
		},
	}
}

// printJSON writes v as one JSON object on one line.
func printJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// newTable returns a writer that aligns tab-separated columns; call Flush.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// dbExists reports whether the registry --db names is there: a SQLite
// file that exists, or any PostgreSQL URL (its server says if not).
func (app *App) dbExists() bool {
	if pgdb.IsDSN(app.dbPath) {
		return true
	}
	_, err := os.Stat(strings.TrimPrefix(app.dbPath, "sqlite:"))
	return !errors.Is(err, fs.ErrNotExist)
}

// dbName is --db as logs and messages may show it: without a password.
func (app *App) dbName() string {
	if pgdb.IsDSN(app.dbPath) {
		return pgdb.Redact(app.dbPath)
	}
	return app.dbPath
}
