package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/doorstep-health/doorstep/cards"
)

// defaultChromium is where Debian's chromium package (scripts/install-deps.sh)
// puts the browser; DOORSTEP_CHROMIUM names another.
const defaultChromium = "/usr/bin/chromium"

// chromiumPath finds the browser. Without it the console test fails, with
// the way to get it: a skipped browser test would pass CI unseen. Only
// DOORSTEP_SKIP_BROWSER=1 skips it, on purpose.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("DOORSTEP_CHROMIUM")
	if path == "" {
		path = defaultChromium
	}
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("DOORSTEP_SKIP_BROWSER") == "1" {
			t.Skipf("chromium not found at %s and DOORSTEP_SKIP_BROWSER=1: the console's browser test is skipped", path)
		}
		t.Fatalf("chromium not found at %s (%v): `make deps` (scripts/install-deps.sh) installs Debian's chromium; "+
			"DOORSTEP_CHROMIUM names another browser, DOORSTEP_SKIP_BROWSER=1 skips this test", path, err)
	}
	return path
}

// screenshots is where the test writes a PNG of each page: CONSOLE_SCREENSHOTS
// if set, else a temp dir of the test; a copy goes to
// $TMPDIR/doorstep-console-screenshots, which outlives the test, so a person
// can look.
type screenshots struct {
	dirs []string
	n    int
}

func newScreenshots(t *testing.T) *screenshots {
	t.Helper()
	return keepScreenshots(t, "CONSOLE_SCREENSHOTS", "doorstep-console-screenshots", "each console page")
}

// keepScreenshots makes the folders a browser test's screenshots go to:
// the folder env names, or a temp dir of the test, and a copy in
// $TMPDIR/keep that outlives the test so a person can look.
func keepScreenshots(t *testing.T, env, keep, what string) *screenshots {
	t.Helper()
	dir := os.Getenv(env)
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "screenshots")
	}
	keep = filepath.Join(os.TempDir(), keep)
	if err := os.RemoveAll(keep); err != nil {
		t.Fatal(err)
	}
	s := &screenshots{dirs: []string{dir}}
	if filepath.Clean(keep) != filepath.Clean(dir) {
		s.dirs = append(s.dirs, keep)
	}
	for _, d := range s.dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots of %s: %s", what, strings.Join(s.dirs, " and "))
	return s
}

// take writes the viewport, 1366 × 768 as on a field laptop, and checks
// the page needs no sideways scrolling at that width.
func (s *screenshots) take(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	s.n++
	file := fmt.Sprintf("%02d-%s.png", s.n, name)
	for _, d := range s.dirs {
		if err := os.WriteFile(filepath.Join(d, file), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if !fits {
		t.Errorf("page %s scrolls sideways at 1366 × 768 (%s)", name, file)
	}
}

// startBrowser starts headless chromium at 1366 × 768 and returns a tab's
// context, which the test's end closes.
func startBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	var out bytes.Buffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // the tests may run as root, in a container
		chromedp.DisableGPU,
		chromedp.WindowSize(1366, 768),
		chromedp.Flag("lang", "en-GB"),
		chromedp.CombinedOutput(&out),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 768)); err != nil {
		t.Fatalf("chromium at %s did not start: %v\n%s", path, err, out.String())
	}
	return ctx
}

// navigate loads a page and returns its HTTP status.
func navigate(t *testing.T, ctx context.Context, url string) int64 {
	t.Helper()
	return respond(t, ctx, "open "+url, chromedp.Navigate(url))
}

// respond runs steps that load a page (a key press, a click) and returns
// the status of the page they load.
func respond(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) int64 {
	t.Helper()
	res, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return res.Status
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s on %s: %v", css, location(t, ctx), err)
	}
	return strings.TrimSpace(s)
}

func number(t *testing.T, ctx context.Context, css string) int {
	t.Helper()
	s := text(t, ctx, css)
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s is %q, not a number", css, s)
	}
	return n
}

func evaluate[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// signInBrowser signs in through the form, typing the token and Enter.
func signInBrowser(t *testing.T, ctx context.Context, srv *server, token, wantHome string) {
	t.Helper()
	navigate(t, ctx, srv.url()+"/console/")
	if got := location(t, ctx); got != "/console/signin" {
		t.Fatalf("the console without a session opened %s, want the sign-in form", got)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("token"), token)); err != nil {
		t.Fatal(err)
	}
	if status := respond(t, ctx, "sign in", chromedp.KeyEvent(kb.Enter)); status != http.StatusOK {
		t.Fatalf("sign in: status %d", status)
	}
	if got := location(t, ctx); got != wantHome {
		t.Fatalf("signed in on %s, want %s", got, wantHome)
	}
}

// sessionClient is a Go HTTP client holding the browser's console cookie,
// to fetch what a browser downloads.
func sessionClient(t *testing.T, ctx context.Context, srv *server) *http.Client {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.url() + "/console/"}})
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(srv.url() + "/console/")
	var got []*http.Cookie
	for _, c := range res.Cookies {
		if c.Name == "doorstep_console" {
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/console" {
				t.Errorf("session cookie in the browser: HttpOnly %v, SameSite %q, Path %q", c.HTTPOnly, c.SameSite, c.Path)
			}
			got = append(got, &http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path})
		}
	}
	if len(got) != 1 {
		t.Fatalf("the browser holds %d console session cookies", len(got))
	}
	jar.SetCookies(u, got)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// goSignIn signs in with a plain HTTP client, as a script could, and
// returns it with the session's CSRF token.
func goSignIn(t *testing.T, srv *server, token string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, form := fetch(t, c, http.MethodGet, srv.url()+"/console/signin", nil)
	m := csrfField.FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("no CSRF field on the sign-in form:\n%s", form)
	}
	if status, body := fetch(t, c, http.MethodPost, srv.url()+"/console/signin", url.Values{"csrf": {m[1]}, "token": {token}}); status != http.StatusSeeOther {
		t.Fatalf("sign in: %d\n%s", status, body)
	}
	_, page := fetch(t, c, http.MethodGet, srv.url()+"/console/progress", nil)
	if m = csrfField.FindStringSubmatch(page); m == nil {
		t.Fatalf("no CSRF field on the progress page:\n%s", page)
	}
	return c, m[1]
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// The supervisor console in a real browser, against a real server seeded
// through a laptop's sync: a supervisor signs in, decides a review task
// with the keyboard alone and sees the person count fall; a printer makes
// a print job, downloads its sheets and the QR codes on them verify; and
// neither can do the other's work.
func TestConsoleInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	start := time.Now()
	dir := t.TempDir()
	srv := startServer(t, filepath.Join(dir, "registry.db"))
	l := newLaptop(t, srv, "laptop-console")
	// A seed whose duplicates leave review tasks for the supervisor.
	l.run(t, "import", generate(t, 60, 0.3, 1))
	if rep := l.sync(t); rep.Accepted == 0 || rep.Rejected != 0 {
		t.Fatalf("sync: %+v", rep)
	}
	srv.waitMatched(t)
	if st := srv.stats(t); st.ReviewOpen == 0 {
		t.Fatalf("the seeded registry has no review task: %+v", st)
	}
	supervisor := decodeJSON[struct{ Token string }](t, srv.cli(t, "token", "create", "--role", "supervisor", "--name", "console-supervisor", "--json")).Token
	printer := decodeJSON[struct{ Token string }](t, srv.cli(t, "token", "create", "--role", "printer", "--name", "console-printer", "--json")).Token
	t.Logf("seeded in %v", time.Since(start).Round(time.Millisecond))

	ctx := startBrowser(t, chromium)
	shots := newScreenshots(t)

	// Supervisor: sign in, see the persons, decide a task by keyboard.
	navigate(t, ctx, srv.url()+"/console/")
	shots.take(t, ctx, "signin")
	signInBrowser(t, ctx, srv, supervisor, "/console/review")
	if who := text(t, ctx, "#who"); !strings.Contains(who, "console-supervisor") {
		t.Errorf("signed in as %q", who)
	}
	navigate(t, ctx, srv.url()+"/console/progress")
	before := number(t, ctx, "#total-persons")
	if want := srv.stats(t).Persons; before != want {
		t.Errorf("progress shows %d persons, the registry has %d", before, want)
	}
	shots.take(t, ctx, "progress")

	navigate(t, ctx, srv.url()+"/console/review")
	shots.take(t, ctx, "review-queue")
	focused := evaluate[string](t, ctx, `document.activeElement.getAttribute("href") || ""`)
	if !strings.HasPrefix(focused, "/console/review/") {
		t.Fatalf("the queue's first task is not focused (focus on %q): Enter would not open it", focused)
	}
	if status := respond(t, ctx, "Enter on the first task", chromedp.KeyEvent(kb.Enter)); status != http.StatusOK {
		t.Fatalf("open the first task: %d", status)
	}
	taskPath := location(t, ctx)
	if taskPath != focused {
		t.Fatalf("Enter opened %s, want %s", taskPath, focused)
	}
	shots.take(t, ctx, "review-task")
	name := strings.TrimPrefix(text(t, ctx, "#side-A"), "Resident A: ")
	if status := respond(t, ctx, "press s", chromedp.KeyEvent("s")); status != http.StatusOK {
		t.Fatalf("decide with s: %d", status)
	}
	taskID := strings.TrimPrefix(taskPath, "/console/review/")
	if flash := text(t, ctx, "#flash"); flash != "Task "+taskID+" decided: same person." {
		t.Errorf("after pressing s: %q on %s", flash, location(t, ctx))
	}
	if next := location(t, ctx); next == taskPath || !strings.HasPrefix(next, "/console/review") {
		t.Errorf("after the decision the browser is on %s, want the next task", next)
	}
	shots.take(t, ctx, "review-next-task")
	if got := dump(t, srv.db, `SELECT status || ' ' || decided_by FROM review_tasks WHERE id = ?`, taskID); got[0] != "same console-supervisor" {
		t.Errorf("task %s in the registry: %q", taskID, got)
	}
	navigate(t, ctx, srv.url()+"/console/progress")
	if after := number(t, ctx, "#total-persons"); after != before-1 {
		t.Errorf("persons %d before the decision, %d after; want one fewer", before, after)
	}
	shots.take(t, ctx, "progress-after")
	// The merged person, found by name with the keyboard: type, Enter,
	// Escape leaves the field, j takes the first row, Enter opens it.
	navigate(t, ctx, srv.url()+"/console/people")
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("q"), name)); err != nil {
		t.Fatal(err)
	}
	if status := respond(t, ctx, "search "+name, chromedp.KeyEvent(kb.Enter)); status != http.StatusOK {
		t.Fatalf("search %s: %d", name, status)
	}
	shots.take(t, ctx, "people-search")
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape), chromedp.KeyEvent("j")); err != nil {
		t.Fatal(err)
	}
	if status := respond(t, ctx, "open the first person", chromedp.KeyEvent(kb.Enter)); status != http.StatusOK {
		t.Fatalf("open the first person found: %d", status)
	}
	if !strings.HasPrefix(location(t, ctx), "/console/people/") {
		t.Fatalf("Enter on the first result opened %s", location(t, ctx))
	}
	if audit := text(t, ctx, "#audit"); !strings.Contains(audit, "console-supervisor") || !strings.Contains(audit, "console.person") {
		t.Errorf("the person's audit trail does not show this read:\n%s", audit)
	}
	shots.take(t, ctx, "person")

	// A supervisor's session cannot post a print action, nor see one.
	if n := evaluate[int](t, ctx, `document.querySelectorAll('a[href="/console/print"]').length`); n != 0 {
		t.Errorf("the supervisor's menu shows the print queue")
	}
	if status := navigate(t, ctx, srv.url()+"/console/print"); status != http.StatusForbidden {
		t.Errorf("supervisor opens the print queue: %d, want 403", status)
	}
	supClient, supCSRF := goSignIn(t, srv, supervisor)

	if status := respond(t, ctx, "sign out", chromedp.Click(chromedp.ID("signout"))); status != http.StatusOK {
		t.Errorf("sign out: %d", status)
	}
	if got := location(t, ctx); !strings.HasPrefix(got, "/console/signin") {
		t.Errorf("after signing out: %s", got)
	}
	shots.take(t, ctx, "signed-out")
	if navigate(t, ctx, srv.url()+"/console/review"); location(t, ctx) != "/console/signin" {
		t.Errorf("after signing out the review queue opened")
	}

	// Printer: a print job of ten cards, typed and sent with the keyboard.
	signInBrowser(t, ctx, srv, printer, "/console/print")
	shots.take(t, ctx, "print-queue")
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("limit-0"), "10")); err != nil {
		t.Fatal(err)
	}
	if status := respond(t, ctx, "make a print job", chromedp.KeyEvent(kb.Enter)); status != http.StatusOK {
		t.Fatalf("make a print job: %d", status)
	}
	jobPath := location(t, ctx)
	if !strings.HasPrefix(jobPath, "/console/print/jobs/") {
		t.Fatalf("after making a job the browser is on %s", jobPath)
	}
	jobID := strings.TrimPrefix(jobPath, "/console/print/jobs/")
	shots.take(t, ctx, "print-job")
	serials := dump(t, srv.db, `SELECT serial FROM cards WHERE print_job = ? ORDER BY serial`, jobID)
	if len(serials) != 10 {
		t.Fatalf("job %s holds %d cards, want 10", jobID, len(serials))
	}

	// The PDF as the browser would download it, with the session's cookie.
	pc := sessionClient(t, ctx, srv)
	res, err := pc.Get(srv.url() + jobPath + "/sheet.pdf")
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("sheet.pdf: %d %q %.20q", res.StatusCode, res.Header.Get("Content-Type"), pdf)
	}
	sheet := filepath.Join(dir, "console-sheet.pdf")
	if err := os.WriteFile(sheet, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("QR codes on the downloaded sheet verify", func(t *testing.T) {
		requireTools(t, "pdftoppm", "zbarimg")
		pages := rasterize(t, sheet)
		if len(pages) != 2 {
			t.Fatalf("%d pages for one sheet of 10 cards, want front and back", len(pages))
		}
		texts := zbarSheetPage(t, pages[0], cards.CardsPerSheet)
		res, code := srv.verifyTexts(t, texts)
		var read []string
		for _, v := range res {
			if !v.Valid {
				t.Errorf("code on the sheet: %+v, want valid", v)
			}
			read = append(read, v.Serial)
		}
		slices.Sort(read)
		if code != 0 || !slices.Equal(read, serials) {
			t.Errorf("verify exit %d; read serials %v, want the job's %v", code, read, serials)
		}
		// And the pure-Go reader, as `syncserver verify --image` is used at a desk.
		out := srv.cli(t, "verify", "--image", pages[0], "--json")
		if n := strings.Count(out, `"valid":true`); n != len(serials) {
			t.Errorf("gozxing read %d valid codes off the page, want %d", n, len(serials))
		}
	})

	if status := respond(t, ctx, "confirm printed", chromedp.Click(chromedp.ID("confirm"))); status != http.StatusOK {
		t.Fatalf("confirm: %d", status)
	}
	if s := text(t, ctx, "#job-status"); s != "confirmed" {
		t.Errorf("job status after confirm: %q", s)
	}
	shots.take(t, ctx, "print-job-confirmed")
	if status := respond(t, ctx, "mark dispatched", chromedp.Click(chromedp.ID("dispatch"))); status != http.StatusOK {
		t.Fatalf("dispatch: %d", status)
	}
	if got := dump(t, srv.db, `SELECT DISTINCT status FROM cards WHERE print_job = ?`, jobID); !slices.Equal(got, []string{"dispatched"}) {
		t.Errorf("cards of job %s after dispatch: %v", jobID, got)
	}
	if s := text(t, ctx, "#job-status"); s != "dispatched" {
		t.Errorf("job status after dispatch: %q", s)
	}
	shots.take(t, ctx, "print-job-dispatched")

	// A printer cannot open review tasks, and is not offered them.
	if n := evaluate[int](t, ctx, `document.querySelectorAll('a[href="/console/review"]').length`); n != 0 {
		t.Errorf("the printer's menu shows review tasks")
	}
	for _, path := range []string{"/console/review", taskPath} {
		if status := navigate(t, ctx, srv.url()+path); status != http.StatusForbidden {
			t.Errorf("printer opens %s: %d, want 403", path, status)
		}
	}
	shots.take(t, ctx, "printer-review-forbidden")
	pcCSRF := csrfField.FindStringSubmatch(func() string { _, b := fetch(t, pc, http.MethodGet, srv.url()+"/console/print", nil); return b }())
	if pcCSRF == nil {
		t.Fatal("no CSRF field on the print queue")
	}
	if status, _ := fetch(t, pc, http.MethodPost, srv.url()+taskPath, url.Values{"csrf": {pcCSRF[1]}, "decision": {"different"}}); status != http.StatusForbidden {
		t.Errorf("printer posts a review decision: %d, want 403", status)
	}

	// A supervisor cannot post a print action, with a good CSRF token.
	for _, f := range []struct {
		path string
		form url.Values
	}{
		{"/console/print/jobs", url.Values{"centre": {"DL-NW"}, "limit": {"1"}}},
		{jobPath + "/cancel", url.Values{}},
	} {
		f.form.Set("csrf", supCSRF)
		if status, _ := fetch(t, supClient, http.MethodPost, srv.url()+f.path, f.form); status != http.StatusForbidden {
			t.Errorf("supervisor posts %s: %d, want 403", f.path, status)
		}
	}
	if got := dump(t, srv.db, `SELECT COUNT(*) FROM print_jobs`); got[0] != "1" {
		t.Errorf("%s print jobs after the refused posts, want 1", got[0])
	}
	t.Logf("console test took %v", time.Since(start).Round(time.Millisecond))
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("the browser steps ran out of their 60 s")
	}
}
