package cli

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/syncserver/feed"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// NewCmdAudit builds `syncserver audit`.
func NewCmdAudit(app *App) *cobra.Command {
	var (
		person string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "audit --person HEALTH-ID",
		Short: "List every read of a person's data: who, role, what, when, from where",
		Long: `List the audit log of one person: every read of its data through the
API (card verification, lookup, FHIR, the feed, review, print sheets),
oldest first, with the token's name and role, the action, the time and
the client address. A merged health ID lists its survivor's log, which
includes the reads made under every ID merged into it.

The log is append-only: the database refuses to change or delete a row.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd.Flags(), "person"); err != nil {
				return err
			}
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				log, err := s.AuditLog(cmd.Context(), person)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(app.Out, map[string]any{"records": log})
				}
				t := newTable(app.Out)
				fmt.Fprintln(t, "AT\tTOKEN\tROLE\tACTION\tHEALTH ID\tCLIENT\tDETAIL")
				for _, r := range log {
					fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.At.Format(time.RFC3339), r.TokenName, r.Role, r.Action, r.HealthID, r.Client, r.Detail)
				}
				if err := t.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(app.Err, "%d reads\n", len(log))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&person, "person", "", "the person's health ID (with or without dashes)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"records":[{"at","token_name","role","action","health_id","client","detail"}]}`)
	return cmd
}

// NewCmdFeed builds `syncserver feed`.
func NewCmdFeed(app *App) *cobra.Command {
	cmd := groupCommand("feed", "Follow the hospital feed of person and card events")
	cmd.AddCommand(newCmdFeedFollow(app))
	return cmd
}

func newCmdFeedFollow(app *App) *cobra.Command {
	f := &feed.Follower{}
	var (
		untilIdle bool
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "follow --server URL --token TOKEN --out FILE.jsonl",
		Short: "Keep a local copy of the feed in step, resuming from where it stopped",
		Long: `Follow GET /api/v1/feed as a hospital module would: every event is
appended, once and in order, to --out as one JSON line, and the file is
synced to disk before the next page is asked for. The file is its own
cursor: started again, follow resumes after the last whole event in it
(a line cut off by a crash is dropped and fetched again).

Without --until-idle it runs until interrupted, long-polling when caught
up and retrying with back-off while the server is unreachable. The token
(a hospital token) may also come from SYNCSERVER_TOKEN.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.Token == "" {
				f.Token = app.Getenv("SYNCSERVER_TOKEN")
			}
			if f.Token == "" {
				return usageErrorf("--token is required (or set SYNCSERVER_TOKEN)")
			}
			if err := requireFlags(cmd.Flags(), "server", "out"); err != nil {
				return err
			}
			f.Logger = slog.New(slog.NewTextHandler(app.Err, &slog.HandlerOptions{Level: slog.LevelWarn}))
			prog, err := f.Run(cmd.Context(), untilIdle)
			if err != nil {
				return err
			}
			reg, err := feed.Replay(f.Out)
			if err != nil && !os.IsNotExist(err) {
				return err
			}
			if asJSON {
				return printJSON(app.Out, map[string]any{"cursor": prog.Cursor, "received": prog.Received,
					"persons": len(reg), "active": len(reg.Active())})
			}
			fmt.Fprintf(app.Out, "%s: %d new events, cursor %d; %d persons known, %d active\n",
				f.Out, prog.Received, prog.Cursor, len(reg), len(reg.Active()))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Server, "server", "", "the server's base `URL`")
	fl.StringVar(&f.Token, "token", "", "a hospital `TOKEN` (or env SYNCSERVER_TOKEN)")
	fl.StringVar(&f.Out, "out", "", "the JSON-lines `FILE` events are appended to")
	fl.DurationVar(&f.Wait, "wait", 30*time.Second, "long-poll time when caught up")
	fl.IntVar(&f.Limit, "limit", 0, "events per page (0: the server's maximum, 1000)")
	fl.BoolVar(&untilIdle, "until-idle", false, "stop once caught up instead of following")
	fl.BoolVar(&asJSON, "json", false, `print {"cursor","received","persons","active"} at the end`)
	return cmd
}
