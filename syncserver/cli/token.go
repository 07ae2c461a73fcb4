package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// NewCmdToken builds `syncserver token` and its subcommands.
func NewCmdToken(app *App) *cobra.Command {
	cmd := groupCommand("token", "Create, list and revoke API tokens")
	cmd.AddCommand(newCmdTokenCreate(app), newCmdTokenRevoke(app), newCmdTokenList(app))
	return cmd
}

type tokenCreateOptions struct {
	role, name string
	centre     string
	json       bool
}

func newCmdTokenCreate(app *App) *cobra.Command {
	opts := &tokenCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create --role ROLE --name NAME",
		Short: "Create an API token and print it once",
		Long: fmt.Sprintf(`Create an API token for a person or system. The token is printed once;
the server keeps only its hash. Roles: %s
(device tokens come from registering a laptop instead).`, strings.Join(schema.Roles, ", ")),
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd.Flags(), "role", "name"); err != nil {
				return err
			}
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				var scope []store.TokenOption
				if opts.centre != "" {
					scope = append(scope, store.ForCentre(opts.centre))
				} else if opts.role == schema.RolePrinter {
					fmt.Fprintln(app.Err, "warning: this printer token may print for every centre; give --centre to limit it to one")
				}
				tok, err := s.CreateToken(cmd.Context(), opts.role, opts.name, scope...)
				if err != nil {
					return err
				}
				if opts.json {
					return printJSON(app.Out, struct {
						Token string `json:"token"`
						Role  string `json:"role"`
						Name  string `json:"name"`
					}{tok, opts.role, strings.TrimSpace(opts.name)})
				}
				_, err = fmt.Fprintf(app.Out, "%s\nToken for %s (role %s). It is shown only now: store it safely.\n",
					tok, strings.TrimSpace(opts.name), opts.role)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&opts.role, "role", "", "one of "+strings.Join(schema.Roles, ", "))
	cmd.Flags().StringVar(&opts.name, "name", "", "who or what holds the token; shown in logs")
	cmd.Flags().StringVar(&opts.centre, "centre", "", "limit a printer token to one printing `CENTRE` (like DL-NW)")
	cmd.Flags().BoolVar(&opts.json, "json", false, `print {"token","role","name"}`)
	return cmd
}

func newCmdTokenRevoke(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME|ID",
		Short: "Revoke an API token",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				if err := s.RevokeToken(cmd.Context(), a[0]); err != nil {
					return err
				}
				_, err := fmt.Fprintf(app.Out, "revoked token %s\n", a[0])
				return err
			})
		},
	}
}

func newCmdTokenList(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List API tokens (never the tokens themselves)",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				tokens, err := s.ListTokens(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(app.Out, map[string]any{"tokens": tokens})
				}
				t := newTable(app.Out)
				fmt.Fprintln(t, "ID\tNAME\tROLE\tCREATED\tREVOKED")
				for _, tk := range tokens {
					fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\n", tk.ID, tk.Name, tk.Role, when(&tk.CreatedAt), when(tk.RevokedAt))
				}
				return t.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"tokens":[…]}`)
	return cmd
}
