package cli

import (
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // scans and phone photos of cards
	_ "image/png"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

type verifyOptions struct {
	image string
	keys  string
	json  bool
}

// verifyResult is one code's verdict, as `verify --json` prints it.
type verifyResult struct {
	Valid    bool   `json:"valid"`
	Reason   string `json:"reason,omitempty"` // a cards.Reason… constant when not valid
	Detail   string `json:"detail,omitempty"`
	HealthID string `json:"health_id,omitempty"`
	Name     string `json:"name,omitempty"`
	DOB      string `json:"dob,omitempty"` // as the QR holds it: YYYYMMDD, or YYYY
	Sex      string `json:"sex,omitempty"`
	Serial   string `json:"serial,omitempty"`
	Version  int    `json:"version,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	IssuedAt string `json:"issued_at,omitempty"`
	KeyID    string `json:"kid,omitempty"`
}

// NewCmdVerify builds `syncserver verify`.
func NewCmdVerify(app *App) *cobra.Command {
	opts := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify (QR-TEXT | - | --image FILE) [--keys FILE]",
		Short: "Check a card's QR offline with the published keys only; exit 1 if not valid",
		Long: `Check the QR of an e-health card the way a hospital does offline: with
nothing but the published public keys. Give the QR text as the argument,
'-' to read codes from standard input (one a line, as 'zbarimg --raw'
prints them), or --image FILE (PNG or JPEG: a scan, a photo, a rendered
sheet) to read every code in the picture with a pure-Go decoder.

The keys are --keys FILE, the document served at
/.well-known/health-card-keys (or written by 'keys export'); without it,
the public keys of this server's key ring (never its private keys).

A valid card prints its signed fields: health ID, name, date of birth,
sex, serial, version and key id. A card that is not valid prints
"invalid: REASON: DETAIL", where REASON is one of not_base45,
bad_compression, not_cose, unknown_key, bad_signature, retired_key,
bad_claims. Exit status: 0 when every code is valid, 1 otherwise.

This is the offline check: a revoked or superseded card still carries a
genuine signature. The server's POST /api/v1/cards/verify also checks
revocation.`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if (opts.image == "") == (len(a) == 0) {
				return usageErrorf("give the QR text, '-' for standard input, or --image FILE (exactly one)")
			}
			texts, err := verifyInputs(app, opts, a)
			if err != nil {
				return err
			}
			keys, err := verifyKeySet(cmd, app, opts.keys)
			if err != nil {
				return err
			}
			now := time.Now()
			invalid := 0
			for i, text := range texts {
				res, err := verifyOne(text, keys, now)
				if err != nil {
					return err
				}
				if !res.Valid {
					invalid++
				}
				if opts.json {
					if err := printJSON(app.Out, res); err != nil {
						return err
					}
					continue
				}
				if len(texts) > 1 {
					if i > 0 {
						fmt.Fprintln(app.Out)
					}
					fmt.Fprintf(app.Out, "code %d of %d\n", i+1, len(texts))
				}
				printVerifyResult(app.Out, res)
			}
			switch {
			case invalid == 0:
				return nil
			case len(texts) == 1:
				return errors.New("the card is not valid")
			default:
				return fmt.Errorf("%d of %d codes are not valid cards", invalid, len(texts))
			}
		},
	}
	cmd.Flags().StringVar(&opts.image, "image", "", "read the QR codes in this PNG or JPEG `FILE`")
	cmd.Flags().StringVar(&opts.keys, "keys", "", "published key document `FILE` (from /.well-known/health-card-keys or 'keys export'); a directory is the secret keys DIR, as for other commands")
	cmd.Flags().BoolVar(&opts.json, "json", false, `print one {"valid","reason","detail","health_id","name","dob","sex","serial","version","kid",…} a line per code`)
	// This --keys shadows the global one (the secret keys directory, also
	// SYNCSERVER_KEYS); verifyKeySet still takes a directory in that sense.
	return cmd
}

// verifyInputs returns the QR texts to check.
func verifyInputs(app *App, opts *verifyOptions, a []string) ([]string, error) {
	switch {
	case opts.image != "":
		f, err := os.Open(opts.image)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		img, _, err := image.Decode(f)
		if err != nil {
			return nil, fmt.Errorf("%s: not a PNG or JPEG image: %w", opts.image, err)
		}
		texts, err := cards.DecodeImageAll(img)
		if err != nil || len(texts) == 0 {
			return nil, fmt.Errorf("%s: no QR code could be read (%v); a photo needs the whole code sharp, with its white border", opts.image, err)
		}
		return texts, nil
	case a[0] == "-":
		b, err := io.ReadAll(io.LimitReader(app.In, 16<<20))
		if err != nil {
			return nil, err
		}
		// One code a line. A space is a Base45 character, so only line
		// ends separate codes.
		var texts []string
		for line := range strings.SplitSeq(string(b), "\n") {
			if line = strings.TrimSuffix(line, "\r"); line != "" {
				texts = append(texts, line)
			}
		}
		if len(texts) == 0 {
			return nil, usageErrorf("no QR text on standard input")
		}
		return texts, nil
	}
	return []string{a[0]}, nil
}

// verifyKeySet loads the published keys from file, or else the public
// document of the local key ring: the same bytes a hospital downloads, so
// the check here is the check there.
func verifyKeySet(cmd *cobra.Command, app *App, file string) (cards.KeySet, error) {
	// Every other command's --keys is the secret keys directory; here it
	// is the published document. A directory given where a file is
	// expected means the old sense (as in 'syncserver --keys DIR verify'),
	// so it is taken as the directory of the local key ring.
	if st, err := os.Stat(file); file != "" && err == nil && st.IsDir() {
		app.keysDir, file = file, ""
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return cards.KeySet{}, err
		}
		return cards.ParseKeySet(b)
	}
	if !app.dbExists() {
		return cards.KeySet{}, usageErrorf("no server database at %s to take the keys from; pass --keys FILE, the document served at /.well-known/health-card-keys", app.dbName())
	}
	var keys cards.KeySet
	err := app.withStore(cmd.Context(), func(s *store.Store) error {
		var err error
		keys, err = cards.NewKeySet(s.CardKeys().PublicKeys())
		return err
	})
	return keys, err
}

// verifyOne checks one text. Only a failure to run the check is an error;
// a card that is not valid is a result.
func verifyOne(text string, keys cards.KeySet, now time.Time) (verifyResult, error) {
	c, k, err := cards.Verify(text, keys, now)
	var res verifyResult
	if err != nil {
		var ve *cards.VerifyError
		if !errors.As(err, &ve) {
			return res, err
		}
		res.Reason, res.Detail = ve.Reason, ve.Detail
	} else {
		res.Valid = true
	}
	if !c.HealthID.IsZero() { // valid, or retired_key: a genuine signature still says who
		res.HealthID, res.Name, res.DOB, res.Sex = c.HealthID.String(), c.Name, c.DOB, c.Sex
		res.Serial, res.Version, res.Issuer = c.Serial, c.CardVersion, c.Issuer
		res.IssuedAt = c.IssuedAt.UTC().Format(time.RFC3339)
		res.KeyID = k.ID
	}
	return res, nil
}

func printVerifyResult(w io.Writer, r verifyResult) {
	if r.Valid {
		fmt.Fprintln(w, "valid (signature and key checked offline; revocation is checked by the server)")
	} else if r.Detail != "" {
		fmt.Fprintf(w, "invalid: %s: %s\n", r.Reason, r.Detail)
	} else {
		fmt.Fprintf(w, "invalid: %s\n", r.Reason)
	}
	if r.HealthID == "" {
		return
	}
	if !r.Valid {
		fmt.Fprintln(w, "the signature is genuine; the card says:")
	}
	dob := r.DOB
	if len(dob) == 8 {
		dob = dob[:4] + "-" + dob[4:6] + "-" + dob[6:]
	}
	t := newTable(w)
	fmt.Fprintf(t, "health ID\t%s\n", r.HealthID)
	fmt.Fprintf(t, "name\t%s\n", r.Name)
	fmt.Fprintf(t, "dob\t%s\n", dob)
	fmt.Fprintf(t, "sex\t%s\n", r.Sex)
	fmt.Fprintf(t, "serial\t%s\n", r.Serial)
	fmt.Fprintf(t, "version\t%d\n", r.Version)
	fmt.Fprintf(t, "issued\t%s by %s\n", r.IssuedAt, dash(r.Issuer))
	fmt.Fprintf(t, "key id\t%s\n", r.KeyID)
	t.Flush()
}
