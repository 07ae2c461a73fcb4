package console

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/doorstep-health/doorstep/internal/testkit"
	"github.com/doorstep-health/doorstep/internal/webasset"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
	"github.com/doorstep-health/doorstep/syncserver/store/storetest"
)

// xss is the name a careless page would run.
const xss = "<script>alert(1)</script>"

// env is a console over a real store in a temp dir, on an httptest server.
type env struct {
	store *store.Store
	url   string
	clock *testkit.Clock
	logs  *testkit.Buffer
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	return newEnvOver(t, opts, func(st *store.Store) Registry { return st })
}

// newEnvOver is newEnv with the console over wrap(store), for tests that
// watch what the console asks of the registry.
func newEnvOver(t *testing.T, opts Options, wrap func(*store.Store) Registry) *env {
	t.Helper()
	st := storetest.Open(t)
	clk := testkit.NewClock(time.Now())
	opts.now = clk.Now
	logs := &testkit.Buffer{}
	ts := httptest.NewServer(Handler(wrap(st), slog.New(slog.NewTextHandler(logs, nil)), opts))
	t.Cleanup(ts.Close)
	return &env{store: st, url: ts.URL, clock: clk, logs: logs}
}

func (e *env) token(t *testing.T, role, name string, opts ...store.TokenOption) string {
	t.Helper()
	tok, err := e.store.CreateToken(context.Background(), role, name, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// enrolled is a household and its members as a laptop sends them.
func enrolled(t *testing.T, id, line1, locality string, members ...schema.Resident) []schema.Record {
	t.Helper()
	h := schema.Household{ID: id, Area: "DL-NE-W02", Outcome: schema.OutcomeEnrolled,
		Address:   schema.Address{Line1: line1, Locality: locality, City: "Delhi", Pincode: "110091"},
		Consent:   schema.Consent{Given: true},
		VisitedAt: "2026-03-02T11:00:00+05:30", Members: members}
	for i := range h.Members {
		h.Members[i].Relation = "other"
	}
	h.Normalize(time.Now())
	members, h.Members = h.Members, nil
	recs := []schema.Record{{Kind: schema.KindHousehold, ID: id, Version: 1, Data: mustJSON(t, h)}}
	for _, m := range members {
		m.HouseholdID = id
		recs = append(recs, schema.Record{Kind: schema.KindResident, ID: m.ID, Version: 1, Data: mustJSON(t, m)})
	}
	return recs
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func aged(id, name, sex string, age int) schema.Resident {
	return schema.Resident{ID: id, Name: name, Sex: sex, Age: &age}
}

func born(id, name, sex, dob string) schema.Resident {
	return schema.Resident{ID: id, Name: name, Sex: sex, DOB: dob}
}

// seedReview enrols two women twice each, from two laptops, so that the
// matcher asks a supervisor about both pairs. One of them was heard at
// the door with a father's name that is a script.
func (e *env) seedReview(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	lakshmi := born("lakshmi-1", "Lakshmi Verma", "F", "1990-06-30")
	lakshmi.FatherName = xss
	for team, recs := range [][]schema.Record{
		append(enrolled(t, "hh-1", xss, "Trilokpuri", lakshmi),
			enrolled(t, "hh-2", "H.No. 31, Gali 8", "Mangolpuri", born("sunita-1", "Suneeta Shrivastava", "F", "1984-02-11"))...),
		append(enrolled(t, "hh-3", "D-14, Block D", "Sultanpuri", aged("lakshmi-2", "Laxmi Varma", "F", 35)),
			enrolled(t, "hh-4", "B-2, Block B", "Kirari", aged("sunita-2", "Sunita Srivastav", "F", 42))...),
		enrolled(t, "hh-5", "C-7, Block C", "Rohini", born("script-1", xss, "M", "1970-01-01")),
	} {
		_, code, err := e.store.AddDevice(ctx, fmt.Sprintf("team-%d", team+1), "DL-NE-W02")
		if err != nil {
			t.Fatal(err)
		}
		reg, err := e.store.RegisterDevice(ctx, code, "laptop")
		if err != nil {
			t.Fatal(err)
		}
		b := schema.Batch{BatchID: schema.NewID(), DeviceID: reg.DeviceID, SchemaVersion: schema.SchemaVersion, Records: recs}
		res, err := e.store.ApplyBatch(ctx, reg.DeviceID, b, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Results {
			if r.Status != schema.StatusAccepted {
				t.Fatalf("record %s: %+v", r.ID, r)
			}
		}
		if _, err := e.store.MatchAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := e.store.ReviewTasks(ctx, store.ReviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 {
		t.Fatalf("seeded %d review tasks, want 2", len(tasks))
	}
}

// browser is a client with a cookie jar that does not follow redirects,
// so each answer can be looked at.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (e *env) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: e.url, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status int
	header http.Header
	body   string
}

// location is where a redirect points, as a path.
func (a answer) location() string {
	u, err := url.Parse(a.header.Get("Location"))
	if err != nil {
		return a.header.Get("Location")
	}
	return u.RequestURI()
}

func (b *browser) do(req *http.Request) answer {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return answer{status: res.StatusCode, header: res.Header, body: string(body)}
}

func (b *browser) get(path string) answer {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) answer {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf reads the CSRF token of a page's forms.
func (b *browser) csrfOf(page answer) string {
	b.t.Helper()
	m := csrfInput.FindStringSubmatch(page.body)
	if m == nil {
		b.t.Fatalf("no CSRF field on the page:\n%s", page.body)
	}
	return m[1]
}

// signIn signs in with token through the form and returns the CSRF token
// of the session's forms.
func (b *browser) signIn(token string) string {
	b.t.Helper()
	form := b.get("/console/signin")
	res := b.post("/console/signin", url.Values{"csrf": {b.csrfOf(form)}, "token": {token}})
	if res.status != http.StatusSeeOther {
		b.t.Fatalf("sign in: %d\n%s", res.status, res.body)
	}
	home := b.get(res.location())
	if home.status != http.StatusOK {
		b.t.Fatalf("home %s after sign in: %d\n%s", res.location(), home.status, home.body)
	}
	return b.csrfOf(home)
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.base + "/console/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// setCookieOf finds a Set-Cookie of an answer by name.
func setCookieOf(t *testing.T, a answer, name string) *http.Cookie {
	t.Helper()
	for _, line := range a.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == name {
			return c
		}
	}
	t.Fatalf("no Set-Cookie %s in %v", name, a.header.Values("Set-Cookie"))
	return nil
}

func TestSignInSessionCookie(t *testing.T) {
	e := newEnv(t, Options{})
	sup := e.token(t, schema.RoleSupervisor, "asha")
	b := e.browser(t)

	// No session: pages send to the form, forms are refused.
	if res := b.get("/console/review"); res.status != http.StatusSeeOther || res.location() != "/console/signin" {
		t.Fatalf("review without a session: %d %s", res.status, res.location())
	}
	form := b.get("/console/signin")
	if form.status != http.StatusOK || !strings.Contains(form.body, `name="token"`) {
		t.Fatalf("sign-in form: %d\n%s", form.status, form.body)
	}
	pre := setCookieOf(t, form, signInCookie)
	if !pre.HttpOnly || pre.SameSite != http.SameSiteStrictMode || pre.Path != "/console" {
		t.Errorf("sign-in form cookie %+v", pre)
	}

	// A wrong token: the form again, with an error, 401.
	res := b.post("/console/signin", url.Values{"csrf": {b.csrfOf(form)}, "token": {"dst_not-a-token"}})
	if res.status != http.StatusUnauthorized || !strings.Contains(res.body, "not known") || !strings.Contains(res.body, `name="token"`) {
		t.Errorf("wrong token: %d\n%s", res.status, res.body)
	}
	if c := b.cookie(sessionCookie); c != nil {
		t.Errorf("a wrong token got a session cookie %v", c)
	}
	// A hospital token is real but not for the console.
	res = b.post("/console/signin", url.Values{"csrf": {b.csrfOf(res)}, "token": {e.token(t, schema.RoleHospital, "aiims")}})
	if res.status != http.StatusForbidden || b.cookie(sessionCookie) != nil {
		t.Errorf("hospital token: %d, cookie %v", res.status, b.cookie(sessionCookie))
	}

	res = b.post("/console/signin", url.Values{"csrf": {b.csrfOf(res)}, "token": {sup}})
	if res.status != http.StatusSeeOther || res.location() != "/console/review" {
		t.Fatalf("sign in: %d %s\n%s", res.status, res.location(), res.body)
	}
	ck := setCookieOf(t, res, sessionCookie)
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console" || ck.Secure {
		t.Errorf("session cookie over plain HTTP: %+v; want HttpOnly, SameSite=Strict, Path=/console, not Secure", ck)
	}
	if len(ck.Value) != 43 || strings.Contains(ck.Value, sup) {
		t.Errorf("session cookie value %q: want 256 random bits, base64url", ck.Value)
	}
	if res := b.get("/console/review"); res.status != http.StatusOK || !strings.Contains(res.body, "asha") {
		t.Fatalf("review after sign in: %d\n%s", res.status, res.body)
	}

	// Sign out ends the session on the server: the old cookie is dead.
	old := ck.Value
	page := b.get("/console/progress")
	res = b.post("/console/signout", url.Values{"csrf": {b.csrfOf(page)}})
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location(), "/console/signin") {
		t.Fatalf("sign out: %d %s", res.status, res.location())
	}
	if c := setCookieOf(t, res, sessionCookie); c.MaxAge >= 0 {
		t.Errorf("sign out left the cookie: %+v", c)
	}
	replay, _ := http.NewRequest(http.MethodGet, e.url+"/console/review", nil)
	replay.AddCookie(&http.Cookie{Name: sessionCookie, Value: old})
	if res := b.do(replay); res.status != http.StatusSeeOther {
		t.Errorf("the signed-out cookie still opens a page: %d", res.status)
	}
}

func TestSessionCookieSecureOverTLS(t *testing.T) {
	st := storetest.Open(t)
	tok, err := st.CreateToken(context.Background(), schema.RolePrinter, "press")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(Handler(st, nil, Options{}))
	defer ts.Close()
	jar, _ := cookiejar.New(nil)
	c := ts.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	b := &browser{t: t, base: ts.URL, c: c}
	form := b.get("/console/signin")
	res := b.post("/console/signin", url.Values{"csrf": {b.csrfOf(form)}, "token": {tok}})
	if res.status != http.StatusSeeOther || res.location() != "/console/print" {
		t.Fatalf("sign in: %d %s", res.status, res.location())
	}
	if ck := setCookieOf(t, res, sessionCookie); !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie over TLS: %+v; want Secure, HttpOnly, SameSite=Strict", ck)
	}
}

func TestSignInFormNeedsItsCSRFCookie(t *testing.T) {
	e := newEnv(t, Options{})
	sup := e.token(t, schema.RoleSupervisor, "asha")
	b := e.browser(t)
	// A form posted from elsewhere carries no cookie of ours.
	if res := b.post("/console/signin", url.Values{"csrf": {"forged"}, "token": {sup}}); res.status != http.StatusForbidden || b.cookie(sessionCookie) != nil {
		t.Errorf("sign in without the form's cookie: %d", res.status)
	}
	b.get("/console/signin")
	if res := b.post("/console/signin", url.Values{"csrf": {"forged"}, "token": {sup}}); res.status != http.StatusForbidden || b.cookie(sessionCookie) != nil {
		t.Errorf("sign in with a wrong CSRF token: %d", res.status)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, Options{})
	e.seedReview(t)
	b := e.browser(t)
	csrf := b.signIn(e.token(t, schema.RoleAdmin, "root"))
	tasks, _ := e.store.ReviewTasks(context.Background(), store.ReviewFilter{})
	decide := fmt.Sprintf("/console/review/%d", tasks[0].ID)
	wrong := "x" + csrf[1:]
	if wrong == csrf {
		wrong = "y" + csrf[1:]
	}
	for _, tt := range []struct {
		name, path string
		form       url.Values
	}{
		{"decision without a token", decide, url.Values{"decision": {"same"}}},
		{"decision with a wrong token", decide, url.Values{"decision": {"same"}, "csrf": {wrong}}},
		{"decision with another session's token", decide, url.Values{"decision": {"same"}, "csrf": {randomString()}}},
		{"print job without a token", "/console/print/jobs", url.Values{"centre": {"DL-NE"}}},
		{"sign out without a token", "/console/signout", url.Values{}},
	} {
		if res := b.post(tt.path, tt.form); res.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tt.name, res.status)
		}
	}
	if task, _ := e.store.ReviewTask(context.Background(), tasks[0].ID); task.Status != "open" {
		t.Errorf("a refused form decided the task: %s", task.Status)
	}
	if res := b.get("/console/review"); res.status != http.StatusOK {
		t.Errorf("a refused sign-out ended the session: %d", res.status)
	}
	res := b.post(decide, url.Values{"decision": {"different"}, "csrf": {csrf}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("decision with the token: %d\n%s", res.status, res.body)
	}
}

// wantRoles is who may use each page and form behind sign-in: the
// console's half of DESIGN.md §9. A route missing here fails the test.
var wantRoles = map[string][]string{
	"POST /signout":                  {schema.RoleAdmin, schema.RoleSupervisor, schema.RolePrinter},
	"GET /review":                    {schema.RoleAdmin, schema.RoleSupervisor},
	"GET /review/next":               {schema.RoleAdmin, schema.RoleSupervisor},
	"GET /review/{id}":               {schema.RoleAdmin, schema.RoleSupervisor},
	"POST /review/{id}":              {schema.RoleAdmin, schema.RoleSupervisor},
	"GET /progress":                  {schema.RoleAdmin, schema.RoleSupervisor},
	"GET /people":                    {schema.RoleAdmin, schema.RoleSupervisor},
	"GET /people/{hid}":              {schema.RoleAdmin, schema.RoleSupervisor},
	"GET /print":                     {schema.RoleAdmin, schema.RolePrinter},
	"GET /print/jobs":                {schema.RoleAdmin, schema.RolePrinter},
	"POST /print/jobs":               {schema.RoleAdmin, schema.RolePrinter},
	"GET /print/jobs/{id}":           {schema.RoleAdmin, schema.RolePrinter},
	"GET /print/jobs/{id}/sheet.pdf": {schema.RoleAdmin, schema.RolePrinter},
	"POST /print/jobs/{id}/{action}": {schema.RoleAdmin, schema.RolePrinter},
}

// Every page and form checks the role on the server: a role outside it
// is a 403 whatever the menu shows, no session is the sign-in form.
func TestRoles(t *testing.T) {
	e := newEnv(t, Options{})
	e.seedReview(t)
	c := &console{}
	var routes []string
	for _, r := range c.sessionRoutes() {
		key := r.method + " " + r.path
		routes = append(routes, key)
		if want, ok := wantRoles[key]; !ok {
			t.Errorf("route %s has no line in wantRoles", key)
		} else if !slices.Equal(slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(r.roles))) {
			t.Errorf("route %s admits %v, want %v", key, r.roles, want)
		}
	}
	for key := range wantRoles {
		if !slices.Contains(routes, key) {
			t.Errorf("wantRoles names %s, which is not served", key)
		}
	}

	tasks, _ := e.store.ReviewTasks(context.Background(), store.ReviewFilter{})
	paths := strings.NewReplacer("{id}", fmt.Sprint(tasks[0].ID), "{hid}", "00-0000-0000-0000", "{action}", "confirm")
	browsers := map[string]*browser{}
	csrfs := map[string]string{}
	for _, role := range consoleRoles {
		browsers[role] = e.browser(t)
		csrfs[role] = browsers[role].signIn(e.token(t, role, "console-"+role))
	}
	anonymous := e.browser(t)
	for key, allowed := range wantRoles {
		if key == "POST /signout" {
			continue // signing out would end the sessions the other checks use
		}
		method, path, _ := strings.Cut(key, " ")
		path = "/console" + paths.Replace(path)
		t.Run(key, func(t *testing.T) {
			call := func(b *browser, csrf string) answer {
				if method == http.MethodGet {
					return b.get(path)
				}
				// A body that does nothing if admitted: an unknown decision,
				// a centre without cards.
				return b.post(path, url.Values{"csrf": {csrf}, "decision": {"maybe"}, "centre": {"XX-NONE"}})
			}
			res := call(anonymous, "")
			if method == http.MethodGet && (res.status != http.StatusSeeOther || res.location() != "/console/signin") {
				t.Errorf("no session: %d %s, want a redirect to sign in", res.status, res.location())
			}
			if method == http.MethodPost && res.status != http.StatusUnauthorized {
				t.Errorf("no session: %d, want 401", res.status)
			}
			for _, role := range consoleRoles {
				res := call(browsers[role], csrfs[role])
				if slices.Contains(allowed, role) {
					if res.status == http.StatusUnauthorized || res.status == http.StatusForbidden {
						t.Errorf("%s: %d, want admitted\n%s", role, res.status, res.body)
					}
				} else if res.status != http.StatusForbidden {
					t.Errorf("%s: %d, want 403", role, res.status)
				}
			}
		})
	}

	// The menu shows each role its pages only.
	for role, want := range map[string][2]bool{
		schema.RoleSupervisor: {true, false},
		schema.RolePrinter:    {false, true},
		schema.RoleAdmin:      {true, true},
	} {
		home := browsers[role].get("/console/")
		page := browsers[role].get(home.location())
		review := strings.Contains(page.body, `href="/console/review"`)
		print := strings.Contains(page.body, `href="/console/print"`)
		if review != want[0] || print != want[1] {
			t.Errorf("%s's menu: review %v, print %v; want %v", role, review, print, want)
		}
	}
}

// pagesOf lists the pages each role can open in a seeded env.
func pagesOf(t *testing.T, e *env) map[string][]string {
	t.Helper()
	tasks, _ := e.store.ReviewTasks(context.Background(), store.ReviewFilter{})
	return map[string][]string{
		schema.RoleSupervisor: {"/console/review", fmt.Sprintf("/console/review/%d", tasks[0].ID),
			fmt.Sprintf("/console/review/%d", tasks[1].ID), "/console/review?status=all",
			"/console/progress", "/console/people", "/console/people?q=Lakshmi", "/console/people?q=x",
			"/console/people?q=script", "/console/people/" + scriptPerson(t, e), "/console/no-such-page"},
		schema.RolePrinter: {"/console/print", "/console/print/jobs/999"},
	}
}

var (
	scriptTag     = regexp.MustCompile(`(?is)<script\b[^>]*>`)
	styleAttr     = regexp.MustCompile(`(?i)<[^>]*\sstyle\s*=`)
	eventAttr     = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	styleElement  = regexp.MustCompile(`(?i)<style\b`)
	javascriptURL = regexp.MustCompile(`(?i)(href|src|action)\s*=\s*"?\s*javascript:`)
)

// checkPage holds a page to the Content-Security-Policy: the header is
// there, and nothing on the page would need 'unsafe-inline'.
func checkPage(t *testing.T, path string, res answer) {
	t.Helper()
	h := res.header
	if got := h.Get("Content-Security-Policy"); got != webasset.ContentSecurityPolicy ||
		!strings.Contains(got, "default-src 'self'") || !strings.Contains(got, "script-src 'self'") ||
		!strings.Contains(got, "style-src 'self'") || !strings.Contains(got, "frame-ancestors 'none'") ||
		strings.Contains(got, "unsafe-inline") {
		t.Errorf("%s: Content-Security-Policy %q", path, got)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("%s: X-Content-Type-Options %q, Referrer-Policy %q", path, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		return
	}
	if h.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", path, h.Get("Cache-Control"))
	}
	for _, tag := range scriptTag.FindAllString(res.body, -1) {
		if !strings.Contains(tag, ` src="/console/static/`) {
			t.Errorf("%s: inline or foreign script %s", path, tag)
		}
	}
	for _, re := range []*regexp.Regexp{styleAttr, eventAttr, styleElement, javascriptURL} {
		if m := re.FindString(res.body); m != "" {
			t.Errorf("%s: %q needs unsafe-inline", path, m)
		}
	}
}

func TestPagesHaveNoInlineScriptOrStyle(t *testing.T) {
	e := newEnv(t, Options{})
	e.seedReview(t)
	anon := e.browser(t)
	for _, path := range []string{"/console/signin", "/console/nothing"} {
		checkPage(t, path, anon.get(path))
	}
	res := anon.post("/console/signin", url.Values{"token": {"x"}})
	checkPage(t, "POST /console/signin", res)
	for role, paths := range pagesOf(t, e) {
		b := e.browser(t)
		b.signIn(e.token(t, role, "csp-"+role))
		for _, path := range paths {
			res := b.get(path)
			if res.status >= 500 {
				t.Errorf("%s: %d\n%s", path, res.status, res.body)
			}
			checkPage(t, path, res)
		}
	}
	for _, f := range []struct{ path, ctype string }{
		{"/console/static/console.css", "text/css"},
		{"/console/static/console.js", "text/javascript"},
	} {
		res := anon.get(f.path)
		if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), f.ctype) || res.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %q", f.path, res.status, res.header.Get("Content-Type"))
		}
	}
}

// A resident or token named like a script shows as text on every page.
func TestPagesEscapeUserData(t *testing.T) {
	e := newEnv(t, Options{})
	e.seedReview(t)
	escaped := "&lt;script&gt;alert(1)&lt;/script&gt;"
	for role, paths := range pagesOf(t, e) {
		b := e.browser(t)
		b.signIn(e.token(t, role, xss+" "+role))
		for _, path := range paths {
			res := b.get(path)
			if strings.Contains(res.body, xss) || strings.Contains(res.body, "<script>alert") {
				t.Errorf("%s shows the script unescaped:\n%s", path, res.body)
			}
			if !strings.Contains(res.body, escaped) {
				t.Errorf("%s does not show the token's name as text", path)
			}
		}
	}
	// The review task shows the father's name and the household address
	// that are scripts, as text.
	b := e.browser(t)
	b.signIn(e.token(t, schema.RoleSupervisor, "reviewer"))
	checked := 0
	for _, task := range mustTasks(t, e, "open") {
		if task.A.Resident.FatherName != xss && task.B.Resident.FatherName != xss {
			continue
		}
		checked++
		res := b.get(fmt.Sprintf("/console/review/%d", task.ID))
		if n := strings.Count(res.body, escaped); n < 2 {
			t.Errorf("task %d shows the script as text %d times, want the father's name and the address", task.ID, n)
		}
		if strings.Contains(res.body, xss) {
			t.Errorf("task %d shows the script unescaped", task.ID)
		}
	}
	if checked == 0 {
		t.Error("no open review task has the resident whose father's name is a script: nothing was checked")
	}
}

// scriptPerson is the health ID of the resident named like a script.
func scriptPerson(t *testing.T, e *env) string {
	t.Helper()
	found, err := e.store.SearchPersons(context.Background(), "<script>", 5)
	if err != nil || len(found) != 1 {
		t.Fatalf("search for the script-named resident: %v, %v", found, err)
	}
	return found[0].HealthID
}

func TestPeople(t *testing.T) {
	e := newEnv(t, Options{})
	e.seedReview(t)
	b := e.browser(t)
	b.signIn(e.token(t, schema.RoleSupervisor, "asha"))

	res := b.get("/console/people?q=lakshmi")
	found, _ := e.store.SearchPersons(context.Background(), "lakshmi", 5)
	if res.status != http.StatusOK || len(found) != 1 || !strings.Contains(res.body, `href="/console/people/`+found[0].HealthID+`"`) {
		t.Fatalf("search lakshmi: %d, store finds %+v\n%s", res.status, found, res.body)
	}
	if res := b.get("/console/people?q=x"); res.status != http.StatusOK || !strings.Contains(res.body, "at least 2 letters") {
		t.Errorf("a one-letter search: %d\n%s", res.status, res.body)
	}
	if res := b.get("/console/people?q=nobody-at-all"); !strings.Contains(res.body, "Nobody matches") {
		t.Errorf("a search that finds nobody:\n%s", res.body)
	}

	// The person page: enrolments, the card, and who read the record,
	// this read and the search included.
	hid := found[0].HealthID
	page := b.get("/console/people/" + hid)
	if page.status != http.StatusOK {
		t.Fatalf("person %s: %d\n%s", hid, page.status, page.body)
	}
	for _, want := range []string{"Lakshmi Verma", "Enrolments", "Card history", "queued", "console.person", "console.search", "asha"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("person page lacks %q", want)
		}
	}
	log, err := e.store.AuditLog(context.Background(), hid)
	if err != nil || len(log) < 2 || log[len(log)-1].TokenName != "asha" || log[len(log)-1].Action != "console.person" {
		t.Errorf("audit log of %s after the console read it: %+v, %v", hid, log, err)
	}
	if res := b.get("/console/people/12-3456-7890-1234"); res.status != http.StatusNotFound {
		t.Errorf("unknown health ID: %d", res.status)
	}
}

func mustTasks(t *testing.T, e *env, status string) []store.ReviewTask {
	t.Helper()
	tasks, err := e.store.ReviewTasks(context.Background(), store.ReviewFilter{Status: status})
	if err != nil {
		t.Fatal(err)
	}
	return tasks
}

func TestReviewDecisionsLoadTheNextTask(t *testing.T) {
	e := newEnv(t, Options{})
	e.seedReview(t)
	ctx := context.Background()
	b := e.browser(t)
	b.signIn(e.token(t, schema.RoleSupervisor, "asha"))
	tasks := mustTasks(t, e, "open")
	before, _ := e.store.Stats(ctx)

	// The queue lists them by score, the first one focused.
	queue := b.get("/console/review")
	first := strings.Index(queue.body, fmt.Sprintf(`href="/console/review/%d"`, tasks[0].ID))
	second := strings.Index(queue.body, fmt.Sprintf(`href="/console/review/%d"`, tasks[1].ID))
	if first < 0 || second < first || !strings.Contains(queue.body, "autofocus") {
		t.Errorf("queue order: task %d at %d, task %d at %d", tasks[0].ID, first, tasks[1].ID, second)
	}
	// n starts with the most likely.
	if res := b.get("/console/review/next"); res.location() != fmt.Sprintf("/console/review/%d", tasks[0].ID) {
		t.Errorf("next from the queue: %d %s", res.status, res.location())
	}

	// The task page: both residents field by field, with the evidence.
	page := b.get(fmt.Sprintf("/console/review/%d", tasks[0].ID))
	task, _ := e.store.ReviewTask(ctx, tasks[0].ID)
	for _, want := range []string{task.A.Resident.Name, task.B.Resident.Name, task.A.Household.Area, "Same person", "Different people",
		`data-key="s"`, `data-key="d"`, `accesskey="s"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("task page lacks %q", want)
		}
	}
	for _, ev := range task.Comparison.Evidence {
		// html/template writes the + of a weight as &#43;: look for the digits.
		if !strings.Contains(page.body, template.HTMLEscapeString(fieldLabel(ev.Field))) || !strings.Contains(page.body, strings.TrimLeft(signed(ev.Weight), "+−")) {
			t.Errorf("task page lacks the evidence %+v", ev)
		}
	}

	csrf := b.csrfOf(page)
	res := b.post(fmt.Sprintf("/console/review/%d", tasks[0].ID), url.Values{"csrf": {csrf}, "decision": {"same"}})
	if want := fmt.Sprintf("/console/review/%d?prev=%d", tasks[1].ID, tasks[0].ID); res.status != http.StatusSeeOther || res.location() != want {
		t.Fatalf("after deciding: %d %s, want %s", res.status, res.location(), want)
	}
	next := b.get(res.location())
	if !strings.Contains(next.body, fmt.Sprintf("Task %d decided: same person.", tasks[0].ID)) || !strings.Contains(next.body, `data-key="k"`) {
		t.Errorf("next task page: no word of the decision or no way back:\n%s", next.body)
	}
	if after, _ := e.store.Stats(ctx); after.Persons != before.Persons-1 || after.ReviewOpen != before.ReviewOpen-1 {
		t.Errorf("after same person: persons %d→%d, open %d→%d", before.Persons, after.Persons, before.ReviewOpen, after.ReviewOpen)
	}
	if got, _ := e.store.ReviewTask(ctx, tasks[0].ID); got.DecidedBy != "asha" || got.Status != "same" {
		t.Errorf("decided task: %+v", got)
	}

	// The last one: back to the queue, which says it is clear.
	res = b.post(fmt.Sprintf("/console/review/%d", tasks[1].ID), url.Values{"csrf": {csrf}, "decision": {"different"}})
	if res.status != http.StatusSeeOther || res.location() != "/console/review" {
		t.Fatalf("after the last decision: %d %s", res.status, res.location())
	}
	if q := b.get("/console/review"); !strings.Contains(q.body, "No open review task is left.") {
		t.Errorf("queue after the last task:\n%s", q.body)
	}
	// Deciding a decided task the other way records nothing and says who
	// decided it, without an error page in the keyboard flow.
	res = b.post(fmt.Sprintf("/console/review/%d", tasks[1].ID), url.Values{"csrf": {csrf}, "decision": {"same"}})
	if res.status != http.StatusSeeOther || res.location() != "/console/review" {
		t.Errorf("deciding again the other way: %d %s", res.status, res.location())
	}
	if q := b.get("/console/review"); !strings.Contains(q.body, fmt.Sprintf("Task %d was already decided (different) by asha", tasks[1].ID)) {
		t.Errorf("queue after deciding a decided task:\n%s", q.body)
	}
	if got, _ := e.store.ReviewTask(ctx, tasks[1].ID); got.Status != "different" {
		t.Errorf("deciding again changed the task: %+v", got)
	}
	// A bad decision is refused; an unknown task is a 404.
	if res := b.post(fmt.Sprintf("/console/review/%d", tasks[0].ID), url.Values{"csrf": {csrf}, "decision": {"maybe"}}); res.status != http.StatusUnprocessableEntity {
		t.Errorf("decision maybe: %d", res.status)
	}
	if res := b.get("/console/review/999999"); res.status != http.StatusNotFound {
		t.Errorf("unknown task: %d", res.status)
	}
}

func TestProgressPage(t *testing.T) {
	e := newEnv(t, Options{})
	e.seedReview(t)
	b := e.browser(t)
	b.signIn(e.token(t, schema.RoleSupervisor, "asha"))
	st, _ := e.store.Stats(context.Background())
	res := b.get("/console/progress")
	if res.status != http.StatusOK || !strings.Contains(res.body, fmt.Sprintf(`<dd id="total-persons">%d</dd>`, st.Persons)) {
		t.Errorf("progress: %d, want persons %d\n%s", res.status, st.Persons, res.body)
	}
}

func TestNewChart(t *testing.T) {
	ch := newChart([]store.DayCount{
		{Day: "2026-03-04", Households: 3, Residents: 12},
		{Day: "2026-03-01", Households: 1, Residents: 4},
	})
	if ch.Days != 4 || len(ch.Bars) != 4 || ch.Max != 12 || ch.Total != 16 {
		t.Fatalf("chart: %d days, %d bars, max %d, total %d; want 4 days (gaps filled), max 12, total 16", ch.Days, len(ch.Bars), ch.Max, ch.Total)
	}
	if ch.Bars[1].H != 0 || ch.Bars[2].H != 0 || ch.Bars[3].H <= ch.Bars[0].H || ch.Bars[3].Y+ch.Bars[3].H != float64(ch.Bottom) {
		t.Errorf("bars %+v", ch.Bars)
	}
	if len(ch.Ticks) != 3 || ch.Ticks[2].Label != "20" {
		t.Errorf("ticks %+v, want 0, 10, 20", ch.Ticks)
	}
	if empty := newChart(nil); len(empty.Bars) != 0 {
		t.Errorf("empty chart: %+v", empty)
	}
}

func TestPrintQueue(t *testing.T) {
	e := newEnv(t, Options{})
	e.seedReview(t)
	ctx := context.Background()
	centres, err := e.store.CardCentres(ctx)
	if err != nil || len(centres) == 0 || centres[0].Queued == 0 {
		t.Fatalf("centres %+v, %v: the test needs queued cards", centres, err)
	}
	centre := centres[0].Centre
	b := e.browser(t)
	b.signIn(e.token(t, schema.RolePrinter, "press"))
	queue := b.get("/console/print")
	if !strings.Contains(queue.body, centre) {
		t.Fatalf("queue lacks centre %s:\n%s", centre, queue.body)
	}
	csrf := b.csrfOf(queue)
	res := b.post("/console/print/jobs", url.Values{"csrf": {csrf}, "nonce": {nonceOf(t, queue)}, "centre": {centre}, "limit": {"2"}})
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location(), "/console/print/jobs/") {
		t.Fatalf("create job: %d %s\n%s", res.status, res.location(), res.body)
	}
	jobPath := res.location()
	page := b.get(jobPath)
	if page.status != http.StatusOK || !strings.Contains(page.body, "sheet.pdf") || !strings.Contains(page.body, "Confirm printed") {
		t.Fatalf("job page: %d\n%s", page.status, page.body)
	}
	pdf := b.get(jobPath + "/sheet.pdf")
	if pdf.status != http.StatusOK || pdf.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf.body, "%PDF-") ||
		!strings.Contains(pdf.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("sheet: %d %q %.20q", pdf.status, pdf.header.Get("Content-Type"), pdf.body)
	}
	if q := b.get("/console/print"); !strings.Contains(q.body, `href="`+jobPath+`"`) {
		t.Errorf("the queue does not list the new job")
	}

	// A printer limited to another centre sees neither the centre nor the job.
	other := e.browser(t)
	other.signIn(e.token(t, schema.RolePrinter, "elsewhere", store.ForCentre("ZZ-NONE")))
	if q := other.get("/console/print"); strings.Contains(q.body, ">"+centre+"<") {
		t.Errorf("a printer of ZZ-NONE sees centre %s", centre)
	}
	for _, path := range []string{jobPath, jobPath + "/sheet.pdf"} {
		if res := other.get(path); res.status != http.StatusForbidden {
			t.Errorf("printer of another centre GET %s: %d, want 403", path, res.status)
		}
	}
	oc := other.csrfOf(other.get("/console/print"))
	for _, f := range []struct {
		path string
		form url.Values
	}{
		{jobPath + "/confirm", url.Values{}},
		{"/console/print/jobs", url.Values{"centre": {centre}}},
	} {
		f.form.Set("csrf", oc)
		if res := other.post(f.path, f.form); res.status != http.StatusForbidden {
			t.Errorf("printer of another centre POST %s: %d, want 403", f.path, res.status)
		}
	}

	// Confirm, then dispatch.
	res = b.post(jobPath+"/confirm", url.Values{"csrf": {csrf}})
	if res.status != http.StatusSeeOther || res.location() != jobPath {
		t.Fatalf("confirm: %d %s\n%s", res.status, res.location(), res.body)
	}
	if page := b.get(jobPath); !strings.Contains(page.body, "confirmed printed") || !strings.Contains(page.body, "Mark dispatched") {
		t.Errorf("job page after confirm:\n%s", page.body)
	}
	if st, _ := e.store.Stats(ctx); st.Cards.Printed != 2 {
		t.Errorf("printed cards %d, want 2", st.Cards.Printed)
	}
	if res := b.post(jobPath+"/dispatch", url.Values{"csrf": {csrf}}); res.status != http.StatusSeeOther {
		t.Fatalf("dispatch: %d\n%s", res.status, res.body)
	}
	if st, _ := e.store.Stats(ctx); st.Cards.Dispatched != 2 {
		t.Errorf("dispatched cards %d, want 2", st.Cards.Dispatched)
	}
	// A confirmed job's sheets are not rendered again.
	if res := b.get(jobPath + "/sheet.pdf"); res.status != http.StatusConflict {
		t.Errorf("sheet of a confirmed job: %d, want 409", res.status)
	}
	if res := b.post(jobPath+"/explode", url.Values{"csrf": {csrf}}); res.status != http.StatusNotFound {
		t.Errorf("unknown job action: %d", res.status)
	}
}

func TestSessionsEnd(t *testing.T) {
	e := newEnv(t, Options{SessionIdle: time.Hour, SessionMax: 3 * time.Hour})
	b := e.browser(t)
	b.signIn(e.token(t, schema.RoleSupervisor, "asha"))

	e.clock.Advance(50 * time.Minute)
	if res := b.get("/console/progress"); res.status != http.StatusOK {
		t.Fatalf("after 50 minutes: %d", res.status)
	}
	for range 3 { // used every 50 minutes: the idle limit never hits, the whole one does
		e.clock.Advance(50 * time.Minute)
		b.get("/console/progress")
	}
	if res := b.get("/console/progress"); res.status != http.StatusSeeOther {
		t.Errorf("3h20 after sign-in: %d, want the session ended", res.status)
	}

	b.signIn(e.token(t, schema.RoleSupervisor, "bina"))
	e.clock.Advance(61 * time.Minute)
	if res := b.get("/console/progress"); res.status != http.StatusSeeOther {
		t.Errorf("61 idle minutes: %d, want the session ended", res.status)
	}

	// Revoking the token ends its sessions at once.
	b.signIn(e.token(t, schema.RoleSupervisor, "chitra"))
	if err := e.store.RevokeToken(context.Background(), "chitra"); err != nil {
		t.Fatal(err)
	}
	if res := b.get("/console/progress"); res.status != http.StatusSeeOther {
		t.Errorf("after the token was revoked: %d, want the session ended", res.status)
	}
}

func TestSignInRateLimit(t *testing.T) {
	e := newEnv(t, Options{SignInRate: rate.Every(time.Hour), SignInBurst: 3})
	b := e.browser(t)
	for i := range 3 {
		form := b.get("/console/signin")
		if res := b.post("/console/signin", url.Values{"csrf": {b.csrfOf(form)}, "token": {"dst_guess"}}); res.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i+1, res.status)
		}
	}
	form := b.get("/console/signin")
	res := b.post("/console/signin", url.Values{"csrf": {b.csrfOf(form)}, "token": {e.token(t, schema.RoleAdmin, "root")}})
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" || b.cookie(sessionCookie) != nil {
		t.Errorf("fourth attempt in a burst of 3: %d, Retry-After %q", res.status, res.header.Get("Retry-After"))
	}
}

var nonceInput = regexp.MustCompile(`name="nonce" value="([^"]+)"`)

// nonceOf reads the one-time token of a page's first "Make print job" form.
func nonceOf(t *testing.T, page answer) string {
	t.Helper()
	m := nonceInput.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no one-time form token on the page:\n%s", page.body)
	}
	return m[1]
}

// printJobCount counts the print jobs in the store.
func printJobCount(t *testing.T, e *env) int {
	t.Helper()
	jobs, err := e.store.PrintJobs(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(jobs)
}

// A double click on "Make print job" makes one job: the form acts once,
// and sending it again goes to the job it made.
func TestPrintJobFormActsOnce(t *testing.T) {
	e := newEnv(t, Options{})
	e.seedReview(t)
	centres, err := e.store.CardCentres(context.Background())
	if err != nil || len(centres) == 0 || centres[0].Queued < 4 {
		t.Fatalf("centres %+v, %v: the test needs 4 queued cards", centres, err)
	}
	centre := centres[0].Centre
	b := e.browser(t)
	b.signIn(e.token(t, schema.RolePrinter, "press"))
	queue := b.get("/console/print")
	if !regexp.MustCompile(`<form method="post" action="/console/print/jobs"[^>]*\sdata-once[\s>]`).MatchString(queue.body) {
		t.Errorf("the Make print job form is not data-once:\n%s", queue.body)
	}
	form := url.Values{"csrf": {b.csrfOf(queue)}, "nonce": {nonceOf(t, queue)}, "centre": {centre}, "limit": {"1"}}
	first := b.post("/console/print/jobs", form)
	if first.status != http.StatusSeeOther || !strings.HasPrefix(first.location(), "/console/print/jobs/") {
		t.Fatalf("make a job: %d %s\n%s", first.status, first.location(), first.body)
	}
	b.get(first.location()) // takes the flash
	again := b.post("/console/print/jobs", form)
	if again.status != http.StatusSeeOther || again.location() != first.location() {
		t.Errorf("the same form again: %d %s, want a redirect to %s", again.status, again.location(), first.location())
	}
	if page := b.get(again.location()); !strings.Contains(page.body, "was not made twice") {
		t.Errorf("the job page after the repeat does not say so:\n%s", page.body)
	}
	if n := printJobCount(t, e); n != 1 {
		t.Errorf("%d print jobs after sending one form twice, want 1", n)
	}

	// Two at once, as a double click sends them.
	queue = b.get("/console/print")
	form.Set("nonce", nonceOf(t, queue))
	var wg sync.WaitGroup
	locs := make([]string, 2)
	for i := range locs {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, e.url+"/console/print/jobs", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := b.c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			locs[i] = res.Header.Get("Location")
		})
	}
	wg.Wait()
	if locs[0] == "" || locs[0] != locs[1] {
		t.Errorf("two posts of one form at once went to %q and %q, want one job", locs[0], locs[1])
	}
	if n := printJobCount(t, e); n != 2 {
		t.Errorf("%d print jobs after a double click, want 2 (one per form)", n)
	}

	// A form the session never issued makes nothing.
	form.Set("nonce", "made-up")
	if res := b.post("/console/print/jobs", form); res.status != http.StatusConflict || !strings.Contains(res.body, "Reload the print queue") {
		t.Errorf("an unknown form token: %d\n%s", res.status, res.body)
	}
	if n := printJobCount(t, e); n != 2 {
		t.Errorf("%d print jobs after an unknown form token, want 2", n)
	}
}

// limitRecorder is the store, noting the limit of each print job asked.
type limitRecorder struct {
	*store.Store
	mu     sync.Mutex
	limits []int
}

func (l *limitRecorder) CreatePrintJob(ctx context.Context, centre string, limit int, by string) (store.PrintJob, error) {
	l.mu.Lock()
	l.limits = append(l.limits, limit)
	l.mu.Unlock()
	return l.Store.CreatePrintJob(ctx, centre, limit, by)
}

// An empty number of cards takes all the queued cards (the placeholder
// says "all N"), not the store's default; 0 is refused, not read as all.
func TestPrintJobLimit(t *testing.T) {
	rec := &limitRecorder{}
	e := newEnvOver(t, Options{}, func(st *store.Store) Registry { rec.Store = st; return rec })
	e.seedReview(t)
	centres, err := e.store.CardCentres(context.Background())
	if err != nil || len(centres) == 0 || centres[0].Queued == 0 {
		t.Fatalf("centres %+v, %v: the test needs queued cards", centres, err)
	}
	centre, queued := centres[0].Centre, centres[0].Queued
	b := e.browser(t)
	b.signIn(e.token(t, schema.RolePrinter, "press"))
	queue := b.get("/console/print")
	if !strings.Contains(queue.body, fmt.Sprintf(`placeholder="all %d"`, queued)) {
		t.Errorf("the queue's placeholder does not say all %d", queued)
	}
	form := url.Values{"csrf": {b.csrfOf(queue)}, "nonce": {nonceOf(t, queue)}, "centre": {centre}, "limit": {"0"}}
	res := b.post("/console/print/jobs", form)
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "from 1 to 10000") {
		t.Errorf("limit 0: %d, want 422 with the range\n%s", res.status, res.body)
	}
	if n := printJobCount(t, e); n != 0 {
		t.Fatalf("limit 0 made %d print jobs", n)
	}
	form.Set("limit", "")
	res = b.post("/console/print/jobs", form)
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location(), "/console/print/jobs/") {
		t.Fatalf("empty limit: %d %s\n%s", res.status, res.location(), res.body)
	}
	if len(rec.limits) != 1 || int64(rec.limits[0]) != queued {
		t.Errorf("an empty limit asked the store for %v cards, want [%d] (all queued)", rec.limits, queued)
	}
	if after, _ := e.store.CardCentres(context.Background()); after[0].Centre == centre && after[0].Queued != 0 {
		t.Errorf("%d cards of %s still queued after a job of all", after[0].Queued, centre)
	}
}

// Two supervisors on one queue: the second to decide a task is told who
// decided it, and goes on to the next task, whichever way they decided.
func TestReviewTaskDecidedByAnother(t *testing.T) {
	for _, second := range []string{store.DecisionSame, store.DecisionDifferent} {
		t.Run(second, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.seedReview(t)
			ctx := context.Background()
			tasks := mustTasks(t, e, "open")
			asha, bina := e.browser(t), e.browser(t)
			ac := asha.signIn(e.token(t, schema.RoleSupervisor, "asha"))
			bc := bina.signIn(e.token(t, schema.RoleSupervisor, "bina"))
			task := fmt.Sprintf("/console/review/%d", tasks[0].ID)
			asha.get(task)
			bina.get(task)
			if res := asha.post(task, url.Values{"csrf": {ac}, "decision": {"same"}}); res.status != http.StatusSeeOther {
				t.Fatalf("asha decides: %d\n%s", res.status, res.body)
			}
			before, _ := e.store.Stats(ctx)
			res := bina.post(task, url.Values{"csrf": {bc}, "decision": {second}})
			want := fmt.Sprintf("/console/review/%d?prev=%d", tasks[1].ID, tasks[0].ID)
			if res.status != http.StatusSeeOther || res.location() != want {
				t.Fatalf("bina decides %s after asha: %d %s, want a redirect to %s\n%s", second, res.status, res.location(), want, res.body)
			}
			next := bina.get(res.location())
			if msg := fmt.Sprintf("Task %d was already decided (same) by asha", tasks[0].ID); !strings.Contains(next.body, msg) {
				t.Errorf("bina's next page does not say %q:\n%s", msg, next.body)
			}
			if strings.Contains(next.body, fmt.Sprintf("Task %d decided:", tasks[0].ID)) {
				t.Errorf("bina is told she decided the task")
			}
			if got, _ := e.store.ReviewTask(ctx, tasks[0].ID); got.Status != "same" || got.DecidedBy != "asha" {
				t.Errorf("task after both: %s by %s, want same by asha", got.Status, got.DecidedBy)
			}
			if after, _ := e.store.Stats(ctx); after.Persons != before.Persons || after.ReviewOpen != before.ReviewOpen {
				t.Errorf("bina's late decision changed the registry: %+v → %+v", before, after)
			}
		})
	}
}

// A task one supervisor has open is passed over by another's "next" for
// a couple of minutes.
func TestReviewNextPassesOverTasksOthersHaveOpen(t *testing.T) {
	e := newEnv(t, Options{})
	e.seedReview(t)
	tasks := mustTasks(t, e, "open")
	asha, bina := e.browser(t), e.browser(t)
	asha.signIn(e.token(t, schema.RoleSupervisor, "asha"))
	bina.signIn(e.token(t, schema.RoleSupervisor, "bina"))
	first := fmt.Sprintf("/console/review/%d", tasks[0].ID)
	second := fmt.Sprintf("/console/review/%d", tasks[1].ID)
	if res := asha.get("/console/review/next"); res.location() != first {
		t.Fatalf("asha's next: %s, want %s", res.location(), first)
	}
	asha.get(first)
	if res := bina.get("/console/review/next"); res.location() != second {
		t.Errorf("bina's next while asha has task %d open: %s, want %s", tasks[0].ID, res.location(), second)
	}
	// Her own open task is no obstacle to asha.
	if res := asha.get("/console/review/next"); res.location() != first {
		t.Errorf("asha's next again: %s, want %s", res.location(), first)
	}
	// bina opens the second; asha's next from the first wraps round past it
	// to nothing else, so it gives the second anyway rather than nothing.
	bina.get(second)
	if res := asha.get(fmt.Sprintf("/console/review/next?after=%d", tasks[0].ID)); !strings.HasPrefix(res.location(), second) {
		t.Errorf("asha's next when every other task is open elsewhere: %s, want %s", res.location(), second)
	}
	// The lease ends after a while.
	e.clock.Advance(leaseTime + time.Second)
	if res := bina.get("/console/review/next"); res.location() != first {
		t.Errorf("bina's next after asha's lease ran out: %s, want %s", res.location(), first)
	}
}

func TestSecureCookieOption(t *testing.T) {
	e := newEnv(t, Options{SecureCookie: true})
	b := e.browser(t)
	form := b.get("/console/signin")
	if ck := setCookieOf(t, form, signInCookie); !ck.Secure {
		t.Errorf("sign-in cookie with SecureCookie over plain HTTP: %+v, want Secure", ck)
	}
}
