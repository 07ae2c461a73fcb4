package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// NewCmdCards builds `syncserver cards` and its subcommands: what a
// printing centre and the programme office do with e-health cards.
func NewCmdCards(app *App) *cobra.Command {
	cmd := groupCommand("cards", "Print, confirm, dispatch, reprint and revoke e-health cards")
	cmd.Long = `Every new person gets a health ID and a card queued at the printing centre
of its household's area (DL-NW-W05 prints at DL-NW). A print run:

  syncserver cards centres                      where cards wait
  syncserver cards print --centre DL-NW --out sheet.pdf
  syncserver cards confirm JOB                  once the sheets are printed
  syncserver cards dispatch JOB                 sent to the field
  syncserver cards deliver SERIAL               in the holder's hands

A job stays open, its cards queued, until it is confirmed or cancelled: if
printing fails half-way, 'cards print --job JOB --out FILE' renders the same
cards again, and no other job takes them meanwhile.`
	cmd.AddCommand(
		newCmdCardsPrint(app),
		newCmdCardsJobChange(app, "confirm", "Record that a print job's sheets are printed: its cards become printed"),
		newCmdCardsJobChange(app, "cancel", "Give an unconfirmed print job's cards back to the queue"),
		newCmdCardsJobChange(app, "dispatch", "Record that a confirmed print job's cards left for the field"),
		newCmdCardsDeliver(app),
		newCmdCardsReprint(app),
		newCmdCardsRevoke(app),
		newCmdCardsList(app),
		newCmdCardsPDF(app),
		newCmdCardsQR(app),
		newCmdCardsCentres(app),
	)
	return cmd
}

// cardsActor names who does a card operation from the command line, for
// print_jobs.created_by and the like.
func cardsActor(app *App) string {
	if u := app.Getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

type cardsPrintOptions struct {
	centre, job, out string
	limit            int
	json             bool
}

// printJobReport is `cards print --json`: the job as the API gives it,
// plus where the sheets went.
type printJobReport struct {
	store.PrintJob
	Count  int    `json:"count"`
	Sheets int    `json:"sheets"`
	Out    string `json:"out"`
}

func newCmdCardsPrint(app *App) *cobra.Command {
	opts := &cardsPrintOptions{}
	cmd := &cobra.Command{
		Use:   "print (--centre CENTRE [--limit N] | --job JOB) --out FILE",
		Short: "Make a print job of a centre's queued cards and write its A4 sheets as PDF",
		Long: `Take up to --limit queued cards of a printing centre into a new print job and
write them as A4 sheets for a duplex printer: 10 cards a page with crop
marks, each page followed by its backs mirrored, flipped on the long edge.

The cards stay queued until 'cards confirm JOB'. If the PDF cannot be
written the job is cancelled and its cards go back to the queue. If the
machine dies before confirm, the job stays open and nobody else takes its
cards: --job JOB writes the same sheets again.

Queued cards that cannot be printed (a name outside the card font) are
listed on standard error at every run until their enrolment is corrected.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd.Flags(), "out"); err != nil {
				return err
			}
			if (opts.centre == "") == (opts.job == "") {
				return usageErrorf("give exactly one of --centre (a new job) and --job (an open job to render again)")
			}
			if opts.limit < 1 {
				return usageErrorf("--limit must be 1 or more, not %d", opts.limit)
			}
			if opts.job != "" && cmd.Flags().Changed("limit") {
				return usageErrorf("--limit goes with --centre: an open job's cards are fixed")
			}
			var jobID int64
			if opts.job != "" {
				var err error
				if jobID, err = store.ParseJobID(opts.job); err != nil {
					return usageError{err}
				}
			}
			ctx := cmd.Context()
			return app.withStore(ctx, func(s *store.Store) error {
				var job store.PrintJob
				var err error
				if jobID == 0 {
					job, err = s.CreatePrintJob(ctx, opts.centre, opts.limit, cardsActor(app))
					if schema.ErrorCode(err) == schema.ENOTFOUND {
						warnHeldOnly(ctx, app.Err, s, opts.centre)
					}
				} else {
					job, err = s.PrintJobToRender(ctx, jobID)
				}
				if err != nil {
					return err
				}
				if err := renderToFile(opts.out, func(w io.Writer) error { return cards.RenderSheet(w, job.Cards) }); err != nil {
					if jobID != 0 {
						return fmt.Errorf("print job %d: %w (the job stays open: run this again, or 'cards cancel %d')", job.ID, err, job.ID)
					}
					// Cancelling must happen even when the failure was an
					// interrupt, or the cards would wait for a job nobody runs.
					if cerr := s.CancelPrintJob(context.WithoutCancel(ctx), job.ID, cardsActor(app)); cerr != nil {
						return fmt.Errorf("print job %d: %w; cancelling it failed too (%v): run 'cards print --job %d' or 'cards cancel %d'", job.ID, err, cerr, job.ID, job.ID)
					}
					return fmt.Errorf("print job %d: %w; the job is cancelled and its %d cards are back in the queue", job.ID, err, len(job.Cards))
				}
				warnHeld(app.Err, job)
				rep := printJobReport{PrintJob: job, Count: len(job.Cards), Sheets: sheetsFor(len(job.Cards)), Out: opts.out}
				if opts.json {
					return printJSON(app.Out, rep)
				}
				fmt.Fprintf(app.Out, "print job %d for centre %s: %d cards on %d sheets (%d pages, fronts then mirrored backs) written to %s\n",
					job.ID, job.Centre, rep.Count, rep.Sheets, 2*rep.Sheets, opts.out)
				fmt.Fprintf(app.Out, "Print duplex, flipping on the long edge, check the sheets, then:\n")
				fmt.Fprintf(app.Out, "  syncserver cards confirm %d   the cards become printed\n", job.ID)
				fmt.Fprintf(app.Out, "  syncserver cards cancel %d    nothing was printed: the cards go back to the queue\n", job.ID)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.centre, "centre", "", "printing `CENTRE` whose queued cards to print, e.g. DL-NW (see 'cards centres')")
	f.StringVar(&opts.job, "job", "", "render the open print `JOB` again instead of making a new one")
	f.StringVar(&opts.out, "out", "", "write the sheets to this PDF `FILE`")
	f.IntVar(&opts.limit, "limit", 1000, "take at most `N` cards")
	f.BoolVar(&opts.json, "json", false, `print {"id","centre","status","serials","held","count","sheets","out",…}`)
	return cmd
}

func sheetsFor(n int) int { return (n + cards.CardsPerSheet - 1) / cards.CardsPerSheet }

// warnHeld lists, loudly, the centre's cards that no print run will take
// until someone corrects the enrolment.
func warnHeld(w io.Writer, job store.PrintJob) {
	if len(job.Held) == 0 {
		return
	}
	fmt.Fprintf(w, "WARNING: %d queued cards of centre %s are HELD and were NOT printed. Correct the name on the laptop, sync,\n", len(job.Held), job.Centre)
	fmt.Fprintf(w, "then queue a printable version: syncserver cards reprint HEALTHID --reason corrected\n")
	for _, h := range job.Held {
		hid := h.HealthID
		if id, err := cards.ParseHealthID(hid); err == nil {
			hid = id.String()
		}
		fmt.Fprintf(w, "  %s  %s  %s\n", h.Serial, hid, h.Problem)
	}
}

// warnHeldOnly says so when a centre has nothing to print but held cards,
// which would otherwise go unseen.
func warnHeldOnly(ctx context.Context, w io.Writer, s *store.Store, centre string) {
	centres, err := s.CardCentres(ctx)
	if err != nil {
		return // the print error itself is what the operator needs
	}
	for _, c := range centres {
		if c.Centre == centre && c.Held > 0 {
			fmt.Fprintf(w, "WARNING: %d queued cards of centre %s are HELD (a name the card font cannot print); correct them on the laptop, sync, then 'cards reprint HEALTHID --reason corrected'\n", c.Held, centre)
		}
	}
}

// renderToFile writes what render produces to path so that path never
// holds half a file: a temporary file beside it, synced, then renamed
// over it, and the directory synced so the rename survives a power cut.
// The file keeps the temporary file's mode 0600: it holds personal data.
func renderToFile(path string, render func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 256<<10)
	if err := render(bw); err != nil {
		return fmt.Errorf("render %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: some file systems cannot sync a directory
		d.Close()
	}
	return nil
}

// newCmdCardsJobChange builds confirm, cancel and dispatch: one job id,
// one store call.
func newCmdCardsJobChange(app *App, verb, short string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   verb + " JOB",
		Short: short,
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			id, err := store.ParseJobID(a[0])
			if err != nil {
				return usageError{err}
			}
			ctx := cmd.Context()
			return app.withStore(ctx, func(s *store.Store) error {
				by := cardsActor(app)
				var err error
				switch verb {
				case "confirm":
					_, err = s.ConfirmPrintJob(ctx, id, by)
				case "cancel":
					err = s.CancelPrintJob(ctx, id, by)
				case "dispatch":
					err = s.DispatchPrintJob(ctx, id, by)
				}
				if err != nil {
					return err
				}
				job, err := s.PrintJob(ctx, id)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(app.Out, job)
				}
				switch verb {
				case "confirm":
					fmt.Fprintf(app.Out, "print job %d confirmed: %d cards printed\n", id, len(job.Serials))
				case "cancel":
					fmt.Fprintf(app.Out, "print job %d cancelled: its cards are back in the queue of %s\n", id, job.Centre)
				case "dispatch":
					fmt.Fprintf(app.Out, "print job %d dispatched: %d cards on their way\n", id, len(job.Serials))
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print the job: {"id","centre","status","serials",…}`)
	return cmd
}

func newCmdCardsDeliver(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "deliver SERIAL",
		Short: "Record that a card reached its holder",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				if err := s.DeliverCard(cmd.Context(), a[0], cardsActor(app)); err != nil {
					return err
				}
				_, err := fmt.Fprintf(app.Out, "card %s delivered\n", a[0])
				return err
			})
		},
	}
}

// cardView is a card version as `cards list --json` and `cards reprint
// --json` print it: the registry's record plus what the card shows and
// its QR text, so a script can check a scanned code against it.
type cardView struct {
	store.CardInfo
	Name         string `json:"name"`
	DOB          string `json:"dob"`
	DOBPrecision string `json:"dob_precision"`
	Sex          string `json:"sex"`
	QR           string `json:"qr"`
}

func viewOf(c store.CardInfo) cardView {
	return cardView{CardInfo: c, Name: c.Card.Name, DOB: c.Card.DOB, DOBPrecision: c.Card.DOBPrecision, Sex: c.Card.Sex, QR: c.QR}
}

func newCmdCardsReprint(app *App) *cobra.Command {
	var reason string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "reprint HEALTHID --reason " + strings.Join(store.ReprintReasons, "|"),
		Short: "Queue a new card version for a person and revoke the one before",
		Long: `Queue the next version of a person's card (from the enrolment as it stands
now, so a corrected name prints corrected) and revoke every earlier
version in the same step: exactly one version is ever valid.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := requireFlags(cmd.Flags(), "reason"); err != nil {
				return err
			}
			if !slices.Contains(store.ReprintReasons, reason) {
				return usageErrorf("--reason must be one of %s, not %q", strings.Join(store.ReprintReasons, ", "), reason)
			}
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				c, err := s.Reprint(cmd.Context(), a[0], reason, cardsActor(app))
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(app.Out, viewOf(c))
				}
				_, err = fmt.Fprintf(app.Out, "card version %d (serial %s) queued at %s for %s; earlier versions revoked (%s)\n",
					c.Version, c.Serial, c.Centre, c.Card.HealthID, reason)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why: "+strings.Join(store.ReprintReasons, ", "))
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the new card version")
	return cmd
}

func newCmdCardsRevoke(app *App) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "revoke HEALTHID|SERIAL --reason REASON",
		Short: "Revoke a card (by serial) or a person's valid card (by health ID), queuing none",
		Long: `Revoke a card so that the server's verify endpoint answers revoked_card for
it. No new version is queued: use 'cards reprint' to replace a card.
The QR itself stays a genuine signature: an offline verifier with only the
published keys cannot know of the revocation.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := requireFlags(cmd.Flags(), "reason"); err != nil {
				return err
			}
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				n, err := s.RevokeCard(cmd.Context(), a[0], reason, cardsActor(app))
				if err != nil {
					return err
				}
				if n == 0 {
					_, err = fmt.Fprintf(app.Out, "%s has no valid card; nothing revoked\n", a[0])
					return err
				}
				_, err = fmt.Fprintf(app.Out, "revoked %d card(s) of %s (%s)\n", n, a[0], reason)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, e.g. deceased, fraud, withdrawn")
	return cmd
}

func newCmdCardsList(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list HEALTHID|PERSON|RESIDENT",
		Short: "List a person's card versions, newest first",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				list, err := s.Cards(cmd.Context(), a[0])
				if err != nil {
					return err
				}
				if asJSON {
					views := make([]cardView, len(list))
					for i, c := range list {
						views[i] = viewOf(c)
					}
					return printJSON(app.Out, map[string]any{"cards": views})
				}
				t := newTable(app.Out)
				fmt.Fprintln(t, "SERIAL\tVERSION\tSTATUS\tHEALTH ID\tNAME\tCENTRE\tJOB\tISSUED\tNOTE")
				for _, c := range list {
					job := "-"
					if c.PrintJob != 0 {
						job = fmt.Sprint(c.PrintJob)
					}
					note := c.RevokedReason
					if c.Problem != "" {
						note = "held: " + c.Problem
					}
					fmt.Fprintf(t, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Serial, c.Version, c.Status, c.Card.HealthID,
						c.Card.Name, c.Centre, job, c.IssuedAt, dash(note))
				}
				return t.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"cards":[{"serial","version","status","health_id","name","dob","sex","qr",…}]}`)
	return cmd
}

func newCmdCardsPDF(app *App) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "pdf HEALTHID --out FILE",
		Short: "Write a person's valid card as a two-page CR80 PDF (front, back)",
		Long: `Write the person's valid card version as a PDF of card size, front then
back, to print one card or to hand over as an e-card. It changes nothing
in the registry: the card's status is what the print jobs made it.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := requireFlags(cmd.Flags(), "out"); err != nil {
				return err
			}
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				c, err := s.ValidCard(cmd.Context(), a[0])
				if err != nil {
					return err
				}
				if err := renderToFile(out, func(w io.Writer) error { return cards.RenderCardPDF(w, c.Card) }); err != nil {
					return err
				}
				_, err = fmt.Fprintf(app.Out, "card %s (version %d, %s) of %s written to %s\n", c.Serial, c.Version, c.Status, c.Card.HealthID, out)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the PDF to this `FILE`")
	return cmd
}

func newCmdCardsQR(app *App) *cobra.Command {
	var pngOut string
	var scale int
	cmd := &cobra.Command{
		Use:   "qr HEALTHID [--png FILE]",
		Short: "Print the QR text of a person's valid card, or write the code as PNG",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if scale < 1 || scale > 40 {
				return usageErrorf("--scale must be 1 to 40 pixels a module, not %d", scale)
			}
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				c, err := s.ValidCard(cmd.Context(), a[0])
				if err != nil {
					return err
				}
				if pngOut == "" {
					_, err = fmt.Fprintln(app.Out, c.QR)
					return err
				}
				q, err := cards.EncodeQR(c.QR)
				if err != nil {
					return err
				}
				if err := renderToFile(pngOut, func(w io.Writer) error { return q.WritePNG(w, scale) }); err != nil {
					return err
				}
				_, err = fmt.Fprintf(app.Out, "QR of card %s (version %d, QR version %d) written to %s\n", c.Serial, c.Version, q.Version, pngOut)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&pngOut, "png", "", "write the code as a PNG `FILE` instead of printing its text")
	cmd.Flags().IntVar(&scale, "scale", 6, "pixels a module in the PNG")
	return cmd
}

func newCmdCardsCentres(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "centres",
		Short: "List printing centres with their queued, held and printed cards",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return app.withStore(cmd.Context(), func(s *store.Store) error {
				list, err := s.CardCentres(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(app.Out, map[string]any{"centres": list})
				}
				if len(list) == 0 {
					_, err := fmt.Fprintln(app.Err, "no cards yet")
					return err
				}
				t := newTable(app.Out)
				fmt.Fprintln(t, "CENTRE\tQUEUED\tIN OPEN JOBS\tHELD\tPRINTED")
				for _, c := range list {
					fmt.Fprintf(t, "%s\t%d\t%d\t%d\t%d\n", c.Centre, c.Queued, c.InJobs, c.Held, c.Printed)
				}
				return t.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"centres":[{"centre","queued","in_jobs","held","printed"}]}`)
	return cmd
}
