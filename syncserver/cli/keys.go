package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// NewCmdKeys builds `syncserver keys` and its subcommands: the card
// signing keys.
func NewCmdKeys(app *App) *cobra.Command {
	cmd := groupCommand("keys", "Rotate, list, retire and export the card signing keys")
	cmd.Long = `Cards are signed with an Ed25519 key whose private half lives in a file of
mode 0600 under the keys directory (--keys DIR/card-signing), never in the
database. Rotation makes a new key sign new cards; older keys keep
verifying the cards they signed until retired. The public keys are
published at /.well-known/health-card-keys ('keys export' writes the same
document) for verifiers that work offline.

A running 'syncserver serve' publishes key changes at once but keeps
signing with the key it started with: restart it after 'keys rotate'.`
	cmd.AddCommand(newCmdKeysRotate(app), newCmdKeysList(app), newCmdKeysRetire(app), newCmdKeysExport(app))
	return cmd
}

// keyView is one key as `keys list --json` prints it.
type keyView struct {
	cards.KeyInfo
	Signing bool `json:"signing"` // signs new cards
}

func newCmdKeysRotate(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new signing key; earlier keys keep verifying their cards",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				ring := s.CardKeys()
				var previous string
				if k, err := ring.Active(); err == nil {
					previous = k.ID()
				}
				info, err := ring.Rotate()
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(app.Out, keyView{KeyInfo: info, Signing: true})
				}
				fmt.Fprintf(app.Out, "key %s signs new cards from now on (private key in %s, mode 0600)\n", info.ID, ring.Dir())
				if previous != "" {
					fmt.Fprintf(app.Out, "key %s keeps verifying the cards it signed until 'syncserver keys retire %s'\n", previous, previous)
				}
				fmt.Fprintln(app.Out, "a running 'syncserver serve' signs new cards with it from its next card on")
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"kid","status","created","signing"}`)
	return cmd
}

func newCmdKeysList(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the signing keys, oldest first",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				ring := s.CardKeys()
				var signing string
				if k, err := ring.Active(); err == nil {
					signing = k.ID()
				}
				views := []keyView{}
				for _, k := range ring.Keys() {
					views = append(views, keyView{KeyInfo: k, Signing: k.ID == signing})
				}
				if asJSON {
					return printJSON(app.Out, map[string]any{"keys": views})
				}
				t := newTable(app.Out)
				fmt.Fprintln(t, "KID\tSTATUS\tSIGNING\tCREATED\tRETIRED")
				for _, k := range views {
					sign := "-"
					if k.Signing {
						sign = "yes"
					}
					fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Status, sign, k.Created.UTC().Format(time.RFC3339), when(k.Retired))
				}
				return t.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"keys":[{"kid","status","created","retired","signing"}]}`)
	return cmd
}

func newCmdKeysRetire(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "retire KID",
		Short: "Retire a key for good: the cards it signed stop verifying (retired_key)",
		Long: `Retire a key that no longer signs (rotate first): its private key file is
deleted and verifiers holding the published keys answer retired_key for
every card it signed. Reprint those cards to give their holders valid ones.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				info, err := s.CardKeys().Retire(a[0])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(app.Out, "key %s retired at %s: cards it signed no longer verify\n", info.ID, when(info.Retired))
				return err
			})
		},
	}
}

func newCmdKeysExport(app *App) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export [--out FILE]",
		Short: "Write the public key document, as /.well-known/health-card-keys serves it",
		Long: `Write the public keys (never a private one) as the JSON document served at
/.well-known/health-card-keys, to standard output or --out FILE, for
verifiers that work offline: 'syncserver verify --keys FILE'.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				doc := s.CardKeys().PublicKeys()
				write := func(w io.Writer) error {
					enc := json.NewEncoder(w)
					enc.SetIndent("", "  ")
					return enc.Encode(doc)
				}
				if out == "" || out == "-" {
					return write(app.Out)
				}
				if err := renderToFile(out, write); err != nil {
					return err
				}
				if err := os.Chmod(out, 0o644); err != nil { // public by design
					return err
				}
				_, err := fmt.Fprintf(app.Err, "%d public keys written to %s\n", len(doc.Keys), out)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write to `FILE` instead of standard output")
	return cmd
}
