package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// surveyorUI is a running `surveyor ui` over a laptop's data.
type surveyorUI struct {
	url string // with the run's secret
	cmd *exec.Cmd
	log *bytes.Buffer
}

// startSurveyorUI starts `surveyor ui` and reads the address it prints.
func startSurveyorUI(t *testing.T, l *laptop) *surveyorUI {
	t.Helper()
	cmd := exec.Command(bin.surveyor, "--data", l.data, "ui")
	cmd.Env = cleanEnv()
	u := &surveyorUI{cmd: cmd, log: &bytes.Buffer{}}
	cmd.Stderr = u.log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
	}()
	select {
	case s, ok := <-line:
		// The address names a host of this run under .localhost (the
		// browser resolves it to this laptop; its cookie stays with it).
		if !ok || !regexp.MustCompile(`^http://[a-z0-9-]+\.localhost:\d+/\?k=`).MatchString(s) {
			t.Fatalf("surveyor ui printed %q, want its address with the key\n%s", s, u.log)
		}
		u.url = s
	case <-time.After(20 * time.Second):
		t.Fatalf("surveyor ui printed no address within 20s\n%s", u.log)
	}
	return u
}

// base is the form's address without the key.
func (u *surveyorUI) base() string { return u.url[:strings.Index(u.url, "/?k=")] }

// newUIScreenshots keeps the form's screenshots: SURVEYOR_UI_SCREENSHOTS
// or a temp dir of the test, and a copy in
// $TMPDIR/doorstep-surveyor-ui-screenshots that outlives the test.
func newUIScreenshots(t *testing.T) *screenshots {
	t.Helper()
	return keepScreenshots(t, "SURVEYOR_UI_SCREENSHOTS", "doorstep-surveyor-ui-screenshots", "each step of the survey form")
}

// keys types into the focused element and presses keys, as a worker does.
func keys(t *testing.T, ctx context.Context, steps ...string) {
	t.Helper()
	for _, s := range steps {
		var err error
		switch s {
		case "⇥":
			err = chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab))
		case "⇧⇥":
			err = chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
		case "⏎":
			err = chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter))
		case "⌃⏎":
			err = chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
		case "␣":
			err = chromedp.Do(ctx, chromedp.KeyEvent(" "))
		default:
			err = chromedp.Do(ctx, chromedp.KeyEvent(s))
		}
		if err != nil {
			t.Fatalf("press %q: %v", s, err)
		}
	}
}

// waitTrue polls a script until it is true: the page answers the
// worker's keys asynchronously (validation, drafts, sync).
func waitTrue(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 20s for %s (%s): %v", what, js, err)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

func focusedName(t *testing.T, ctx context.Context) string {
	t.Helper()
	return evaluate[string](t, ctx, `document.activeElement.name || document.activeElement.id || ""`)
}

// expectFocus fails unless the keyboard is on the named field: the tab
// order follows the paper form.
func expectFocus(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if got := focusedName(t, ctx); got != name {
		t.Fatalf("focus on %q, want %q", got, name)
	}
}

// member types one member row from its relation field on, ending on the
// Aadhaar field.
func member(t *testing.T, ctx context.Context, i int, relation, name, sex, dob, age, father, spouse, phone, aadhaar string) {
	t.Helper()
	p := "members[" + string(rune('0'+i)) + "]."
	expectFocus(t, ctx, p+"relation")
	keys(t, ctx, relation, "⇥", name, "⇥", sex, "⇥", dob, "⇥", age, "⇥", father, "⇥", spouse, "⇥", phone, "⇥", aadhaar)
	expectFocus(t, ctx, p+"aadhaar")
	for field, want := range map[string]string{"relation": strings.ToLower(relation), "sex": sex, "name": name} {
		if got := evaluate[string](t, ctx, `document.querySelector('[name="`+p+field+`"]').value`); got != want && !(field == "relation" && strings.HasPrefix(want, got)) {
			t.Fatalf("%s%s is %q after typing %q", p, field, got, want)
		}
	}
}

// pressSync presses Sync now with the keyboard and waits for the page to
// show the result after it reloads the list.
func pressSync(t *testing.T, ctx context.Context) string {
	t.Helper()
	before := evaluate[float64](t, ctx, `performance.timeOrigin`)
	if err := chromedp.Do(ctx, chromedp.Focus("#sync")); err != nil {
		t.Fatal(err)
	}
	keys(t, ctx, "⏎")
	waitTrue(t, ctx, "the sync result", `performance.timeOrigin != `+strconv.FormatFloat(before, 'f', -1, 64)+
		` && document.readyState == "complete" && ["ok","offline","error"].includes(document.getElementById("sync-result").dataset.kind)`)
	return evaluate[string](t, ctx, `document.getElementById("sync-result").dataset.kind`)
}

// The survey form in a real browser, against a real `surveyor ui` and a
// real `syncserver`: a household of four enrolled with the keyboard, a bad
// Aadhaar number caught and fixed, a reload mid-entry restored from the
// draft, saved, synced and health IDs shown; then with the server down a
// household still enrols, the page says offline, and the sync succeeds
// once the server is back.
func TestSurveyorUIInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	start := time.Now()
	dir := t.TempDir()
	db := filepath.Join(dir, "registry.db")
	srv := startServer(t, db)
	l := newLaptop(t, srv, "laptop-ui")
	u := startSurveyorUI(t, l)
	ctx := startBrowser(t, chromium)
	shots := newUIScreenshots(t)

	// The address without the key is refused; with it, the list opens.
	if status := navigate(t, ctx, u.base()+"/"); status != 403 {
		t.Errorf("the form without its key: %d, want 403", status)
	}
	navigate(t, ctx, u.url)
	if got := location(t, ctx); got != "/" {
		t.Fatalf("after opening the printed address the browser is on %s", got)
	}
	shots.take(t, ctx, "list-empty")

	// Enrol with the keyboard, in the paper form's order.
	navigate(t, ctx, u.base()+"/enrol")
	expectFocus(t, ctx, "address.line1")
	keys(t, ctx, "House 12, Gali 4", "⇥", "⇥", "Rohini Sector 5", "⇥", "Delhi", "⇥", "110085", "⇥")
	if focusedName(t, ctx) == "gps-button" {
		keys(t, ctx, "⇥")
	}
	expectFocus(t, ctx, "outcome")
	keys(t, ctx, "⇥")
	expectFocus(t, ctx, "consent.given")
	keys(t, ctx, "␣", "⇥")
	member(t, ctx, 0, "head", "Ram Kumar", "M", "1980-05-12", "", "Suresh Kumar", "Sita Devi", "9812345678", "234567890123")
	keys(t, ctx, "⇥") // leave the Aadhaar field: the rule is checked at once
	waitTrue(t, ctx, "the Aadhaar check-digit message",
		`document.querySelector('[data-error-for="members[0].aadhaar"]').textContent.includes("not a valid Aadhaar number")`)
	if masked := evaluate[string](t, ctx, `document.querySelector('[name="members[0].aadhaar"]').type`); masked != "password" {
		t.Errorf("the Aadhaar number is not masked after entry (input type %q)", masked)
	}
	shots.take(t, ctx, "aadhaar-invalid")
	keys(t, ctx, "⇧⇥")
	expectFocus(t, ctx, "members[0].aadhaar")
	if err := chromedp.Do(ctx, chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl))); err != nil {
		t.Fatal(err)
	}
	keys(t, ctx, "2345 6789 0124")
	waitTrue(t, ctx, "the Aadhaar message to go", `document.querySelector('[data-error-for="members[0].aadhaar"]').textContent == ""`)
	shots.take(t, ctx, "aadhaar-fixed")

	// Enter adds a member.
	keys(t, ctx, "⏎")
	member(t, ctx, 1, "spouse", "Sita Devi", "F", "", "41", "", "Ram Kumar", "", "")
	waitTrue(t, ctx, "the estimated date of birth", `document.querySelector('[data-note-for="members[1].dob"]').textContent.includes("Estimated")`)
	keys(t, ctx, "⏎")
	member(t, ctx, 2, "son", "Mohan Kumar", "M", "2012-03-04", "", "Ram Kumar", "", "", "")

	// Reload mid-entry: the draft brings everything back but the Aadhaar
	// number, which the page asks for again.
	waitTrue(t, ctx, "the draft to be saved", `location.search.startsWith("?draft=") && document.getElementById("draft-status").textContent.includes("Draft saved")`)
	shots.take(t, ctx, "before-reload")
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitTrue(t, ctx, "the restored form", `document.readyState == "complete" && !!document.getElementById("restored")`)
	for field, want := range map[string]string{"address.line1": "House 12, Gali 4", "members[1].age": "41", "members[2].name": "Mohan Kumar", "members[0].aadhaar": ""} {
		if got := evaluate[string](t, ctx, `document.querySelector('[name="`+field+`"]').value`); got != want {
			t.Errorf("after the reload %s is %q, want %q", field, got, want)
		}
	}
	if restored := text(t, ctx, "#restored"); !strings.Contains(restored, "ending 0124") {
		t.Errorf("the restored form says %q", restored)
	}
	shots.take(t, ctx, "draft-restored")
	expectFocus(t, ctx, "members[0].aadhaar")
	keys(t, ctx, "234567890124", "⏎")
	member(t, ctx, 3, "daughter", "Gita Kumari", "F", "", "8", "Ram Kumar", "", "", "")
	shots.take(t, ctx, "household-of-four")

	// Ctrl+Enter saves.
	if status := respond(t, ctx, "save", chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl))); status != 200 {
		t.Fatalf("save: %d", status)
	}
	if flash := text(t, ctx, "#flash"); !strings.Contains(flash, "Saved the household of Ram Kumar with 4 members") {
		t.Fatalf("after saving: %q on %s", flash, location(t, ctx))
	}
	if drafts := evaluate[int](t, ctx, `document.querySelectorAll("[data-draft-offer]").length`); drafts != 0 {
		t.Errorf("the saved household's draft is still offered")
	}
	shots.take(t, ctx, "saved")

	// Sync, and again until the matcher's health IDs arrive.
	if kind := pressSync(t, ctx); kind != "ok" {
		t.Fatalf("sync: %s: %s", kind, text(t, ctx, "#sync-result"))
	}
	for n := evaluate[int](t, ctx, `document.querySelectorAll("[data-health-id]").length`); n < 4; n = evaluate[int](t, ctx, `document.querySelectorAll("[data-health-id]").length`) {
		if time.Since(start) > 45*time.Second {
			t.Fatalf("%d of 4 health IDs on the list after %v", n, time.Since(start))
		}
		srv.waitMatched(t)
		pressSync(t, ctx)
	}
	if state := text(t, ctx, "[data-household] .state"); state != "Health ID issued" {
		t.Errorf("household state %q", state)
	}
	shots.take(t, ctx, "health-ids")

	// The server goes away: enrolling still works, the page says offline.
	srv.stop()
	navigate(t, ctx, u.base()+"/enrol")
	keys(t, ctx, "House 7, Gali 9", "⇥", "⇥", "Rohini Sector 5", "⇥", "Delhi", "⇥", "110085", "⇥")
	if focusedName(t, ctx) == "gps-button" {
		keys(t, ctx, "⇥")
	}
	keys(t, ctx, "⇥", "␣", "⇥")
	member(t, ctx, 0, "head", "Abdul Rashid", "M", "1975", "", "", "", "7011122233", "")
	if status := respond(t, ctx, "save offline", chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl))); status != 200 {
		t.Fatalf("save offline: %d", status)
	}
	if flash := text(t, ctx, "#flash"); !strings.Contains(flash, "Saved the household of Abdul Rashid") {
		t.Fatalf("offline save: %q", flash)
	}
	if kind := pressSync(t, ctx); kind != "offline" {
		t.Fatalf("sync with the server down: %s", kind)
	}
	if msg := text(t, ctx, "#sync-result"); !strings.Contains(msg, "Offline") || !strings.Contains(msg, "1 households wait") {
		t.Errorf("sync result offline: %q", msg)
	}
	waitTrue(t, ctx, "the offline banner", `document.getElementById("net").classList.contains("offline")`)
	shots.take(t, ctx, "offline")

	// The server is back where the laptop knows it.
	srv2 := startServerOn(t, db, srv.addr)
	if kind := pressSync(t, ctx); kind != "ok" {
		t.Fatalf("sync once the server is back: %s: %s", kind, text(t, ctx, "#sync-result"))
	}
	if st := l.status(t); st.Pending != 0 || st.Households != 2 || st.Residents != 5 {
		t.Errorf("laptop after the sync: %+v", st)
	}
	if got := srv2.stats(t); got.Households != 2 || got.Residents != 5 {
		t.Errorf("server after the sync: %+v", got)
	}
	shots.take(t, ctx, "synced-after-offline")

	t.Logf("survey form test took %v", time.Since(start).Round(time.Millisecond))
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("the browser steps ran out of their 60 s")
	}
}
