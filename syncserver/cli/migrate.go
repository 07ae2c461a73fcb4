package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/internal/pgdb"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// NewCmdMigrateStore builds `syncserver migrate-store`.
func NewCmdMigrateStore(app *App) *cobra.Command {
	var from, to string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "migrate-store --from sqlite:FILE --to postgres://user@host/dbname",
		Short: "Copy a SQLite registry into an empty PostgreSQL database, and check the copy",
		Long: `migrate-store copies a pilot's registry from its SQLite file into an empty
PostgreSQL database, in one transaction there, from one consistent snapshot
of the file (the pilot's server may keep running; stop it first for the
final copy, or what it takes after the snapshot stays behind). Every row
keeps its keys, so feed sequence numbers, audit ids and arrival order are
unchanged. Before committing, it counts and checksums every table on both
sides and prints them; if any differ, it commits nothing and fails.

The PostgreSQL servers must use the pilot's keys folder (--keys; by default
the one beside the SQLite file): it holds the key that hashes Aadhaar
numbers and the keys that sign cards.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd.Flags(), "from", "to"); err != nil {
				return err
			}
			if !pgdb.IsDSN(to) {
				return usageErrorf("--to must be a postgres:// URL, not %q", to)
			}
			file := strings.TrimPrefix(from, "sqlite:")
			if pgdb.IsDSN(file) {
				return usageErrorf("--from must be a SQLite file (sqlite:FILE), not a PostgreSQL URL")
			}
			if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
				return usageErrorf("--from: no SQLite registry at %s", file)
			}
			keys := app.keysDir
			if keys == "" {
				keys = store.DefaultKeysDir(file)
			}
			ctx := cmd.Context()
			// Opening the target as a store applies its migrations, under
			// their advisory lock, with the pilot's keys.
			target, err := store.Open(ctx, to, store.WithKeysDir(keys))
			if err != nil {
				return err
			}
			if err := target.Close(); err != nil {
				return err
			}
			report, err := store.CopyToPostgres(ctx, file, to, func(table string, rows int64) {
				if !asJSON {
					fmt.Fprintf(app.Err, "copied %-14s %d rows\n", table, rows)
				}
			})
			if errors.Is(err, store.ErrTargetNotEmpty) {
				return fmt.Errorf("%w: %s; migrate-store copies into an empty database only", err, pgdb.Redact(to))
			}
			if err != nil && !errors.Is(err, store.ErrCopyDiffers) {
				return err
			}
			bad := 0
			for _, r := range report {
				if !r.Consistent {
					bad++
				}
			}
			if asJSON {
				if err := printJSON(app.Out, map[string]any{"tables": report, "consistent": bad == 0, "keys": keys}); err != nil {
					return err
				}
			} else {
				t := newTable(app.Out)
				fmt.Fprintln(t, "table\tsqlite rows\tpostgres rows\tsqlite checksum\tpostgres checksum\t")
				for _, r := range report {
					mark := "same"
					if !r.Consistent {
						mark = "DIFFERENT"
					}
					fmt.Fprintf(t, "%s\t%d\t%d\t%s\t%s\t%s\n", r.Table, r.FromRows, r.ToRows, r.FromSum, r.ToSum, mark)
				}
				if err := t.Flush(); err != nil {
					return err
				}
			}
			if bad > 0 || err != nil {
				return fmt.Errorf("%d tables differ after the copy, so nothing was committed to %s: %w", bad, pgdb.Redact(to), store.ErrCopyDiffers)
			}
			if !asJSON {
				// The URL may hold a password: it is not echoed.
				fmt.Fprintf(app.Out, "\nEvery table matches. Start each server with --db set to the --to URL and --keys %s:\n  syncserver --db 'postgres://…' --keys %s serve\n", keys, keys)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the pilot's registry, sqlite:`FILE`")
	cmd.Flags().StringVar(&to, "to", "", "an empty PostgreSQL database, postgres://user@host/dbname (`URL`)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"tables":[{"table","from_rows","to_rows","from_checksum","to_checksum","consistent"}],"consistent","keys"}`)
	return cmd
}
