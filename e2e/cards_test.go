package e2e

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/adler32"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/cards"
)

// cardStats is the part of `syncserver stats --json` cards need.
type cardStats struct {
	Persons      int `json:"persons"`
	MatchPending int `json:"match_pending"`
	Cards        struct {
		Queued     int `json:"queued"`
		Printed    int `json:"printed"`
		Dispatched int `json:"dispatched"`
		Delivered  int `json:"delivered"`
		Revoked    int `json:"revoked"`
	} `json:"cards"`
}

// printReport is `syncserver cards print --json`.
type printReport struct {
	ID      int64    `json:"id"`
	Centre  string   `json:"centre"`
	Status  string   `json:"status"`
	Serials []string `json:"serials"`
	Count   int      `json:"count"`
	Sheets  int      `json:"sheets"`
	Out     string   `json:"out"`
}

// verified is one line of `syncserver verify --json`.
type verified struct {
	Valid    bool   `json:"valid"`
	Reason   string `json:"reason"`
	HealthID string `json:"health_id"`
	Name     string `json:"name"`
	DOB      string `json:"dob"`
	Sex      string `json:"sex"`
	Serial   string `json:"serial"`
	Version  int    `json:"version"`
	KeyID    string `json:"kid"`
}

// cardVersion is one card of `syncserver cards list --json`.
type cardVersion struct {
	Serial        string `json:"serial"`
	Version       int    `json:"version"`
	Status        string `json:"status"`
	RevokedReason string `json:"revoked_reason"`
	Centre        string `json:"centre"`
	Name          string `json:"name"`
	DOB           string `json:"dob"`
	DOBPrecision  string `json:"dob_precision"`
	Sex           string `json:"sex"`
	QR            string `json:"qr"`
}

var healthIDForm = regexp.MustCompile(`^[1-9][0-9]-[0-9]{4}-[0-9]{4}-[0-9]{4}$`)

func (s *server) cli(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, nil, bin.syncserver, append([]string{"--db", s.db}, args...)...)
}

// try runs a syncserver command that may fail and returns its exit code.
func (s *server) try(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	out, errOut, err := tryRun(stdin, bin.syncserver, append([]string{"--db", s.db}, args...)...)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out, errOut, 0
	case errors.As(err, &ee):
		return out, errOut, ee.ExitCode()
	}
	t.Fatalf("syncserver %s: %v", strings.Join(args, " "), err)
	return "", "", -1
}

func (s *server) cardStats(t *testing.T) cardStats {
	t.Helper()
	return decodeJSON[cardStats](t, s.cli(t, "stats", "--json"))
}

// waitMatched polls the server until its matcher has taken every resident
// in, within a deadline.
func (s *server) waitMatched(t *testing.T) cardStats {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := s.cardStats(t)
		if st.MatchPending == 0 && st.Persons > 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("matching did not finish within 60s: %+v", st)
		}
		time.Sleep(50 * time.Millisecond) // poll interval, not a guess at how long matching takes
	}
}

func (s *server) cardVersions(t *testing.T, healthID string) []cardVersion {
	t.Helper()
	return decodeJSON[struct{ Cards []cardVersion }](t, s.cli(t, "cards", "list", healthID, "--json")).Cards
}

// verifyTexts runs `syncserver verify - --json` on QR texts, one a line.
func (s *server) verifyTexts(t *testing.T, texts []string, extra ...string) ([]verified, int) {
	t.Helper()
	out, errOut, code := s.try(t, strings.NewReader(strings.Join(texts, "\n")+"\n"), append([]string{"verify", "-", "--json"}, extra...)...)
	var res []verified
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		res = append(res, decodeJSON[verified](t, line))
	}
	if len(res) != len(texts) {
		t.Fatalf("verify gave %d results for %d codes: %s\n%s", len(res), len(texts), out, errOut)
	}
	return res, code
}

// memberCards is what the laptop knows of each member it enrolled:
// resident id → health ID and card status, from `surveyor show --json`.
func (l *laptop) memberCards(t *testing.T) map[string][2]string {
	t.Helper()
	out := map[string][2]string{}
	list := decodeJSON[[]struct {
		ID      string `json:"id"`
		Members int    `json:"members"`
	}](t, l.run(t, "list", "--json"))
	for _, h := range list {
		if h.Members == 0 {
			continue
		}
		for _, m := range members(l.show(t, h.ID)) {
			mm := m.(map[string]any)
			hid, _ := mm["health_id"].(string)
			status, _ := mm["card_status"].(string)
			out[mm["id"].(string)] = [2]string{hid, status}
		}
	}
	if len(out) == 0 {
		t.Fatal("the laptop has no members")
	}
	return out
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (poppler-utils, zbar-tools; `make deps` installs them): this check of the PDF with outside tools is skipped; the pure-Go checks still run", tool)
		}
	}
}

// rasterize renders every page of a PDF at 300 dpi, as a printer
// would see it, and returns the PNG paths in page order.
func rasterize(t *testing.T, pdf string) []string {
	t.Helper()
	requireTools(t, "pdftoppm")
	prefix := strings.TrimSuffix(pdf, ".pdf") + "-page"
	if out, err := exec.Command("pdftoppm", "-r", "300", "-png", "-gray", pdf, prefix).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm %s: %v\n%s", pdf, err, out)
	}
	pages, err := filepath.Glob(prefix + "-*.png")
	if err != nil || len(pages) == 0 {
		t.Fatalf("pdftoppm wrote no page: %v", err)
	}
	slices.Sort(pages) // pdftoppm pads page numbers to one width
	return pages
}

// zbar reads every QR code in a PNG with zbarimg.
func zbar(t *testing.T, png string) []string {
	t.Helper()
	requireTools(t, "zbarimg")
	var out, errOut bytes.Buffer
	cmd := exec.Command("zbarimg", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", png)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("zbarimg %s: %v\n%s", png, err, errOut.String())
	}
	// A space is a Base45 character: codes are separated by line ends only.
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

// zbarSheetPage reads the codes on one rendered front page of a sheet.
// zbarimg, scanning a whole A4 page, now and then misses one code of ten
// (about 1 in 100 in our trials) that it reads at once on its own, as
// gozxing reads it on the page; so when the page yields fewer codes than
// it holds, each card's cell of the 2 × 5 grid is read by itself, as a
// desk scanner would see a cut card.
func zbarSheetPage(t *testing.T, page string, want int) []string {
	t.Helper()
	texts := zbar(t, page)
	if len(texts) >= want {
		return texts
	}
	t.Logf("zbarimg read %d of the %d codes on the whole page %s; reading card by card", len(texts), want, filepath.Base(page))
	f, err := os.Open(page)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	sub := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	texts = nil
	for row := range 5 {
		for col := range 2 {
			if row*2+col >= want {
				break
			}
			cell := sub.SubImage(image.Rect(b.Dx()*col/2, b.Dy()*row/5, b.Dx()*(col+1)/2, b.Dy()*(row+1)/5))
			path := fmt.Sprintf("%s-cell%d%d.png", strings.TrimSuffix(page, ".png"), row, col)
			out, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(out, cell); err != nil {
				t.Fatal(err)
			}
			out.Close()
			texts = append(texts, zbar(t, path)...)
		}
	}
	return texts
}

// The whole life of a card, driving the real binaries: a laptop enrols,
// the server issues health IDs and queues cards, a printing centre prints
// a sheet whose QR codes (read off the rendered PDF) verify offline with
// the right fields, the laptop hears of it, reprints and revocations keep
// one valid version per person, an interrupted print job loses and
// doubles nothing, and key rotation and retirement behave.
func TestCardsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, filepath.Join(dir, "registry.db"))
	l := newLaptop(t, srv, "laptop-cards")
	l.run(t, "import", generate(t, 40, 0.1, 23))
	if rep := l.sync(t); rep.Accepted == 0 || rep.Rejected != 0 {
		t.Fatalf("sync: %+v", rep)
	}
	st := srv.waitMatched(t)
	if st.Cards.Queued != st.Persons {
		t.Fatalf("after matching: %d persons, %d cards queued; want one card each", st.Persons, st.Cards.Queued)
	}

	// The laptop hears of the health IDs at its next sync.
	l.sync(t)
	before := l.memberCards(t)
	laptopIDs := map[string]bool{}
	for rid, m := range before {
		if !healthIDForm.MatchString(m[0]) || m[1] != "queued" {
			t.Fatalf("member %s after sync: health ID %q, card %q; want XX-XXXX-XXXX-XXXX and queued", rid, m[0], m[1])
		}
		laptopIDs[m[0]] = true
	}
	if len(laptopIDs) != st.Persons {
		t.Errorf("the laptop's members hold %d distinct health IDs, the server %d persons", len(laptopIDs), st.Persons)
	}

	// Print the centre with the most cards waiting.
	centres := decodeJSON[struct {
		Centres []struct {
			Centre string `json:"centre"`
			Queued int    `json:"queued"`
			InJobs int    `json:"in_jobs"`
		}
	}](t, srv.cli(t, "cards", "centres", "--json")).Centres
	if len(centres) < 2 || centres[0].Queued < 2 {
		t.Fatalf("centres %+v: the test needs two centres with cards", centres)
	}
	centre, other := centres[0].Centre, centres[1]
	sheet := filepath.Join(dir, "sheet.pdf")
	job := decodeJSON[printReport](t, srv.cli(t, "cards", "print", "--centre", centre, "--out", sheet, "--json"))
	if job.Count != centres[0].Queued || len(job.Serials) != job.Count || job.Centre != centre || job.Status != "open" {
		t.Fatalf("print job %+v for %d queued cards of %s", job, centres[0].Queued, centre)
	}
	t.Logf("%d persons; print job %d: %d cards of %s on %d sheets", st.Persons, job.ID, job.Count, centre, job.Sheets)
	pdf, err := os.ReadFile(sheet)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("sheet: %v %.20q", err, pdf)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".sheet.pdf.tmp-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left beside the sheet: %v", leftovers)
	}
	oldKey := decodeJSON[struct{ Keys []struct{ KID string } }](t, srv.cli(t, "keys", "list", "--json")).Keys[0].KID

	// checkSheet verifies codes read off the sheet: one per card of the
	// job, each valid, signed by the first key, and saying what the
	// registry says of the person.
	byHealthID := map[string]verified{}
	checkSheet := func(t *testing.T, how string, texts []string) {
		t.Helper()
		res, code := srv.verifyTexts(t, texts)
		if code != 0 {
			t.Errorf("%s: verify exit %d, want 0", how, code)
		}
		var serials []string
		for _, v := range res {
			if !v.Valid || v.KeyID != oldKey {
				t.Errorf("%s: %+v, want valid under key %s", how, v, oldKey)
				continue
			}
			serials = append(serials, v.Serial)
			byHealthID[v.HealthID] = v
		}
		slices.Sort(serials)
		if want := slices.Sorted(slices.Values(job.Serials)); !slices.Equal(serials, want) {
			t.Errorf("%s read serials %v, want the job's %v", how, serials, want)
		}
	}
	// The sheet as the printer sees it: every page at 300 dpi.
	var pages []string
	if _, err := exec.LookPath("pdftoppm"); err == nil {
		if pages = rasterize(t, sheet); len(pages) != 2*job.Sheets {
			t.Fatalf("%d pages for %d sheets, want fronts and backs", len(pages), job.Sheets)
		}
	}
	t.Run("pdftoppm and zbarimg", func(t *testing.T) {
		requireTools(t, "pdftoppm", "zbarimg")
		var sheetTexts []string
		for i := 0; i < len(pages); i += 2 { // fronts; backs carry no code
			onPage := min(cards.CardsPerSheet, job.Count-i/2*cards.CardsPerSheet)
			sheetTexts = append(sheetTexts, zbarSheetPage(t, pages[i], onPage)...)
		}
		checkSheet(t, "zbarimg", sheetTexts)
		// And `verify QR-TEXT`, the form a person types or pastes.
		out := srv.cli(t, "verify", sheetTexts[0])
		if !strings.HasPrefix(out, "valid") || !strings.Contains(out, "health ID") || !strings.Contains(out, oldKey) {
			t.Errorf("verify TEXT:\n%s", out)
		}
	})
	t.Run("pure Go reader on the rendered pages", func(t *testing.T) {
		requireTools(t, "pdftoppm")
		var res []verified
		for i := 0; i < len(pages); i += 2 {
			out, errOut, code := srv.try(t, nil, "verify", "--image", pages[i], "--json")
			if code != 0 {
				t.Fatalf("verify --image %s: exit %d\n%s%s", pages[i], code, out, errOut)
			}
			for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
				res = append(res, decodeJSON[verified](t, line))
			}
		}
		var serials []string
		for _, v := range res {
			serials = append(serials, v.Serial)
			byHealthID[v.HealthID] = v
		}
		slices.Sort(serials)
		if want := slices.Sorted(slices.Values(job.Serials)); !slices.Equal(serials, want) {
			t.Errorf("gozxing read serials %v, want the job's %v", serials, want)
		}
	})
	if len(byHealthID) == 0 {
		// Without poppler the sheet cannot be read back; take the codes
		// the registry holds and check them the same way.
		t.Log("pdftoppm absent: checking the job's codes from the registry instead of the printed sheet")
		var texts []string
		for _, s := range job.Serials {
			hid := healthIDOfSerial(t, srv, s)
			texts = append(texts, srv.cardVersions(t, hid)[0].QR)
		}
		checkSheet(t, "registry", texts)
	}

	// The fields in each code are the person's: the registry's card and
	// one of the person's enrolments, and a member this laptop enrolled.
	for hid, v := range byHealthID {
		if !laptopIDs[hid] {
			t.Errorf("code for %s, which no member of the laptop holds", hid)
		}
		c := srv.cardVersions(t, hid)[0]
		if c.Serial != v.Serial || c.Version != v.Version || c.Name != v.Name || c.Sex != v.Sex || cards.ClaimDOB(c.DOB, c.DOBPrecision) != v.DOB {
			t.Errorf("code %+v differs from the registry's card %+v", v, c)
		}
		rows := dump(t, srv.db, `SELECT json_extract(r.data, '$.name'), json_extract(r.data, '$.dob'), json_extract(r.data, '$.sex')
			FROM residents r JOIN health_ids h ON h.person_id = r.person_id WHERE h.health_id = ?`, strings.ReplaceAll(hid, "-", ""))
		if !slices.Contains(rows, c.Name+"\t"+c.DOB+"\t"+c.Sex) {
			t.Errorf("card of %s says %s %s %s; the person's enrolments are %q", hid, c.Name, c.DOB, c.Sex, rows)
		}
	}

	// Confirmed: the cards are printed, and the laptop hears it.
	srv.cli(t, "cards", "confirm", fmt.Sprint(job.ID))
	if st := srv.cardStats(t); st.Cards.Printed != job.Count || st.Cards.Queued != st.Persons-job.Count {
		t.Errorf("after confirm: %+v, want %d printed", st.Cards, job.Count)
	}
	l.sync(t)
	printed := 0
	for rid, m := range l.memberCards(t) {
		if _, onSheet := byHealthID[m[0]]; onSheet {
			printed++
			if m[1] != "printed" {
				t.Errorf("member %s (%s) on the confirmed sheet: card %q on the laptop, want printed", rid, m[0], m[1])
			}
		} else if m[1] != "queued" {
			t.Errorf("member %s (%s) not printed yet: card %q on the laptop", rid, m[0], m[1])
		}
	}
	if printed == 0 {
		t.Error("no member of the laptop is on the sheet")
	}

	healthIDs := slices.Sorted(func(yield func(string) bool) {
		for hid := range byHealthID {
			if !yield(hid) {
				return
			}
		}
	})
	if len(healthIDs) < 3 {
		t.Fatalf("the sheet holds %d persons; the rest of the test needs 3", len(healthIDs))
	}
	t.Run("reprint and revoke keep one valid version", func(t *testing.T) {
		lost, withdrawn := healthIDs[0], healthIDs[1]
		oldQR := srv.cardVersions(t, lost)[0].QR
		srv.cli(t, "cards", "reprint", lost, "--reason", "lost")
		vs := srv.cardVersions(t, lost)
		if len(vs) != 2 || vs[0].Version != 2 || vs[0].Status != "queued" || vs[1].Status != "revoked" || vs[1].RevokedReason != "lost" {
			t.Fatalf("after reprint: %+v", vs)
		}
		res, code := srv.verifyTexts(t, []string{vs[0].QR, oldQR})
		if code != 0 || !res[0].Valid || res[0].Version != 2 || res[0].HealthID != lost {
			t.Errorf("new version's code: %+v (exit %d)", res[0], code)
		}
		// Offline, with only the keys, a revoked card's code still carries
		// a genuine signature: revocation is the server's to tell.
		if !res[1].Valid || res[1].Version != 1 {
			t.Errorf("old version's code offline: %+v; its signature is still good", res[1])
		}

		out := srv.cli(t, "cards", "revoke", withdrawn, "--reason", "withdrawn")
		if !strings.Contains(out, "revoked 1") {
			t.Errorf("revoke: %s", out)
		}
		if vs := srv.cardVersions(t, withdrawn); vs[0].Status != "revoked" || vs[0].RevokedReason != "withdrawn" {
			t.Errorf("after revoke: %+v", vs)
		}
		if _, errOut, code := srv.try(t, nil, "cards", "pdf", withdrawn, "--out", filepath.Join(dir, "none.pdf")); code != 1 || !strings.Contains(errOut, "no valid card") {
			t.Errorf("pdf of a revoked card: exit %d %s", code, errOut)
		}
		if n := validCardsPerPerson(t, srv, withdrawn); n != 0 {
			t.Errorf("revoked person has %d valid cards", n)
		}
		srv.cli(t, "cards", "reprint", withdrawn, "--reason", "corrected")
		checkOneValidCard(t, srv)
	})

	t.Run("an interrupted print job loses and doubles nothing", func(t *testing.T) {
		start := srv.cardStats(t).Cards
		queued := start.Queued
		// The PDF cannot land where asked (a directory is in the way): the
		// job is cancelled and its cards are back in the queue.
		blocked := filepath.Join(dir, "blocked.pdf")
		if err := os.MkdirAll(filepath.Join(blocked, "x"), 0o700); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := srv.try(t, nil, "cards", "print", "--centre", other.Centre, "--out", blocked)
		if code != 1 || !strings.Contains(errOut, "cancelled") {
			t.Fatalf("print to a directory: exit %d: %s", code, errOut)
		}
		if rows := dump(t, srv.db, `SELECT COUNT(*) FROM cards WHERE print_job IS NOT NULL AND status = 'queued'`); rows[0] != "0" {
			t.Errorf("%s queued cards still held by a job after the failed print", rows[0])
		}

		// A printing centre's client dies between creating a job and
		// confirming it: the job stays open and holds its cards.
		tok := decodeJSON[struct{ Token string }](t, srv.cli(t, "token", "create", "--role", "printer", "--name", "centre-pc", "--json")).Token
		req, _ := http.NewRequest(http.MethodPost, srv.url()+"/api/v1/print-jobs", strings.NewReader(fmt.Sprintf(`{"centre":%q,"limit":2}`, other.Centre)))
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("create job over the API: %d %s", res.StatusCode, body)
		}
		crashed := decodeJSON[printReport](t, string(body))
		if len(crashed.Serials) != 2 {
			t.Fatalf("API job %s", body)
		}
		if got := srv.cardStats(t).Cards.Queued; got != queued {
			t.Errorf("queued cards %d after an unconfirmed job, want still %d", got, queued)
		}
		// Recovery: the same job renders the same cards again.
		again := decodeJSON[printReport](t, srv.cli(t, "cards", "print", "--job", fmt.Sprint(crashed.ID), "--out", filepath.Join(dir, "again.pdf"), "--json"))
		if again.ID != crashed.ID || !slices.Equal(slices.Sorted(slices.Values(again.Serials)), slices.Sorted(slices.Values(crashed.Serials))) {
			t.Errorf("re-rendered job %+v, want job %d with %v", again, crashed.ID, crashed.Serials)
		}
		// A card of the open job reprinted meanwhile is revoked: the job
		// renders without it, and its new version waits for a later job.
		srv.cli(t, "cards", "reprint", healthIDOfSerial(t, srv, crashed.Serials[1]), "--reason", "corrected")
		again = decodeJSON[printReport](t, srv.cli(t, "cards", "print", "--job", fmt.Sprint(crashed.ID), "--out", filepath.Join(dir, "again.pdf"), "--json"))
		if !slices.Equal(again.Serials, crashed.Serials[:1]) {
			t.Errorf("job %d after one of its cards was reprinted renders %v, want only %v", crashed.ID, again.Serials, crashed.Serials[:1])
		}
		// Another job of the centre takes the rest, never the open job's.
		rest := decodeJSON[printReport](t, srv.cli(t, "cards", "print", "--centre", other.Centre, "--out", filepath.Join(dir, "rest.pdf"), "--json"))
		for _, s := range rest.Serials {
			if slices.Contains(crashed.Serials, s) {
				t.Errorf("card %s is in open job %d and in new job %d", s, crashed.ID, rest.ID)
			}
		}
		if len(rest.Serials)+len(crashed.Serials) != other.Queued+1 {
			t.Errorf("jobs hold %d + %d cards of %s, which had %d queued and one reprinted", len(rest.Serials), len(crashed.Serials), other.Centre, other.Queued)
		}
		if rows := dump(t, srv.db, `SELECT serial FROM cards GROUP BY serial HAVING COUNT(DISTINCT print_job) > 1`); len(rows) != 0 {
			t.Errorf("cards in two jobs: %v", rows)
		}
		srv.cli(t, "cards", "confirm", fmt.Sprint(crashed.ID))
		srv.cli(t, "cards", "cancel", fmt.Sprint(rest.ID))
		if _, errOut, code := srv.try(t, nil, "cards", "print", "--job", fmt.Sprint(crashed.ID), "--out", filepath.Join(dir, "twice.pdf")); code != 1 || !strings.Contains(errOut, "confirmed") {
			t.Errorf("re-render a confirmed job: exit %d %s; want a refusal", code, errOut)
		}
		after := srv.cardStats(t)
		if after.Cards.Queued != queued-1 || after.Cards.Printed != start.Printed+1 {
			t.Errorf("after confirming the recovered job: %+v; want its one card left printed, the rest queued", after.Cards)
		}
		checkOneValidCard(t, srv)
	})

	t.Run("keys rotate and retire", func(t *testing.T) {
		old := srv.cardVersions(t, healthIDs[2])[0]
		srv.cli(t, "keys", "rotate")
		keys := decodeJSON[struct {
			Keys []struct {
				KID     string
				Status  string
				Signing bool
			}
		}](t, srv.cli(t, "keys", "list", "--json")).Keys
		if len(keys) != 2 || keys[0].KID != oldKey || keys[0].Signing || !keys[1].Signing {
			t.Fatalf("keys after rotate: %+v", keys)
		}
		newKey := keys[1].KID
		srv.cli(t, "cards", "reprint", healthIDs[2], "--reason", "damaged")
		fresh := srv.cardVersions(t, healthIDs[2])[0]
		res, code := srv.verifyTexts(t, []string{fresh.QR, old.QR})
		if code != 0 || res[0].KeyID != newKey || res[1].KeyID != oldKey || !res[1].Valid {
			t.Errorf("after rotate: new card %+v, old card %+v (exit %d); want both valid, by new and old key", res[0], res[1], code)
		}
		// The private keys stay in their 0600 files, out of the database.
		pems, _ := filepath.Glob(filepath.Join(dir, "registry-keys", "card-signing", "*.pem"))
		if len(pems) != 2 {
			t.Errorf("private key files %v, want 2", pems)
		}
		db, _ := os.ReadFile(srv.db)
		wal, _ := os.ReadFile(srv.db + "-wal")
		for _, p := range pems {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %04o, want 0600", p, fi.Mode().Perm())
			}
			pem, _ := os.ReadFile(p)
			key := pem[len("-----BEGIN PRIVATE KEY-----\n"):][:40] // base64 of the PKCS#8 key
			if bytes.Contains(db, key) || bytes.Contains(wal, key) {
				t.Errorf("private key %s is in the database file", p)
			}
		}

		srv.cli(t, "keys", "retire", oldKey)
		out, _, code := srv.try(t, nil, "verify", old.QR)
		if code != 1 || !strings.Contains(out, "invalid: retired_key") {
			t.Errorf("verify a card of the retired key: exit %d\n%s", code, out)
		}
		// A verifier holding only the published document agrees, and the
		// running server published the retirement at once.
		doc := filepath.Join(dir, "published.json")
		res2, err := http.Get(srv.url() + "/.well-known/health-card-keys")
		if err != nil {
			t.Fatal(err)
		}
		published, _ := io.ReadAll(res2.Body)
		res2.Body.Close()
		if err := os.WriteFile(doc, published, 0o644); err != nil {
			t.Fatal(err)
		}
		got, code := srv.verifyTexts(t, []string{old.QR, fresh.QR}, "--keys", doc)
		if code != 1 || got[0].Reason != cards.ReasonRetiredKey || !got[1].Valid {
			t.Errorf("with the published keys: %+v (exit %d); want the old card retired_key, the new valid", got, code)
		}
		exported := filepath.Join(dir, "exported.json")
		srv.cli(t, "keys", "export", "--out", exported)
		if b, _ := os.ReadFile(exported); !bytes.Equal(bytes.TrimSpace(compactJSON(t, b)), bytes.TrimSpace(compactJSON(t, published))) {
			t.Errorf("keys export differs from /.well-known:\n%s\n%s", b, published)
		}
	})

	// healthIDs[2] now holds the one card signed by the new key.
	t.Run("tampered codes", func(t *testing.T) {
		good := srv.cardVersions(t, healthIDs[2])[0].QR
		for _, tt := range []struct{ name, text, reason string }{
			{"lower case", strings.ToLower(good), cards.ReasonNotBase45},
			{"characters dropped", dropToBadLength(good), cards.ReasonNotBase45},
			{"bit flipped in transit", flipBase45(good), cards.ReasonBadCompression},
			{"signature forged", forgeSignature(t, good), cards.ReasonBadSignature},
		} {
			out, _, code := srv.try(t, nil, "verify", tt.text)
			if code != 1 || !strings.HasPrefix(out, "invalid: "+tt.reason+": ") {
				t.Errorf("%s: exit %d\n%s\nwant exit 1 and invalid: %s", tt.name, code, out, tt.reason)
			}
		}
		if out, _, code := srv.try(t, nil, "verify", good); code != 0 {
			t.Errorf("the untouched code: exit %d\n%s", code, out)
		}
	})

	t.Run("one card as PDF and PNG", func(t *testing.T) {
		hid := healthIDs[2]
		png := filepath.Join(dir, "card.png")
		srv.cli(t, "cards", "qr", hid, "--png", png)
		res := decodeJSON[verified](t, srv.cli(t, "verify", "--image", png, "--json"))
		if !res.Valid || res.HealthID != hid {
			t.Errorf("QR PNG of %s: %+v", hid, res)
		}
		one := filepath.Join(dir, "one.pdf")
		srv.cli(t, "cards", "pdf", hid, "--out", one)
		requireTools(t, "pdftoppm")
		pages := rasterize(t, one)
		if len(pages) != 2 {
			t.Fatalf("single card PDF has %d pages, want front and back", len(pages))
		}
		res = decodeJSON[verified](t, srv.cli(t, "verify", "--image", pages[0], "--json"))
		if !res.Valid || res.HealthID != hid || res.Version != 2 {
			t.Errorf("card PDF of %s: %+v, want its valid version 2", hid, res)
		}
	})
}

// checkOneValidCard asserts the registry's rule: every active person has
// exactly one card version that is not revoked.
func checkOneValidCard(t *testing.T, srv *server) {
	t.Helper()
	rows := dump(t, srv.db, `SELECT p.id, (SELECT COUNT(*) FROM cards c WHERE c.person_id = p.id AND c.status != 'revoked') AS n
		FROM persons p WHERE p.status = 'active' AND n != 1`)
	if len(rows) != 0 {
		t.Errorf("persons without exactly one valid card (id, count): %q", rows)
	}
}

func validCardsPerPerson(t *testing.T, srv *server, healthID string) int {
	t.Helper()
	rows := dump(t, srv.db, `SELECT COUNT(*) FROM cards WHERE health_id = ? AND status != 'revoked'`, strings.ReplaceAll(healthID, "-", ""))
	var n int
	fmt.Sscan(rows[0], &n)
	return n
}

func healthIDOfSerial(t *testing.T, srv *server, serial string) string {
	t.Helper()
	return dump(t, srv.db, `SELECT health_id FROM cards WHERE serial = ?`, serial)[0]
}

func compactJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The tampering below works on the QR text as a forger would: Base45
// (RFC 9285) over a zlib stream of one stored block.
const b45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

func base45Decode(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for i := 0; i < len(s); i += 3 {
		n, mul := 0, 1
		for _, c := range []byte(s[i:min(i+3, len(s))]) {
			n += strings.IndexByte(b45, c) * mul
			mul *= 45
		}
		if i+2 < len(s) {
			out = append(out, byte(n>>8), byte(n))
		} else {
			out = append(out, byte(n))
		}
	}
	return out
}

func base45Encode(b []byte) string {
	var out []byte
	for i := 0; i+1 < len(b); i += 2 {
		n := int(b[i])<<8 | int(b[i+1])
		out = append(out, b45[n%45], b45[n/45%45], b45[n/2025])
	}
	if len(b)%2 == 1 {
		n := int(b[len(b)-1])
		out = append(out, b45[n%45], b45[n/45])
	}
	return string(out)
}

// dropToBadLength cuts characters off the end until one is left over
// from the groups of three Base45 reads.
func dropToBadLength(text string) string {
	for len(text)%3 != 1 {
		text = text[:len(text)-1]
	}
	return text
}

// flipBase45 changes one bit of the content as a bad scan or a typo
// would: the zlib checksum catches it before the signature is looked at.
func flipBase45(text string) string {
	z := []byte(text)
	i := len(z) / 2 / 3 * 3 // the low digit of a group: the bytes stay in range
	z[i] = b45[(strings.IndexByte(b45, z[i])+1)%45]
	return string(z)
}

// forgeSignature changes the last byte of the signature and fixes up the
// zlib checksum, as someone altering a card on purpose would.
func forgeSignature(t *testing.T, text string) string {
	t.Helper()
	z := base45Decode(t, text)
	if len(z) < 11 || z[2] != 0x01 {
		t.Fatalf("not the stored-block zlib stream a card carries: % x", z[:3])
	}
	payload := z[7 : len(z)-4]
	payload[len(payload)-1] ^= 0x01 // the COSE signature ends the structure
	binary.BigEndian.PutUint32(z[len(z)-4:], adler32.Checksum(payload))
	return base45Encode(z)
}
